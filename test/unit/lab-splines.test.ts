// The Lab's monotone splines (rational-quadratic and piecewise-linear): exact inverses, log-dets
// against autodiff, monotone knots and positive slopes even for large parameters, identity tails.
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { Rng } from '../../main/engine/random.ts';
import type { ElementwiseTransform } from '../../main/engine/lab/elementwise.ts';
import { PiecewiseLinearSpline } from '../../main/engine/lab/transforms/piecewise-linear.ts';
import { RationalQuadraticSpline } from '../../main/engine/lab/transforms/rational-quadratic.ts';
import { splineTransform } from '../../main/engine/lab/transforms/spline.ts';
import { binsFrom } from '../../main/engine/lab/transforms/spline-bins.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { bruteForceBatchRowLogDets } from '../helpers/jacobian.ts';

const BOUND = 3;
const BINS = 6;
const SPLINES: [string, ElementwiseTransform][] = [
  ['rational-quadratic', new RationalQuadraticSpline(BINS, BOUND)],
  ['piecewise-linear', new PiecewiseLinearSpline(BINS, BOUND)],
];

function normals(shape: number[], std: number, rng: Rng): tf.Tensor {
  return tf.tensor(rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), std), shape);
}

/** Points uniform on [-1.5 B, 1.5 B]: about a third of them in the identity tails. */
function points(n: number, d: number, rng: Rng): tf.Tensor2D {
  return tf.tensor2d(Float32Array.from(rng.fillUniform(new Float32Array(n * d), 3 * BOUND), (u) => u - 1.5 * BOUND), [n, d]);
}

describe('Lab splines', () => {
  it('have the parameter counts of their kind: RQ 3K-1, linear K; splineTransform picks by name', () => {
    expect(new RationalQuadraticSpline(8, 5).paramsPerDim).toBe(23);
    expect(new PiecewiseLinearSpline(8, 5).paramsPerDim).toBe(8);
    expect(splineTransform({ spline: 'rational-quadratic', bins: 4, tailBound: 2 })).toBeInstanceOf(RationalQuadraticSpline);
    expect(splineTransform({ spline: 'piecewise-linear', bins: 4, tailBound: 2 })).toBeInstanceOf(PiecewiseLinearSpline);
  });

  for (const [name, spline] of SPLINES) {
    describe(name, () => {
      it('inverse(forward(x)) = x and forward(inverse(y)) = y, inside and outside the bound, log-dets opposite', () => {
        const rng = new Rng(1);
        const x = points(400, 3, rng);
        // Parameters of unit scale: far larger ones make bins with slope near the 1e-3 floor, where a
        // float32 y cannot pin x down to 1e-4 (conditioning, not error); the monotonicity test covers them.
        const params = normals([400, 3, spline.paramsPerDim], 1, rng) as tf.Tensor3D;
        const fwd = spline.forward(x, params);
        const back = spline.inverse(fwd.out, params);
        expectClose(back.out, x, 1e-4);
        expectClose(back.logDet, tf.neg(fwd.logDet), 1e-4, 1e-5);
        const inv = spline.inverse(x, params);
        expectClose(spline.forward(inv.out, params).out, x, 1e-4);
        // The tails really are the identity.
        const outside = Array.from(x.dataSync(), (v) => Math.abs(v) > BOUND);
        const y = fwd.out.dataSync();
        x.dataSync().forEach((v, i) => { if (outside[i]) expect(y[i]).toBe(v); });
      });

      it('log-determinants match the brute-force Jacobian both ways', () => {
        const rng = new Rng(2);
        const x = points(40, 3, rng);
        const params = normals([40, 3, spline.paramsPerDim], 1, rng) as tf.Tensor3D;
        for (const dir of ['forward', 'inverse'] as const) {
          const fn = (v: tf.Tensor2D): tf.Tensor2D => spline[dir](v, params).out;
          expectClose(spline[dir](x, params).logDet, bruteForceBatchRowLogDets(fn, x), 2e-4, 1e-5);
        }
      });

      it('zero parameters give the identity', () => {
        const x = points(50, 2, new Rng(3));
        const { out, logDet } = spline.forward(x, tf.zeros([50, 2, spline.paramsPerDim]) as tf.Tensor3D);
        expectClose(out, x, 1e-5);
        expectClose(logDet, tf.zeros([50]), 1e-5);
      });

      it('is monotone with a positive, finite slope for large random parameters', () => {
        const rng = new Rng(4);
        const grid = 301;
        for (const std of [1, 10, 50]) {
          // One parameter set per coordinate (8 coordinates), shared by every grid point.
          const shared = normals([1, 8, spline.paramsPerDim], std, rng);
          const params = tf.tile(shared, [grid, 1, 1]) as tf.Tensor3D;
          const x = tf.tile(tf.reshape(tf.linspace(-1.2 * BOUND, 1.2 * BOUND, grid), [grid, 1]), [1, 8]) as tf.Tensor2D;
          const { out, logDet } = spline.forward(x, params);
          const y = out.arraySync();
          for (let i = 1; i < grid; i++) for (let c = 0; c < 8; c++) expect(y[i][c]).toBeGreaterThanOrEqual(y[i - 1][c]);
          // A finite sum of log-slopes means every slope is positive and finite (one -Infinity would show).
          for (const s of logDet.dataSync()) expect(Number.isFinite(s)).toBe(true);
          // Gradients stay finite for points inside and outside the bound (no NaN from the clamped branch).
          const g = tf.grad((p: tf.Tensor) => tf.sum(spline.forward(x, p as tf.Tensor3D).logDet))(params).dataSync();
          for (const v of g) expect(Number.isFinite(v)).toBe(true);
        }
      });
    });
  }

  it('knots rise strictly from -B to B by construction, whatever the parameters', () => {
    const rng = new Rng(5);
    for (const std of [0.1, 10, 100]) {
      const { left, size } = binsFrom(normals([80, 16], std, rng) as tf.Tensor2D, BOUND);
      const lefts = left.arraySync();
      const sizes = size.arraySync();
      lefts.forEach((row, r) => {
        expect(row[0]).toBe(-BOUND);
        for (let k = 0; k < 16; k++) expect(sizes[r][k]).toBeGreaterThan(0);
        for (let k = 1; k < 16; k++) expect(row[k] - row[k - 1]).toBeGreaterThan(0);
        expect(row[15] + sizes[r][15]).toBeCloseTo(BOUND, 5);
      });
    }
  });
});
