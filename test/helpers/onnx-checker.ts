// The second reader of exported ONNX files: onnx.checker (full check) from a python3 with the onnx
// package (Debian's python3-onnx, installed by .ci/run), which also checks an export README's Python
// example against the files. Tests skip without one, and fail instead under CI=true.
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

/**
 * A stand-in for onnxruntime's InferenceSession (Debian has no python3-onnxruntime): it reads the
 * model with onnx, refuses feeds that miss an input or differ from it in dtype or shape, and
 * answers zeros of each output's dtype and shape.
 */
const FAKE_ONNXRUNTIME = `
import numpy as np, onnx
from onnx import mapping

class Output:
    def __init__(self, name): self.name = name

class InferenceSession:
    def __init__(self, path):
        self.graph = onnx.load(path).graph
    def get_outputs(self):
        return [Output(o.name) for o in self.graph.output]
    def run(self, names, feeds):
        for i in self.graph.input:
            t = i.type.tensor_type
            want = (mapping.TENSOR_TYPE_TO_NP_TYPE[t.elem_type], tuple(d.dim_value for d in t.shape.dim))
            got = feeds[i.name]
            assert (got.dtype, got.shape) == want, f"{i.name}: fed {got.dtype} {got.shape}, the model takes {want}"
        assert set(feeds) == {i.name for i in self.graph.input}, f"fed {sorted(feeds)}"
        outs = [o for o in self.graph.output if names is None or o.name in names]
        return [np.zeros(tuple(d.dim_value for d in o.type.tensor_type.shape.dim), mapping.TENSOR_TYPE_TO_NP_TYPE[o.type.tensor_type.elem_type]) for o in outs]
`;

/** Runs the Python example of the export README in `dir` against its files (see FAKE_ONNXRUNTIME); returns what it printed. */
export function runReadmePythonExample(dir: string, readme: string): string {
  if (!('python' in onnxPython)) throw new Error(onnxPython.reason);
  const code = /```python\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!code) throw new Error('the README has no Python example');
  const run = spawnSync(onnxPython.python, ['-c', `import sys, types\nfake = types.ModuleType('onnxruntime')\nexec(${JSON.stringify(FAKE_ONNXRUNTIME)}, fake.__dict__)\nsys.modules['onnxruntime'] = fake\n${code}`], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (run.status !== 0) throw new Error(`the README's Python example failed: ${run.stderr || String(run.error ?? run.status)}`);
  return run.stdout;
}
