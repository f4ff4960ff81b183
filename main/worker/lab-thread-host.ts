// The worker's side of the Lab's thread (lab-thread.ts): starts it (the TypeScript source through
// tsx, or the bundled lab-thread.js), numbers calls and matches replies, passes its events on, and
// when it ends unexpectedly fails the calls in flight and says so, so the next call starts a new one.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AppEvent, AppError } from '../../preload/api.ts';
import { FlowDeskError } from '../engine/errors.ts';
import { findThreadEntry, importEntrySource } from '../engine/runtime/thread-loader.ts';
import type { LabThreadCall, LabThreadMessage, LabThreadRequest } from './lab-protocol.ts';

function bootstrap(entry: string): string {
  return `
const { parentPort } = require('node:worker_threads');
(async () => {
  ${importEntrySource(entry)}
})().catch((err) => parentPort.postMessage({ kind: 'failed', message: String((err && err.message) || err) }));`;
}

export class LabThreadHost {
  private readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  /** Set once the thread has ended (or failed to load): this host answers no more calls. */
  private endedWith: AppError | null = null;
  readonly ended: Promise<void>;

  constructor(onEvent: (e: AppEvent) => void, onEnd: (why: AppError) => void) {
    const { found, candidates } = findThreadEntry(dirname(fileURLToPath(import.meta.url)), 'lab-thread', 'lab-thread');
    if (!found) throw new FlowDeskError('INTERNAL', `The Lab's compute thread is missing (looked for ${candidates.join(', ')}).`);
    this.worker = new Worker(bootstrap(found), { eval: true });
    // The thread never keeps the worker process alive by itself; the process's exit ends it.
    this.worker.unref();
    const end = (why: AppError) => {
      if (this.endedWith) return;
      this.endedWith = why;
      for (const p of this.pending.values()) p.reject(new FlowDeskError('INTERNAL', why.message));
      this.pending.clear();
      onEnd(why);
    };
    this.worker.on('message', (m: LabThreadMessage) => {
      if (m.kind === 'event') return onEvent(m.event);
      if (m.kind === 'failed') return end({ code: 'INTERNAL', message: `The Lab's compute thread could not start: ${m.message}.` });
      const p = this.pending.get(m.seq);
      this.pending.delete(m.seq);
      if (!p) return;
      if (m.result.ok) p.resolve(m.result.value);
      else p.reject(new FlowDeskError(m.result.error.code as never, m.result.error.message));
    });
    this.worker.on('error', (err) => end({ code: 'INTERNAL', message: `The Lab's compute thread failed: ${err.message}` }));
    this.ended = new Promise((resolve) => this.worker.once('exit', (code) => {
      end({ code: 'INTERNAL', message: `The Lab's compute thread stopped (exit code ${code}).` });
      resolve();
    }));
  }

  call<T>(call: LabThreadCall): Promise<T> {
    if (this.endedWith) return Promise.reject(new FlowDeskError('INTERNAL', this.endedWith.message));
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ seq, call } satisfies LabThreadRequest);
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
