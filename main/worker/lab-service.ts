// The Lab behind the Api, in the worker: Lab models on disk (list, detail, delete) read here, and
// everything with tensors (training, target and flow pictures, table rankings, distillation's
// sampling times) sent to the Lab's own thread. One Lab model trains at a time, beside any image run.
import type { AppError, AppEvent, LabDetail, LabFlowPicture, LabRanking, LabStartRequest, LabSummary, LabTargetPicture } from '../../preload/api.ts';
import { labTargetKey, labTargetLabel } from '../../common/lab/lab-target-label.ts';
import type { LabFlowName } from '../../common/lab/lab-catalog.ts';
import { CheckpointError, ConfigError } from '../engine/errors.ts';
import { deleteLabModel, labModelDir, listLabModels, readLabCurve, readLabModelJson, readLabResult, type LabEntry } from '../engine/lab/lab-store.ts';
import { decimateMinMax } from '../engine/runs/decimate.ts';
import { LabThreadHost } from './lab-thread-host.ts';
import type { LabThreadCall } from './lab-protocol.ts';
import type { ServiceSlice } from './routes.ts';

/** How long a shutdown waits for the Lab model in training to save and score itself. */
const SHUTDOWN_WAIT_MS = 60_000;

export class LabService implements ServiceSlice<'lab'> {
  private thread: LabThreadHost | null = null;
  /** The model in training (or being started: the id is null until its folder exists). */
  private training: { id: string | null; stopped: Promise<void>; settle: () => void } | null = null;

  constructor(
    readonly runsDir: string,
    /** The allowed folders, kept current by the worker (a CSV target must lie inside them). */
    private readonly roots: readonly string[],
    private readonly emit: (e: AppEvent) => void,
  ) {}

  private send<T>(call: LabThreadCall): Promise<T> {
    this.thread ??= new LabThreadHost((e) => this.onEvent(e), (why) => this.onThreadEnd(why));
    return this.thread.call<T>(call);
  }

  private onEvent(e: AppEvent): void {
    // The start event comes before the start call's answer, and an end may too.
    if (e.type === 'lab-start' && this.training && this.training.id === null) this.training.id = e.id;
    if (e.type === 'lab-stopped' && this.training?.id === e.id) this.endTraining();
    this.emit(e);
  }

  private onThreadEnd(why: AppError): void {
    this.thread = null;
    const id = this.training?.id;
    if (id) this.emit({ type: 'lab-stopped', id, step: 0, ended: 'failed', result: null, error: { code: why.code, message: `${why.message} The model keeps its last save (at most 10 s of training lost).` } });
    this.endTraining();
  }

  private endTraining(): void {
    this.training?.settle();
    this.training = null;
  }

  private async train(request: LabThreadCall & { op: 'train' }): Promise<{ id: string }> {
    if (this.training) throw new ConfigError('LAB_BUSY', `Lab model ${this.training.id ?? '(starting)'} is training; stop it first (the Lab trains one model at a time).`);
    let settle = () => {};
    const stopped = new Promise<void>((resolve) => (settle = resolve));
    const training = (this.training = { id: null as string | null, stopped, settle });
    try {
      const { id } = await this.send<{ id: string }>(request);
      training.id = id;
      return { id };
    } catch (err) {
      if (this.training === training) this.endTraining();
      throw err;
    }
  }

  startLab(req: LabStartRequest): Promise<{ id: string }> {
    return this.train({ op: 'train', request: { kind: 'new', runsDir: this.runsDir, ...req }, roots: [...this.roots] });
  }

  continueLab(req: { id: string; steps?: number; minutes?: number | null }): Promise<{ id: string }> {
    return this.train({ op: 'train', request: { kind: 'continue', runsDir: this.runsDir, ...req }, roots: [...this.roots] });
  }

  async stopLab({ id }: { id: string }): Promise<null> {
    if (this.training?.id !== id) throw new ConfigError('BAD_ARGUMENT', `Lab model ${id} is not training here.`);
    return this.send<null>({ op: 'stop', id });
  }

  private summary(entry: LabEntry): LabSummary {
    const { model } = entry;
    return {
      id: entry.id,
      flow: model.flow as LabFlowName,
      targetLabel: labTargetLabel(model.target),
      targetKey: labTargetKey(model.target),
      dim: model.dim,
      step: model.step,
      settings: model.settings,
      parameters: model.parameters ?? 0,
      created: model.created,
      result: entry.result,
      training: this.training?.id === entry.id,
    };
  }

  async listLab(): Promise<LabSummary[]> {
    return (await listLabModels(this.runsDir)).models.map((m) => this.summary(m));
  }

  async getLab({ id }: { id: string }): Promise<LabDetail> {
    const dir = labModelDir(this.runsDir, id);
    const [model, result, curve] = await Promise.all([readLabModelJson(dir), readLabResult(dir), readLabCurve(dir)]);
    return { summary: this.summary({ id, dir, model, result }), curve: decimateMinMax(curve, (p) => p.loss) };
  }

  async deleteLab({ id }: { id: string }): Promise<null> {
    if (this.training?.id === id) throw new CheckpointError('RUN_LOCKED', `Lab model ${id} is training now, so it cannot be deleted; stop it first.`);
    await deleteLabModel(this.runsDir, id);
    return null;
  }

  labTarget(req: { target: LabStartRequest['target'] }): Promise<LabTargetPicture> {
    return this.send({ op: 'target', target: req.target, roots: [...this.roots] });
  }

  labPicture(req: { id: string; stages?: number }): Promise<LabFlowPicture> {
    return this.send({ op: 'picture', runsDir: this.runsDir, ...req });
  }

  labRank(req: { id: string }): Promise<LabRanking> {
    return this.send({ op: 'rank', runsDir: this.runsDir, id: req.id, roots: [...this.roots] });
  }

  labSamplingTimes(req: { teacher: string; student: string }): Promise<{ teacherMs: number; studentMs: number }> {
    return this.send({ op: 'sampling-times', runsDir: this.runsDir, ...req });
  }

  /** Stops the Lab model in training (it saves and scores itself, within a minute), then ends the thread. */
  async stopForShutdown(): Promise<void> {
    const training = this.training;
    if (training?.id) {
      await this.send({ op: 'stop', id: training.id }).catch(() => undefined);
      await Promise.race([training.stopped, new Promise((resolve) => setTimeout(resolve, SHUTDOWN_WAIT_MS).unref())]);
    }
    await this.thread?.terminate();
  }
}
