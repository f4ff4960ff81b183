// Checks that hold for every run folder, whatever happened to it: each checkpoint loads and
// gives the bits per dim logged by the evaluation at its step, and metrics.jsonl holds each
// training step at most once.
import { expect } from 'vitest';
import { listCheckpoints, readCheckpoint } from '../../main/engine/checkpoint/checkpoint-store.ts';
import type { ImageSet } from '../../main/engine/data/index.ts';
import { loadModel, parseModelJson } from '../../main/engine/models/model-io.ts';
import { readMetrics } from '../../main/engine/runs/metrics.ts';
import { mixSeed } from '../../main/engine/train/batches.ts';
import { meanBitsPerDim } from '../../main/engine/train/evaluate.ts';

/**
 * Every checkpoint of `runDir` loads, and where an evaluation was logged at its step its bits
 * per dim equal that row (8-bit images, the default seed's validation order). Returns the steps.
 */
export async function checkCheckpoints(runDir: string, valSet: ImageSet): Promise<number[]> {
  const { rows } = await readMetrics(runDir);
  const evals = new Map(rows.filter((r) => r.type === 'eval').map((r) => [r.step as number, r.valBpd as number]));
  const steps: number[] = [];
  for (const ref of await listCheckpoints(runDir)) {
    const ckpt = await readCheckpoint(ref.dir);
    // Evaluations use the averaged weights (the last ones where averaging is off).
    const model = loadModel(parseModelJson(ckpt.model, ref.dir), ckpt.ema?.tensors ?? ckpt.weights, ref.dir);
    try {
      const logged = evals.get(ref.step);
      if (logged !== undefined) {
        const bpd = await meanBitsPerDim(model, valSet, { nBits: 8, limit: 500, seed: mixSeed(0, 7) });
        expect(Math.abs(bpd - logged), `${runDir} checkpoint ${ref.step}`).toBeLessThan(1e-4);
      }
    } finally {
      model.dispose();
    }
    steps.push(ref.step);
  }
  return steps;
}

/** metrics.jsonl names each training step at most once. */
export async function checkStepsOnce(runDir: string): Promise<void> {
  const steps = (await readMetrics(runDir)).rows.filter((r) => r.type === 'train').map((r) => r.step as number);
  expect(steps.length, `${runDir}: a step logged twice`).toBe(new Set(steps).size);
}
