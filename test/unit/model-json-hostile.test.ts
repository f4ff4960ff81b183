// Hostile model files: a model.json with missing, mistyped or out-of-range fields, one that lies
// about the model's size, and exported folders with damaged weights, path-traversal tensor names,
// pipes and devices. Each is refused with BAD_CHECKPOINT naming the file, and nothing is imported.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { importModel } from '../../main/engine/runs/model-export.ts';
import { encodeSafetensors } from '../../main/engine/checkpoint/safetensors.ts';
import { resolveModelConfig, type ModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { exportWeights, loadModel, minParameterCount, modelJson, parseModelJson } from '../../main/engine/models/model-io.ts';

const SMALL: ModelConfig = { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 2, hidden: 8 };

// Built before the case tables below, which are made of edits of these files.
await tf.setBackend('cpu');
const root = await mkdtemp(join(tmpdir(), 'flowdesk-hostile-model-'));
afterAll(() => rm(root, { recursive: true, force: true }));
const small = createModel(SMALL, 1);
const goodJson: Record<string, unknown> = JSON.parse(JSON.stringify(modelJson(small, 8)));
const goodWeights = encodeSafetensors(exportWeights(small));
small.dispose();

/** A model.json object with `config` fields replaced (undefined deletes). */
function withConfig(fields: Record<string, unknown>): Record<string, unknown> {
  return { ...goodJson, config: { ...(goodJson.config as object), ...fields } };
}

function refusal(value: unknown): string {
  try {
    parseModelJson(value, '/models/x/model.json');
  } catch (err) {
    expect((err as { code: string }).code).toBe('BAD_CHECKPOINT');
    return (err as Error).message;
  }
  return 'accepted';
}

describe('parseModelJson', () => {
  const cases: [string, unknown, RegExp][] = [
    ['levels 0', withConfig({ levels: 0 }), /bad "config": levels must be a whole number of at least 1, got 0\./],
    ['depth -1', withConfig({ depth: -1 }), /bad "config": depth must be a whole number of at least 1, got -1\./],
    ['hidden 0', withConfig({ hidden: 0 }), /bad "config": hidden must be a whole number of at least 1, got 0\./],
    ['hidden 1e400 (Infinity once parsed)', JSON.parse(JSON.stringify(withConfig({ hidden: 7 })).replace('"hidden":7', '"hidden":1e400')), /hidden must be .* got Infinity\./],
    ['hidden 2.5', withConfig({ hidden: 2.5 }), /hidden must be a whole number .* got 2\.5\./],
    ['size as a string', withConfig({ size: '8' }), /size must be a whole number of at least 1, got "8"\./],
    ['size 0', withConfig({ size: 0 }), /size must be a whole number of at least 1, got 0\./],
    ['size not divisible by 2^levels', withConfig({ size: 24, levels: 4 }), /size 24 must be divisible by 2\^levels = 16/],
    ['channels 2', withConfig({ channels: 2 }), /channels must be one of 1, 3, got 2\./],
    ['kind "vae"', withConfig({ kind: 'vae' }), /bad "config": kind must be one of glow, realnvp, nice(, [a-z-]+)*, got "vae"\./],
    ['kind missing', withConfig({ kind: undefined }), /kind must be one of glow, realnvp, nice(, [a-z-]+)*, got undefined\./],
    ['coupling "rational-quadratic"', withConfig({ coupling: 'rational-quadratic' }), /coupling must be one of affine, additive, spline, got "rational-quadratic"\./],
    ['bins 0', withConfig({ coupling: 'spline', bins: 0 }), /bins must be a whole number of at least 1, got 0\./],
    ['tailBound "3"', withConfig({ coupling: 'spline', tailBound: '3' }), /tailBound must be a number of at least 0\.5, got "3"\./],
    ['permutation 7', withConfig({ permutation: 7 }), /permutation must be one of invconv, shuffle, reverse, got 7\./],
    ['nice mlpLayers 0', { ...goodJson, config: { kind: 'nice', size: 8, channels: 1, mlpLayers: 0 } }, /mlpLayers must be a whole number of at least 1, got 0\./],
    ['config missing', { ...goodJson, config: undefined }, /"config" is missing/],
    ['config null', { ...goodJson, config: null }, /bad "config": a model config must be an object with a "kind", got null\./],
    ['config an array', { ...goodJson, config: [] }, /a model config must be an object .* got \[\]\./],
    ['config a string', { ...goodJson, config: 'glow' }, /a model config must be an object .* got "glow"\./],
    ['nBits 9', { ...goodJson, nBits: 9 }, /"nBits" must be a whole number from 1 to 8, got 9\./],
    ['nBits 0', { ...goodJson, nBits: 0 }, /"nBits" must be .* got 0\./],
    ['nBits missing', { ...goodJson, nBits: undefined }, /"nBits" must be .* got undefined\./],
    ['initialised "yes"', { ...goodJson, initialised: 'yes' }, /"initialised" must be true or false/],
    ['format of another program', { ...goodJson, format: 'pytorch' }, /"format" must be "flowdesk.model"; this is not a FlowDesk model file\.$/],
    ['a Lab model', { ...goodJson, format: 'flowdesk-lab-model' }, /is a Lab model \(a density on points, not images\): open it in the Lab view, or train it further with flowdesk lab --open ID\.$/],
    ['version 3', { ...goodJson, version: 3 }, /unsupported version 3; this FlowDesk reads versions 1 and 2\./],
    ['couplingNet "layernorm"', withConfig({ couplingNet: 'layernorm' }), /couplingNet must be one of actnorm, bias, got "layernorm"\./],
    ['topPrior 1', withConfig({ topPrior: 1 }), /topPrior must be one of channel, position, got 1\./],
    ['an array', [goodJson], /not a JSON object/],
    ['null', null, /not a JSON object/],
    ['a number', 42, /not a JSON object/],
  ];
  for (const [label, value, reason] of cases) {
    it(`refuses a model.json with ${label}, naming the file and the field`, () => {
      const message = refusal(value);
      expect(message.startsWith('/models/x/model.json: ')).toBe(true);
      expect(message).toMatch(reason);
    });
  }

  it('accepts the file a model saves', () => {
    expect(parseModelJson(goodJson, 'model.json').config).toEqual(resolveModelConfig(SMALL));
  });
});

describe('a model.json that lies about the model size', () => {
  it('bounds the parameter count from below within a factor of 2, for every kind', () => {
    const configs: ModelConfig[] = [
      SMALL,
      { kind: 'glow', size: 16, channels: 3, levels: 3, depth: 2, hidden: 16, coupling: 'additive', permutation: 'shuffle' },
      { kind: 'glow', size: 8, channels: 3, levels: 1, depth: 1, hidden: 4, permutation: 'reverse' },
      { kind: 'realnvp', size: 16, channels: 3, levels: 3, depth: 2, hidden: 16 },
      { kind: 'realnvp', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8 },
      { kind: 'glow', size: 8, channels: 3, levels: 2, depth: 2, hidden: 16, coupling: 'spline', bins: 4 },
      { kind: 'realnvp', size: 8, channels: 3, levels: 2, depth: 1, hidden: 8, coupling: 'spline', bins: 16 },
      { kind: 'realnvp', size: 8, channels: 1, levels: 1, depth: 2, hidden: 8, coupling: 'additive' },
      { kind: 'nice', size: 8, channels: 1, depth: 4, hidden: 32, mlpLayers: 3 },
      { kind: 'nice', size: 4, channels: 3, depth: 2, hidden: 8, mlpLayers: 1 },
      { kind: 'tarflow', size: 8, channels: 3, patch: 2, depth: 2, hidden: 16, attnLayers: 2, headDim: 8 },
      { kind: 'tarflow', size: 16, channels: 1, patch: 4, depth: 1, hidden: 8, attnLayers: 1, headDim: 8 },
    ];
    for (const config of configs) {
      const model = createModel(config, 0);
      const actual = Object.values(exportWeights(model)).reduce((s, w) => s + w.data.length, 0);
      model.dispose();
      const bound = minParameterCount(resolveModelConfig(config));
      expect(bound, JSON.stringify(config)).toBeLessThanOrEqual(actual);
      expect(bound, JSON.stringify(config)).toBeGreaterThanOrEqual(actual / 2);
    }
  });

  it('reads a config beyond today\'s bounds (they hold new settings only), and refuses a huge one beside small weights', () => {
    const huge = parseModelJson(withConfig({ hidden: 1e9 }), 'model.json');
    expect(huge.config).toMatchObject({ hidden: 1e9 });
    const model = createModel(SMALL, 1);
    const weights = exportWeights(model);
    model.dispose();
    expect(() => loadModel(huge, weights, 'weights.safetensors')).toThrow(/describes a glow model of at least [\d,]+ parameters/);
  });

  it('refuses a huge in-range config beside a small weights file before building anything', () => {
    const huge = parseModelJson(withConfig({ size: 512, channels: 3, levels: 8, depth: 64, hidden: 4096 }), 'model.json');
    const model = createModel(SMALL, 1);
    const weights = exportWeights(model);
    model.dispose();
    const before = tf.memory().numBytes;
    expect(() => loadModel(huge, weights, '/models/x/weights.safetensors')).toThrow(
      /^\/models\/x\/weights\.safetensors: holds [\d,]+ values, but model.json describes a glow model of at least [\d,]{14,} parameters; the two files do not belong together\.$/,
    );
    expect(tf.memory().numBytes).toBe(before);
  });
});

describe('importModel: hostile exported folders', () => {
  const runsDir = () => join(root, 'runs');
  let n = 0;

  /** A fresh exported folder: the good files, then `edit` spoils it. */
  async function exported(edit: (dir: string) => Promise<unknown>): Promise<string> {
    const dir = join(root, `exported-${n++}`);
    await mkdir(dir);
    await writeFile(join(dir, 'model.json'), JSON.stringify(goodJson));
    await writeFile(join(dir, 'weights.safetensors'), goodWeights);
    await edit(dir);
    return dir;
  }

  /** The safetensors bytes with their JSON header rewritten by `edit`, data unchanged. */
  function rewriteHeader(bytes: Uint8Array, edit: (header: Record<string, unknown>) => void): Buffer {
    const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + length)).toString('utf8'));
    edit(header);
    const json = Buffer.from(JSON.stringify(header));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([prefix, json, bytes.subarray(8 + length)]);
  }

  const firstTensor = () => Object.keys(JSON.parse(Buffer.from(goodWeights.subarray(8, 8 + Number(Buffer.from(goodWeights).readBigUInt64LE(0)))).toString('utf8')))[0];
  const weightsFile = (bytes: Uint8Array) => (dir: string) => writeFile(join(dir, 'weights.safetensors'), bytes);
  const modelFile = (value: unknown) => (dir: string) => writeFile(join(dir, 'model.json'), typeof value === 'string' ? value : JSON.stringify(value));

  it('imports the untouched folder, so the refusals below are the edits', async () => {
    const run = await importModel(await exported(async () => undefined), runsDir(), 'baseline');
    expect(JSON.parse(await readFile(join(run, 'run.json'), 'utf8'))).toMatchObject({ imported: true, model: resolveModelConfig(SMALL) });
  });

  const cases: [string, (dir: string) => Promise<unknown>, 'model.json' | 'weights.safetensors', RegExp][] = [
    ['no model.json', (d) => rm(join(d, 'model.json')), 'model.json', /is missing/],
    ['no weights', (d) => rm(join(d, 'weights.safetensors')), 'weights.safetensors', /is missing/],
    ['model.json that is not JSON', modelFile('{"format": "flowdesk.mo'), 'model.json', /is not valid JSON/],
    ['model.json with levels 0', modelFile(withConfig({ levels: 0 })), 'model.json', /levels must be a whole number of at least 1, got 0/],
    ['model.json with kind "vae"', modelFile(withConfig({ kind: 'vae' })), 'model.json', /kind must be one of glow, realnvp, nice(, [a-z-]+)*, got "vae"/],
    ['model.json without config', modelFile({ ...goodJson, config: undefined }), 'model.json', /"config" is missing/],
    ['model.json with nBits 9', modelFile({ ...goodJson, nBits: 9 }), 'model.json', /"nBits" must be a whole number from 1 to 8, got 9/],
    ['model.json of another shape than the weights', modelFile(withConfig({ hidden: 9 })), 'weights.safetensors', /tensor .* has shape \[.*\], the model needs/],
    ['model.json describing a far larger model', modelFile(withConfig({ size: 256, levels: 6, depth: 32, hidden: 2048 })), 'weights.safetensors', /do not belong together/],
    ['a 2 MB model.json', modelFile(' '.repeat(2 * 1024 * 1024)), 'model.json', /over the 1,048,576-byte limit/],
    ['weights cut in the data', weightsFile(goodWeights.subarray(0, goodWeights.length - 100)), 'weights.safetensors', /truncated/],
    ['weights cut in the header', weightsFile(goodWeights.subarray(0, 40)), 'weights.safetensors', /runs past the end/],
    ['a 5-byte weights file', weightsFile(goodWeights.subarray(0, 5)), 'weights.safetensors', /too short/],
    ['a bit flipped in the header', (d) => { const b = Buffer.from(goodWeights); b[9] ^= 0x08; return writeFile(join(d, 'weights.safetensors'), b); }, 'weights.safetensors', /not valid JSON|not a JSON object/],
    ['a header whose offsets run past the data', weightsFile(rewriteHeader(goodWeights, (h) => { const t = h[firstTensor()] as { data_offsets: number[] }; t.data_offsets = [t.data_offsets[0], t.data_offsets[1] + 1e9]; })), 'weights.safetensors', /fall outside|needs/],
    ['a header whose shape lies about the size', weightsFile(rewriteHeader(goodWeights, (h) => { (h[firstTensor()] as { shape: number[] }).shape = [1e6, 1e6]; })), 'weights.safetensors', /needs more than the file's/],
    ['a tensor named ../../outside', weightsFile(rewriteHeader(goodWeights, (h) => { h['../../outside'] = h[firstTensor()]; delete h[firstTensor()]; })), 'weights.safetensors', /tensor name "\.\.\/\.\.\/outside" is not allowed/],
    ['a tensor named levels/../../x', weightsFile(rewriteHeader(goodWeights, (h) => { h['levels/../../x'] = h[firstTensor()]; delete h[firstTensor()]; })), 'weights.safetensors', /is not allowed/],
    ['a tensor named __proto__', weightsFile(rewriteHeader(goodWeights, (h) => { Object.defineProperty(h, '__proto__', { value: h[firstTensor()], enumerable: true }); delete h[firstTensor()]; })), 'weights.safetensors', /"__proto__" is not allowed/],
    ['a NaN weight', (d) => { const b = Buffer.from(goodWeights); b.writeFloatLE(Number.NaN, b.length - 4); return writeFile(join(d, 'weights.safetensors'), b); }, 'weights.safetensors', /non-finite value/],
    ['weights that are a folder', async (d) => { await rm(join(d, 'weights.safetensors')); await mkdir(join(d, 'weights.safetensors')); }, 'weights.safetensors', /is not a regular file/],
    ['weights linked to /dev/zero', async (d) => { await rm(join(d, 'weights.safetensors')); await symlink('/dev/zero', join(d, 'weights.safetensors')); }, 'weights.safetensors', /is not a regular file/],
    ['model.json that links to itself', async (d) => { await rm(join(d, 'model.json')); await symlink(join(d, 'model.json'), join(d, 'model.json')); }, 'model.json', /cannot be read \(ELOOP\)/],
  ];

  for (const [label, edit, file, reason] of cases) {
    it(`refuses ${label}, naming ${file}, and imports nothing`, async () => {
      const dir = await exported(edit);
      const before = existsSync(runsDir()) ? await readdir(runsDir()) : [];
      const err = await importModel(dir, runsDir()).catch((e) => e);
      expect(err).toMatchObject({ code: 'BAD_CHECKPOINT' });
      expect(err.message).toContain(join(dir, file));
      expect(err.message).toMatch(reason);
      expect(existsSync(runsDir()) ? await readdir(runsDir()) : []).toEqual(before);
    });
  }

  it.runIf(existsSync('/usr/bin/mkfifo'))('refuses weights that are a named pipe instead of blocking on it', async () => {
    const dir = await exported((d) => rm(join(d, 'weights.safetensors')));
    execFileSync('/usr/bin/mkfifo', [join(dir, 'weights.safetensors')]);
    await expect(importModel(dir, runsDir())).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringMatching(/weights\.safetensors is not a regular file/) });
  });

  it('refuses a run name that climbs out of the runs folder, and writes nothing outside it', async () => {
    const dir = await exported(async () => undefined);
    for (const name of ['../escaped', '..', 'a/b', '/tmp/abs', 'x\0y', '.hidden']) {
      await expect(importModel(dir, runsDir(), name)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining('Run name') });
    }
    expect(existsSync(join(root, 'escaped'))).toBe(false);
    // The default name comes from the folder's own name, cleaned of anything but safe characters.
    const odd = join(root, 'we..ird name;rm -rf');
    await mkdir(odd);
    await writeFile(join(odd, 'model.json'), JSON.stringify(goodJson));
    await writeFile(join(odd, 'weights.safetensors'), goodWeights);
    const run = await importModel(odd, runsDir());
    expect(run).toBe(join(runsDir(), 'imported-we..ird_name_rm_-rf'));
  });
});
