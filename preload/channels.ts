// Every IPC channel between renderer and main, in one enum both sides import; no channel name
// is written anywhere else.
import type { ApiMethod } from './api.ts';

export enum IpcChannel {
  /** invoke(method, arg): every request/response call of the Api. */
  Call = 'api:call',
  /** main -> renderer: AppEvent pushes. */
  Event = 'api:event',
}

// Every request/response call of the Api, once: as a record keyed by ApiMethod, the compiler
// refuses a call the Api has and this lacks, or one it names that the Api does not have.
const CALLS: Record<ApiMethod, true> = {
  getAppInfo: true,
  chooseFolder: true,
  requestFolderAccess: true,
  importFolder: true,
  startTraining: true,
  pauseTraining: true,
  cancelTraining: true,
  resumeTraining: true,
  listQueue: true,
  addToQueue: true,
  removeFromQueue: true,
  moveInQueue: true,
  listRuns: true,
  getRun: true,
  setRunInfo: true,
  deleteRun: true,
  restoreRun: true,
  listTrash: true,
  getSampleGrid: true,
  sample: true,
  reconstruct: true,
  interpolate: true,
  computeDirection: true,
  listDirections: true,
  applyDirection: true,
  directionStrip: true,
  projectLatents: true,
  rankFolder: true,
  restore: true,
  listClasses: true,
  changeClass: true,
  cancelJob: true,
  exportModel: true,
  importModel: true,
  startLab: true,
  continueLab: true,
  stopLab: true,
  listLab: true,
  getLab: true,
  deleteLab: true,
  labTarget: true,
  labPicture: true,
  labRank: true,
  labSamplingTimes: true,
};

/** The Api's request/response calls; the preload and browser mode's client build exactly these. */
export const API_METHODS = Object.keys(CALLS) as readonly ApiMethod[];
