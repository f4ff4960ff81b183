// Classes read from a folder's layout (the `classes` setting): each immediate sub-folder is a
// class, deeper folders belong to it, and images directly in the folder are refused or "unlabelled".
import { createHash } from 'node:crypto';
import { UNLABELLED_CLASS, type ClassMode } from '../../../common/settings/train-fields.ts';
import { DataError } from '../errors.ts';
import type { ClassCount } from './import-types.ts';

/** Root images named in the refusal; the rest are counted. */
const ROOT_IMAGES_NAMED = 3;

export interface FolderClasses {
  /** Class index of each relative path; null with mode 'none'. */
  labels: Int32Array | null;
  /** Class names in index order, sorted by code unit (the same in every locale); [] with mode 'none'. */
  classes: string[];
}

/** The class folder of a relative path ('/' separators): its first segment, or null for a file directly in the folder. */
function classFolderOf(rel: string): string | null {
  const slash = rel.indexOf('/');
  return slash < 0 ? null : rel.slice(0, slash);
}

/** With mode 'folders', a DataError naming the images directly in the folder (relative paths) and what to do; none: nothing. */
export function refuseRootImages(folder: string, rels: readonly string[], mode: ClassMode): void {
  if (mode !== 'folders') return;
  const root = rels.filter((rel) => classFolderOf(rel) === null);
  if (root.length === 0) return;
  const named = root.slice(0, ROOT_IMAGES_NAMED).join(', ');
  const more = root.length > ROOT_IMAGES_NAMED ? ` and ${root.length - ROOT_IMAGES_NAMED} more` : '';
  throw new DataError(
    'BAD_CLASSES',
    `${folder} holds ${root.length} image(s) directly in it (${named}${more}), outside any class: with classes from sub-folders every image sits in its class's sub-folder. Move them into a sub-folder, or choose classes from sub-folders with root images as "${UNLABELLED_CLASS}" (folders-unlabelled).`,
  );
}

/** The class of each image, from its relative path (`rels`: the images used, in set order). */
export function classesFromFolders(folder: string, rels: readonly string[], mode: ClassMode): FolderClasses {
  if (mode === 'none') return { labels: null, classes: [] };
  refuseRootImages(folder, rels, mode);
  const names = rels.map((rel) => classFolderOf(rel) ?? UNLABELLED_CLASS);
  const classes = [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (classes.length < 2) {
    throw new DataError(
      'BAD_CLASSES',
      `${folder} has only one class (${classes[0]}): classes from sub-folders need images in at least two sub-folders. Sort the images into one sub-folder per class, or choose classes none.`,
    );
  }
  const index = new Map(classes.map((name, i) => [name, i]));
  return { labels: Int32Array.from(names, (name) => index.get(name) as number), classes };
}

/**
 * The import's fingerprint with its class mode: a labelled import is other data than the same
 * folder unlabelled. 'none' keeps the listing's fingerprint, so runs from before classes resume
 * without a "the images changed" warning.
 */
export function fingerprintWithClasses(fingerprint: string, mode: ClassMode): string {
  if (mode === 'none') return fingerprint;
  return createHash('sha256').update(`${fingerprint}\0classes=${mode}`).digest('hex').slice(0, 32);
}

/** Images of each class on each side of the split; [] for an unlabelled import. */
export function classCounts(classes: readonly string[], train: Int32Array | null, val: Int32Array | null): ClassCount[] {
  const counts = classes.map((name) => ({ name, train: 0, val: 0 }));
  for (const label of train ?? []) counts[label].train++;
  for (const label of val ?? []) counts[label].val++;
  return counts;
}
