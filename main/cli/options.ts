// Argument parsing shared by the commands: node's parseArgs in strict mode, numbers checked
// with the option's name in the message, and a UsageError the CLI prints without a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses a command's arguments; every command also takes `--runs DIR` (see runs-folder.ts) and `--help`. */
export function parse(argv: string[], options: OptionSpec, maxPositionals: number, usage: string): Parsed {
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, runs: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true }) as Parsed;
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/^TypeError \[\w+\]: /, '')}\n\n${usage}`);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[maxPositionals])}\n\n${usage}`);
  }
  return parsed;
}

/** A numeric option, or undefined when absent; `integer` rejects fractions. */
export function numberOption(values: Parsed['values'], name: string, opts: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const { integer = false, min = -Infinity, max = Infinity } = opts;
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    const kind = integer ? 'a whole number' : 'a number';
    const range = Number.isFinite(min) && Number.isFinite(max) ? ` from ${min} to ${max}` : Number.isFinite(min) ? ` of at least ${min}` : '';
    throw new UsageError(`--${name} must be ${kind}${range}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export function choiceOption<T extends string>(values: Parsed['values'], name: string, choices: readonly T[]): T | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (!choices.includes(raw as T)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

/**
 * `argv` without the bare uses of `--name` (the last argument, or followed by another option),
 * and whether there was one: for an option that is a flag alone and takes a value otherwise
 * (`lab --runs` lists while `--runs DIR` names the folder; `lab --rank [N]`).
 */
export function takeBareFlag(argv: readonly string[], name: string): { argv: string[]; bare: boolean } {
  const flag = `--${name}`;
  const end = argv.indexOf('--');
  const kept = argv.filter((arg, i) => !(arg === flag && (end === -1 || i < end) && (i + 1 === argv.length || argv[i + 1].startsWith('-'))));
  return { argv: kept, bare: kept.length < argv.length };
}
