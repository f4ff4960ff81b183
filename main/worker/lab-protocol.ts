// Messages between the worker's Lab service and the Lab's own thread (lab-thread.ts), which
// trains and draws Lab models on tfjs's cpu backend, apart from the image trainer's backend.
import type { AppEvent, Result } from '../../preload/api.ts';
import type { LabTargetSpec } from '../../common/lab/lab-catalog.ts';
import type { LabSessionRequest } from '../engine/lab/lab-session.ts';

/** What the thread is asked; `roots` are the app's allowed folders at the time of the call (CSV files must lie inside them). */
export type LabThreadCall =
  /** Answers `{ id }` once the model's folder exists and training starts; its end is a lab-stopped event. */
  | { op: 'train'; request: LabSessionRequest; roots: string[] }
  | { op: 'stop'; id: string }
  | { op: 'target'; target: LabTargetSpec; roots: string[] }
  | { op: 'picture'; runsDir: string; id: string; stages?: number }
  | { op: 'rank'; runsDir: string; id: string; roots: string[] }
  | { op: 'sampling-times'; runsDir: string; teacher: string; student: string };

export type LabThreadRequest = { seq: number; call: LabThreadCall };

export type LabThreadMessage =
  | { kind: 'reply'; seq: number; result: Result<unknown> }
  | { kind: 'event'; event: AppEvent }
  /** The thread's module could not load. */
  | { kind: 'failed'; message: string };
