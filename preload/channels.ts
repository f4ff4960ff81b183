// Every IPC channel between renderer and main, in one enum both sides import; no channel name
// is written anywhere else.
export enum IpcChannel {
  GetAppInfo = 'app:get-info',
}
