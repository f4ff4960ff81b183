// The Lab's state: the target being built (named, drawn, an image, a CSV file, an energy or an
// expression) and its picture, the family and its knobs (or a teacher to distil), the model in
// training with its live frames, loss and measured refresh rate, the models on disk for the
// comparison table with their students' sampling times, and the model opened from it (curve, flow
// picture, table ranking). Fed by the worker's lab events.
import { defineStore } from 'pinia';
import { LAB_FLOWS, type LabEnergyName, type LabFlowName, type LabObjective, type LabSampleTargetName, type LabTargetSpec } from '../../../common/lab/lab-catalog.ts';
import { labDefaults, type LabFieldKey, type LabSettings } from '../../../common/lab/lab-fields.ts';
import { labTargetKey } from '../../../common/lab/lab-target-label.ts';
import type { AppError, AppEvent, LabFlowPicture, LabFrameEvent, LabRanking, LabSummary, LabTargetPicture } from '../../../preload/api.ts';
import { api } from '../api/index.ts';
import type { CurvePoint } from './training.ts';

export type TargetMode = 'named' | 'draw' | 'image' | 'csv' | 'energy' | 'expression';
export type LabPhase = 'idle' | 'starting' | 'training' | 'stopping';

/** The knobs a family shows: its catalog knobs but the objective, which the target decides. */
export function knobsOf(flow: LabFlowName): LabFieldKey[] {
  return (LAB_FLOWS[flow].knobs as readonly LabFieldKey[]).filter((k) => k !== 'objective');
}

/** Energies and expressions train by reverse KL; everything with samples by maximum likelihood. */
export function objectiveOf(mode: TargetMode): LabObjective {
  return mode === 'energy' || mode === 'expression' ? 'reverse-kl' : 'likelihood';
}


/** A distillation's student: an IAF samples in one pass where its teacher (a MAF) needs D. */
export const DISTIL_STUDENT: LabFlowName = 'iaf';

/** A finished model whose density is one closed-form pass can teach: its log-density is the student's target. */
export function canTeach(m: LabSummary): boolean {
  return LAB_FLOWS[m.flow].density === 'closed' && m.result !== null && !m.training;
}

/** Students being timed against their teachers now, so a second listing does not time them twice. */
const timing = new Set<string>();

/**
 * The latest target asked for and not yet shown (null when none is on its way). Choosing an energy or
 * a named set shows it without waiting, so on a slow machine Train can be pressed before its
 * picture arrives: Train waits for it, else it would train on the previous target, whose table the
 * view no longer shows. Its number lets only the latest answer be shown when two cross.
 */
let showing: { ask: number; done: Promise<boolean> } | null = null;
let asks = 0;

/** Frames' intervals are averaged over this many, so the shown refresh rate does not flicker. */
const RATE_WINDOW = 8;

