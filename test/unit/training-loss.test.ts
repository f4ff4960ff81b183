// The Train view labels a run's training curve from the model kind (common/training-loss.ts); the
// engine logs the loss its model's objective gives. They must agree for every kind.
import { describe, expect, it } from 'vitest';
import { MODEL_KINDS } from '../../common/settings/field.ts';
import { trainingLossOf } from '../../common/training-loss.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { trainingLossKindOf } from '../../main/engine/models/flow-model.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';

describe('training loss by model kind', () => {
  it.each(MODEL_KINDS)('%s: the label the app shows is the loss the engine trains on', (kind) => {
    const model = createModel({ kind, size: 8, channels: 1 } as ModelConfig, 0);
    try {
      expect(trainingLossKindOf(model)).toBe(trainingLossOf(kind));
    } finally {
      model.dispose();
    }
  });

  it('calls only flow matching something other than bits per dim', () => {
    expect(MODEL_KINDS.filter((k) => trainingLossOf(k) !== 'bits-per-dim')).toEqual(['flow-matching']);
  });
});
