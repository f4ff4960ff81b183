// Training state: the settings being edited, the run in progress with its live curves, speed
// and ETA, and the controls (start, pause, resume, cancel). Fed by the worker's events.
import { defineStore } from 'pinia';
import { modelKindField } from '../../../common/settings/model-fields.ts';
import { DEFAULT_PRESET, defaultTrainSettings, presetModel, presetsFor, type PresetName } from '../../../common/settings/presets.ts';
import type { AppEvent, ModelKind, ModelSettings, RunStatus, StartRequest, TrainPhase, TrainSettings } from '../../../preload/api.ts';
import { api } from '../api/index.ts';
import { useAppStore } from './app.ts';
import { useDataStore } from './data.ts';

export interface CurvePoint {
  step: number;
  time: number;
  value: number;
}

/** A conditional run's latest class figures: unconditional bits per dim and class accuracy (0..1, null where unknown). */
export interface ClassFigures {
  unconditionalBpd: number;
  accuracy: number | null;
}

export type Phase = 'idle' | 'starting' | 'training' | 'stopping' | 'crashed' | Exclude<RunStatus, 'training'>;

export const useTrainingStore = defineStore('training', {
  state: () => {
    // The first preset is sized to the images the Data view starts with.
    const data = useDataStore();
    return {
      kind: modelKindField.default as ModelKind,
      presetSize: DEFAULT_PRESET as PresetName,
      model: presetModel(modelKindField.default, DEFAULT_PRESET, data.size, data.channels) as ModelSettings,
      train: defaultTrainSettings() as TrainSettings,
      phase: 'idle' as Phase,
      /** What the run does before its first step (null once steps come, or when idle). */
      startPhase: null as TrainPhase | null,
      runId: null as string | null,
      backend: null as string | null,
      step: 0,
      totalSteps: 0,
      imgPerSec: 0,
      eta: null as number | null,
      elapsed: 0,
      trainCurve: [] as CurvePoint[],
      valCurve: [] as CurvePoint[],
      /** A conditional run's unconditional validation bits per dim (valCurve is then given the class); empty otherwise. */
      valUnconditionalCurve: [] as CurvePoint[],
      /** A conditional run's latest class figures; null for an unconditional run. */
      classFigures: null as ClassFigures | null,
      latestSampleStep: null as number | null,
      warning: null as string | null,
      crash: null as string | null,
    };
  },
  getters: {
    busy: (s) => s.phase === 'starting' || s.phase === 'training' || s.phase === 'stopping',
    progress: (s) => (s.totalSteps > 0 ? s.step / s.totalSteps : 0),
  },
  actions: {
    /** The family's preset (or the default one, where the family does not offer that preset). */
    applyPreset(kind: ModelKind, preset: PresetName) {
      const data = useDataStore();
      this.kind = kind;
      this.presetSize = presetsFor(kind).includes(preset) ? preset : DEFAULT_PRESET;
      this.model = presetModel(kind, this.presetSize, data.size, data.channels);
    },
    /** One field edited in the Train view (its input comes from the field's declaration). */
    setSetting(group: 'model' | 'train', key: string, value: unknown) {
      (this[group] as Record<string, unknown>)[key] = value;
    },
    resetLive(runId: string | null) {
      this.runId = runId;
      this.startPhase = null;
      this.step = 0;
      this.trainCurve = [];
      this.valCurve = [];
      this.valUnconditionalCurve = [];
      this.classFigures = null;
      this.latestSampleStep = null;
      this.warning = null;
      this.crash = null;
    },
    /** What Start (or Queue) sends: these settings on the Data view's folder, size, channels and classes. */
    startRequest(): StartRequest {
      const data = useDataStore();
      this.model = { ...this.model, size: data.size, channels: data.channels };
      this.train = { ...this.train, classes: data.classes };
      // Copies: a request must not change if the form is edited while it is on its way.
      return { folder: data.folder, model: { ...this.model }, train: { ...this.train } };
    },
    async start() {
      const request = this.startRequest();
      this.resetLive(null);
      this.phase = 'starting';
      const r = await api.startTraining(request);
      if (!r.ok) {
        this.phase = 'idle';
        useAppStore().fail(r.error);
        return;
      }
      this.runId = r.value.runId;
    },
    async pause() {
      this.phase = 'stopping';
      const r = await api.pauseTraining();
      if (!r.ok) useAppStore().fail(r.error);
    },
    async cancel() {
      this.phase = 'stopping';
      const r = await api.cancelTraining();
      if (!r.ok) useAppStore().fail(r.error);
    },
    async resume(id?: string) {
      const runId = id ?? this.runId;
      if (!runId) return;
      this.phase = 'starting';
      this.crash = null;
      const r = await api.resumeTraining({ runId });
      if (!r.ok) {
        this.phase = 'paused';
        useAppStore().fail(r.error);
      }
    },
    /** Loads a finished or paused run's curves so the chart shows it. */
    async open(runId: string) {
      const r = await api.getRun({ runId });
      if (!r.ok) return useAppStore().fail(r.error);
      const d = r.value;
      if (this.busy && this.runId !== runId) return;
      this.resetLive(runId);
      // Show the run's own settings, so Resume and a fresh Start begin from what it used.
      this.kind = d.summary.model.kind;
      this.model = { ...d.summary.model };
      this.train = { ...defaultTrainSettings(), ...d.summary.train };
      this.phase = d.summary.status;
      this.step = d.summary.step;
      this.totalSteps = d.summary.train.steps;
      for (const m of d.metrics) {
        if (m.type === 'train' && m.loss !== undefined) this.trainCurve.push({ step: m.step, time: m.time, value: m.loss });
        if (m.type === 'eval' && m.valBpd !== undefined) this.valCurve.push({ step: m.step, time: m.time, value: m.valBpd });
        if (m.type === 'eval' && m.valBpdUnconditional !== undefined) this.addClassFigures(m.step, m.time, { unconditionalBpd: m.valBpdUnconditional, accuracy: m.valAccuracy ?? null });
      }
      this.latestSampleStep = d.sampleSteps.at(-1) ?? null;
    },
    /** A conditional run's evaluation: its unconditional bits per dim on the curve, and the latest figures. */
    addClassFigures(step: number, time: number, figures: ClassFigures) {
      this.valUnconditionalCurve.push({ step, time, value: figures.unconditionalBpd });
      this.classFigures = figures;
    },
    handle(e: AppEvent) {
      if (e.type === 'worker-crashed') {
        if (this.busy || e.runId === this.runId) {
          this.phase = 'crashed';
          this.crash = e.message;
          if (e.runId) this.runId = e.runId;
        }
        return;
      }
      // Jobs, the queue and the Lab have their own stores; training's events name a run.
      if (!('runId' in e)) return;
      if (e.type === 'train-phase') {
        // A new run has no id until its images are loaded: its first phase comes without one.
        if (e.runId === this.runId || (e.runId === null && this.phase === 'starting')) this.startPhase = e.phase;
        return;
      }
      if (e.runId !== this.runId && e.type !== 'train-start') return;
      switch (e.type) {
        case 'train-start':
          if (e.runId !== this.runId) this.resetLive(e.runId);
          this.phase = 'training';
          this.backend = e.backend;
          this.step = e.step;
          this.totalSteps = e.totalSteps;
          if (e.resumed) {
            this.trainCurve = this.trainCurve.filter((p) => p.step <= e.step);
            this.valCurve = this.valCurve.filter((p) => p.step <= e.step);
            this.valUnconditionalCurve = this.valUnconditionalCurve.filter((p) => p.step <= e.step);
          }
          break;
        case 'train-step':
          this.startPhase = null;
          this.step = e.step;
          this.totalSteps = e.totalSteps;
          this.imgPerSec = e.imgPerSec;
          this.eta = e.eta;
          this.elapsed = e.elapsed;
          this.trainCurve.push({ step: e.step, time: e.elapsed, value: e.loss });
          break;
        case 'train-eval':
          this.valCurve.push({ step: e.step, time: e.elapsed, value: e.valBpd });
          if (e.classes) this.addClassFigures(e.step, e.elapsed, e.classes);
          break;
        case 'train-sample':
          this.latestSampleStep = e.step;
          break;
        case 'train-warning':
          this.warning = e.message;
          break;
        case 'train-stopped':
          this.startPhase = null;
          this.phase = e.status === 'training' ? 'paused' : e.status;
          if (e.error) useAppStore().fail(e.error);
          break;
      }
    },
  },
});
