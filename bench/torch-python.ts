// Finds a python3 that imports a module: torch for the benchmarks that run bench/pytorch_glow.py
// beside FlowDesk, onnx for the tests that check exported ONNX files with onnx.checker.
import { spawnSync } from 'node:child_process';

/** A python3 that imports `module`: $FLOWDESK_PYTHON, python3 on the PATH, then Debian's; else why not, naming `debianPackage`. */
export function findPythonWith(module: string, debianPackage: string): { python: string } | { reason: string } {
  const candidates = [...new Set([process.env.FLOWDESK_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c)))];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', `import ${module}`], { encoding: 'utf8' });
    if (probe.status === 0) return { python };
  }
  return { reason: `no python3 with ${module} found (tried ${candidates.join(', ')}); install ${debianPackage} or set FLOWDESK_PYTHON` };
}

/** A python3 that imports torch: $FLOWDESK_PYTHON, python3 on the PATH, then Debian's. */
export function findTorchPython(): { python: string } | { reason: string } {
  return findPythonWith('torch', 'python3-torch');
}
