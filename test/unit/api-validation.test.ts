// Every Api call's argument is checked before it reaches the worker: wrong types, out-of-range
// numbers, unknown calls and run ids, and folders outside the allowed roots get clear errors.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateRequest } from '../../main/api-validation.ts';

const model = { kind: 'glow', size: 16, channels: 1, levels: 2, depth: 4, hidden: 64 };
const train = { batch: 32, steps: 100, lr: 1e-3, warmup: 10, nBits: 8, seed: 0, evalEvery: 10, checkpointEvery: 10 };

function refused(method: string, arg: unknown, message: RegExp) {
  let err: { code?: string; message?: string } | undefined;
  try {
    validateRequest(method, arg);
  } catch (e) {
    err = e as { code: string; message: string };
  }
  expect(err?.code, `${method} ${JSON.stringify(arg)}`).toBe('BAD_ARGUMENT');
  expect(err?.message).toMatch(message);
}

describe('validateRequest', () => {
  it('accepts good requests and normalises them', () => {
    expect(validateRequest('startTraining', { folder: null, model, train })).toMatchObject({ folder: null, train: { minutes: null } });
    expect(validateRequest('importFolder', { folder: join(tmpdir(), 'x', '..', 'pics'), size: 32, channels: 3 })).toEqual({ folder: join(tmpdir(), 'pics'), size: 32, channels: 3, classes: 'none' });
    expect(validateRequest('importFolder', { folder: null, size: 16, channels: 1, classes: 'folders-unlabelled' })).toEqual({ folder: null, size: 16, channels: 1, classes: 'folders-unlabelled' });
    expect(validateRequest('sample', { runId: 'run-1', n: 16, temperature: 0.7, seed: 3 })).toEqual({ runId: 'run-1', n: 16, temperature: 0.7, seed: 3 });
    expect(validateRequest('reconstruct', { runId: 'r', image: 'data:image/png;base64,iVBORw0KGgo=' })).toEqual({ runId: 'r', image: 'iVBORw0KGgo=' });
    const folder = join(tmpdir(), 'export');
    expect(validateRequest('exportModel', { runId: 'r', folder })).toEqual({ runId: 'r', folder, format: 'flowdesk' });
    expect(validateRequest('exportModel', { runId: 'r', folder, format: 'onnx' })).toEqual({ runId: 'r', folder, format: 'onnx' });
  });

  it('refuses wrong types, ranges, ids and calls with the field named', () => {
    refused('nuke', null, /Unknown API call "nuke"/);
    refused('importFolder', null, /request must be an object/);
    refused('importFolder', { folder: 7, size: 32, channels: 3 }, /request.folder must be a folder path or null/);
    refused('importFolder', { folder: 'pictures', size: 32, channels: 3 }, /must be an absolute path/);
    refused('importFolder', { folder: '/etc', size: 32, channels: 3 }, /\/etc is outside the folders FlowDesk may read/);
    refused('importFolder', { folder: `${tmpdir()}/a\u0000b`, size: 32, channels: 3 }, /folder path/);
    refused('importFolder', { folder: null, size: 3, channels: 3 }, /request.size must be a whole number from 4 to 256/);
    refused('importFolder', { folder: null, size: 32, channels: 2 }, /request.channels must be one of 1, 3/);
    refused('importFolder', { folder: null, size: 32, channels: 3, classes: 'subfolders' }, /request.classes must be one of none, folders, folders-unlabelled, got "subfolders"/);
    refused('startTraining', { folder: null, model: { ...model, kind: 'vae' }, train }, /model.kind must be one of glow, realnvp, nice(, [a-z-]+)*, got "vae"/);
    refused('startTraining', { folder: null, model: { ...model, hidden: 1.5 }, train }, /model.hidden must be a whole number/);
    refused('startTraining', { folder: null, model, train: { ...train, lr: 'fast' } }, /train.lr must be a number/);
    refused('startTraining', { folder: null, model, train: { ...train, lr: Infinity } }, /train.lr must be a number/);
    refused('startTraining', { folder: null, model, train: { ...train, minutes: -1 } }, /train.minutes must be null \(no time limit\) or a number from 0.01 to 100000, got -1/);
    refused('getRun', { runId: '../../etc' }, /request.runId must be a run id/);
    refused('getSampleGrid', { runId: 'ok', step: -1 }, /request.step must be a whole number/);
    refused('sample', { runId: 'ok', n: 10_000, temperature: 0.7, seed: 0 }, /request.n must be a whole number from 1 to 256/);
    refused('sample', { runId: 'ok', n: 4, temperature: 9, seed: 0 }, /request.temperature must be a number from 0 to 2/);
    refused('reconstruct', { runId: 'ok', image: 'not base64!' }, /request.image must be base64 image data/);
    refused('reconstruct', { runId: 'ok', image: 'x'.repeat(23_000_000) }, /at most 16 MB/);
    refused('interpolate', { runId: 'ok', images: ['AA==', 'AA==', 'AA=='], steps: 4, spherical: false, temperature: 1 }, /two or four images/);
    refused('interpolate', { runId: 'ok', images: ['AA==', 'AA=='], steps: 100, spherical: false, temperature: 1 }, /request.steps must be a whole number from 2 to 16/);
    refused('computeDirection', { runId: 'ok', name: '../x', withFolder: tmpdir(), withoutFolder: tmpdir() }, /request.name must be a name/);
    refused('computeDirection', { runId: 'ok', name: 'smile', withFolder: null, withoutFolder: tmpdir() }, /request.withFolder must be a folder path/);
    refused('applyDirection', { runId: 'ok', image: 'AA==', direction: 'smile', alpha: 50 }, /request.alpha must be a number from -10 to 10/);
    refused('rankFolder', { runId: 'ok', folder: '/proc' }, /outside the folders/);
    refused('directionStrip', { runId: 'ok', image: 'AA==', direction: 'smile', alphas: [] }, /request.alphas must be a list of 1 to 16 alphas/);
    refused('directionStrip', { runId: 'ok', image: 'AA==', direction: 'smile', alphas: [0, 'x'] }, /request.alphas\[1\] must be a number from -10 to 10/);
    refused('projectLatents', { runId: 'ok', limit: 5000 }, /request.limit must be a whole number from 2 to 2000/);
    refused('projectLatents', { runId: '../x' }, /request.runId must be a run id/);
    refused('importModel', { folder: '/root/../etc' }, /outside the folders/);
    refused('exportModel', { runId: 'ok', folder: tmpdir(), format: 'tflite' }, /request.format must be one of flowdesk, onnx, got "tflite"/);
  });

  it('takes an optional job id on long calls, and cancelJob only with one', () => {
    const folder = tmpdir();
    expect(validateRequest('importFolder', { folder, size: 32, channels: 3, jobId: 'a1_B-2' })).toEqual({ folder, size: 32, channels: 3, classes: 'none', jobId: 'a1_B-2' });
    expect(validateRequest('rankFolder', { runId: 'r', folder, jobId: 'x'.repeat(64) })).toEqual({ runId: 'r', folder, jobId: 'x'.repeat(64) });
    expect(validateRequest('computeDirection', { runId: 'r', name: 'smile', withFolder: folder, withoutFolder: folder, jobId: 'j' })).toMatchObject({ jobId: 'j' });
    expect(validateRequest('cancelJob', { jobId: 'j' })).toEqual({ jobId: 'j' });
    refused('importFolder', { folder, size: 32, channels: 3, jobId: '../x' }, /request.jobId must be a job id/);
    refused('rankFolder', { runId: 'r', folder, jobId: 'x'.repeat(65) }, /request.jobId must be a job id/);
    refused('computeDirection', { runId: 'r', name: 'smile', withFolder: folder, withoutFolder: folder, jobId: 7 }, /request.jobId must be a job id/);
    refused('cancelJob', {}, /request.jobId must be a job id/);
    refused('cancelJob', { jobId: '' }, /request.jobId must be a job id/);
    refused('cancelJob', null, /request must be an object/);
  });
});

