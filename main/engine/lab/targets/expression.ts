// Typed energies U(x, y): a small safe grammar parsed to a tree and evaluated with tf ops (never
// eval or Function), with errors that say where the text went wrong and what was expected there.
import * as tf from '../../tf.ts';
import { ConfigError } from '../../errors.ts';
import { column, wall, type EnergyFn } from './energies.ts';
import { PLANE_BOUNDS } from './target.ts';

/*
 * Grammar (^ binds tighter than unary minus and is right-associative: -x^2 = -(x^2), 2^3^2 = 2^9):
 *   sum     := product (('+' | '-') product)*
 *   product := unary (('*' | '/') unary)*
 *   unary   := '-' unary | power
 *   power   := atom ('^' unary)?
 *   atom    := number | 'x' | 'y' | name '(' sum (',' sum)* ')' | '(' sum ')'
 */

const FUNCTIONS = {
  exp: { arity: 1, apply: (a: tf.Tensor[]) => tf.exp(a[0]) },
  log: { arity: 1, apply: (a: tf.Tensor[]) => tf.log(a[0]) },
  sin: { arity: 1, apply: (a: tf.Tensor[]) => tf.sin(a[0]) },
  cos: { arity: 1, apply: (a: tf.Tensor[]) => tf.cos(a[0]) },
  sqrt: { arity: 1, apply: (a: tf.Tensor[]) => tf.sqrt(a[0]) },
  abs: { arity: 1, apply: (a: tf.Tensor[]) => tf.abs(a[0]) },
  min: { arity: 2, apply: (a: tf.Tensor[]) => tf.minimum(a[0], a[1]) },
  max: { arity: 2, apply: (a: tf.Tensor[]) => tf.maximum(a[0], a[1]) },
} as const;
type FunctionName = keyof typeof FUNCTIONS;
const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FunctionName[];

export type ExpressionNode =
  | { type: 'number'; value: number }
  | { type: 'variable'; name: 'x' | 'y' }
  | { type: 'negate'; arg: ExpressionNode }
  | { type: 'binary'; op: '+' | '-' | '*' | '/' | '^'; left: ExpressionNode; right: ExpressionNode }
  | { type: 'call'; name: FunctionName; args: ExpressionNode[] };

/** Longer texts and deeper nesting are refused rather than risk the parser's stack. */
export const MAX_EXPRESSION_LENGTH = 2000;
const MAX_DEPTH = 100;

interface Token {
  kind: 'number' | 'name' | 'symbol' | 'end';
  text: string;
  /** 1-based column of the token's first character. */
  column: number;
}

function fail(message: string): never {
  throw new ConfigError('BAD_ARGUMENT', `Energy expression: ${message}.`);
}

const NUMBER = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const match = NUMBER.exec(rest) ?? NAME.exec(rest);
    if (match) {
      tokens.push({ kind: NUMBER.test(rest) ? 'number' : 'name', text: match[0], column: i + 1 });
      i += match[0].length;
    } else if ('+-*/^(),'.includes(text[i])) {
      tokens.push({ kind: 'symbol', text: text[i], column: i + 1 });
      i += 1;
    } else {
      fail(`unexpected character '${text[i]}' at column ${i + 1}; use numbers, x, y, + - * / ^, parentheses and ${FUNCTION_NAMES.join(', ')}`);
    }
  }
  tokens.push({ kind: 'end', text: '', column: text.length + 1 });
  return tokens;
}

