// The worker process: runs the engine (all tensors) away from the window's main thread and
// answers the host's calls. Runs as an Electron utilityProcess or a forked Node process.
import type { AppEvent } from '../../preload/api.ts';
import { createDispatch } from './dispatch.ts';
import type { HostMessage, WorkerMessage } from './protocol.ts';
import { ExploreService } from './explore-service.ts';
import { ModelCache } from './model-cache.ts';
import { EngineService } from './service.ts';

interface ParentPort {
  on(event: 'message', listener: (e: { data: HostMessage }) => void): void;
  postMessage(message: WorkerMessage): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
const send = (m: WorkerMessage) => (parentPort ? parentPort.postMessage(m) : process.send?.(m));
const runsDir = process.env.FLOWDESK_RUNS;
if (!runsDir) throw new Error('FLOWDESK_RUNS is not set');

const models = new ModelCache();
const dispatch = createDispatch({
  engine: new EngineService(runsDir, (event: AppEvent) => send({ kind: 'event', event }), models),
  explore: new ExploreService(runsDir, models),
});

async function handle(msg: HostMessage): Promise<void> {
  if (msg?.kind !== 'call') return;
  send({ kind: 'result', id: msg.id, result: await dispatch(msg.method, msg.arg) });
}

if (parentPort) parentPort.on('message', (e) => void handle(e.data));
else process.on('message', (m) => void handle(m as HostMessage));
send({ kind: 'ready' });
