// `flowdesk train`: start a run on a folder (or the bundled digits) or resume one, with a
// progress bar, and Ctrl-C that stops after writing a checkpoint.
import { bitsPerDimLabel, type ScoredModel } from '../../common/bits-per-dim-label.ts';
import { checkModelSettings, checkTrainSettings } from '../../common/settings/check.ts';
import { MODEL_KINDS, pickFields } from '../../common/settings/field.ts';
import { BUNDLED_DIGITS, modelFields, OWN_IMAGES, modelKindField, type ResolvedModelSettings } from '../../common/settings/model-fields.ts';
import { DEFAULT_PRESET, PRESET_NAMES, presetHelp, presetModel, presetsFor } from '../../common/settings/presets.ts';
import { trainFields, type TrainSettings } from '../../common/settings/train-fields.ts';
import { BACKEND_NAMES, type BackendName } from '../../common/settings/backends.ts';
import { markLabel } from '../../common/time-marks.ts';
import { TRAINING_LOSSES } from '../../common/training-loss.ts';
import { announceBackend } from './announce-backend.ts';
import type { ClassCount, SkippedFile } from '../engine/data/import-types.ts';
import { readRunJson } from '../engine/runs/run-json.ts';
import { importReportPath } from '../engine/runs/run-layout.ts';
import type { ClassEval, TrainEvent, TrainResult } from '../engine/train/train-events.ts';
import { resume, train } from '../engine/train/trainer.ts';
import { choiceOption, parse, UsageError, type Parsed } from './options.ts';
import { runArg, RUNS_HELP, runsDirOf } from './runs-folder.ts';
import { formatDuration, ProgressBar } from './progress-bar.ts';
import { givenSettings, givenSettingsChecked, settingOptions, settingsHelp, settingsOrUsage } from './settings-options.ts';

/** What `--steps` and `--minutes` may change when a run resumes. */
const resumeFields = pickFields(trainFields, ['steps', 'minutes']);

export const trainUsage = `Usage: flowdesk train [FOLDER] [options]
       flowdesk train --resume RUN [--steps S] [--minutes M]   (RUN: a run id or folder)

Trains a flow model on a folder of images (searched recursively). With no FOLDER it trains
on the bundled MNIST digits. Ctrl-C stops after writing a checkpoint; press it twice to quit at once.

Model:
${settingsHelp({ kind: modelKindField })}
  --preset ${PRESET_NAMES.join('|')}
                          named model shape, default ${DEFAULT_PRESET}; the options above and below override it:
${PRESET_NAMES.map((name) => `${' '.repeat(28)}${name}: ${presetHelp[name]}`).join('\n')}
${settingsHelp(modelFields, { size: ` (${BUNDLED_DIGITS.size} for the bundled digits)`, channels: ` (${BUNDLED_DIGITS.channels} for the bundled digits)` })}
Training:
${settingsHelp(trainFields)}
Runs:
${RUNS_HELP}
  --out DIR          the same as --runs (the older name; never an existing run)
  --name NAME        run folder name (default: time and model)
  --backend ${BACKEND_NAMES.join('|')}  force a compute backend (or FLOWDESK_BACKEND)
  --resume RUN       continue RUN (its id or folder) from its last whole checkpoint
  --json             print events as JSON lines instead of a progress bar`;

