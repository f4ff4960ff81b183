// Finds a python3 that imports torch, for the benchmarks that run bench/pytorch_glow.py beside FlowDesk.
import { spawnSync } from 'node:child_process';

/** A python3 that imports torch: $FLOWDESK_PYTHON, python3 on the PATH, then Debian's. */
export function findTorchPython(): { python: string } | { reason: string } {
  const candidates = [process.env.FLOWDESK_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c));
  for (const python of new Set(candidates)) {
    const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.status === 0) return { python };
  }
  return { reason: `no python3 with torch found (tried ${[...new Set(candidates)].join(', ')}); install python3-torch or set FLOWDESK_PYTHON` };
}
