// The most recently used run's latest checkpoint, kept loaded: dragging a temperature or alpha
// slider asks for many images from the same model.
import { resolveCheckpointDir } from '../engine/checkpoint/checkpoint-store.ts';
import type { Explorer } from '../engine/explore/explorer.ts';
import { loadModelDir } from '../engine/models/model-files.ts';

export class ModelCache {
  private current: { dir: string; explorer: Explorer } | null = null;

  async forRun(runDir: string): Promise<Explorer> {
    const dir = await resolveCheckpointDir(runDir);
    if (this.current?.dir !== dir) {
      this.current?.explorer.model.dispose();
      this.current = null;
      const { model, json } = await loadModelDir(dir);
      this.current = { dir, explorer: { model, nBits: json.nBits } };
    }
    return this.current.explorer;
  }
}
