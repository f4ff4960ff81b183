// `flowdesk train --model tarflow` as a person runs it: a few steps on the bundled digits with the
// model's defaults, then samples from the run; on onnx it trains, its whole step traced. With
// noise augmentation, train, eval and runs say their bits per dim are of noised data, and the
// run exports and imports with the same bits per dim.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_DIGITS } from '../../common/settings/model-fields.ts';
import { presetModel } from '../../common/settings/presets.ts';
import { BIN, cliEnv } from '../helpers/cli-env.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

let home: string;

function flowdesk(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: cliEnv(home, { FLOWDESK_CACHE: join(home, 'cache') }) });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Short evaluations and grids: the steps are what is under test. */
const QUICK = ['--batch', '8', '--val-images', '16', '--sample-count', '4'];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'flowdesk-tarflow-cli-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('flowdesk train --model tarflow', () => {
  // The bundled digits are decoded into a fresh cache first: minutes on a loaded machine.
  it('trains 5 steps on the bundled digits with the defaults, and samples from the run', { timeout: 300_000 }, async () => {
    const runs = join(home, 'runs');
    const t = flowdesk('train', '--model', 'tarflow', '--steps', '5', '--backend', 'wasm', ...QUICK, '--out', runs, '--name', 'tarflow');
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/validation bits\/dim: [\d.]+ at start -> [\d.]+ now/);
    const run = JSON.parse(await readFile(join(runs, 'tarflow', 'run.json'), 'utf8'));
    expect(run.model).toEqual(presetModel('tarflow', 'small', BUNDLED_DIGITS.size, BUNDLED_DIGITS.channels));
    const grid = join(home, 'grid.png');
    const s = flowdesk('sample', join(runs, 'tarflow'), '--n', '4', '-o', grid);
    expect(s.code, s.err).toBe(0);
    expect(existsSync(grid)).toBe(true);
  });

  it('lists its settings in train --help', () => {
    const h = flowdesk('train', '--help');
    for (const flag of ['--patch N', '--attn-layers N', '--head-dim N', '--noise X']) expect(h.out).toContain(flag);
    expect(h.out).toMatch(/tarflow 128/);
  });

  it('refuses a patch that does not divide the image size, naming the option', () => {
    const t = flowdesk('train', '--model', 'tarflow', '--patch', '3', '--steps', '1', '--out', join(home, 'runs'), '--name', 'bad-patch');
    expect(t.code).not.toBe(0);
    expect(t.err).toMatch(/--size 16 must be a multiple of the patch 3/);
  });

  it('labels the bits/dim of a noised run in train, eval and runs; exports and imports it with the same bits/dim', { timeout: 300_000 }, async () => {
    const images = await makeImageFolder({ count: 24, size: 8, channels: 1, pattern: 'stripes' });
    try {
      const runs = join(home, 'noised-runs');
      const model = ['--model', 'tarflow', '--size', '8', '--channels', '1', '--patch', '2', '--depth', '2', '--hidden', '16', '--head-dim', '8', '--noise', '0.05'];
      const t = flowdesk('train', images.dir, ...model, '--steps', '3', '--eval-every', '3', ...QUICK, '--out', runs, '--name', 'noised');
      expect(t.code, t.err).toBe(0);
      const label = 'bits/dim (data noised, σ = 0.05)';
      // Progress goes to stderr: the training loss and each evaluation carry the note.
      expect(t.err).toMatch(/step 3\/3  loss [\d.]+ bits\/dim \(data noised, σ = 0\.05\)  /);
      expect(t.err).toMatch(/step 3: validation [\d.]+ bits\/dim \(data noised, σ = 0\.05\) \(/);
      expect(t.out).toMatch(/validation bits\/dim \(data noised, σ = 0\.05\): [\d.]+ at start -> [\d.]+ now/);
      const r = flowdesk('runs', '--runs', runs);
      expect(r.out).toMatch(/noised .* [\d.]+ \(data noised, σ = 0\.05\)/);

      const evaluated = flowdesk('eval', join(runs, 'noised'), images.dir);
      expect(evaluated.code, evaluated.err).toBe(0);
      expect(evaluated.out).toContain(` ${label} over 24 images`);
      const exported = join(home, 'noised-export');
      const e = flowdesk('export', join(runs, 'noised'), '-o', exported);
      expect(e.code, e.err).toBe(0);
      const i = flowdesk('import', exported, '--runs', runs, '--name', 'noised-back');
      expect(i.code, i.err).toBe(0);
      expect(JSON.parse(await readFile(join(runs, 'noised-back', 'run.json'), 'utf8')).model).toMatchObject({ kind: 'tarflow', patch: 2, noise: 0.05 });
      // The same weights and the same seeded noise: the same figure, to the last digit printed.
      expect(flowdesk('eval', join(runs, 'noised-back'), images.dir).out).toBe(evaluated.out);
    } finally {
      await images.cleanup();
    }
  });

  it('trains on onnx, its whole step traced into onnxruntime', () => {
    const t = flowdesk('train', '--model', 'tarflow', '--steps', '2', '--backend', 'onnx', ...QUICK, '--out', join(home, 'runs'), '--name', 'tarflow-onnx');
    expect(t.code, t.err).toBe(0);
    // Progress goes to stderr; a tracer's refusal or a fallback would be an error or warning there.
    expect(t.err).not.toMatch(/error|warning/i);
    expect(t.err).toMatch(/backend onnx/);
    expect(t.err).toMatch(/step 2: validation [\d.]+ bits\/dim/);
  });
});
