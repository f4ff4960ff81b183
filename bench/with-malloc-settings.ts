// A bench script times what FlowDesk's processes run with: glibc malloc's settings
// (main/engine/onnx/malloc-settings.ts), which a process reads only as it starts. Imported first,
// this runs the script again with them and exits with its status; a reference it starts
// (PyTorch) inherits them too.
import { spawnSync } from 'node:child_process';
import { startedWithMallocSettings, withMallocSettings } from '../main/engine/onnx/malloc-settings.ts';

if (!startedWithMallocSettings()) {
  const again = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: withMallocSettings(process.env) });
  process.exit(again.status ?? 1);
}
