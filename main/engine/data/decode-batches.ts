// Decodes an import's files, gathering those whose headers give one small shape into batches that
// sharp decodes in one call (decode.ts decodeJoined); other files, a batch left with one image,
// and every image of a batch that fails are decoded one at a time. Each image's pixels, or its
// error, are what decodeImageBuffer gives it alone. Full batches decode while files are still read.
import { canJoin, decodeImageBuffer, decodeJoined, type DecodeOptions } from './decode.ts';
import { imageShape, type ImageShape } from './image-shape.ts';

/** Images per sharp call: 0.3 ms of set-up shared by 32 thumbnails is about 10 us each. */
const BATCH_IMAGES = 32;
/** Pixels per batch, bounding its memory when the images are larger (256 x 256: 16 a batch). */
const BATCH_PIXELS = 1 << 20;
/** Larger files decode alone: for them sharp's set-up is small beside the decoding. */
const BATCH_FILE_BYTES = 1 << 18;
/**
 * Shapes gathered at once. Files come in path order, and a folder may mix sizes; when a new shape
 * would pass this, the batch that has waited longest for a file is decoded now (in path order
 * its shape is likely done). What waits is bounded: 16 shapes of at most 31 files of at most
 * BATCH_FILE_BYTES (a few MB for thumbnails; 124 MB at worst).
 */
const PENDING_SHAPES = 16;
/**
 * Full batches decoding at once, twice libuv's four threads: a thread that finishes a batch finds
 * the next already queued, so the cores do not wait while the main thread resizes what came back
 * and reads more files. A queued batch holds only its files (at most 32 of BATCH_FILE_BYTES).
 */
const BATCHES_IN_FLIGHT = 8;

interface Batch {
  shape: ImageShape;
  limit: number;
  files: { index: number; bytes: Buffer }[];
}

export interface DecodeListener {
  decoded(index: number, pixels: Uint8Array): void;
  failed(index: number, err: unknown): void;
}

export class DecodeBatches {
  private readonly pending = new Map<string, Batch>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly opts: DecodeOptions,
    private readonly listener: DecodeListener,
  ) {}

  /**
   * Decodes file `index` now, or adds it to its shape's batch and starts decoding that once full;
   * waits only while BATCHES_IN_FLIGHT batches are decoding.
   */
  async add(index: number, bytes: Buffer): Promise<void> {
    const shape = imageShape(bytes);
    const limit = shape ? Math.min(BATCH_IMAGES, Math.floor(BATCH_PIXELS / (shape.width * shape.height))) : 0;
    if (!shape || limit < 2 || bytes.length > BATCH_FILE_BYTES || !canJoin(shape, this.opts)) return this.decodeOne(index, bytes);
    let batch = this.pending.get(shape.key);
    // Taken out and put back: the map's first batch is then the one that waited longest.
    if (batch) this.pending.delete(shape.key);
    const stale = !batch && this.pending.size >= PENDING_SHAPES ? this.take(this.pending.values().next().value as Batch) : null;
    batch ??= { shape, limit, files: [] };
    this.pending.set(shape.key, batch);
    batch.files.push({ index, bytes });
    if (batch.files.length >= batch.limit) this.start(this.take(batch));
    if (stale) this.start(stale);
    while (this.inFlight.size >= BATCHES_IN_FLIGHT) await Promise.race(this.inFlight);
  }

  /** Decodes every batch still gathering, and waits for all. */
  async flush(): Promise<void> {
    for (const batch of [...this.pending.values()]) this.start(this.take(batch));
    await this.settled();
  }

  /** Waits for the batches decoding (a cancelled import leaves none running behind it). */
  async settled(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  private start(batch: Batch): void {
    const decoding = this.decode(batch).finally(() => this.inFlight.delete(decoding));
    this.inFlight.add(decoding);
  }

  private take(batch: Batch): Batch {
    this.pending.delete(batch.shape.key);
    return batch;
  }

  private async decode(batch: Batch): Promise<void> {
    // One bad image fails the whole call; alone, each gets its own result.
    const joined = batch.files.length > 1 ? await decodeJoined(batch.files.map((f) => f.bytes), batch.shape, this.opts).catch(() => null) : null;
    if (joined) batch.files.forEach((f, k) => this.listener.decoded(f.index, joined[k]));
    else for (const f of batch.files) await this.decodeOne(f.index, f.bytes);
  }

  private async decodeOne(index: number, bytes: Buffer): Promise<void> {
    try {
      this.listener.decoded(index, await decodeImageBuffer(bytes, this.opts));
    } catch (err) {
      this.listener.failed(index, err);
    }
  }
}
