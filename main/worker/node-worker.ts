// Starts the worker as a forked Node process (browser mode and tests), running the TypeScript
// entry through tsx when FlowDesk runs from source, else the bundled worker.js (an installed package).
import { fork } from 'node:child_process';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlowDeskError } from '../engine/errors.ts';
import { findThreadEntry } from '../engine/runtime/thread-loader.ts';
import type { HostMessage, WorkerMessage } from './protocol.ts';
import type { SpawnWorker } from './host.ts';
import { workerEnv } from './worker-env.ts';

export function nodeWorker(runsDir: string): SpawnWorker {
  const { found: entry, candidates } = findThreadEntry(dirname(fileURLToPath(import.meta.url)), 'entry', 'worker');
  if (!entry) throw new FlowDeskError('INTERNAL', `The compute worker is missing (looked for ${candidates.join(', ')}); reinstall FlowDesk.`);
  return () => {
    const child = fork(entry, [], {
      env: workerEnv(runsDir),
      execArgv: entry.endsWith('.ts') ? ['--import', 'tsx'] : [],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
      // Its own process group (a new session on POSIX): the terminal's Ctrl-C or hangup reaches
      // only the server, which asks the worker to checkpoint and stop (WorkerHost.shutdown).
      detached: process.platform !== 'win32',
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    // A send racing the worker's death, or a failed spawn, is an 'error' event: unhandled it
    // would end the server. The exit that follows (or the kill) fails the pending calls.
    child.on('error', () => child.kill());
    return {
      send: (m: HostMessage) => {
        if (child.connected) child.send(m, (err) => err && child.kill());
      },
      onMessage: (l) => child.on('message', (m) => l(m as WorkerMessage)),
      onExit: (l) => child.on('exit', (code, signal) => l(code ?? (signal ? 128 + constants.signals[signal] : null), lastLine(stderr) ?? (signal ? `killed by ${signal}` : ''))),
      kill: () => child.kill(),
      pid: child.pid,
    };
  };
}

function lastLine(text: string): string | null {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const error = [...lines].reverse().find((l) => /error/i.test(l));
  return error ?? lines.at(-1) ?? null;
}
