// Installs the onnxruntime-node FlowDesk was built against into FlowDesk's data folder, for an
// install whose npm dropped it (its install script fails where NuGet's CUDA libraries cannot be fetched).
import { execFile, spawn, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { BackendError, firstLine } from '../errors.ts';
import { fsyncDir, temporarySibling } from '../fs/atomic-write.ts';
import { ORT_PACKAGE, ortSetupDir, ortVersion } from './ort-package.ts';
import { loadOrt } from './runtime.ts';

const exec = promisify(execFile);
const WINDOWS = process.platform === 'win32';

/** The first `name` on PATH that can run (npm.cmd on Windows), or null. */
function findOnPath(name: string): string | null {
  const names = WINDOWS ? [`${name}.cmd`, `${name}.exe`] : [name];
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const file of names.map((n) => join(dir, n))) {
      try {
        accessSync(file, constants.X_OK);
        if (statSync(file).isFile()) return file;
      } catch {
        // Not here; the next folder on PATH.
      }
    }
  }
  return null;
}

/** Runs npm with the terminal's output, resolving to its exit status. */
function runNpm(npm: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const options: SpawnOptions = { stdio: ['ignore', 'inherit', 'inherit'], env: npmEnv() };
    // npm.cmd runs only through a shell, which splits on spaces: every argument is quoted.
    const child = WINDOWS ? spawn(`"${npm}"`, args.map((a) => `"${a}"`), { ...options, shell: true }) : spawn(npm, args, options);
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** The person's environment, with onnxruntime-node's install script told to fetch nothing: its CPU kernels ship in the npm package. */
function npmEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' };
}

/**
 * Installs onnxruntime-node (the version FlowDesk's package.json pins) with npm into a temporary
 * folder beside ortSetupDir(), checks that it loads, and renames it into place, so the folder
 * runtime.ts loads from is whole or absent. Does nothing where onnxruntime-node loads already.
 */
export async function setUpOrt(log: (line: string) => void): Promise<void> {
  const current = loadOrt();
  if ('ort' in current) {
    log(`${ORT_PACKAGE} loads already, from ${current.from}; nothing to set up.`);
    return;
  }
  const version = ortVersion();
  const npm = findOnPath('npm');
  if (!npm) {
    throw new BackendError('BACKEND_UNAVAILABLE', `npm is not on PATH, and flowdesk setup onnx installs ${ORT_PACKAGE} ${version} with it from the npm registry: install Node.js with npm (or add npm's folder to PATH) and run it again.`);
  }
  const target = ortSetupDir(version);
  await mkdir(dirname(target), { recursive: true });
  const staging = temporarySibling(target);
  await mkdir(staging);
  try {
    log(`Installing ${ORT_PACKAGE} ${version} (the version this FlowDesk was built against) from the npm registry into ${target}`);
    log(`  ${npm} install ${ORT_PACKAGE}@${version}, with ONNXRUNTIME_NODE_INSTALL=skip: its CPU kernels ship in the package, no CUDA download`);
    const status = await runNpm(npm, ['install', '--prefix', staging, '--no-audit', '--no-fund', `${ORT_PACKAGE}@${version}`]);
    if (status !== 0) {
      throw new BackendError('BACKEND_UNAVAILABLE', `npm install ${ORT_PACKAGE}@${version} failed (exit ${status}; its messages are above). It needs the npm registry: \`npm ping\` checks that it answers.`);
    }
    log(`Checking that ${ORT_PACKAGE} ${version} loads`);
    await checkLoads(join(staging, 'node_modules', ORT_PACKAGE));
    await replaceFolder(staging, target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  log(`${ORT_PACKAGE} ${version} is set up in ${target}: where nothing faster loads, flowdesk trains on the onnx backend (every command prints its backend).`);
}

/** Loads the package in a child process: loading a native module here would keep its files open (on Windows, the folder could then not be renamed). */
async function checkLoads(packageDir: string): Promise<void> {
  try {
    await exec(process.execPath, ['-e', 'require(process.argv[1])', packageDir], { windowsHide: true });
  } catch (err) {
    // Node prints the stack; the line naming the error says what is wrong.
    const line = String((err as { stderr?: string }).stderr ?? '').split('\n').find((l) => /Error\b/.test(l));
    throw new BackendError('BACKEND_UNAVAILABLE', `${ORT_PACKAGE} installed but does not load here: ${line?.trim() ?? firstLine(err)}`);
  }
}

/** Renames `staging` to `target`, moving an older `target` aside first and removing it after. */
async function replaceFolder(staging: string, target: string): Promise<void> {
  const old = existsSync(target) ? temporarySibling(target) : null;
  if (old) await rename(target, old);
  await rename(staging, target);
  await fsyncDir(dirname(target));
  if (old) await rm(old, { recursive: true, force: true });
}
