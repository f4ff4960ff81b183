// The data module's public face: import a folder, decode one file, batches and their classes,
// dequantization, image grids and animations.
export { importAllImages } from './all-images.ts';
export { encodeAnimation } from './animation.ts';
export { concatSets, gatherBatch, pickImages } from './batch.ts';
export { decodeImageBuffer, decodeImageFile, DEFAULT_MAX_INPUT_PIXELS, type DecodeOptions } from './decode.ts';
export { addGaussianNoise, dequantize, imagesOutOfRange, toPixels } from './dequantize.ts';
export { defaultCacheDir } from './image-cache.ts';
export { encodeImageGrid, GRID_GUTTER, writeImageGrid } from './image-grid.ts';
export { importImageFolder } from './import-folder.ts';
export type { ClassCount, ImageSet, ImportOptions, ImportReport, SkippedFile } from './import-types.ts';
export { gatherOneHot, NO_CLASS, oneHot } from './one-hot.ts';
