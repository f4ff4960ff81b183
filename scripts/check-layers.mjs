// `npm run lint`'s layering check: dependency-cruiser with .dependency-cruiser.cjs over the
// folders named on the command line (those that exist).
// It calls dependency-cruiser's API because its `depcruise` command refuses Node 20, which
// FlowDesk supports.
import { existsSync } from 'node:fs';
import { cruise, format } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const CONFIG = './.dependency-cruiser.cjs';
const options = await extractDepcruiseOptions(CONFIG);
const args = process.argv.slice(2);
const roots = args.filter((p) => existsSync(p));
const result = await cruise(roots, options, undefined, { tsConfig: extractTSConfig(options.tsConfig.fileName) });
const report = await format(result.output, { outputType: process.env.LAYERS_FORMAT ?? 'err' });
process.stdout.write(report.output);
process.exitCode = report.exitCode;
