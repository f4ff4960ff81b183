// Every registered Lab family through the registry, as the trainer and the app see it: built in
// two and in five dimensions, its samples' log q matches log q evaluated at those samples (both
// directions of the same model agree), the flow picture has a stage per layer and starts at its
// input, and one training step by its default objective changes the weights without a leak.
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { Rng } from '../../main/engine/random.ts';
import { LAB_FLOW_NAMES, LAB_FLOWS } from '../../common/lab/lab-catalog.ts';
import { buildLabModel } from '../../main/engine/lab/lab-flows.ts';
import { trainLabModel, type LabFitTarget } from '../../main/engine/lab/lab-trainer.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { labSettings } from '../helpers/lab-settings.ts';

const settings = labSettings({ layers: 2, hidden: 8, netDepth: 1, odeSteps: 4, bins: 4 });
const ctx = () => ({ mode: 'eval' as const, rng: new Rng(5) });

const samples: LabFitTarget = { kind: 'samples', draw: (n, rng) => rng.fillNormal(new Float32Array(n * 2), 1.5) };
const energy: LabFitTarget = { kind: 'energy', energy: (x) => tf.tidy(() => tf.mul(0.2, tf.sum(tf.square(x), 1)) as tf.Tensor1D) };

describe('Lab families through the registry', () => {
  for (const flow of LAB_FLOW_NAMES) {
    for (const dim of [2, 5]) {
      it(`${flow} in ${dim}-D: samples and densities agree, stages start at the input`, () => {
        const model = buildLabModel(flow, settings, dim, new Rng(1));
        // A first draw fills per-layer caches (LU's float64 inverse), which are not leaks.
        tf.dispose(Object.values(model.sample(1, ctx())));
        const before = tf.memory().numTensors;
        const { x, logProb } = model.sample(64, ctx());
        const again = model.logProb(x, ctx());
        // ODE families integrate each way separately: they agree to solver accuracy.
        const tol = LAB_FLOWS[flow].density === 'ode' ? 2e-2 : 2e-3;
        expectClose(again, logProb, tol, 1e-3);
        const base = tf.tensor2d(new Rng(2).fillNormal(new Float32Array(10 * dim)), [10, dim]);
        const stages = model.stages(base, 'to-data', ctx());
        expect(stages.length).toBeGreaterThan(1);
        expectClose(stages[0], base, 0);
        const pushed = model.sample(10, ctx(), base);
        expectClose(stages.at(-1)!, pushed.x, tol, 1e-3);
        tf.dispose([x, logProb, again, base, ...stages, pushed.x, pushed.logProb]);
        expect(tf.memory().numTensors).toBe(before);
        model.dispose();
      });
    }

    it(`${flow}: one step by its default objective moves the weights`, async () => {
      const model = buildLabModel(flow, settings, 2, new Rng(1));
      const objective = LAB_FLOWS[flow].objectives[0];
      const weights = () => [...model.params.variables.values()].flatMap((v) => Array.from(v.dataSync()));
      const start = weights();
      const result = await trainLabModel({ model, target: objective === 'likelihood' ? samples : energy, objective, steps: 2, minutes: null, batch: 32, lr: 1e-2, rng: new Rng(3) });
      expect(result.skippedSteps).toBe(0);
      expect(weights().some((w, i) => w !== start[i])).toBe(true);
      model.dispose();
    });
  }
});