export const trainOptions = {
  model: { type: 'string' },
  preset: { type: 'string' },
  ...settingOptions(modelFields),
  ...settingOptions(trainFields),
  out: { type: 'string' },
  name: { type: 'string' },
  backend: { type: 'string' },
  resume: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The model the options describe: a preset of the family, then every model option given on top. */
export function modelFromArgs(values: Parsed['values'], bundled: boolean): ResolvedModelSettings {
  const kind = choiceOption(values, 'model', MODEL_KINDS) ?? modelKindField.default;
  const preset = choiceOption(values, 'preset', presetsFor(kind)) ?? DEFAULT_PRESET;
  const images = bundled ? BUNDLED_DIGITS : OWN_IMAGES;
  const base = presetModel(kind, preset, images.size, images.channels);
  const fields = { kind: modelKindField, ...modelFields };
  return settingsOrUsage(checkModelSettings({ ...base, ...givenSettings(modelFields, values, kind) }, 'person'), fields);
}

/** Every training setting: the options given, defaults for the rest. */
export function trainFromArgs(values: Parsed['values']): TrainSettings {
  return settingsOrUsage(checkTrainSettings(givenSettings(trainFields, values), 'person'), trainFields);
}

/** Skipped files and classes are named one a line; a long list is cut, since the run's import-report.json has every one. */
const LIST_SHOWN = 20;

function skippedLines(skipped: readonly SkippedFile[], runDir: string): string[] {
  if (skipped.length === 0) return [];
  const lines = skipped.slice(0, LIST_SHOWN).map((s) => `  skipped ${s.path}: ${s.reason}`);
  const more = skipped.length > LIST_SHOWN ? `and ${skipped.length - LIST_SHOWN} more; ` : '';
  return [...lines, `  ${more}every skipped file is listed in ${importReportPath(runDir)}`];
}

function classLines(classes: readonly ClassCount[], runDir: string): string[] {
  if (classes.length === 0) return [];
  const lines = classes.slice(0, LIST_SHOWN).map((c) => `  class ${c.name}: ${c.train} training, ${c.val} validation images`);
  if (classes.length > LIST_SHOWN) lines.push(`  and ${classes.length - LIST_SHOWN} more classes; every class is listed in ${importReportPath(runDir)}`);
  return [`  ${classes.length} classes from sub-folders:`, ...lines];
}

/** Progress as JSON lines or a bar; `model` names what its bits per dim are of (bitsPerDimLabel). */
function printer(json: boolean, model: ScoredModel) {
  const bar = new ProgressBar();
  const bits = bitsPerDimLabel(model);
  return (e: TrainEvent) => {
    if (json) {
      process.stdout.write(`${JSON.stringify(e)}\n`);
      return;
    }
    switch (e.type) {
      case 'start':
        bar.log(`${e.resumed ? 'Resuming' : 'Training'} ${e.runDir} from step ${e.step} to ${e.totalSteps} on ${e.trainImages} images (${e.valImages} for validation${e.skipped.length ? `, ${e.skipped.length} files skipped` : ''}), backend ${e.backend}`);
        skippedLines(e.skipped, e.runDir).forEach((line) => bar.log(line));
        classLines(e.classes, e.runDir).forEach((line) => bar.log(line));
        break;
      case 'step':
        bar.update(e.step, e.totalSteps, `step ${e.step}/${e.totalSteps}  loss ${e.loss.toFixed(3)} ${e.lossKind === 'bits-per-dim' ? bits : TRAINING_LOSSES[e.lossKind].label}  ${e.imgPerSec.toFixed(1)} img/s  ETA ${formatDuration(e.eta)}`);
        break;
      case 'eval-progress':
        bar.update(e.progress.done, e.progress.total, `step ${e.step}: validating ${e.progress.done}/${e.progress.total} images  ${e.progress.rate.toFixed(1)} img/s  ETA ${formatDuration(e.progress.eta)}`);
        break;
      case 'eval':
        bar.log(`step ${e.step}: validation ${e.valBpd.toFixed(4)} ${bits}${e.classes ? ` given the class; ${classFigures(e.classes)}` : ''} (${e.weights === 'avg' ? 'averaged' : 'last'} weights${e.marks.map((m) => `, at ${markLabel(m)}`).join('')})`);
        break;
      case 'warning':
        bar.log(`warning: ${e.message}`);
        break;
      case 'done':
        bar.log(`Stopped at step ${e.step} (${e.reason === 'steps' ? 'all steps done' : e.reason === 'time' ? 'time budget reached' : 'cancelled'}). Run: ${e.runDir}`);
        break;
      default:
        break;
    }
  };
}

export async function trainCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, trainOptions, 1, trainUsage);
  if (values.help) {
    log(trainUsage);
    return 0;
  }
  const backend = choiceOption(values, 'backend', BACKEND_NAMES) as BackendName | undefined;
  const json = values.json === true;
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nStopping after the current step and a checkpoint (Ctrl-C again to quit now)...\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    let result: TrainResult;
    let model: ScoredModel;
    if (typeof values.resume === 'string') {
      if (positionals.length > 0) throw new UsageError('--resume takes the run folder; do not also give an image FOLDER');
      await announceBackend(backend);
      const runDir = runArg(values.resume, values);
      model = (await readRunJson(runDir)).model;
      result = await resume(runDir, {
        ...givenSettingsChecked(resumeFields, values),
        backend,
        onEvent: printer(json, model),
        signal: controller.signal,
      });
    } else {
      const folder = positionals[0] ?? null;
      const settings = modelFromArgs(values, folder === null);
      model = settings;
      const trainConfig = trainFromArgs(values);
      await announceBackend(backend);
      result = await train({
        folder,
        model: settings,
        train: trainConfig,
        runsDir: runsDirOf(values),
        name: typeof values.name === 'string' ? values.name : undefined,
        backend,
        onEvent: printer(json, model),
        signal: controller.signal,
      });
    }
    if (!json) {
      const fmt = (v: number | null) => (v === null ? 'n/a' : v.toFixed(4));
      log(`run: ${result.runDir}`);
      log(`validation ${bitsPerDimLabel(model)}: ${fmt(result.initialValBpd)} at start -> ${fmt(result.valBpd)} now`);
    }
    return result.reason === 'cancelled' ? 130 : 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** A conditional model's other validation figures, for the eval line. */
function classFigures(c: ClassEval): string {
  return `${c.unconditionalBpd.toFixed(4)} summed over classes${c.accuracy === null ? '' : `, accuracy ${(100 * c.accuracy).toFixed(1)}%`}`;
}
