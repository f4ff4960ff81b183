import { it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import { createModel } from '../../main/engine/models/create-model.ts';
import { perturb, randomInput } from '../helpers/perturb.ts';
import { degradedObservation } from '../../main/engine/restore/observation.ts';
it('dbg', async () => {
  await tf.setBackend('cpu');
  for (const task of ['none', 'upscale-2', 'inpaint']) for (const scale of [0, 0.02, 0.1]) {
    const x = randomInput([1, 4, 4, 3], 3, 0.2);
    const m: any = createModel({ kind: 'glow', size: 4, channels: 3, levels: 2, depth: 2, hidden: 8, restoreTask: task } as any, 0);
    m.initialise(randomInput([16, 4, 4, 3], 20, 0.2));
    perturb(m.params, scale);
    const err = task === 'none' ? tf.max(tf.abs(tf.sub(m.decode(m.encode(x)), x))).dataSync()[0] : (() => { const y = degradedObservation(task as any, randomInput([1,4,4,3], 4, 0.2), tf.fill([1, task==='inpaint'?16:12], 0.3) as any); return tf.max(tf.abs(tf.sub(m.decodeGiven(m.forwardGiven(x, y).zs, y), x))).dataSync()[0]; })();
    console.log('RESULT', task, scale, err);
  }
});
