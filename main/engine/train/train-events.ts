// What a training run tells its listener (CLI progress bar, app chart): one event type per
// kind of news, all plain JSON so they cross process boundaries unchanged.

import type { TrainPhase } from '../../../common/train-phases.ts';
import type { TrainingLossKind } from '../../../common/training-loss.ts';
import type { Progress } from '../progress.ts';
import type { ClassCount, SkippedFile } from '../data/import-types.ts';

export type StopReason = 'steps' | 'time' | 'cancelled';

export type TrainEvent =
  /** What the run is doing before its first step (loading images comes before the 'start' event). */
  | { type: 'phase'; phase: TrainPhase }
  /**
   * `skipped`: the files the import could not use, each with why (also in the run's import-report.json);
   * `classes`: the import's classes with their images on each side ([] when unlabelled).
   */
  | { type: 'start'; runDir: string; step: number; totalSteps: number; backend: string; resumed: boolean; trainImages: number; valImages: number; skipped: SkippedFile[]; classes: ClassCount[] }
  /** `eta`: seconds left, null until the pace is steady (train/eta.ts); `lossKind`: what `loss` is (bits per dim, or flow matching's regression). */
  | { type: 'step'; step: number; totalSteps: number; loss: number; lossKind: TrainingLossKind; lr: number; gradNorm: number; imgPerSec: number; elapsed: number; eta: number | null }
  /** A validation in progress (flow matching's takes minutes): images done of the total, rate and ETA. */
  | { type: 'eval-progress'; step: number; progress: Progress }
  /**
   * `weights`: evaluated with the moving average of the weights, or the last ones when averaging is off;
   * `marks`: the time marks (minutes, common/time-marks.ts) this evaluation answers, usually none.
   * A conditional model's `valBpd` is given each image's class (what it trains on); `classes` adds
   * the unconditional bits per dim (summed over classes) and the accuracy of argmax_y log p(x|y).
   */
  | { type: 'eval'; step: number; valBpd: number; elapsed: number; weights: 'avg' | 'last'; marks: number[]; classes?: ClassEval }
  | { type: 'sample'; step: number; path: string }
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'warning'; step: number; message: string }
  | { type: 'done'; step: number; reason: StopReason; runDir: string; valBpd: number | null };

/** A conditional model's other validation figures (train/class-evaluate.ts). */
export interface ClassEval {
  unconditionalBpd: number;
  /** null where no validation image has a class the model knows. */
  accuracy: number | null;
}

export interface TrainResult {
  runDir: string;
  step: number;
  reason: StopReason;
  /** Validation bits per dim at the last evaluation. */
  valBpd: number | null;
  /** Validation bits per dim after initialisation, before any update (fresh runs only). */
  initialValBpd: number | null;
}
