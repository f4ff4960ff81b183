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
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

/** Decoded images, NHWC uint8, in a stable order. */
export interface ImageSet {
  size: number;
  channels: 1 | 3;
  count: number;
  pixels: Uint8Array;
  paths: string[];
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface ImportReport {
  folder: string;
  /** Files looked at (images or not). */
  found: number;
  used: number;
  train: number;
  val: number;
  skipped: SkippedFile[];
  fromCache: boolean;
  /** Hash of the folder's file list and the import settings. */
  fingerprint: string;
  seconds: number;
}
