// Which worker service answers each call the worker takes: the one place a call is assigned.
// The record must name every WorkerMethod exactly once (the compiler refuses a missing or an
// unknown call), and each service's class header implements the slice derived from it.
import type { WorkerMethod, WorkerSlice } from './protocol.ts';

export const WORKER_ROUTES = {
  backend: 'engine',
  importFolder: 'engine',
  startTraining: 'engine',
  pauseTraining: 'engine',
  cancelTraining: 'engine',
  resumeTraining: 'engine',
  listRuns: 'runs',
  getRun: 'runs',
  setRunInfo: 'runs',
  deleteRun: 'runs',
  restoreRun: 'runs',
  listTrash: 'runs',
  listQueue: 'engine',
  addToQueue: 'engine',
  removeFromQueue: 'engine',
  moveInQueue: 'engine',
  getSampleGrid: 'engine',
  sample: 'engine',
  reconstruct: 'explore',
  interpolate: 'explore',
  computeDirection: 'explore',
  listDirections: 'explore',
  applyDirection: 'explore',
  directionStrip: 'explore',
  projectLatents: 'explore',
  rankFolder: 'explore',
  restore: 'restore',
  listClasses: 'restore',
  changeClass: 'restore',
  cancelJob: 'engine',
  exportModel: 'explore',
  importModel: 'explore',
  startLab: 'lab',
  continueLab: 'lab',
  stopLab: 'lab',
  listLab: 'lab',
  getLab: 'lab',
  deleteLab: 'lab',
  labTarget: 'lab',
  labPicture: 'lab',
  labRank: 'lab',
  labSamplingTimes: 'lab',
} as const satisfies Record<WorkerMethod, 'engine' | 'explore' | 'runs' | 'lab' | 'restore'>;

export type ServiceName = (typeof WORKER_ROUTES)[WorkerMethod];

/** The calls service `S` answers. */
export type CallsOf<S extends ServiceName> = { [K in WorkerMethod]: (typeof WORKER_ROUTES)[K] extends S ? K : never }[WorkerMethod];

/** What service `S` implements: its calls, typed from the Api. */
export type ServiceSlice<S extends ServiceName> = WorkerSlice<CallsOf<S>>;
