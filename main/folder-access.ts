// Widening what the page may read, only with a person's yes given outside the page. Browser mode
// asks in the terminal that runs `flowdesk serve` ("Allow FlowDesk to read /x/y? [y/N]") and
// remembers a yes for that runs folder in allowed-folders.json; without a terminal nobody can
// answer, so the request is refused. (In Electron the folder dialog is the confirmation.)
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { FlowDeskError } from './engine/errors.ts';
import { writeFileAtomically } from './engine/fs/atomic-write.ts';
import { checkedAgainst, parsedJson } from './engine/runs/validated-read.ts';

export const ALLOWED_FOLDERS_FILE = 'allowed-folders.json';
const FORMAT = 'flowdesk.allowed-folders';
const VERSION = 1;
/** A question nobody answers within this time is a no, so a forgotten request does not hang the page. */
export const ASK_TIMEOUT_MS = 120_000;

const fileSchema = z.object({ format: z.literal(FORMAT), version: z.literal(VERSION), folders: z.array(z.string()) });

/** Real paths a person allowed for the runs folder `runsDir` in earlier sessions. */
export async function rememberedFolders(runsDir: string): Promise<string[]> {
  const path = join(runsDir, ALLOWED_FOLDERS_FILE);
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  return text === null ? [] : checkedAgainst(fileSchema, parsedJson(text, path), path).folders;
}

export async function rememberFolder(runsDir: string, folder: string): Promise<void> {
  const folders = [...new Set([...(await rememberedFolders(runsDir)), folder])];
  await writeFileAtomically(join(runsDir, ALLOWED_FOLDERS_FILE), `${JSON.stringify({ format: FORMAT, version: VERSION, folders }, null, 2)}\n`);
}

export interface Terminal {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream;
}

/**
 * A confirm function that asks on `terminal`, one question at a time; true only for "y" or "yes".
 * Throws NO_TERMINAL when the input is not a terminal (a service, a pipe): nobody can answer.
 */
export function terminalConfirm(terminal: Terminal, timeoutMs = ASK_TIMEOUT_MS): (folder: string) => Promise<boolean> {
  let queue: Promise<unknown> = Promise.resolve();
  const ask = (folder: string) =>
    new Promise<boolean>((resolve) => {
      const rl = createInterface({ input: terminal.input, output: terminal.output, terminal: false });
      const timer = setTimeout(() => {
        terminal.output.write('\n(no answer: not allowed)\n');
        finish(false);
      }, timeoutMs);
      function finish(yes: boolean) {
        clearTimeout(timer);
        rl.close();
        resolve(yes);
      }
      rl.question(`The FlowDesk page asks to read ${folder}. Allow FlowDesk to read ${folder}? [y/N] `, (answer) => finish(/^y(es)?$/i.test(answer.trim())));
    });
  return (folder) => {
    if (!terminal.input.isTTY) {
      return Promise.reject(
        new FlowDeskError('NO_TERMINAL', `Nobody can confirm reading ${folder}: \`flowdesk serve\` runs without a terminal. Restart it with FLOWDESK_ROOTS=${folder}, or from a terminal.`),
      );
    }
    const answer = queue.then(() => ask(folder));
    queue = answer.catch(() => undefined);
    return answer;
  };
}
