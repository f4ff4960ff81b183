// `flowdesk serve` as the CLI runs it (same command, same signal handling) over a stand-in page,
// so tests that spawn the server need no `npm run build`. Arguments: RUNS_DIR RENDERER_DIR.
import { serveCommand } from '../../main/cli/serve-command.ts';

const [runs, renderer] = process.argv.slice(2);
process.exitCode = await serveCommand(['--runs', runs], (line) => console.log(line), renderer);
