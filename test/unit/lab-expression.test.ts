// Typed energies: the parser's precedence, its values against plain arithmetic, errors that name
// the column and what was expected, gradients through the tree, and log Z of expression targets.
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { Rng } from '../../main/engine/random.ts';
import { evaluateExpression, expressionEnergy, parseExpression, MAX_EXPRESSION_LENGTH } from '../../main/engine/lab/targets/expression.ts';
import { WALL_SCALE } from '../../main/engine/lab/targets/energies.ts';
import { resolveTarget } from '../../main/engine/lab/targets/index.ts';
import { expectClose } from '../helpers/expect-close.ts';

const XS = [0.5, -1.25, 2, 3.5];
const YS = [1.5, 0.75, -2, 0.25];

function valuesOf(text: string): Float32Array {
  return tf.tidy(() => evaluateExpression(parseExpression(text), tf.tensor1d(XS), tf.tensor1d(YS)).dataSync() as Float32Array);
}

describe('Lab energy expressions', () => {
  const cases: [string, (x: number, y: number) => number][] = [
    ['-x^2', (x) => -(x * x)],
    ['2^3^2', () => 512],
    ['1 - 2 - 3', () => -4],
    ['8 / 2 / 2 * 3', () => 6],
    ['2 * x + y * 3', (x, y) => 2 * x + 3 * y],
    ['(x + y) ^ 2 / 2', (x, y) => (x + y) ** 2 / 2],
    ['2^-1 + - -x', (x) => 0.5 + x],
    ['min(x, y) + max(x, y)', (x, y) => x + y],
    ['sqrt(abs(x)) * exp(log(2)) + sin(y) - cos(x)', (x, y) => Math.sqrt(Math.abs(x)) * 2 + Math.sin(y) - Math.cos(x)],
    ['1.5e1 * .5 + 2E-1', () => 7.7],
  ];
  for (const [text, reference] of cases) {
    it(`evaluates ${text}`, () => {
      expectClose(valuesOf(text), XS.map((x, i) => reference(x, YS[i])), 1e-5, 1e-6);
    });
  }

  const errors: [string, RegExp][] = [
    ['(x + 1))', /unexpected '\)' at column 8; expected an operator/],
    ['x * )', /unexpected '\)' at column 5; expected a number, x, y, a function or '\('/],
    ['z + 1', /unknown name 'z' at column 1; the names are x, y and the functions exp, log/],
    ['x +', /unexpected end of the expression; expected a number/],
    ['(x + y', /expected '\)' to close the '\(' at column 1, found end of the expression/],
    ['min(x)', /min at column 1 takes 2 arguments, got 1/],
    ['exp(x, y)', /exp at column 1 takes 1 argument, got 2/],
    ['sin x', /expected '\(' after sin at column 5/],
    ['x # y', /unexpected character '#' at column 3/],
    ['2x', /unexpected 'x' at column 2; expected an operator/],
    ['   ', /it is empty/],
    ['('.repeat(150) + 'x' + ')'.repeat(150), /nested more than 100 deep/],
    ['x+'.repeat(MAX_EXPRESSION_LENGTH), /characters long; the limit is 2000/],
  ];
  for (const [text, message] of errors) {
    it(`refuses ${text.length > 20 ? text.slice(0, 20) + '…' : JSON.stringify(text)} clearly`, () => {
      expect(() => parseExpression(text)).toThrow(message);
    });
  }

  it('an expression energy is differentiable and walled outside [-4, 4]²', () => {
    const u = expressionEnergy('x^2 + 3*y');
    const z = tf.tensor2d([1, 2, -0.5, 1, 4.5, 0], [3, 2]);
    const [values, grad] = tf.tidy(() => [u(z).dataSync(), tf.grad((p: tf.Tensor) => tf.sum(u(p as tf.Tensor2D)))(z).dataSync()]);
    expectClose(values, [7, 3.25, 20.25 + 0.5 * (0.5 / WALL_SCALE) ** 2], 1e-4);
    expectClose(grad, [2, 3, -1, 3, 9 + 0.5 / WALL_SCALE ** 2, 3], 1e-3);
  });

  it('log Z of expression targets: a standard normal, and the uniform box', async () => {
    const normal = await resolveTarget({ kind: 'expression', expression: '(x^2 + y^2) / 2' }, new Rng(0));
    expectClose(normal.logZ!, Math.log(2 * Math.PI), 1e-4);
    const flat = await resolveTarget({ kind: 'expression', expression: '0' }, new Rng(0));
    expectClose(flat.logZ!, 2 * Math.log(8 + 2 * WALL_SCALE * Math.sqrt(Math.PI / 2)), 1e-4);
  });

  it('refuses an expression that cannot be normalised, saying why', async () => {
    await expect(resolveTarget({ kind: 'expression', expression: 'log(x)' }, new Rng(0))).rejects.toThrow(/is not finite at \(-6\.98/);
    await expect(resolveTarget({ kind: 'expression', expression: '-(x^2 + y^2)^2' }, new Rng(0))).rejects.toThrow(/does not fade away outside its box/);
  });
});