describe('validateRequest for the Lab', () => {
  it('passes the settings given (checked) and the target, and bounds drawn points and images', () => {
    expect(validateRequest('startLab', { flow: 'realnvp', settings: { layers: 2, junk: 1 }, target: { kind: 'samples', name: 'rings' } }))
      .toEqual({ flow: 'realnvp', settings: { layers: 2 }, target: { kind: 'samples', name: 'rings' }, id: undefined });
    expect(validateRequest('labTarget', { target: { kind: 'image', width: 2, height: 1, pixels: [0, 1] } })).toEqual({ target: { kind: 'image', width: 2, height: 1, pixels: [0, 1] } });
    refused('startLab', { flow: 'glow', settings: {}, target: { kind: 'samples', name: 'rings' } }, /request.flow must be one of planar/);
    refused('startLab', { flow: 'realnvp', settings: { hidden: 0 }, target: { kind: 'samples', name: 'rings' } }, /request.settings.hidden must be a whole number from 2 to 512/);
    refused('startLab', { flow: 'realnvp', settings: {}, target: { kind: 'samples', name: 'circles' } }, /request.target.name must be one of 8gaussians/);
    refused('labTarget', { target: { kind: 'points', points: Array(20_001).fill([0, 0]) } }, /request.target.points must be a list of 1 to 20000 points, got "20001 points"/);
    refused('labTarget', { target: { kind: 'points', points: [[0, 'a']] } }, /request.target.points\[0\]\[1\] must be a number/);
    refused('labTarget', { target: { kind: 'image', width: 300, height: 1, pixels: [] } }, /request.target.width must be a whole number from 1 to 256/);
    refused('labTarget', { target: { kind: 'image', width: 2, height: 2, pixels: [0, 1, 2, 0] } }, /request.target.pixels\[2\] must be a number from 0 to 1/);
    refused('labTarget', { target: { kind: 'expression', expression: 'x'.repeat(501) } }, /request.target.expression must be an expression in x and y/);
    refused('labTarget', { target: { kind: 'csv', file: '/etc/passwd' } }, /outside the folders FlowDesk may read/);
    refused('getLab', { id: '../x' }, /request.id must be a Lab model id/);
    refused('labSamplingTimes', { teacher: 'a', student: '../x' }, /request.student must be a Lab model id/);
    refused('continueLab', { id: 'a', minutes: 0 }, /request.minutes must be a number from 0.01/);
  });
});
