// A terminal for `terminalConfirm` (main/folder-access.ts) in tests: the person at it types the
// next of the given answers each time a [y/N] question is printed; what it printed is kept.
import { PassThrough } from 'node:stream';
import type { Terminal } from '../../main/folder-access.ts';

/** Answers `answers` in turn (the last one again after that); `isTTY` false stands for a pipe or a service. */
export function fakeTerminal(answers: string | string[], isTTY = true): Terminal & { printed(): string } {
  const queue = [answers].flat();
  const input = Object.assign(new PassThrough(), { isTTY });
  const output = new PassThrough();
  let text = '';
  let asked = 0;
  output.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    const questions = text.split('[y/N]').length - 1;
    for (; asked < questions; asked++) input.write(`${queue[Math.min(asked, queue.length - 1)]}\n`);
  });
  return { input, output, printed: () => text };
}
