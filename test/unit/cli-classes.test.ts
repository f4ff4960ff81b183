// `flowdesk train FOLDER --classes ...` (issue 17): the option comes from the settings schema,
// the start of training lists the classes with their images, the run's import-report.json keeps
// them, and a folder with images outside its class folders is refused in one clear line.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Rng } from '../../main/engine/random.ts';
import { BIN, cliEnv } from '../helpers/cli-env.ts';
import { encodeImage, patternPixels } from '../helpers/image-folder.ts';

let home: string;
let images: string;

function flowdesk(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: cliEnv(home, { FLOWDESK_CACHE: join(home, 'cache') }) });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'flowdesk-cli-classes-'));
  images = join(home, 'images');
  const rng = new Rng(2);
  for (const [name, count] of [['circles', 5], ['squares', 7]] as const) {
    await mkdir(join(images, name), { recursive: true });
    for (let i = 0; i < count; i++) await writeFile(join(images, name, `${i}.png`), await encodeImage(patternPixels(8, 1, 'stripes', rng), 8, 1, 'png'));
  }
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

const small = ['--size', '8', '--channels', '1', '--levels', '1', '--depth', '1', '--hidden', '8', '--batch', '4', '--steps', '1', '--eval-every', '1'];

it('trains on classes from sub-folders, listing them, and keeps them in the import report', async () => {
  const runs = join(home, 'runs');
  const t = flowdesk('train', images, ...small, '--classes', 'folders', '--out', runs, '--name', 'classes');
  expect(t.code, t.err).toBe(0);
  expect(t.err).toContain('2 classes from sub-folders:');
  expect(t.err).toMatch(/class circles: \d+ training, \d+ validation images/);
  expect(t.err).toMatch(/class squares: \d+ training, \d+ validation images/);
  const report = JSON.parse(await readFile(join(runs, 'classes', 'import-report.json'), 'utf8'));
  expect(report.classMode).toBe('folders');
  expect(report.classes.map((c: { name: string; train: number; val: number }) => [c.name, c.train + c.val])).toEqual([['circles', 5], ['squares', 7]]);
  const run = JSON.parse(await readFile(join(runs, 'classes', 'run.json'), 'utf8'));
  expect(run.train.classes).toBe('folders');
});

it('refuses root images with --classes folders, and an unknown mode, in one line each', async () => {
  await writeFile(join(images, 'stray.png'), await encodeImage(new Uint8Array(64).fill(9), 8, 1, 'png'));
  try {
    const refused = flowdesk('train', images, ...small, '--classes', 'folders', '--out', join(home, 'runs-refused'));
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain('holds 1 image(s) directly in it (stray.png)');
    expect(refused.err).not.toMatch(/\n\s+at /); // no stack trace
    const unknown = flowdesk('train', images, ...small, '--classes', 'subfolders');
    expect(unknown.code).not.toBe(0);
    expect(unknown.err).toContain('--classes must be one of none, folders, folders-unlabelled, got "subfolders"');
  } finally {
    await rm(join(images, 'stray.png'));
  }
});
