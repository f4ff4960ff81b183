// A run's id is its folder's name under the runs folder: checked against this pattern before
// any path is built from it (the Api, the CLI and new run names all use it).
export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export const RUN_ID_RULE = '1-100 letters, digits, dots, dashes or underscores, starting with a letter or digit';

export function isRunId(value: unknown): value is string {
  return typeof value === 'string' && RUN_ID.test(value);
}