class Parser {
  private at = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): ExpressionNode {
    if (this.peek().kind === 'end') fail('it is empty; write an energy U(x, y), for example (x^2 + y^2) / 2');
    const node = this.sum();
    const next = this.peek();
    if (next.kind !== 'end') fail(`unexpected ${describe(next)}; expected an operator (+ - * / ^) or the end`);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.at];
  }

  private take(): Token {
    return this.tokens[this.at++];
  }

  private isSymbol(...symbols: string[]): boolean {
    const t = this.peek();
    return t.kind === 'symbol' && symbols.includes(t.text);
  }

  private nested<T>(parse: () => T): T {
    if (++this.depth > MAX_DEPTH) fail(`it is nested more than ${MAX_DEPTH} deep at column ${this.peek().column}`);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private sum(): ExpressionNode {
    let left = this.product();
    while (this.isSymbol('+', '-')) {
      const op = this.take().text as '+' | '-';
      left = { type: 'binary', op, left, right: this.product() };
    }
    return left;
  }

  private product(): ExpressionNode {
    let left = this.unary();
    while (this.isSymbol('*', '/')) {
      const op = this.take().text as '*' | '/';
      left = { type: 'binary', op, left, right: this.unary() };
    }
    return left;
  }

  private unary(): ExpressionNode {
    return this.nested(() => {
      if (!this.isSymbol('-')) return this.power();
      this.take();
      return { type: 'negate', arg: this.unary() };
    });
  }

  private power(): ExpressionNode {
    const base = this.atom();
    if (!this.isSymbol('^')) return base;
    this.take();
    return { type: 'binary', op: '^', left: base, right: this.unary() };
  }

  private atom(): ExpressionNode {
    const t = this.take();
    if (t.kind === 'number') return { type: 'number', value: Number(t.text) };
    if (t.kind === 'symbol' && t.text === '(') {
      const inner = this.nested(() => this.sum());
      this.close(t);
      return inner;
    }
    if (t.kind === 'name') {
      if (t.text === 'x' || t.text === 'y') return { type: 'variable', name: t.text };
      if (!(FUNCTION_NAMES as string[]).includes(t.text)) {
        fail(`unknown name '${t.text}' at column ${t.column}; the names are x, y and the functions ${FUNCTION_NAMES.join(', ')}`);
      }
      return this.call(t);
    }
    return fail(`unexpected ${describe(t)}; expected a number, x, y, a function or '('`);
  }

  private call(nameToken: Token): ExpressionNode {
    const name = nameToken.text as FunctionName;
    const open = this.take();
    if (!(open.kind === 'symbol' && open.text === '(')) fail(`expected '(' after ${name} at column ${open.column}, found ${describe(open)}`);
    const args = [this.nested(() => this.sum())];
    while (this.isSymbol(',')) {
      this.take();
      args.push(this.nested(() => this.sum()));
    }
    this.close(open);
    const { arity } = FUNCTIONS[name];
    if (args.length !== arity) {
      fail(`${name} at column ${nameToken.column} takes ${arity} argument${arity === 1 ? '' : 's'}, got ${args.length}`);
    }
    return { type: 'call', name, args };
  }

  private close(open: Token): void {
    const t = this.take();
    if (!(t.kind === 'symbol' && t.text === ')')) fail(`expected ')' to close the '(' at column ${open.column}, found ${describe(t)}`);
  }
}

function describe(t: Token): string {
  return t.kind === 'end' ? 'end of the expression' : `'${t.text}' at column ${t.column}`;
}

/** The tree of `text`, or a ConfigError naming the column and what was expected there. */
export function parseExpression(text: string): ExpressionNode {
  if (text.length > MAX_EXPRESSION_LENGTH) fail(`it is ${text.length} characters long; the limit is ${MAX_EXPRESSION_LENGTH}`);
  return new Parser(tokenize(text)).parse();
}

/** The tree's value at each (x, y): tensors of one shape in, one of that shape out. */
export function evaluateExpression(node: ExpressionNode, x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const walk = (n: ExpressionNode): tf.Tensor => {
    switch (n.type) {
      case 'number':
        return tf.fill(x.shape, n.value);
      case 'variable':
        return n.name === 'x' ? x : y;
      case 'negate':
        return tf.neg(walk(n.arg));
      case 'call':
        return FUNCTIONS[n.name].apply(n.args.map(walk));
      case 'binary': {
        const [a, b] = [walk(n.left), walk(n.right)];
        if (n.op === '+') return tf.add(a, b);
        if (n.op === '-') return tf.sub(a, b);
        if (n.op === '*') return tf.mul(a, b);
        if (n.op === '/') return tf.div(a, b);
        return tf.pow(a, b);
      }
    }
  };
  return tf.tidy(() => walk(node));
}

/**
 * The energy U(x, y) of `text` as a function of [n, 2] points, living on PLANE_BOUNDS: outside
 * it the wall of energies.ts is added on both coordinates, so any expression that is finite
 * on the plane normalises (U = 0 is the uniform density on the box).
 */
export function expressionEnergy(text: string): EnergyFn {
  const tree = parseExpression(text);
  const [[, xBound], [, yBound]] = PLANE_BOUNDS;
  return (z) => tf.tidy(() => {
    const x = column(z, 0);
    const y = column(z, 1);
    return tf.add(evaluateExpression(tree, x, y) as tf.Tensor1D, tf.add(wall(x, xBound), wall(y, yBound)));
  });
}
