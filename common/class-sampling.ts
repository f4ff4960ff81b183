// How a class-conditional model is sampled and how its class figures are named, for the Api's
// checks, the engine, the CLI and the app: the "all classes" choice and the guidance weight's range.
import { appliesTo, type ModelKind } from './settings/field.ts';
import { modelFields } from './settings/model-fields.ts';

/** The class choice that draws one row per class. */
export const ALL_CLASSES = 'all';

/** Images one sample grid of the app holds at most (n images for each of many classes). */
export const SAMPLE_GRID_MAX = 1024;

/**
 * Classifier-free guidance weight w (FlowModel.sample): 0 samples the unconditional model, 1
 * (the default) the conditional one, above 1 guided towards the class.
 */
export const GUIDANCE = { min: 0, max: 4, step: 0.1, default: 1 } as const;

/** Whether a model kind samples with a guidance weight: the kinds trained with label dropout. */
export function takesGuidance(kind: ModelKind): boolean {
  return appliesTo(modelFields.labelDropout, kind);
}
