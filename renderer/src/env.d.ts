// Types the renderer needs from its surroundings: .vue modules and the preload's global.
/// <reference types="vite/client" />
import type { Api } from '../../preload/api.ts';

declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<object, object, unknown>;
  export default component;
}

declare global {
  interface Window {
    /** Present in Electron (exposed by the preload); absent in browser mode. */
    flowdesk?: Api;
  }
}