export const useLabStore = defineStore('lab', {
  state: () => ({
    mode: 'named' as TargetMode,
    named: 'checkerboard' as LabSampleTargetName,
    energy: 'u1' as LabEnergyName,
    expression: '(x^2 + y^2 - 4)^2 / 2',
    drawn: [] as number[][],
    image: null as { width: number; height: number; pixels: number[]; name: string } | null,
    csvFile: '',
    /** The target the picture, the table and Train use (null until one is shown). */
    target: null as LabTargetSpec | null,
    picture: null as LabTargetPicture | null,
    flow: 'spline-coupling' as LabFlowName,
    /** The model Train distils into an IAF student (by reverse KL against its density), or null to fit the target. */
    teacher: null as string | null,
    /** Each student's and its teacher's time to draw 10,000 points, timed one after the other, by student id (at the student's step then). */
    speedups: {} as Record<string, { step: number; teacherMs: number; studentMs: number }>,
    /** What the person changed; every other setting is the chosen family's default (labDefaults), which differ by family. */
    edits: {} as Partial<LabSettings>,
    phase: 'idle' as LabPhase,
    liveId: null as string | null,
    step: 0,
    totalSteps: 0,
    loss: null as number | null,
    stepsPerSec: 0,
    eta: null as number | null,
    curve: [] as CurvePoint[],
    frame: null as LabFrameEvent | null,
    /** Recent intervals between frames, ms: the heatmap's measured refresh. */
    intervals: [] as number[],
    models: [] as LabSummary[],
    /** The model the chart, the flow picture and the ranking show (the live one while training). */
    openId: null as string | null,
    flowPicture: null as LabFlowPicture | null,
    pictureLoading: false,
    ranking: null as LabRanking | null,
    error: null as AppError | null,
    /** How the last training ended, for the status line. */
    ended: null as string | null,
  }),
  getters: {
    settings: (state): LabSettings => ({ ...labDefaults(state.flow), ...state.edits }),
    busy: (s) => s.phase !== 'idle',
    targetKey: (s) => (s.target ? labTargetKey(s.target) : null),
    /** The teacher of each student distilled from a model of the current target, by student id. */
    teacherOf(s): Record<string, string> {
      const own = s.models.filter((m) => m.targetKey === this.targetKey);
      const byKey = new Map(own.map((m) => [labTargetKey({ kind: 'model', id: m.id }), m.id]));
      return Object.fromEntries(s.models.filter((m) => byKey.has(m.targetKey)).map((m) => [m.id, byKey.get(m.targetKey)!]));
    },
    /** Models of the current target, each followed by the students distilled from it, for the comparison table. */
    compared(s): LabSummary[] {
      const students = this.teacherOf;
      return s.models.filter((m) => m.targetKey === this.targetKey).flatMap((m) => [m, ...s.models.filter((x) => students[x.id] === m.id)]);
    },
    /** Models of the current target a student can be distilled from. */
    teachers(): LabSummary[] {
      return this.compared.filter((m) => !(m.id in this.teacherOf) && canTeach(m));
    },
    /** How the next training learns: a teacher is fitted by reverse KL, else as the target says. */
    objective(): LabObjective {
      return this.distilling ? 'reverse-kl' : objectiveOf(this.mode);
    },
    refreshMs: (s) => (s.intervals.length ? s.intervals.reduce((a, b) => a + b, 0) / s.intervals.length : null),
    openModel: (s) => s.models.find((m) => m.id === s.openId) ?? null,
    /** The target the visible tab's inputs describe, or why they describe none (naming what to fill in). */
    inputs(s): { spec: LabTargetSpec; problem: null } | { spec: null; problem: string } {
      const problem = (text: string) => ({ spec: null, problem: text });
      switch (s.mode) {
        case 'named': return { spec: { kind: 'samples', name: s.named }, problem: null };
        case 'energy': return { spec: { kind: 'energy', name: s.energy }, problem: null };
        case 'expression':
          if (!s.expression.trim()) return problem('Type an energy U(x, y) first, for example x^2 + y^2.');
          return { spec: { kind: 'expression', expression: s.expression }, problem: null };
        case 'draw':
          if (s.drawn.length === 0) return problem('Draw some points on the target first (click or drag on it).');
          // A copy: drawing goes on in `drawn`, and a shown target must stay the drawing it was.
          return { spec: { kind: 'points', points: s.drawn.slice() }, problem: null };
        case 'image':
          if (!s.image) return problem('Drop an image (or choose one) first: its brightness becomes the density.');
          return { spec: { kind: 'image', width: s.image.width, height: s.image.height, pixels: s.image.pixels }, problem: null };
        case 'csv':
          if (!s.csvFile.trim()) return problem('Type the absolute path of a CSV file of numbers first.');
          return { spec: { kind: 'csv', file: s.csvFile.trim() }, problem: null };
      }
    },
    /** Whether the shown target is the one the visible tab describes; when not, Train shows that one first. */
    inputsShown(): boolean {
      return this.inputs.spec !== null && labTargetKey(this.inputs.spec) === this.targetKey;
    },
    /** The teacher Train distils: none while the visible tab holds another target, which Train shows first (a teacher belongs to its own target). */
    distilling(): string | null {
      return this.inputsShown ? this.teacher : null;
    },
  },
  actions: {
    /** The spec the visible tab's inputs describe, or null with the reason in `error`. */
    specOfInputs(): LabTargetSpec | null {
      const inputs = this.inputs;
      return inputs.spec === null ? this.refuse(inputs.problem) : inputs.spec;
    },
    refuse(message: string): null {
      this.error = { code: 'BAD_ARGUMENT', message };
      return null;
    },
    /** Shows the target the inputs describe: its picture, and the models trained on it; false where it is refused. */
    showTarget(): Promise<boolean> {
      const ask = ++asks;
      const done = this.showSpec(ask).finally(() => {
        if (showing?.ask === ask) showing = null;
      });
      showing = { ask, done };
      return done;
    },
    /** Waits until the latest target asked for is shown: false where it was refused (Train must not fall back on the one before). */
    async targetSettled(): Promise<boolean> {
      let shown = true;
      while (showing) shown = await showing.done;
      return shown;
    },
    /** showTarget's work for its `ask`-th call. */
    async showSpec(ask: number): Promise<boolean> {
      this.error = null;
      const spec = this.specOfInputs();
      if (!spec) return false;
      const r = await api.labTarget({ target: spec });
      // A later choice was asked for meanwhile: its answer is the one to show.
      if (ask !== asks) return false;
      if (!r.ok) {
        this.error = r.error;
        return false;
      }
      // A teacher is a model of the target it was trained on: a new target leaves it behind at once.
      if (labTargetKey(spec) !== this.targetKey) this.teacher = null;
      this.target = spec;
      this.picture = r.value;
      if (!(LAB_FLOWS[this.flow].objectives as readonly LabObjective[]).includes(objectiveOf(this.mode))) {
        this.flow = (Object.keys(LAB_FLOWS) as LabFlowName[]).find((f) => (LAB_FLOWS[f].objectives as readonly LabObjective[]).includes(objectiveOf(this.mode)))!;
      }
      await this.refresh();
      return true;
    },
    /** Chooses the model the next training distils (null: fit the target itself); the student is an IAF. */
    chooseTeacher(id: string | null) {
      this.teacher = id;
      if (id) this.flow = DISTIL_STUDENT;
    },
    setSetting(key: string, value: unknown) {
      (this.edits as Record<string, unknown>)[key] = value;
    },
    async refresh() {
      const r = await api.listLab();
      if (!r.ok) return;
      this.models = r.value;
      if (this.teacher && !this.teachers.some((m) => m.id === this.teacher)) this.teacher = null;
      void this.timeStudents();
    },
    /** Times each finished student of the table against its teacher, once per student step: the speed-up distillation buys. */
    async timeStudents() {
      for (const m of this.compared) {
        const teacher = this.teacherOf[m.id];
        if (!teacher || !m.result || m.training || this.speedups[m.id]?.step === m.step || timing.has(m.id)) continue;
        timing.add(m.id);
        const r = await api.labSamplingTimes({ teacher, student: m.id });
        timing.delete(m.id);
        if (r.ok) this.speedups[m.id] = { step: m.step, ...r.value };
        else this.error = r.error;
      }
    },
    resetLive(id: string | null) {
      this.liveId = id;
      this.openId = id;
      this.step = 0;
      this.loss = null;
      this.stepsPerSec = 0;
      this.eta = null;
      this.curve = [];
      this.frame = null;
      this.intervals = [];
      this.flowPicture = null;
      this.ranking = null;
      this.ended = null;
    },
    async train() {
      this.error = null;
      this.resetLive(null);
      // Starting at once disables the form and Train while the target is still on its way.
      this.phase = 'starting';
      // The visible tab's target, not the one shown before: typed or drawn but not yet used, it is shown
      // first (through the same path as "Use this target"), and if it is refused nothing trains.
      const shown = (await this.targetSettled()) && (this.inputsShown || (await this.showTarget()));
      if (!shown || !this.target) {
        this.phase = 'idle';
        return;
      }
      // Read after the target is shown: showing it may have changed the family.
      const settings = Object.fromEntries(knobsOf(this.flow).map((k) => [k, this.settings[k]]));
      const target: LabTargetSpec = this.teacher ? { kind: 'model', id: this.teacher } : this.target;
      const r = await api.startLab({ flow: this.flow, settings, target });
      if (!r.ok) {
        this.phase = 'idle';
        this.error = r.error;
        return;
      }
      if (this.phase === 'starting') this.phase = 'training';
      this.liveId = this.openId = r.value.id;
      await this.refresh();
    },
    async trainFurther(id: string) {
      this.error = null;
      const model = this.models.find((m) => m.id === id);
      this.resetLive(id);
      this.phase = 'starting';
      const r = await api.continueLab({ id });
      if (!r.ok) {
        this.phase = 'idle';
        this.error = r.error;
        return;
      }
      if (this.phase === 'starting') this.phase = 'training';
      if (model) await this.loadCurve(id);
    },
    async stop() {
      if (!this.liveId) return;
      this.phase = 'stopping';
      const r = await api.stopLab({ id: this.liveId });
      if (!r.ok) this.error = r.error;
    },
    async loadCurve(id: string) {
      const r = await api.getLab({ id });
      if (r.ok) this.curve = r.value.curve.map((p) => ({ step: p.step, time: p.elapsed, value: p.loss }));
    },
    /** Opens a model from the table: its loss curve, and its flow picture (two-dimensional models) or ranking (tables). */
    async open(id: string) {
      this.openId = id;
      this.flowPicture = null;
      this.ranking = null;
      await this.loadCurve(id);
      const model = this.models.find((m) => m.id === id);
      if (model?.dim === 2) await this.loadFlowPicture(id);
    },
    async loadFlowPicture(id: string) {
      this.pictureLoading = true;
      const model = this.models.find((m) => m.id === id);
      // Continuous families: 16 time steps make a smooth film whatever their solver's steps.
      const stages = model && LAB_FLOWS[model.flow].density === 'ode' ? 16 : undefined;
      const r = await api.labPicture({ id, stages });
      this.pictureLoading = false;
      if (r.ok && this.openId === id) this.flowPicture = r.value;
      else if (!r.ok) this.error = r.error;
    },
    async rank(id: string) {
      const r = await api.labRank({ id });
      if (r.ok) this.ranking = r.value;
      else this.error = r.error;
    },
    async remove(id: string) {
      const r = await api.deleteLab({ id });
      if (!r.ok) this.error = r.error;
      if (this.openId === id) this.openId = null;
      await this.refresh();
    },
    handle(e: AppEvent) {
      switch (e.type) {
        case 'lab-start':
          if (this.phase === 'starting' || this.liveId === e.id) {
            this.liveId = this.openId = e.id;
            this.phase = 'training';
            this.step = e.step;
            this.totalSteps = e.totalSteps;
          }
          return;
        case 'lab-step':
          if (e.id !== this.liveId) return;
          this.step = e.step;
          this.totalSteps = e.totalSteps;
          this.loss = e.loss;
          this.stepsPerSec = e.stepsPerSec;
          this.eta = e.eta;
          this.curve.push({ step: e.step, time: e.elapsed, value: e.loss });
          return;
        case 'lab-frame':
          if (e.id !== this.liveId) return;
          this.frame = e.frame;
          if (e.frame.intervalMs !== null) this.intervals = [...this.intervals, e.frame.intervalMs].slice(-RATE_WINDOW);
          return;
        case 'lab-stopped':
          if (e.id !== this.liveId) return;
          this.phase = 'idle';
          this.step = e.step;
          this.ended = e.ended;
          if (e.error) this.error = e.error;
          void this.refresh().then(() => this.open(e.id));
          return;
      }
    },
  },
});
