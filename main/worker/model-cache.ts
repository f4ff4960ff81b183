// The most recently used run's latest checkpoint, kept loaded with its compute runtime (sessions
// or threads): dragging a temperature or alpha slider asks for many images from the same model.
import { initBackend } from '../engine/backend.ts';
import type { Explorer } from '../engine/explore/explorer.ts';
import { loadModelFolder, resolveModelDir } from '../engine/runs/model-folder.ts';
import { runtimeFor } from '../engine/runtime/runtime-for.ts';

export class ModelCache {
  private current: { dir: string; explorer: Explorer } | null = null;

  async forRun(runDir: string): Promise<Explorer> {
    const dir = await resolveModelDir(runDir);
    if (this.current?.dir !== dir) {
      this.current?.explorer.model.dispose();
      this.current = null;
      const backend = await initBackend();
      const { model, json } = await loadModelFolder(dir);
      // Chosen here, once, from the worker's backend; every later call on the model reuses it.
      runtimeFor(model, { backend: backend.name });
      this.current = { dir, explorer: { model, nBits: json.nBits } };
    }
    return this.current.explorer;
  }
}
