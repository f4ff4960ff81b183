// The most recently used run's latest checkpoint, kept loaded: dragging a temperature or alpha
// slider asks for many images from the same model.
import type { Explorer } from '../engine/explore/explorer.ts';
import { loadModelFolder, resolveModelDir } from '../engine/runs/model-folder.ts';

export class ModelCache {
  private current: { dir: string; explorer: Explorer } | null = null;

  async forRun(runDir: string): Promise<Explorer> {
    const dir = await resolveModelDir(runDir);
    if (this.current?.dir !== dir) {
      this.current?.explorer.model.dispose();
      this.current = null;
      const { model, json } = await loadModelFolder(dir);
      this.current = { dir, explorer: { model, nBits: json.nBits } };
    }
    return this.current.explorer;
  }
}
