// The worker process: runs the engine (all tensors) away from the window's main thread and
// answers the host's calls. Runs as an Electron utilityProcess or a forked Node process.
import type { AppEvent } from '../../preload/api.ts';
import { createDispatch } from './dispatch.ts';
import type { HostMessage, WorkerMessage } from './protocol.ts';
import { ExploreService } from './explore-service.ts';
import { InteractiveGate, interactiveFirst } from './interactive-first.ts';
import { LabService } from './lab-service.ts';
import { ModelCache } from './model-cache.ts';
import { RestoreService } from './restore-service.ts';
import { RunsService } from './runs-service.ts';
import { EngineService } from './service.ts';
import { readWorkerEnv } from './worker-env.ts';

interface ParentPort {
  on(event: 'message', listener: (e: { data: HostMessage }) => void): void;
  postMessage(message: WorkerMessage): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
// A send that fails (the host died; the channel's close may not be seen yet) is not an error
// that ends the worker: it means the worker is an orphan, which pauses its run and exits.
const send = (m: WorkerMessage) => (parentPort ? parentPort.postMessage(m) : process.connected && process.send?.(m, undefined, undefined, (err) => err && void shutdown()));
const { runsDir, roots } = readWorkerEnv();

const models = new ModelCache();
const emit = (event: AppEvent) => send({ kind: 'event', event });
const gate = new InteractiveGate();
const engine = new EngineService(runsDir, emit, models, roots, gate);
const runs = new RunsService(runsDir);
const lab = new LabService(runsDir, roots, emit);
const dispatch = interactiveFirst(createDispatch({ engine, explore: new ExploreService(runsDir, models, roots, emit), runs, lab, restore: new RestoreService(runsDir, models, emit) }), gate);
// Deleted runs older than 30 days go for good at each start; a failure only leaves them longer.
void runs.purgeTrash().catch(() => undefined);

let exiting = false;

/**
 * Pauses the run in progress (the trainer finishes its step and writes a checkpoint) and stops
 * the Lab model in training (it saves), then exits: asked by the host, or on our own when the
 * host is gone, so nothing trains headless.
 */
async function shutdown(): Promise<void> {
  if (exiting) return;
  exiting = true;
  await Promise.all([engine.pauseForShutdown().catch(() => undefined), lab.stopForShutdown().catch(() => undefined)]);
  process.exit(0);
}

async function handle(msg: HostMessage): Promise<void> {
  if (msg?.kind === 'shutdown') return shutdown();
  // The services hold this same list, so the folder counts for every call from now on.
  if (msg?.kind === 'allow-folder') return void (roots.includes(msg.folder) || roots.push(msg.folder));
  if (msg?.kind !== 'call' || exiting) return;
  send({ kind: 'result', id: msg.id, result: await dispatch(msg.method, msg.arg) });
}

/** How often a utilityProcess worker checks that the app that started it is still there. */
const ORPHAN_CHECK_MS = 1000;

if (parentPort) {
  parentPort.on('message', (e) => void handle(e.data));
  // A utilityProcess has no 'disconnect' event: a parent pid that changed means the app is gone.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && void shutdown(), ORPHAN_CHECK_MS).unref();
} else {
  process.on('message', (m) => void handle(m as HostMessage));
  // The IPC channel closes when the host dies, even by SIGKILL: this worker is then an orphan.
  process.on('disconnect', () => void shutdown());
  // Its stderr is a pipe to that host; a write into the closed pipe must not end the checkpoint.
  process.stderr.on('error', () => undefined);
}
send({ kind: 'ready' });
void engine.startQueue();
