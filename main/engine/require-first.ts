// Loads a package from the first of several places whose resolution finds it and says which folder
// it came from: onnxruntime-node from FlowDesk's own node_modules, else from `flowdesk setup onnx`'s folder.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

export type FirstLoad<T> =
  /** Loaded from the package folder `from`. */
  | { module: T; from: string }
  /** Found nowhere. */
  | { missing: true }
  /** Found, but it threw while loading (the first such error: a broken copy, named to be fixed). */
  | { failed: unknown; from: string };

/**
 * `name` required as from each of `bases` in turn (a module's URL or path, or a folder path ending
 * in `/`: node's resolution starts beside it and walks up); the first that loads wins. A copy that
 * resolves but throws does not stop the search: a later one may load.
 */
export function requireFirst<T>(name: string, bases: readonly (string | URL)[]): FirstLoad<T> {
  let failure: { failed: unknown; from: string } | null = null;
  for (const base of bases) {
    // Not named `require`: the CommonJS bundle of the app worker declares one.
    const load = createRequire(base);
    let from: string;
    try {
      // The package's folder (the packages this serves have no `exports` map hiding package.json).
      from = dirname(load.resolve(`${name}/package.json`));
    } catch {
      continue;
    }
    try {
      return { module: load(name) as T, from };
    } catch (err) {
      failure ??= { failed: err, from };
    }
  }
  return failure ?? { missing: true };
}
