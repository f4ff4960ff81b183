// A run's answers to the time marks (common/time-marks.ts): the eval rows of metrics.jsonl that
// carry `marks`. A listing is polled every 2 s and those rows sit early in a long file, so a
// process remembers how far it has read each file and reads only what was appended since.
import { open } from 'node:fs/promises';
import type { TimeMarkResult } from '../../../common/time-marks.ts';
import { parseMetrics, type MetricRecord } from './metrics.ts';
import { metricsPath } from './run-layout.ts';

/** Bytes read at a time, so a huge file is never held whole. */
const CHUNK_BYTES = 4 * 1024 * 1024;

/** The marks answered by these rows, by minutes; a later answer to a mark replaces an earlier one. */
export function markResultsOf(rows: readonly MetricRecord[], into = new Map<number, TimeMarkResult>()): Map<number, TimeMarkResult> {
  for (const r of rows) {
    if (r.type !== 'eval' || r.valBpd === undefined || !r.marks) continue;
    for (const minutes of r.marks) into.set(minutes, { minutes, valBpd: r.valBpd, step: r.step });
  }
  return into;
}

interface Scan {
  /** The file read: an atomic rewrite (a resume's truncation) is a new file. */
  ino: number;
  /** Whole lines read so far. */
  bytes: number;
  found: Map<number, TimeMarkResult>;
}

const scans = new Map<string, Scan>();

/** The marks a run has answered, fewest minutes first; none when it has no metrics yet. */
export async function timeMarkResults(runDir: string): Promise<TimeMarkResult[]> {
  const path = metricsPath(runDir);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    scans.delete(path);
    return [];
  }
  try {
    const { ino, size } = await handle.stat();
    const known = scans.get(path);
    const scan = known && known.ino === ino && known.bytes <= size ? known : { ino, bytes: 0, found: new Map<number, TimeMarkResult>() };
    while (scan.bytes < size) {
      const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, size - scan.bytes));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, scan.bytes);
      const { rows, wholeBytes } = parseMetrics(chunk.subarray(0, bytesRead), path, scan.bytes === 0);
      if (wholeBytes === 0) break; // a line still being written (or torn): read it next time
      markResultsOf(rows, scan.found);
      scan.bytes += wholeBytes;
    }
    scans.set(path, scan);
    return [...scan.found.values()].sort((a, b) => a.minutes - b.minutes);
  } finally {
    await handle.close();
  }
}
