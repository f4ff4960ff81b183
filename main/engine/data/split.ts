// Deterministic train/validation split by a hash of each file's relative path: adding files to
// a folder never moves an existing image from one side to the other.
import { createHash } from 'node:crypto';

function unitHash(rel: string): number {
  return createHash('sha1').update(rel).digest().readUInt32BE(0) / 2 ** 32;
}

/** Indices (into `rels`) of the validation images; at least one when there are two or more. */
export function validationIndices(rels: readonly string[], valFraction: number): Set<number> {
  const hashes = rels.map(unitHash);
  const val = new Set<number>();
  hashes.forEach((h, i) => {
    if (h < valFraction) val.add(i);
  });
  if (val.size === 0 && rels.length >= 2 && valFraction > 0) {
    let lowest = 0;
    hashes.forEach((h, i) => {
      if (h < hashes[lowest]) lowest = i;
    });
    val.add(lowest);
  }
  if (val.size === rels.length && rels.length >= 2) {
    // Never leave training empty.
    let highest = 0;
    hashes.forEach((h, i) => {
      if (h > hashes[highest]) highest = i;
    });
    val.delete(highest);
  }
  return val;
}
