import { it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { Rng } from '../../main/engine/random.ts';
import { buildLabModel } from '../../main/engine/lab/lab-flows.ts';
import { labSettings } from '../helpers/lab-settings.ts';
it('probe', () => {
  for (const flow of ['ffjord', 'flow-matching'] as const) {
    const model = buildLabModel(flow, labSettings({ hidden: 32, netDepth: 2, solver: 'rk4', odeSteps: 4 }), 2, new Rng(20));
    const rng = new Rng(1);
    const ctx = { mode: 'train' as const, rng };
    const opt = tf.train.adam(1e-2);
    const x = tf.randomNormal([128, 2]) as tf.Tensor2D;
    const t0 = performance.now(); const c0 = process.cpuUsage();
    for (let i = 0; i < 10; i++) opt.minimize(() => model.dataLoss(x, ctx));
    const c1 = process.cpuUsage(c0);
    console.log(flow, 'ms/step wall', (performance.now() - t0) / 10, 'cpu', (c1.user + c1.system) / 1e4);
    const t1 = performance.now();
    const l = model.logProb(tf.randomNormal([3600, 2]) as tf.Tensor2D, { mode: 'eval', rng });
    l.dataSync();
    console.log('grid eval ms', performance.now() - t1);
  }
});
