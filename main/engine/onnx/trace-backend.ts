// Records a tfjs computation as an ONNX graph by running it once on a backend that hands every
// kernel to wasm and writes down what it did. The model code, autodiff included, stays the one
// definition: the graph is whatever those ops computed, with real values for constants and
// real shapes, so nothing is re-derived by hand.
import * as tf from '../tf.ts';
import { GraphBuilder, TraceError, type TensorRef } from './graph-builder.ts';
import type { OutputSpec } from './kernel-call.ts';
import { SHAPE_ONLY_KERNELS, tracedKernel } from './traced-kernels.ts';
import type { OnnxGraph } from './onnx-proto.ts';

/** The backend name tfjs sees while a trace runs; conv2d.ts treats it as wasm. */
export const TRACE_BACKEND = 'onnx-trace';
const INNER_BACKEND = 'wasm';

type DataId = object;

class TraceBackend extends tf.KernelBackend {
  recorder: GraphBuilder | null = null;
  /**
   * Values computed from graph inputs, by data id, with their reference counts: they hold no
   * memory (they are never read), so a trace needs none for the activations it records, however
   * large the batch. A real kernel given one (none of the traced kernels is) gets it allocated.
   */
  private readonly unbacked = new Map<DataId, number>();

  constructor(readonly inner: tf.KernelBackend) {
    super();
  }

  override write(values: tf.BackendValues | null, shape: number[], dtype: tf.DataType): DataId {
    return this.inner.write(values as tf.BackendValues, shape, dtype);
  }
  override move(dataId: DataId, values: tf.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    this.inner.move(dataId, values, shape, dtype, refCount);
  }
  override readSync(dataId: DataId): tf.BackendValues {
    this.refuseComputedRead(dataId);
    return this.inner.readSync(dataId);
  }
  override read(dataId: DataId): Promise<tf.BackendValues> {
    this.refuseComputedRead(dataId);
    return this.inner.read(dataId);
  }
  override disposeData(dataId: DataId, force?: boolean): boolean {
    const count = this.unbacked.get(dataId);
    if (count === undefined) return this.inner.disposeData(dataId, force);
    if (!force && count > 1) {
      this.unbacked.set(dataId, count - 1);
      return false;
    }
    this.unbacked.delete(dataId);
    return true;
  }
  override incRef(dataId: DataId): void {
    const count = this.unbacked.get(dataId);
    if (count === undefined) this.inner.incRef(dataId);
    else this.unbacked.set(dataId, count + 1);
  }
  override refCount(dataId: DataId): number {
    return this.unbacked.get(dataId) ?? this.inner.refCount(dataId);
  }
  override numDataIds(): number {
    return this.inner.numDataIds() + this.unbacked.size;
  }

  /** Outputs of the given shapes that hold no memory (a single one unwrapped, as kernels return it). */
  placeholders(specs: OutputSpec[]): tf.TensorInfo | tf.TensorInfo[] {
    const infos = specs.map(({ shape, dtype }) => {
      const dataId = {};
      this.unbacked.set(dataId, 1);
      return { dataId, shape, dtype };
    });
    return infos.length === 1 ? infos[0] : infos;
  }

  /** Gives the memory-less inputs of a kernel that is about to run for real their (uninitialised) memory. */
  back(inputs: tf.NamedTensorInfoMap): void {
    for (const info of Object.values(inputs)) {
      const count = info && this.unbacked.get(info.dataId);
      if (!count) continue;
      this.unbacked.delete(info.dataId);
      this.inner.move(info.dataId, null as unknown as tf.BackendValues, info.shape, info.dtype, count);
    }
  }
  override memory(): { unreliable: boolean } {
    return this.inner.memory();
  }
  override timerAvailable(): boolean {
    return false;
  }
  override floatPrecision(): 32 {
    return 32;
  }
  override epsilon(): number {
    return this.inner.epsilon();
  }
  /** The wasm backend it borrows is not its to free. */
  override dispose(): void {}

  /** A value computed from graph inputs read back into JS would be baked in as a constant. */
  private refuseComputedRead(dataId: DataId): void {
    if (this.recorder?.isComputed(dataId)) {
      throw new TraceError('the traced code reads back a value computed from its inputs, which an ONNX graph cannot do');
    }
  }
}

let instance: TraceBackend | null = null;

