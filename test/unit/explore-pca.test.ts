// PCA for the latent projector: on data built along known axes with known spreads it finds
// those axes (up to sign, which it fixes), their order and their share of the variance; the
// projection of a tiny model's encoded images has one point per image.
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import { pca } from '../../main/engine/explore/pca.ts';
import { projectSet } from '../../main/engine/explore/projection.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { Rng } from '../../main/engine/random.ts';

/** n points in d dimensions: mean + s1·g1·u + s2·g2·v + tiny noise, u and v orthonormal. */
function planted(n: number, d: number, s1: number, s2: number) {
  const rng = new Rng(7);
  const u = new Float64Array(d);
  const v = new Float64Array(d);
  // Two orthonormal directions that are not coordinate axes.
  for (let j = 0; j < d; j++) {
    u[j] = (j % 2 === 0 ? 1 : -1) / Math.sqrt(d);
    v[j] = (j < d / 2 ? 1 : -1) / Math.sqrt(d);
  }
  const g = rng.fillNormal(new Float32Array(3 * n));
  const rows = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) rows[i * d + j] = 3 + s1 * g[3 * i] * u[j] + s2 * g[3 * i + 1] * v[j] + 1e-3 * g[3 * i + 2] * Math.sin(j);
  }
  return { rows, u, v };
}

function cosine(a: Float64Array, at: number, b: Float64Array, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += a[at + j] * b[j];
  return s;
}

describe('pca', () => {
  it('finds planted axes in order of variance, with their share of it', () => {
    const n = 400;
    const d = 16;
    const { rows, u, v } = planted(n, d, 5, 2);
    const p = pca(rows, n, d, 2);
    expect(Math.abs(cosine(p.axes, 0, u, d))).toBeGreaterThan(0.999);
    expect(Math.abs(cosine(p.axes, d, v, d))).toBeGreaterThan(0.999);
    // Variances 25 and 4 (sample estimates), almost nothing else.
    expect(p.explained[0] / p.explained[1]).toBeGreaterThan(4);
    expect(p.explained[0] / p.explained[1]).toBeLessThan(9);
    expect(p.explained[0] + p.explained[1]).toBeGreaterThan(0.999);
  });

  it('gives coordinates that are the centred rows on the axes, with the sign fixed', () => {
    const n = 50;
    const d = 6;
    const { rows } = planted(n, d, 3, 1);
    const p = pca(rows, n, d, 2);
    const again = pca(rows, n, d, 2);
    expect(Array.from(again.coords)).toEqual(Array.from(p.coords));
    let meanX = 0;
    for (let i = 0; i < n; i++) meanX += p.coords[2 * i] / n;
    expect(Math.abs(meanX)).toBeLessThan(1e-9);
    for (let a = 0; a < 2; a++) {
      let big = 0;
      for (let j = 0; j < d; j++) if (Math.abs(p.axes[a * d + j]) > Math.abs(big)) big = p.axes[a * d + j];
      expect(big).toBeGreaterThan(0);
    }
  });

  it('refuses shapes that do not fit', () => {
    expect(() => pca(new Float32Array(10), 3, 3)).toThrow(/10 values are not 3 rows of 3/);
    expect(() => pca(new Float32Array(3), 1, 3, 2)).toThrow(/cannot take 2 axes/);
  });
});

describe('projectSet', () => {
  it('places every image of a set and scores it', async () => {
    await initBackend({ force: 'wasm' });
    const model = createModel({ kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8 }, 0);
    const count = 12;
    const pixels = Uint8Array.from(new Rng(3).fillUniform(new Float32Array(count * 64), 256), Math.floor);
    model.initialise(tf.tensor4d(Float32Array.from(pixels, (q) => q / 256 - 0.5), [count, 8, 8, 1]));
    const set = { size: 8, channels: 1 as const, count, pixels, paths: Array.from({ length: count }, (_, i) => `/d/${i}.png`), labels: null, classes: [] };
    const seen: number[] = [];
    const p = await projectSet({ model, nBits: 8 }, set, (done, total) => {
      expect(total).toBe(2 * count);
      seen.push(done);
    });
    expect(p.x.length).toBe(count);
    expect(p.y.length).toBe(count);
    expect(Array.from(p.bpd).every((b) => Number.isFinite(b) && b > 0)).toBe(true);
    expect(seen.at(-1)).toBe(2 * count);
    expect(p.explained[0]).toBeGreaterThanOrEqual(p.explained[1]);
    model.dispose();
  });
});
