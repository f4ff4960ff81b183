// Which onnxruntime-node FlowDesk was built against (its package.json pins one version) and the
// folder in FlowDesk's data folder where `flowdesk setup onnx` installs it for an install without it.
import { join } from 'node:path';
import { dataDir } from '../app-paths.ts';
import { BackendError } from '../errors.ts';
import { dependencySpec } from '../version.ts';

export const ORT_PACKAGE = 'onnxruntime-node';

/** The exact onnxruntime-node version FlowDesk's package.json names. */
export function ortVersion(): string {
  const spec = dependencySpec(ORT_PACKAGE);
  if (spec === undefined || !/^\d+\.\d+\.\d+$/.test(spec)) {
    throw new BackendError('BACKEND_UNAVAILABLE', `FlowDesk's package.json names ${spec === undefined ? `no ${ORT_PACKAGE}` : `${ORT_PACKAGE} ${spec}`}, not one exact version, so there is nothing to set up; reinstall FlowDesk.`);
  }
  return spec;
}

/** The folder `flowdesk setup onnx` installs into, one per version, so a FlowDesk built against another never loads it. */
export function ortSetupDir(version = ortVersion()): string {
  return join(dataDir(), ORT_PACKAGE, version);
}
