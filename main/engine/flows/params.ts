// Named parameters of a model: every trainable variable and every fixed buffer (such as a
// permutation) under a dotted name, which is exactly the tensor name in weights.safetensors.
import * as tf from '../tf.ts';

/**
 * A training step that keeps the newest weights outside the variables (onnxruntime's, which
 * writes them into its own output): it holds them from ParamStore.lendWeights until the store
 * takes them back with `returnWeights`, which assigns them to the variables.
 */
export interface WeightHolder {
  returnWeights(): void;
}

/**
 * The trainable variables by name, current whenever read: a read first takes lent weights back
 * from their holder. Readers keep this map (the optimizer, the weight average, the trainer), so
 * the map itself, not each of them, makes sure. Keys, size and `has` say nothing of values.
 */
class VariableMap extends Map<string, tf.Variable> {
  holder: WeightHolder | null = null;

  /** Takes lent weights back (the holder is cleared first, so its own reads do not recurse). */
  reclaim(): void {
    const holder = this.holder;
    this.holder = null;
    holder?.returnWeights();
  }

  override get(name: string): tf.Variable | undefined {
    this.reclaim();
    return super.get(name);
  }

  override values(): MapIterator<tf.Variable> {
    this.reclaim();
    return super.values();
  }

  override entries(): MapIterator<[string, tf.Variable]> {
    this.reclaim();
    return super.entries();
  }

  override forEach(fn: (value: tf.Variable, key: string, map: Map<string, tf.Variable>) => void, thisArg?: unknown): void {
    this.reclaim();
    super.forEach(fn, thisArg);
  }

  override [Symbol.iterator](): MapIterator<[string, tf.Variable]> {
    this.reclaim();
    return super[Symbol.iterator]();
  }
}

export class ParamStore {
  private readonly trained = new VariableMap();
  /** Trainable variables, in creation order (the optimizer and checkpoints rely on it). */
  readonly variables: Map<string, tf.Variable> = this.trained;
  /** Fixed tensors saved with the weights but never trained (variables so loading can assign). */
  readonly buffers = new Map<string, tf.Variable>();
  private readonly derivedTensors = new Map<string, () => tf.Tensor>();
  private readonly disposeHooks: (() => void)[] = [];
  /** Layers whose parameters start from data (ActNorm), wherever they sit, even inside a coupling's network. */
  private readonly dataInitialised: { requestInit(): void }[] = [];

  /**
   * Tensors computed from the weights in plain JS (an exact inverse), by name: not saved, but
   * inputs of exported graphs, which cannot run that JS. Each getter returns the current value
   * (lent weights are taken back first: the getters read the variables themselves).
   */
  get derived(): Map<string, () => tf.Tensor> {
    this.reclaimWeights();
    return this.derivedTensors;
  }

  /**
   * Leaves the newest weights with `holder` until something reads the variables (through
   * `variables` or `derived`) or calls reclaimWeights. Code that reads a variable through its own
   * reference (a layer computing on tfjs) calls reclaimWeights first (runtime/tfjs-runtime.ts).
   */
  lendWeights(holder: WeightHolder): void {
    if (this.trained.holder !== holder) this.trained.reclaim();
    this.trained.holder = holder;
  }

  /** Takes lent weights back: the variables hold the newest values after. */
  reclaimWeights(): void {
    this.trained.reclaim();
  }

  scope(prefix: string): ParamScope {
    return new ParamScope(this, prefix);
  }

  /** Arms every data-initialised layer: the next forward pass sets each from its own input. */
  requestDataInit(): void {
    for (const layer of this.dataInitialised) layer.requestInit();
  }

  /** Runs `hook` when the store is disposed (helpers tied to a model's life, such as its replicas). */
  onDispose(hook: () => void): void {
    this.disposeHooks.push(hook);
  }

  /** See ParamScope.initialisedFromData. */
  registerDataInit(layer: { requestInit(): void }): void {
    this.dataInitialised.push(layer);
  }

  dispose(): void {
    // Disposed with weights lent: nothing reads them again.
    this.trained.holder = null;
    for (const hook of this.disposeHooks.splice(0)) hook();
    for (const v of this.variables.values()) v.dispose();
    for (const b of this.buffers.values()) b.dispose();
    this.variables.clear();
    this.buffers.clear();
  }
}

export class ParamScope {
  constructor(
    private readonly store: ParamStore,
    readonly prefix: string,
  ) {}

  child(name: string): ParamScope {
    return new ParamScope(this.store, this.name(name));
  }

  /** Registers a trainable variable, taking ownership of `initial`. */
  variable(name: string, initial: tf.Tensor): tf.Variable {
    const full = this.claim(name);
    // tfjs variable names are global to the engine; ours live in the store, so let tfjs pick its own.
    const v = tf.variable(initial, true);
    initial.dispose();
    this.store.variables.set(full, v);
    return v;
  }

  /** Registers a fixed tensor saved with the weights, taking ownership of it. */
  buffer(name: string, value: tf.Tensor): tf.Variable {
    const full = this.claim(name);
    const v = tf.variable(value, false);
    value.dispose();
    this.store.buffers.set(full, v);
    return v;
  }

  /** Registers a tensor computed from the weights outside tfjs ops (see ParamStore.derived). */
  derived(name: string, current: () => tf.Tensor): void {
    this.store.derived.set(this.claim(name), current);
  }

  /** Runs `hook` when the store is disposed. */
  onDispose(hook: () => void): void {
    this.store.onDispose(hook);
  }

  /** Registers a layer that `ParamStore.requestDataInit` arms. */
  initialisedFromData(layer: { requestInit(): void }): void {
    this.store.registerDataInit(layer);
  }

  /** The full name of a new parameter; two parameters may never share one. */
  private claim(n: string): string {
    const full = this.name(n);
    if (this.store.variables.has(full) || this.store.buffers.has(full) || this.store.derived.has(full)) throw new Error(`duplicate parameter name ${full}`);
    return full;
  }

  private name(n: string): string {
    return this.prefix ? `${this.prefix}.${n}` : n;
  }
}
