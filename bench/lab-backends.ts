// `npx tsx bench/lab-backends.ts [cpu|wasm] [flow,flow,...]`: milliseconds per Lab training step
// at each family's default settings (labDefaults, 2-D) for each family on one tfjs backend, as JSON lines. Run
// it once per backend, side by side, to compare; it decided the Lab's backend (runtime/lab-backend.ts).
import * as tf from '../main/engine/tf.ts';
import { initBackend } from '../main/engine/backend.ts';
import { Rng } from '../main/engine/random.ts';
import { buildLabModel } from '../main/engine/lab/lab-flows.ts';
import { trainLabModel, type LabFitTarget } from '../main/engine/lab/lab-trainer.ts';
import { labDefaults } from '../common/lab/lab-fields.ts';
import { LAB_FLOW_NAMES, LAB_FLOWS, type LabFlowName } from '../common/lab/lab-catalog.ts';

/** Timed steps, after one untimed step that warms the backend's kernels. */
const STEPS = 10;
const backend = process.argv[2] === 'cpu' ? 'cpu' : 'wasm';
await initBackend({ force: backend });
const flows = (process.argv[3]?.split(',') ?? LAB_FLOW_NAMES) as LabFlowName[];
const samples: LabFitTarget = { kind: 'samples', draw: (n, rng) => rng.fillNormal(new Float32Array(n * 2)) };
const energy: LabFitTarget = { kind: 'energy', energy: (x) => tf.sum(tf.square(x), 1) as tf.Tensor1D };

for (const flow of flows) {
  const settings = labDefaults(flow);
  const model = buildLabModel(flow, settings, 2, new Rng(0));
  const objective = LAB_FLOWS[flow].objectives[0];
  const train = (steps: number, startStep: number) => trainLabModel({ model, target: objective === 'likelihood' ? samples : energy, objective, steps, startStep, minutes: null, batch: settings.batch, lr: settings.lr, rng: new Rng(0) });
  await train(1, 0);
  const started = performance.now();
  await train(1 + STEPS, 1);
  console.log(JSON.stringify({ bench: 'lab-step', backend, flow, batch: settings.batch, ms_per_step: Math.round((performance.now() - started) / STEPS) }));
  model.dispose();
}
