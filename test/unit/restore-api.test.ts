// The app's restore, listClasses and changeClass calls (issue 17): the Api's checks (mode, factor,
// the mask's bits, an empty or full mask, settings from restoreFields) and the worker's service on
// trained runs: a factor that does not divide the model's size, a mask of another size, candidates
// that keep the observed pixels, scores only when the original is known, and a change of class
// refused for an unconditional run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packMask } from '../../common/mask-bits.ts';
import { restoreDefaults, restoreFields } from '../../common/restore-fields.ts';
import type { RestoreRequest } from '../../preload/api.ts';
import { validateRequest } from '../../main/api-validation.ts';
import { train } from '../../main/engine/train/trainer.ts';
import { ModelCache } from '../../main/worker/model-cache.ts';
import { RestoreService } from '../../main/worker/restore-service.ts';
import { encodeImage, makeImageFolder, patternPixels } from '../helpers/image-folder.ts';
import { Rng } from '../../main/engine/random.ts';

const SIDE = 8;
const image = 'iVBORw0KGgo=';
/** A hole of the top-left `w` x `w` pixels of a side x side mask. */
function corner(side: number, w: number) {
  return packMask(Array.from({ length: side * side }, (_, i) => Number(i % side < w && Math.floor(i / side) < w)), side);
}

describe('validateRequest for restore and changeClass', () => {
  const upscale = { runId: 'r1', image, mode: 'upscale', factor: 2, settings: { samples: 2 } };
  const inpaint = { runId: 'r1', image, mode: 'inpaint', mask: corner(SIDE, 3), settings: {} };

  it('fills the settings from restoreFields and keeps what the mode needs', () => {
    const up = validateRequest('restore', upscale) as RestoreRequest;
    expect(up).toMatchObject({ mode: 'upscale', factor: 2, settings: { ...restoreDefaults(), samples: 2 } });
    const ip = validateRequest('restore', { ...inpaint, jobId: 'job-1' }) as RestoreRequest;
    expect(ip).toMatchObject({ mode: 'inpaint', mask: inpaint.mask, jobId: 'job-1' });
  });

  it('refuses a bad mode, factor, setting or mask with the field named', () => {
    expect(() => validateRequest('restore', { ...upscale, mode: 'denoise' })).toThrow(/request\.mode must be one of upscale, inpaint/);
    expect(() => validateRequest('restore', { ...upscale, factor: 3 })).toThrow(/request\.factor must be one of 2, 4, got 3/);
    expect(() => validateRequest('restore', { ...upscale, settings: { steps: 0 } })).toThrow(new RegExp(`request\\.settings\\.steps must be .*${restoreFields.steps.max}`));
    expect(() => validateRequest('restore', { ...inpaint, mask: undefined })).toThrow(/request\.mask must be an object/);
    expect(() => validateRequest('restore', { ...inpaint, mask: { side: SIDE, bits: 'AAAA' } })).toThrow(/request\.mask\.bits must be base64 of 8 bytes \(one bit per pixel of a 8 x 8 mask\)/);
    expect(() => validateRequest('restore', { ...inpaint, mask: { side: 2, bits: 'AA==' } })).toThrow(/request\.mask\.side must be a whole number from 4/);
  });

  it('refuses an empty mask and one that covers every pixel, saying what to do', () => {
    expect(() => validateRequest('restore', { ...inpaint, mask: corner(SIDE, 0) })).toThrow(/request\.mask marks no pixel to fill: paint the hole/);
    expect(() => validateRequest('restore', { ...inpaint, mask: corner(SIDE, SIDE) })).toThrow(/request\.mask covers every pixel/);
  });

  it('checks the class names and temperature of a change of class', () => {
    expect(validateRequest('changeClass', { runId: 'r1', image, from: 'cat', to: 'all' })).toMatchObject({ from: 'cat', to: 'all', temperature: 1 });
    expect(() => validateRequest('changeClass', { runId: 'r1', image, from: '', to: 'all' })).toThrow(/request\.from must be a class name/);
    expect(() => validateRequest('changeClass', { runId: 'r1', image, from: 'cat', to: [] })).toThrow(/request\.to must be "all" or a list of 1 to/);
    expect(() => validateRequest('changeClass', { runId: 'r1', image, from: 'cat', to: ['dog'], temperature: 3 })).toThrow(/request\.temperature must be a number from 0 to 2/);
  });
});

