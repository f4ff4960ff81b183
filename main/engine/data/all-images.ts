// Every usable image of a folder as one set, for evaluation, ranking and attribute directions,
// where the train/validation split does not matter.
import { concatSets } from './batch.ts';
import { importImageFolder } from './import-folder.ts';
import type { ImageSet, ImportOptions, ImportReport } from './import-types.ts';

export async function importAllImages(folder: string, opts: ImportOptions): Promise<{ set: ImageSet; report: ImportReport }> {
  const { train, val, report } = await importImageFolder(folder, opts);
  return { set: concatSets(train, val), report };
}
