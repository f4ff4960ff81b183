// The app's Import of a PyTorch package (issue 18), in the worker: the package is told apart from
// a model export as `flowdesk import` tells it, comes back as a run whose curve joins the origin's
// rows and PyTorch's and whose model loads; a package never continued, or a folder that is
// neither, is refused saying what to do; a file of the package that links out of the allowed
// roots is refused by name and nothing is added.
import { cp, mkdir, mkdtemp, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_MANIFEST, PACKAGE_RUN } from '../../main/engine/export/pytorch-package.ts';
import { loadModelFolder } from '../../main/engine/runs/model-folder.ts';
import { readRunJson } from '../../main/engine/runs/run-json.ts';
import { ExploreService } from '../../main/worker/explore-service.ts';
import { ModelCache } from '../../main/worker/model-cache.ts';
import { RunsService } from '../../main/worker/runs-service.ts';
import { CONTINUED_STEP, EXPORTED_STEP, makePytorchPackages, type PytorchPackages } from '../helpers/pytorch-package.ts';

let packages: PytorchPackages;
/** Outside the roots the service is given: where a hostile link points. */
let outside: string;
let roots: string[];

beforeAll(async () => {
  packages = await makePytorchPackages();
  outside = await mkdtemp(join(tmpdir(), 'flowdesk-outside-'));
  roots = [await realpath(packages.root)];
}, 120_000);
afterAll(async () => {
  await packages?.cleanup();
  if (outside) await rm(outside, { recursive: true, force: true });
});

/** A worker-side service over a new runs folder inside the roots. */
async function service(): Promise<{ explore: ExploreService; runsDir: string }> {
  const runsDir = await mkdtemp(join(packages.root, 'runs-'));
  return { explore: new ExploreService(runsDir, new ModelCache(), roots, () => undefined), runsDir };
}

describe("the app's Import of a PyTorch package", () => {
  it('adds the continued run, its curve the origin rows then the continued ones, and its model loads at the continued step', async () => {
    const { explore, runsDir } = await service();
    const answer = await explore.importModel({ folder: packages.continued });
    expect(answer).toEqual({ runId: `${packages.origin}-pytorch`, continuedFrom: { run: packages.origin, step: EXPORTED_STEP } });
    expect((await readRunJson(join(runsDir, answer.runId))).continuedFrom).toEqual({ run: packages.origin, step: EXPORTED_STEP });
    // As the Runs view reads it: listed, its curve whole (the step-0 validation included), the weights Samples and Explore load those of the continued step.
    const runs = new RunsService(runsDir);
    expect((await runs.listRuns()).map((r) => r.id)).toEqual([answer.runId]);
    const detail = await runs.getRun({ runId: answer.runId });
    expect(detail.metrics.filter((r) => r.type === 'train').map((r) => r.step)).toEqual(Array.from({ length: CONTINUED_STEP }, (_, i) => i + 1));
    expect(detail.metrics.filter((r) => r.type === 'eval').map((r) => r.step)).toEqual([0, EXPORTED_STEP, CONTINUED_STEP]);
    expect(detail.weights?.step).toBe(CONTINUED_STEP);
    const { model } = await loadModelFolder(join(runsDir, answer.runId));
    model.dispose();
  });

  it('refuses a package train.py has not continued, saying what to run, and adds nothing', async () => {
    const { explore, runsDir } = await service();
    await expect(explore.importModel({ folder: packages.fresh })).rejects.toMatchObject({
      code: 'NO_CHECKPOINT',
      message: expect.stringMatching(new RegExp(`no checkpoint past step ${EXPORTED_STEP}.*train\\.py has not continued it yet\\. Run \`python3 train\\.py --steps N\``)),
    });
    expect(await readdir(runsDir)).toEqual([]);
  });

  it('refuses a folder that is neither a model export nor a package', async () => {
    const { explore } = await service();
    const empty = join(packages.root, 'not-a-model');
    await mkdir(empty, { recursive: true });
    await writeFile(join(empty, 'notes.txt'), 'hello\n');
    await expect(explore.importModel({ folder: empty })).rejects.toMatchObject({
      code: 'NO_CHECKPOINT',
      message: expect.stringMatching(/is neither a model export \(model\.json \+ weights\.safetensors\) nor a PyTorch package \(flowdesk-pytorch\.json\)/),
    });
  });

  // Every kind of file the import reads: the manifest, run.json, a checkpoint's weights (read
  // while finding the whole checkpoints) and the metrics rows (read last, after the checks).
  const linked = [PACKAGE_MANIFEST, join(PACKAGE_RUN, 'run.json'), join(PACKAGE_RUN, 'checkpoints', `step-${CONTINUED_STEP}`, 'weights.safetensors'), join(PACKAGE_RUN, 'metrics.jsonl')];
  for (const file of linked) {
    it(`refuses a package whose ${file} links out of the allowed folders, naming it, and adds no run`, async () => {
      const dir = join(packages.root, `linked-${basename(file)}`);
      await cp(packages.continued, dir, { recursive: true });
      const secret = join(outside, basename(file));
      await cp(join(dir, file), secret);
      await rm(join(dir, file));
      await symlink(secret, join(dir, file));
      const { explore, runsDir } = await service();
      await expect(explore.importModel({ folder: dir })).rejects.toMatchObject({
        code: 'BAD_CHECKPOINT',
        message: `${join(dir, file)} leads outside the folders FlowDesk may read (through a link); copy what it links to into them, or add its folder to FLOWDESK_ROOTS.`,
      });
      expect(await readdir(runsDir)).toEqual([]);
    });
  }
});
