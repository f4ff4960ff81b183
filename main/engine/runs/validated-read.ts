// Files FlowDesk reads back are checked against a zod schema; a damaged one fails with the
// file's path and the first field that is wrong, never a raw JavaScript error further on.
import type { z } from 'zod';
import { CheckpointError, jsonErrorPosition } from '../errors.ts';

function fieldName(path: readonly PropertyKey[]): string {
  return path.length === 0 ? 'the top level' : `"${path.map(String).join('.')}"`;
}

/** `value` as `schema` parses it, or BAD_CHECKPOINT naming `file` and the field at fault. */
export function checkedAgainst<S extends z.ZodType>(schema: S, value: unknown, file: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new CheckpointError('BAD_CHECKPOINT', `${file}: ${fieldName(issue.path)} is wrong (${issue.message}); the file is damaged or from another program.`);
}

/** Parses JSON text, or BAD_CHECKPOINT naming `file` and the position (never the text: the file may not be FlowDesk's). */
export function parsedJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CheckpointError('BAD_CHECKPOINT', `${file} is not valid JSON${jsonErrorPosition(err)}; the file is damaged or from another program.`);
  }
}
