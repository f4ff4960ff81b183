// One helper for numeric closeness in tests: tensors or arrays, absolute + relative tolerance,
// with a message naming the worst element.
import { expect } from 'vitest';
import * as tf from '../../main/engine/tf.ts';

type Numeric = tf.Tensor | ArrayLike<number> | number;

function toArray(v: Numeric): Float64Array {
  if (typeof v === 'number') return Float64Array.of(v);
  if (v instanceof tf.Tensor) return Float64Array.from(v.dataSync());
  return Float64Array.from(v as ArrayLike<number>);
}

export function expectClose(actual: Numeric, expected: Numeric, atol = 1e-4, rtol = 0): void {
  if (actual instanceof tf.Tensor && expected instanceof tf.Tensor) {
    expect(actual.shape).toEqual(expected.shape);
  }
  const a = toArray(actual);
  const b = toArray(expected);
  expect(a.length).toBe(b.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - b[i]) - rtol * Math.abs(b[i]);
    if (!(err <= atol) && (worst < 0 || !(err <= worstErr))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    expect.fail(`element ${worst}: ${a[worst]} vs ${b[worst]} (|diff| ${Math.abs(a[worst] - b[worst])} > atol ${atol} + rtol ${rtol})`);
  }
}
