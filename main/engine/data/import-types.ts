// Types of an imported image folder: the decoded images and the report a person reads.
import type { Progress } from '../progress.ts';

export interface ImportOptions {
  /** Side of the square images the model sees. Defaults to 32. */
  size?: number;
  /** 1 for grayscale, 3 for RGB. Defaults to 3. */
  channels?: 1 | 3;
  /** Fraction held out for validation. Defaults to 0.1. */
  valFraction?: number;
  /** Largest input image in pixels (width x height); larger files are skipped. Defaults to 64,000,000. */
  maxInputPixels?: number;
  /** Where decoded folders are cached; null disables the cache. Defaults to $FLOWDESK_CACHE or ~/.cache/flowdesk/images. */
  cacheDir?: string | null;
  /**
   * Real paths of the folders images may come from (the app's allowed roots): links that lead
   * elsewhere are skipped and named in the report. Absent (the CLI): no limit.
   */
  roots?: readonly string[];
  /** Called while scanning (total 0: not yet known) and decoding. */
  onProgress?: (p: Progress) => void;
  /** Aborting it stops the import with DataError('CANCELLED'). */
  signal?: AbortSignal;
}

/** Decoded images in a stable order (sorted by relative path). */
export interface ImageSet {
  size: number;
  channels: 1 | 3;
  count: number;
  /** NHWC uint8: count x size x size x channels. */
  pixels: Uint8Array;
  /** File of each image, the folder as given joined with its relative path. */
  paths: string[];
  /** Class index of each image (aligned with `pixels` and `paths`); null when the set is unlabelled. */
  labels: Int32Array | null;
  /** Class names in index order, sorted; [] when unlabelled. */
  classes: readonly string[];
}

export interface SkippedFile {
  path: string;
  /** Why, in words a person can act on. */
  reason: string;
}

export interface ImportReport {
  folder: string;
  /** Files that are images by name or content, usable or not. */
  found: number;
  /** Other files (captions, notes), left out without a reason each. */
  ignored: number;
  /** Images decoded: train + val. */
  used: number;
  train: number;
  val: number;
  /** Image files and sub-folders that could not be used, sorted by path. */
  skipped: SkippedFile[];
  fromCache: boolean;
  /** Hash of the folder's file list (relative paths, sizes, times) and the decode settings. */
  fingerprint: string;
  seconds: number;
}
