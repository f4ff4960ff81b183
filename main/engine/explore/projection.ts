// The latent projector: a set of images encoded, scored in bits per dim, and laid out in 2D on
// the first two principal axes of their latents (pca.ts), for a map a person can browse.
import type { ImageSet } from '../data/index.ts';
import { bitsPerDimOf, latentsOf, type Explorer } from './explorer.ts';
import { pca } from './pca.ts';

export interface ProjectedSet {
  /** Each image's place on the first and second principal axes, in the set's order. */
  x: Float64Array;
  y: Float64Array;
  bpd: Float64Array;
  /** Fraction of the latents' variance along each of the two axes. */
  explained: [number, number];
}

/**
 * Encodes and scores every image of `set` (progress counts both passes: 2 x count units) and
 * projects the latents onto their first two principal axes. Needs at least two images.
 */
export async function projectSet(e: Explorer, set: ImageSet, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<ProjectedSet> {
  if (set.count < 2) throw new RangeError(`The projector needs at least two images; ${set.count} given.`);
  const total = 2 * set.count;
  const { rows, dims } = await latentsOf(e, set, (done) => onProgress?.(done, total), signal);
  const bpd = await bitsPerDimOf(e, set, (done) => onProgress?.(set.count + done, total), signal);
  const p = pca(rows, set.count, dims, 2);
  return {
    x: Float64Array.from({ length: set.count }, (_, i) => p.coords[2 * i]),
    y: Float64Array.from({ length: set.count }, (_, i) => p.coords[2 * i + 1]),
    bpd,
    explained: [p.explained[0], p.explained[1]],
  };
}
