// How a worker_thread loads its entry module: the TypeScript source through tsx (tests, the CLI,
// the app from source) or the bundled file next to the built worker. Replica threads and the Lab's
// thread start this way; browser mode's forked worker finds its entry the same way.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The entry `name` beside `here` as TypeScript source, else its bundled `bundled`.js (beside it or one folder up, from a chunk); null if neither exists. */
export function findThreadEntry(here: string, name: string, bundled: string): { found: string | null; candidates: string[] } {
  const candidates = [join(here, `${name}.ts`), join(here, `${bundled}.js`), join(here, '..', `${bundled}.js`)];
  return { found: candidates.find((p) => existsSync(p)) ?? null, candidates };
}

/** tsx's ES-module API, found through its package exports (its CommonJS build cannot register from a worker). */
function tsxEsmApi(): string {
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  const target = (JSON.parse(readFileSync(pkg, 'utf8')) as { exports: Record<string, { import: string | { default: string } }> }).exports['./esm/api'].import;
  return join(pkg, '..', typeof target === 'string' ? target : target.default);
}

/** Statements for an async function in the thread's eval'd source: register tsx when `entry` is TypeScript, then import it. */
export function importEntrySource(entry: string): string {
  const tsx = entry.endsWith('.ts') ? pathToFileURL(tsxEsmApi()).href : null;
  return `${tsx ? `(await import(${JSON.stringify(tsx)})).register();` : ''}
  await import(${JSON.stringify(pathToFileURL(entry).href)});`;
}
