// The time marks of a training session (common/time-marks.ts): which marks the run's training
// clock has passed and not yet answered with an evaluation, each given out once.
import { TIME_MARKS_MINUTES } from '../../../common/time-marks.ts';
import { ConfigError } from '../errors.ts';

/**
 * Tests only, never a setting: the seconds that stand in for each mark, in order ("2,4,6,600"),
 * so an end-to-end test sees marks answered within seconds. Read by the process that trains.
 */
export const TEST_MARK_SECONDS_ENV = 'FLOWDESK_TEST_MARK_SECONDS';

export interface TimeMark {
  minutes: number;
  /** When the training clock reaches it. */
  seconds: number;
}

/** The marks every run answers: 1, 3, 10 and 30 minutes, unless a test stands seconds in for them. */
export function timeMarks(env: NodeJS.ProcessEnv = process.env): TimeMark[] {
  const given = env[TEST_MARK_SECONDS_ENV];
  const seconds = given ? given.split(',').map(Number) : TIME_MARKS_MINUTES.map((m) => m * 60);
  if (seconds.length !== TIME_MARKS_MINUTES.length || seconds.some((s) => !(s > 0))) {
    throw new ConfigError('BAD_CONFIG', `${TEST_MARK_SECONDS_ENV} must be ${TIME_MARKS_MINUTES.length} positive numbers of seconds separated by commas, got "${given}"; unset it outside tests.`);
  }
  return TIME_MARKS_MINUTES.map((minutes, i) => ({ minutes, seconds: seconds[i] }));
}

export class MarkSchedule {
  private pending: TimeMark[];

  /**
   * `answered`: the marks metrics.jsonl already holds (minutes); `clock`: the training clock as the
   * session starts. A mark the clock passed before without an answer (a run trained before marks
   * existed, or one whose answer a rollback dropped) stays unanswered: measured now it would be late.
   */
  constructor(marks: readonly TimeMark[], answered: ReadonlySet<number>, clock: number) {
    this.pending = marks.filter((m) => !answered.has(m.minutes) && m.seconds > clock);
  }

  /** Whether the clock has reached a mark not yet given out. */
  due(clock: number): boolean {
    return this.pending.some((m) => m.seconds <= clock);
  }

  /** The marks (minutes) the clock has reached since the last call; each is given out once. */
  take(clock: number): number[] {
    const due = this.pending.filter((m) => m.seconds <= clock);
    this.pending = this.pending.filter((m) => m.seconds > clock);
    return due.map((m) => m.minutes);
  }
}
