// Which classes a grid of samples is drawn under: none, one class by name, or 'all' (one row per
// class). `flowdesk sample --class` and the app's Samples view both ask it, so they draw alike.
import { ALL_CLASSES } from '../../../common/class-sampling.ts';
import { classRows, repeatedClass } from '../data/one-hot.ts';
import type { FlowModel } from '../models/flow-model.ts';
import { classIndex, classNamesOf } from './change-class.ts';

export interface ClassChoice {
  /** Images to draw. */
  count: number;
  /** Their one-hot class rows [count, K]; absent: no class (an unconditional model). */
  rows?: Float32Array;
  /** The grid's columns (n, so each class is one row); absent: a square grid. */
  cols?: number;
  /** The class of each grid row, for 'all'; absent otherwise. */
  rowLabels?: string[];
}

/**
 * What `choice` asks of `model` for `n` images: null, no class; a class name, `n` images of it;
 * ALL_CLASSES, `n` images of every class. A model without classes, or a name it does not have,
 * is a BAD_CONFIG error that lists the model's classes.
 */
export function classChoice(model: FlowModel, choice: string | null, n: number): ClassChoice {
  if (choice === null) return { count: n };
  const names = classNamesOf(model);
  if (choice === ALL_CLASSES) return { count: names.length * n, rows: classRows(names.length, n), cols: n, rowLabels: [...names] };
  return { count: n, rows: repeatedClass(classIndex(model, choice), n, names.length) };
}
