// `flowdesk setup onnx`: the one-command repair for an install whose npm dropped onnxruntime-node
// (engine/onnx/ort-setup.ts installs it into FlowDesk's data folder, from the npm registry alone).
import { setUpOrt } from '../engine/onnx/ort-setup.ts';
import { DATA_DIR_HELP } from './data-dir-help.ts';
import { parse, UsageError } from './options.ts';

export const setupUsage = `Usage: flowdesk setup onnx

Installs onnxruntime-node for the onnx backend where FlowDesk's install lacks it: npm drops
this optional package when its install script cannot download CUDA libraries from NuGet
(offline, a firewall), and FlowDesk then trains on WebAssembly, saying so. Runs npm (it must be
on PATH) with ONNXRUNTIME_NODE_INSTALL=skip, so it needs the npm registry alone, and installs
the version this FlowDesk was built against into onnxruntime-node/VERSION in
  ${DATA_DIR_HELP}.
FlowDesk loads its own copy first and this one where it has none; where onnxruntime-node
loads already there is nothing to do.`;

/** What `flowdesk setup` can set up. */
const PARTS = ['onnx'];

export async function setupCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, {}, 1, setupUsage);
  if (values.help) return (log(setupUsage), 0);
  const [part] = positionals;
  if (part === undefined) throw new UsageError(`say what to set up: ${PARTS.join(', ')}\n\n${setupUsage}`);
  if (!PARTS.includes(part)) throw new UsageError(`nothing called ${JSON.stringify(part)} to set up; one of: ${PARTS.join(', ')}\n\n${setupUsage}`);
  await setUpOrt(log);
  return 0;
}
