// Comparing runs at equal minutes: the training times at which every run measures its validation
// bits per dim (issue 16), and what a run reports for each. Plain data, so every process may import it.

/** Minutes of a run's training clock (evaluations, checkpoints and setup included) at which it is evaluated. */
export const TIME_MARKS_MINUTES = [1, 3, 10, 30] as const;

/** A mark a run reached: the evaluation made when its training clock passed `minutes`. */
export interface TimeMarkResult {
  minutes: number;
  valBpd: number;
  /** The step evaluated: the first step that ended past the mark. */
  step: number;
}

/** "3 min": how a mark is named in tables and logs. */
export function markLabel(minutes: number): string {
  return `${minutes} min`;
}
