// The bench's PyTorch side, one step at a time (bench/torch-steps.ts, torch_harness.serve_steps):
// the script answers each request with one timed step and exits when its input closes.
import { describe, expect, it } from 'vitest';
import { findTorchPython } from '../../bench/torch-python.ts';
import { startTorchStepper } from '../../bench/torch-steps.ts';
import { requireTorchInCi, RUN_LIMIT_MS, torchSkipReason } from '../helpers/torch-reference.ts';

requireTorchInCi();

describe.skipIf(torchSkipReason !== '')(`PyTorch steps in turn with the bench's${torchSkipReason ? ` — skipped: ${torchSkipReason}` : ''}`, () => {
  it(
    'takes one timed step per request and exits when asked to close',
    async () => {
      const python = (findTorchPython() as { python: string }).python;
      const stepper = await startTorchStepper(python, { kind: 'glow', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8 }, { batch: 4, threads: 1 });
      if ('reason' in stepper) throw new Error(stepper.reason);
      expect(stepper.threads).toBe(1);
      const steps = [await stepper.step(), await stepper.step()];
      for (const step of steps) {
        expect(step.seconds).toBeGreaterThan(0);
        expect(step.cpuMs).toBeGreaterThan(0);
        expect(step.idleCpuMs).toBeGreaterThanOrEqual(0);
      }
      expect(await stepper.close()).toBe(0);
    },
    RUN_LIMIT_MS,
  );

  it('says why when the script cannot start its model', async () => {
    const python = (findTorchPython() as { python: string }).python;
    // Glow needs a size its levels can halve; 7 cannot be squeezed.
    const stepper = await startTorchStepper(python, { kind: 'glow', size: 7, channels: 1, levels: 1, depth: 1, hidden: 8 }, { batch: 4, threads: 1 });
    expect('reason' in stepper && stepper.reason).toMatch(/^pytorch_glow\.py stopped: \S/);
  });
});
