// Every IPC channel between renderer and main, in one enum both sides import; no channel name
// is written anywhere else.
export enum IpcChannel {
  /** invoke(method, arg): every request/response call of the Api. */
  Call = 'api:call',
  /** main -> renderer: AppEvent pushes. */
  Event = 'api:event',
}

/** The Api's request/response calls; the preload builds exactly these. */
export const API_METHODS = [
  'getAppInfo',
  'chooseFolder',
  'importFolder',
  'startTraining',
  'pauseTraining',
  'cancelTraining',
  'resumeTraining',
  'listRuns',
  'getRun',
  'getSampleGrid',
  'sample',
  'reconstruct',
  'interpolate',
  'computeDirection',
  'listDirections',
  'applyDirection',
  'rankFolder',
  'exportModel',
  'importModel',
] as const;
