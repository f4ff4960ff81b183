// The `flowdesk` command line: train, eval, sample, upscale, inpaint and lab run the same engine as
// the app; setup installs what an install lacks. Errors print as one clear line and a non-zero exit, never a stack trace (FLOWDESK_DEBUG=1 for one).
import { FlowDeskError } from './engine/errors.ts';
import { appCommand, appUsage } from './cli/app-command.ts';
import { evalCommand, evalUsage } from './cli/eval-command.ts';
import { UsageError } from './cli/options.ts';
import { attributeCommand, attributeUsage, changeClassCommand, changeClassUsage, interpolateCommand, interpolateUsage, rankCommand, rankUsage } from './cli/explore-commands.ts';
import { labCommand, labUsage } from './cli/lab-command.ts';
import { exportCommand, exportUsage, importCommand, importUsage } from './cli/model-commands.ts';
import { inpaintCommand, inpaintUsage, upscaleCommand, upscaleUsage } from './cli/restore-commands.ts';
import { runsCommand, runsUsage } from './cli/runs-command.ts';
import { sampleCommand, sampleUsage } from './cli/sample-command.ts';
import { serveCommand, serveUsage } from './cli/serve-command.ts';
import { setupCommand, setupUsage } from './cli/setup-command.ts';
import { trainCommand, trainUsage } from './cli/train-command.ts';

const usage = `Usage: flowdesk <command> [options]

Commands:
  train [FOLDER]                 train Glow, RealNVP or NICE on a folder of images (or the bundled digits)
  runs [--json]                  the runs in the runs folder, newest first, with their status
  eval RUN_OR_CHECKPOINT FOLDER  bits per dimension of a model over a folder
  sample RUN_OR_CHECKPOINT -o F  a PNG grid of samples at a temperature (--class NAME|all: a conditional model's)
  interpolate RUN A B [C D] -o F a strip (or 4-image grid) between images in latent space
  attribute RUN --with D --without D --image I -o F   move an image along an attribute direction
  change-class RUN IMAGE --from C -o F   a conditional model's image decoded under other classes
  rank RUN FOLDER                images by bits per dimension, least typical first
  upscale RUN SMALL -o F         super-resolution x2 or x4: posterior candidates and their mean
  inpaint RUN IMAGE --mask M -o F  fill the white part of a mask: posterior candidates and their mean
  export RUN -o DIR              the model as model.json + weights.safetensors
  import DIR                     an exported model, as a run
  serve [--port N]               the app in a browser (127.0.0.1, with a token)
  app                            the app in its Electron window (browser mode where Electron cannot run)
  lab --target T --flow F        the Flow Lab: a vector flow on a toy target, energy or table
  setup onnx                     install onnxruntime-node (the onnx backend) where npm dropped it
  help [COMMAND]                 this text, or a command's options

Runs live in one folder shared with the app ($FLOWDESK_RUNS_DIR, else the per-user data
folder); every command takes --runs DIR to use another, and RUN may be a run id or a folder.
Run 'flowdesk <command> --help' for a command's options.`;

const helpOf: Record<string, string> = {
  train: trainUsage,
  runs: runsUsage,
  eval: evalUsage,
  sample: sampleUsage,
  interpolate: interpolateUsage,
  attribute: attributeUsage,
  'change-class': changeClassUsage,
  rank: rankUsage,
  upscale: upscaleUsage,
  inpaint: inpaintUsage,
  export: exportUsage,
  import: importUsage,
  serve: serveUsage,
  app: appUsage,
  lab: labUsage,
  setup: setupUsage,
};

const commands: Record<string, (argv: string[], log: (line: string) => void) => Promise<number>> = {
  train: trainCommand,
  runs: runsCommand,
  eval: evalCommand,
  sample: sampleCommand,
  interpolate: interpolateCommand,
  attribute: attributeCommand,
  'change-class': changeClassCommand,
  rank: rankCommand,
  upscale: upscaleCommand,
  inpaint: inpaintCommand,
  export: exportCommand,
  import: importCommand,
  serve: serveCommand,
  app: appCommand,
  lab: labCommand,
  setup: setupCommand,
};

export async function runCli(argv: string[]): Promise<number> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        log(rest[0] && helpOf[rest[0]] ? helpOf[rest[0]] : usage);
        return 0;
      default:
        if (!Object.hasOwn(commands, command)) throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${usage}`);
        return await commands[command](rest, log);
    }
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`flowdesk: ${err.message}\n`);
    return 2;
  }
  if (err instanceof FlowDeskError) {
    process.stderr.write(`flowdesk: ${err.message}\n`);
  } else {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`flowdesk: ${e?.message ?? String(err)}\n`);
  }
  if (process.env.FLOWDESK_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  return 1;
}
