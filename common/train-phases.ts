// What a run does between Start and its first logged step, in order, and how the Train view
// names each: the engine reports them (TrainEvent 'phase'), the Api carries them, the view shows them.

export const TRAIN_PHASES = {
  'loading-images': 'Loading images',
  initialising: 'Initialising the model',
  'preparing-backend': 'Preparing the native backend (tracing)',
  'first-step': 'First step',
} as const;

export type TrainPhase = keyof typeof TRAIN_PHASES;
