// The second reader of exported ONNX files: onnx.checker (full check) from a python3 with the onnx
// package (Debian's python3-onnx, installed by .ci/run). Tests skip without one, and fail instead under CI=true.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { findPythonWith } from '../../bench/torch-python.ts';

const onnxPython = findPythonWith('onnx', 'python3-onnx');

/** Why the checker cannot run here, or '' when it can. */
export const onnxCheckerSkipReason = 'reason' in onnxPython ? onnxPython.reason : '';

/** Declares the test that fails under CI=true when the checker is missing, so CI never skips it. */
export function requireOnnxCheckerInCi(): void {
  describe('the ONNX checker in CI', () => {
    it.runIf(process.env.CI === 'true' && onnxCheckerSkipReason !== '')('has python3-onnx (installed by .ci/run)', () => {
      expect.fail(`CI=true but the onnx checker is unavailable: ${onnxCheckerSkipReason}`);
    });
  });
}

const CHECK = `
import sys, onnx
for path in sys.argv[1:]:
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    print(path, model.opset_import[0].version, [d.domain for d in model.opset_import])
`;

/** Runs onnx.checker.check_model(full_check=True) on each file; returns what it printed, or throws its error. */
export function checkOnnxFiles(paths: string[]): string {
  if (!('python' in onnxPython)) throw new Error(onnxPython.reason);
  const run = spawnSync(onnxPython.python, ['-c', CHECK, ...paths], { encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`onnx.checker refused: ${run.stderr || String(run.error ?? run.status)}`);
  return run.stdout;
}
