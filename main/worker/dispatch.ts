// The worker's dispatch: a call's name picks its service through WORKER_ROUTES and nothing else
// is reachable (not a service's other methods or fields, not Object.prototype's); every outcome,
// a thrown error included, comes back as a Result.
import type { Result } from '../../preload/api.ts';
import { asResult } from '../ipc-guard.ts';
import type { WorkerMethod } from './protocol.ts';
import { WORKER_ROUTES, type ServiceName, type ServiceSlice } from './routes.ts';

/** One instance of every worker service, each checked against its slice. */
export type WorkerServices = { [S in ServiceName]: ServiceSlice<S> };

export type Dispatch = (method: string, arg: unknown) => Promise<Result<unknown>>;

export function createDispatch(services: WorkerServices): Dispatch {
  return async (method, arg) => {
    if (!Object.hasOwn(WORKER_ROUTES, method)) {
      return { ok: false, error: { code: 'BAD_ARGUMENT', message: `Unknown call ${JSON.stringify(method)}.` } };
    }
    const call = method as WorkerMethod;
    // Sound because the route's service implements the slice that holds this call (its class
    // header says so, and the compiler checks it); only the name-to-method step is untyped.
    const service = services[WORKER_ROUTES[call]] as unknown as Record<WorkerMethod, (arg: unknown) => Promise<unknown>>;
    return asResult(() => service[call](arg));
  };
}
