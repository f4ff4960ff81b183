// The most recently used run's latest checkpoint, kept loaded with its compute runtime (sessions
// or threads): dragging a temperature or alpha slider asks for many images from the same model.
// It holds the default weights (the moving average where the checkpoint has one).
import { join } from 'node:path';
import { initBackend } from '../engine/backend.ts';
import type { Explorer } from '../engine/explore/explorer.ts';
import { loadModel } from '../engine/models/model-io.ts';
import { readModelFolder, resolveWeights } from '../engine/runs/model-folder.ts';
import { runtimeFor } from '../engine/runtime/runtime-for.ts';

export class ModelCache {
  /** `key`: the weights file the model was loaded from. */
  private current: { key: string; explorer: Explorer } | null = null;

  async forRun(runDir: string): Promise<Explorer> {
    const chosen = await resolveWeights(runDir);
    const key = join(chosen.dir, chosen.file);
    if (this.current?.key !== key) {
      this.current?.explorer.model.dispose();
      this.current = null;
      const backend = await initBackend();
      const { json, tensors, weightsPath } = await readModelFolder(chosen.dir, { chosen });
      const model = loadModel(json, tensors, weightsPath);
      // Chosen here, once, from the worker's backend; every later call on the model reuses it.
      runtimeFor(model, { backend: backend.name });
      this.current = { key, explorer: { model, nBits: json.nBits } };
    }
    return this.current.explorer;
  }
}
