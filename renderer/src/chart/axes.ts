// The chart's x axis: ticks and labels for steps (whole numbers only) and training time.
/** Step ticks: whole numbers only, so a one-step run is not labelled 0.2, 0.4, … */
export const STEP_INCRS = Array.from({ length: 30 }, (_, i) => [1, 2, 5][i % 3] * 10 ** Math.floor(i / 3));
/** Time ticks in seconds: seconds, minutes, hours. */
export const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

export function stepLabel(v: number): string {
  return Math.abs(v) >= 10_000 ? `${Number((v / 1000).toPrecision(4))}k` : String(v);
}

export function timeLabel(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Number((seconds / 60).toFixed(1))} min`;
  return `${Number((seconds / 3600).toFixed(1))} h`;
}

