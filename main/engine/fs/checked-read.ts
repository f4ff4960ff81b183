// Reading a file that may come from outside (a model folder, a PyTorch package the page named),
// judged by what was opened: it must be a regular file within a size limit, and with the app's
// allowed roots it must really lie inside them (real-paths.ts), so a link that leaves is refused.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { CheckpointError } from '../errors.ts';
import { openedInsideRoots } from './real-paths.ts';

/** A file refused because its real path leaves the allowed roots: refused, never skipped as damaged. */
export class OutsideRootsError extends CheckpointError {}

export interface CheckedReadOptions {
  /** Real paths of the app's allowed folders; without them (the CLI) any regular file is read. */
  roots?: readonly string[];
  /** Bytes the file may hold. Defaults to no limit beyond Node's. */
  maxBytes?: number;
  /** What the file belongs to, for the message about a file that is not one ("model", "run"). */
  what: string;
}

/**
 * The bytes of `path`. It is opened without blocking (a FIFO would wait for a writer forever)
 * and judged by the open file, so a link swapped after any check cannot slip through. Refusals
 * are BAD_CHECKPOINT naming the file; a failed open (ENOENT...) is thrown as it came, so the
 * caller says what was missing in its own words.
 */
export async function readCheckedFile(path: string, opts: CheckedReadOptions): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (opts.roots && !(await openedInsideRoots(handle, path, opts.roots))) {
      throw new OutsideRootsError('BAD_CHECKPOINT', `${path} leads outside the folders FlowDesk may read (through a link); copy what it links to into them, or add its folder to FLOWDESK_ROOTS.`);
    }
    const info = await handle.stat();
    if (!info.isFile()) throw new CheckpointError('BAD_CHECKPOINT', `${path} is not a regular file (a folder, device or pipe); it cannot be a ${opts.what} file.`);
    const max = opts.maxBytes ?? Infinity;
    if (info.size > max) throw new CheckpointError('BAD_CHECKPOINT', `${path} is ${info.size.toLocaleString('en')} bytes, over the ${max.toLocaleString('en')}-byte limit for ${basename(path)}.`);
    return await handle.readFile();
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError('BAD_CHECKPOINT', `${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  } finally {
    await handle.close();
  }
}
