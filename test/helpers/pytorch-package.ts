// PyTorch packages for import tests, built without torch: a tiny run trained in FlowDesk and
// exported with exportPytorchPackage, once as exported and once continued. The package's run/ is
// an ordinary run folder that train.py continues in FlowDesk's formats (checkpoints, best
// weights, metrics rows), so FlowDesk's own resume stands in for train.py here.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportPytorchPackage, PACKAGE_RUN } from '../../main/engine/export/pytorch-package.ts';
import { resume, train } from '../../main/engine/train/trainer.ts';
import { makeImageFolder } from './image-folder.ts';

/** The step the packages continue from, and the step the continued one reaches. */
export const EXPORTED_STEP = 2;
export const CONTINUED_STEP = 4;
const MODEL = { kind: 'glow', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8 } as const;

export interface PytorchPackages {
  /** Holds the origin's runs folder and both packages. */
  root: string;
  /** The origin run's id. */
  origin: string;
  /** A package as exported: train.py has not run in it. */
  fresh: string;
  /** A package whose run was continued to CONTINUED_STEP. */
  continued: string;
  cleanup(): Promise<void>;
}

export async function makePytorchPackages(): Promise<PytorchPackages> {
  const root = await mkdtemp(join(tmpdir(), 'flowdesk-pytorch-packages-'));
  const images = await makeImageFolder({ count: 16, size: 8, channels: 1, pattern: 'stripes' });
  try {
    const runsDir = join(root, 'origin-runs');
    const settings = { batch: 4, steps: EXPORTED_STEP, evalEvery: EXPORTED_STEP, checkpointEvery: EXPORTED_STEP, warmup: 1, seed: 0, valImages: 4 };
    const { runDir } = await train({ model: MODEL, runsDir, cacheDir: null, folder: images.dir, name: 'origin', train: settings });
    const fresh = join(root, 'fresh-package');
    const continued = join(root, 'continued-package');
    await exportPytorchPackage(runDir, fresh, runsDir, null);
    await exportPytorchPackage(runDir, continued, runsDir, null);
    await resume(join(continued, PACKAGE_RUN), { steps: CONTINUED_STEP, cacheDir: null });
    return {
      root,
      origin: 'origin',
      fresh,
      continued,
      async cleanup() {
        await images.cleanup();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await images.cleanup();
    await rm(root, { recursive: true, force: true });
    throw err;
  }
}
