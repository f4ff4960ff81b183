// The most recently used run's latest checkpoint, kept loaded with its compute runtime (sessions
// or threads): dragging a temperature or alpha slider asks for many images from the same model.
// It holds the default weights (the moving average where the checkpoint has one). While a run
// trains, a newer checkpoint of the same model only replaces the weights: the runtime's sessions
// take weights as inputs, so they stay warm (no tracing per checkpoint).
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { initBackend } from '../engine/backend.ts';
import type { Explorer } from '../engine/explore/explorer.ts';
import { importWeights, loadModel, type ModelJson } from '../engine/models/model-io.ts';
import { readModelFolder, resolveWeights } from '../engine/runs/model-folder.ts';
import { runtimeFor } from '../engine/runtime/runtime-for.ts';

export class ModelCache {
  /** `key`: the weights file the model was loaded from. */
  private current: { key: string; json: ModelJson; explorer: Explorer } | null = null;

  async forRun(runDir: string): Promise<Explorer> {
    const chosen = await resolveWeights(runDir);
    const key = join(chosen.dir, chosen.file);
    if (this.current?.key === key) return this.current.explorer;
    const { json, tensors, weightsPath } = await readModelFolder(chosen.dir, { chosen });
    if (this.current && isDeepStrictEqual(json, this.current.json)) {
      importWeights(this.current.explorer.model, tensors, weightsPath);
      this.current.key = key;
      return this.current.explorer;
    }
    this.current?.explorer.model.dispose();
    this.current = null;
    const backend = await initBackend();
    const model = loadModel(json, tensors, weightsPath);
    // Chosen here, once, from the worker's backend; every later call on the model reuses it.
    runtimeFor(model, { backend: backend.name });
    this.current = { key, json, explorer: { model, nBits: json.nBits } };
    return this.current.explorer;
  }
}
