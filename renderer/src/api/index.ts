// The renderer's Api: the preload's IPC bridge in Electron, HTTP in browser mode. Stores use
// this and never know which.
import type { Api } from '../../../preload/api.ts';
import { createHttpApi } from './http.ts';

export const api: Api = window.flowdesk ?? createHttpApi();
