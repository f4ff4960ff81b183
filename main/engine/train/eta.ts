// The time left in a run, held back until the pace is steady: the first steps after Start
// include tracing, warm caches and evaluations, and an ETA from them (1 h 41 min that settled
// at 21-25 min, issue 14) is worse than none. The pace is the wall time between step ends, so
// evaluations, checkpoints and waits for the page's requests count as the run will see them.

/** Step intervals the pace is judged over. */
const WINDOW = 20;
/** Intervals needed before any ETA. */
const MIN_INTERVALS = 10;
/**
 * Steady when the window's interquartile range is at most this fraction of its median: an
 * evaluation now and then is an outlier the quartiles ignore; a pace still changing is not.
 */
const MAX_SPREAD = 0.5;

export class EtaEstimator {
  private lastEnd: number | null = null;
  private intervals: number[] = [];
  private steady = false;

  /** A step ended at `now` (seconds on any steady clock). */
  stepEnded(now: number): void {
    if (this.lastEnd !== null) {
      this.intervals.push(now - this.lastEnd);
      if (this.intervals.length > WINDOW) this.intervals.shift();
    }
    this.lastEnd = now;
    // Once shown, the ETA stays: a value that comes and goes is harder to read than one that moves.
    this.steady ||= this.intervals.length >= MIN_INTERVALS && spread(this.intervals) <= MAX_SPREAD;
  }

  /** Seconds left for `stepsLeft` steps (at most `timeLeft`), or null while the pace is not steady. */
  secondsLeft(stepsLeft: number, timeLeft = Infinity): number | null {
    if (!this.steady) return null;
    const mean = this.intervals.reduce((a, b) => a + b, 0) / this.intervals.length;
    return Math.max(0, Math.min(stepsLeft * mean, timeLeft));
  }
}

/** Interquartile range over the median. */
function spread(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const median = at(0.5);
  return median > 0 ? (at(0.75) - at(0.25)) / median : Infinity;
}