/** Registers the trace backend and a recording copy of every wasm kernel, once. */
function traceBackend(): TraceBackend {
  if (instance) return instance;
  const inner = tf.findBackend(INNER_BACKEND);
  if (!inner) throw new TraceError('tracing to ONNX needs the wasm backend, which is not initialised');
  const backend = new TraceBackend(inner);
  tf.registerBackend(TRACE_BACKEND, () => backend, -1);
  for (const kernel of tf.getKernelsForBackend(INNER_BACKEND)) {
    const { kernelName } = kernel;
    tf.registerKernel({
      kernelName,
      backendName: TRACE_BACKEND,
      kernelFunc: ({ inputs, attrs }) => {
        const g = backend.recorder;
        const refs = inputs as Record<string, TensorRef>;
        const a = attrs ?? {};
        if (g === null || !computes(g, kernelName, refs)) return kernel.kernelFunc({ inputs, attrs, backend: inner });
        const traced = tracedKernel(kernelName);
        if (!traced) throw new TraceError(`the tfjs kernel ${kernelName} has no ONNX export yet`);
        // Values computed from graph inputs are never read, so only their shapes need making.
        const specs = traced.shape?.({ inputs: refs, attrs: a }) ?? null;
        if (!specs || checkShapes) backend.back(inputs);
        const out = specs && !checkShapes ? backend.placeholders(specs) : kernel.kernelFunc({ inputs, attrs, backend: inner });
        const outputs = (Array.isArray(out) ? out : [out]) as TensorRef[];
        if (checkShapes && specs) assertSpecs(kernelName, specs, outputs);
        const names = traced.emit(g, { inputs: refs, attrs: a, outputs });
        outputs.forEach((ref, i) => g.bind(ref, names[i]));
        return out;
      },
    });
  }
  instance = backend;
  return backend;
}

/** Whether a kernel call computes from graph inputs (so is written down as nodes). */
function computes(g: GraphBuilder, kernelName: string, inputs: Record<string, TensorRef>): boolean {
  return !SHAPE_ONLY_KERNELS.has(kernelName) && Object.values(inputs).some((ref) => ref && g.nameOf(ref));
}

/** With checkShapes on, every kernel also runs, and its real outputs must match the shape rules. */
let checkShapes = false;

/** Runs every traced kernel for real and checks its shape rule against it (for tests). */
export function setTraceShapeCheck(on: boolean): void {
  checkShapes = on;
}

function assertSpecs(kernelName: string, specs: OutputSpec[], real: TensorRef[]): void {
  const same = specs.length === real.length && specs.every((s, i) => s.dtype === real[i].dtype && s.shape.join() === real[i].shape.join());
  if (!same) throw new TraceError(`shape rule for ${kernelName} gives ${JSON.stringify(specs)}, the kernel ${JSON.stringify(real.map((r) => [r.shape, r.dtype]))}`);
}

function switchTo(name: string): void {
  void tf.setBackend(name);
  // An initialised backend switches synchronously; the trace must not yield to other work.
  if (tf.getBackend() !== name) throw new TraceError(`could not switch TensorFlow.js to the ${name} backend`);
}

/**
 * The ONNX graph of `run`, whose results become the graph's outputs under their keys, with
 * `inputs` (tensors `run` reads, such as a batch and a model's variables) as its inputs. `run`
 * executes once for real on wasm; its results are disposed.
 */
export function traceToOnnx(name: string, inputs: Record<string, tf.Tensor>, run: () => Record<string, tf.Tensor>): OnnxGraph {
  const previous = tf.getBackend();
  if (previous !== INNER_BACKEND) throw new TraceError(`tracing to ONNX runs on wasm, but the backend is ${previous}`);
  const backend = traceBackend();
  const g = new GraphBuilder((ref) => backend.inner.readSync(ref.dataId) as ArrayLike<number>);
  for (const [inputName, t] of Object.entries(inputs)) g.input(inputName, t as unknown as TensorRef);
  backend.recorder = g;
  switchTo(TRACE_BACKEND);
  try {
    const results = run();
    try {
      return g.build(name, Object.entries(results).map(([outName, t]) => ({ name: outName, value: g.value(t as unknown as TensorRef), ref: t as unknown as TensorRef })));
    } finally {
      tf.dispose(Object.values(results));
    }
  } finally {
    backend.recorder = null;
    switchTo(previous);
  }
}
