// PyTorch's reference (bench/pytorch_<kind>.py) for a configuration FlowDesk times: its command
// line, and its training steps taken one at a time (`--paired`) so that the bench can put one
// FlowDesk step and one PyTorch step in turn. This machine's speed drifts by tens of percent within
// a minute; steps in turn land in the same moments, where two timed stretches one after the other
// did not.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from '../main/engine/models/config.ts';
import { resolveOptimizerConfig } from '../main/engine/train/optimizer.ts';

/**
 * The script for `config`'s kind and its arguments: each setting as its --kebab-case flag, and
 * FlowDesk's default gradient clip, which both steps apply.
 */
export function referenceCommand(config: ModelConfig, mode: 'speed' | 'forward-speed', opts: { batch: number; steps: number; threads: number }): { file: string; args: string[] } {
  const { kind, ...settings } = config;
  const file = `pytorch_${kind}.py`;
  const flags = Object.entries(settings).flatMap(([name, value]) => [`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, `${value}`]);
  const args = [join(dirname(fileURLToPath(import.meta.url)), file), mode, ...flags, '--batch', `${opts.batch}`, '--steps', `${opts.steps}`, '--threads', `${opts.threads}`, '--clip-norm', `${resolveOptimizerConfig({}).clipNorm}`];
  return { file, args };
}

/** One PyTorch step as the script timed it: seconds, and its process's CPU time in the step and since the step before. */
export interface TorchStep {
  seconds: number;
  cpuMs: number;
  idleCpuMs: number;
}

export interface TorchStepper {
  threads: number;
  torch: string;
  /** Takes one step. */
  step(): Promise<TorchStep>;
  /** Ends the script (it exits when its input closes), resolving to its exit status once it has. */
  close(): Promise<number | null>;
}

/** The script started in paired mode, its model built and warmed up; or why it could not start. */
export async function startTorchStepper(python: string, config: ModelConfig, opts: { batch: number; threads: number }): Promise<TorchStepper | { reason: string }> {
  const { file, args } = referenceCommand(config, 'speed', { ...opts, steps: 0 });
  const child = spawn(python, [...args, '--paired'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.on('error', (err) => {
    stderr += `\n${err.message}`;
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error(`${file} stopped: ${stderr.trim().split('\n').pop() ?? 'no message'}`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  let ready: Record<string, unknown>;
  try {
    ready = await next();
  } catch (err) {
    child.kill();
    return { reason: (err as Error).message };
  }
  return {
    threads: ready.threads as number,
    torch: ready.torch as string,
    async step() {
      child.stdin.write('step\n');
      const out = await next();
      return { seconds: out.s as number, cpuMs: out.cpu_ms as number, idleCpuMs: out.idle_cpu_ms as number };
    },
    close: () => {
      child.stdin.end();
      return exited;
    },
  };
}
