// What the Lab learns from, whatever its source: samples to fit by likelihood or an energy to fit
// by reverse KL, with the true log-density where it is known (the KL to truth needs it).
import type * as tf from '../../tf.ts';
import type { Rng } from '../../random.ts';

/** [lo, hi] per coordinate: the box a heatmap shows (and, for energies, where the density lives). */
export type Bounds = readonly (readonly [number, number])[];

export interface Target {
  readonly kind: 'samples' | 'energy';
  readonly dim: number;
  readonly label: string;
  readonly bounds: Bounds;
  /** `n` fresh points, row-major (n * dim), from `rng`. */
  sample?(n: number, rng: Rng): Float32Array;
  /** The true log-density in nats of row-major points (n * dim), -Infinity off the support; only where it is known. */
  logDensity?(points: ArrayLike<number>): Float64Array;
  /** U(x) per row (the density is exp(-U) / Z), differentiable for reverse KL. */
  energy?(x: tf.Tensor2D): tf.Tensor1D;
  /** log Z = log ∫ exp(-U), on a fine grid. */
  readonly logZ?: number;
  /** Held-out rows (CSV tables), row-major, standardised like the training rows. */
  readonly heldOut?: Float32Array;
  /** A CSV target's table: every row with its line in the file and the standardisation (ranking, export). */
  readonly table?: CsvTable;
}

/** A CSV file parsed by csv-table.ts. */
export interface CsvTable {
  readonly file: string;
  readonly columns: number;
  /** Whether the first line was a header (no field of it is a number). */
  readonly hasHeader: boolean;
  /** The header's names, one per column (null without a header): a ranking's export repeats them. */
  readonly header: readonly string[] | null;
  /** Per column, over the training rows: rows are stored as (value - mean) / std. */
  readonly mean: Float64Array;
  readonly std: Float64Array;
  /** Standardised rows, row-major (rows * columns). */
  readonly train: Float32Array;
  readonly test: Float32Array;
  /** 1-based line in the file of each train and test row, for ranking and export. */
  readonly trainLines: Int32Array;
  readonly testLines: Int32Array;
}

/** The box every two-dimensional target is shown on unless it says otherwise. */
export const PLANE_BOUNDS: Bounds = [[-4, 4], [-4, 4]];