describe('the restore service on trained runs', () => {
  let root: string;
  let service: RestoreService;
  /** An unconditional Glow of 10 pixels (2 divides it, 4 does not) and a conditional one of 8 on three classes. */
  let plain: string;
  let conditional: string;
  const TRAIN = { batch: 4, steps: 2, evalEvery: 2, checkpointEvery: 2, valImages: 4, sampleCount: 3, warmup: 1 };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'flowdesk-restore-api-'));
    const runsDir = join(root, 'runs');
    const flat = await makeImageFolder({ count: 12, size: 10, channels: 1, pattern: 'blobs' });
    const classes = await makeImageFolder({ count: 18, size: 8, channels: 1, pattern: 'blobs', classes: ['ant', 'bee', 'cat'] });
    try {
      plain = basename((await train({ folder: flat.dir, model: { kind: 'glow', size: 10, channels: 1, levels: 1, depth: 1, hidden: 8 }, train: TRAIN, runsDir, cacheDir: null })).runDir);
      conditional = basename((await train({ folder: classes.dir, model: { kind: 'glow', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8 }, train: { ...TRAIN, classes: 'folders' }, runsDir, cacheDir: null })).runDir);
    } finally {
      await flat.cleanup();
      await classes.cleanup();
    }
    service = new RestoreService(runsDir, new ModelCache(), () => undefined);
  }, 240_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  const settings = { ...restoreDefaults(), samples: 2, steps: 3 };
  async function png(side: number, seed = 1): Promise<{ base64: string; pixels: Uint8Array }> {
    const pixels = patternPixels(side, 1, 'blobs', new Rng(seed));
    return { base64: (await encodeImage(pixels, side, 1, 'png')).toString('base64'), pixels };
  }
  async function decoded(url: string): Promise<{ data: Buffer; width: number; height: number }> {
    const { data, info } = await sharp(Buffer.from(url.split(',')[1], 'base64')).greyscale().raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  }

  it('refuses a factor that does not divide the model size, naming both and the factor that does', async () => {
    const { base64 } = await png(10);
    await expect(service.restore({ runId: plain, image: base64, mode: 'upscale', factor: 4, settings })).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/factor 4 does not divide the model's image size 10 x 10: use 2/) });
  });

  it('refuses a mask drawn at another size than the model sees', async () => {
    const { base64 } = await png(10);
    await expect(service.restore({ runId: plain, image: base64, mode: 'inpaint', mask: corner(SIDE, 3), settings })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/request\.mask is 8 x 8 pixels but run .* sees 10 x 10 images/) });
  });

  it('inpaints: candidates keep the unpainted pixels, and are scored against the image', async () => {
    const { base64, pixels } = await png(10);
    const r = await service.restore({ runId: plain, image: base64, mode: 'inpaint', mask: corner(10, 5), settings });
    expect(r).toMatchObject({ mode: 'inpaint', input: 'full-size', outOfRange: expect.any(Number) });
    expect(r.images).toMatchObject({ count: 3, columns: 3, cell: 10 });
    expect(r.baselines).toMatchObject({ names: ['mean colour', 'diffusion'], images: { count: 2, cell: 10 } });
    expect(r.scores!.candidates).toHaveLength(2);
    expect(Object.keys(r.scores!.baselines)).toEqual(['mean colour', 'diffusion']);
    expect(r.diversity).toBeGreaterThanOrEqual(0);
    // Every candidate (and the mean) equals the image outside the hole.
    const { data, width } = await decoded(r.images.image);
    const { gutter, cell } = r.images;
    for (let k = 0; k < 3; k++) {
      for (let y = 0; y < cell; y++) {
        for (let x = 0; x < cell; x++) {
          if (x < 5 && y < 5) continue;
          expect(data[(gutter + y) * width + gutter + k * (cell + gutter) + x], `image ${k} at ${x},${y}`).toBe(pixels[y * cell + x]);
        }
      }
    }
    // JSON carries it (an identical candidate's PSNR would be null, not Infinity).
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  }, 120_000);

  it('upscales a full-size image (degraded here, scored) and a small one (original unknown, not scored)', async () => {
    const full = await png(10);
    const r = await service.restore({ runId: plain, image: full.base64, mode: 'upscale', factor: 2, settings });
    expect(r).toMatchObject({ mode: 'upscale', input: 'full-size' });
    expect(r.original).toMatchObject({ count: 1, cell: 10 });
    expect(r.scores!.baselines).toHaveProperty('bicubic');
    // The small image the model saw.
    expect(r.degraded).toMatchObject({ count: 1, cell: 5 });
    const small = await png(5);
    const s = await service.restore({ runId: plain, image: small.base64, mode: 'upscale', factor: 2, settings });
    expect(s).toMatchObject({ input: 'small', original: null, scores: null });
    expect(s.images.count).toBe(3);
  }, 120_000);

  it('lists a run\'s classes, changes the class of an image, and refuses an unconditional run clearly', async () => {
    expect(await service.listClasses({ runId: conditional })).toEqual(['ant', 'bee', 'cat']);
    expect(await service.listClasses({ runId: plain })).toEqual([]);
    const { base64 } = await png(8);
    const all = await service.changeClass({ runId: conditional, image: base64, from: 'bee', to: 'all' });
    expect(all.classes).toEqual(['ant', 'bee', 'cat']);
    expect(all.strip).toMatchObject({ count: 3, columns: 3, cell: 8 });
    const one = await service.changeClass({ runId: conditional, image: base64, from: 'bee', to: ['cat'] });
    expect(one.classes).toEqual(['cat']);
    await expect(service.changeClass({ runId: conditional, image: base64, from: 'wasp', to: 'all' })).rejects.toThrow(/No class "wasp" in this model; its classes are ant, bee, cat/);
    await expect(service.changeClass({ runId: plain, image: (await png(10)).base64, from: 'bee', to: 'all' })).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(new RegExp(`Run ${plain} cannot change an image's class: .*has no classes: it was not trained on a folder of classes`)) });
  }, 120_000);
});
