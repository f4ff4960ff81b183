// `npm run lint`'s layering check: dependency-cruiser with .dependency-cruiser.cjs over the
// folders named on the command line (those that exist), today's known violations excepted
// unless --no-ignore-known is given.
// It calls dependency-cruiser's API because its `depcruise` command refuses Node 20, which
// FlowDesk supports.
import { existsSync, readFileSync } from 'node:fs';
import { cruise, format } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const CONFIG = './.dependency-cruiser.cjs';
/** Violations that predate a rule, to be emptied as the code moves (see docs/architecture.md). */
const KNOWN = '.dependency-cruiser-known-violations.json';

const options = await extractDepcruiseOptions(CONFIG);
const args = process.argv.slice(2);
if (existsSync(KNOWN) && !args.includes('--no-ignore-known')) options.knownViolations = JSON.parse(readFileSync(KNOWN, 'utf8'));
const roots = args.filter((p) => !p.startsWith('--') && existsSync(p));
const result = await cruise(roots, options, undefined, { tsConfig: extractTSConfig(options.tsConfig.fileName) });
const report = await format(result.output, { outputType: process.env.LAYERS_FORMAT ?? 'err' });
process.stdout.write(report.output);
process.exitCode = report.exitCode;
