// Deterministic train/validation split by a hash of each file's relative path: adding files to
// a folder does not move an existing image from one side to the other.
import { createHash } from 'node:crypto';

/** Where a relative path falls in [0, 1): the same path always lands in the same place. */
function unitHash(rel: string): number {
  return createHash('sha1').update(rel).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Indices into `rels` for training and validation, each ascending. An image goes to validation
 * when its hash is below `valFraction`. With a fraction above zero the highest hash is kept for
 * training even if all fall below, and with two or more images the lowest is held out even if
 * none does; only these two fallbacks can move when files are added.
 */
export function splitIndices(rels: readonly string[], valFraction: number): { train: number[]; val: number[] } {
  const hashes = rels.map(unitHash);
  const isVal = hashes.map((h) => h < valFraction);
  if (rels.length > 0 && valFraction > 0) {
    const byHash = hashes.map((_, i) => i).sort((a, b) => hashes[a] - hashes[b]);
    if (rels.length >= 2) isVal[byHash[0]] = true;
    isVal[byHash[byHash.length - 1]] = false;
  }
  const train: number[] = [];
  const val: number[] = [];
  isVal.forEach((v, i) => (v ? val : train).push(i));
  return { train, val };
}
