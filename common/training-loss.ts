// What a model's training loss is: flows train on their own bits per dim, flow matching on a
// regression of its velocity field, so the metrics and the person say which a curve shows.
import type { ModelKind } from './settings/field.ts';

export const TRAINING_LOSSES = {
  'bits-per-dim': { label: 'bits/dim', help: 'mean bits per dimension of the batch' },
  'velocity-mse': { label: 'velocity MSE', help: "flow matching's regression loss: mean squared error of the velocity against x1 - x0 (not bits per dim)" },
} as const;

export type TrainingLossKind = keyof typeof TRAINING_LOSSES;

/** The loss of models without an objective of their own. */
export const DEFAULT_TRAINING_LOSS: TrainingLossKind = 'bits-per-dim';

/** What a model of `kind` trains on: its objective's loss where it has one (flow matching), else its bits per dim. */
export function trainingLossOf(kind: ModelKind): TrainingLossKind {
  return kind === 'flow-matching' ? 'velocity-mse' : DEFAULT_TRAINING_LOSS;
}
