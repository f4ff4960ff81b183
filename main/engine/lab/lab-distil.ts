// Probability density distillation's payoff, measured: how long a saved teacher (a MAF samples
// in one pass per dimension) and its student (an IAF, one pass) take to draw the same points,
// timed one after the other on this machine.
import { Rng } from '../random.ts';
import { KL_SAMPLES } from './kl.ts';
import { samplingMs } from './lab-evaluate.ts';
import { openLabModel } from './lab-session.ts';

export async function samplingTimes(runsDir: string, teacherId: string, studentId: string, n = KL_SAMPLES): Promise<{ teacherMs: number; studentMs: number }> {
  const timeOf = async (id: string) => {
    const { model } = await openLabModel(runsDir, id);
    try {
      return samplingMs(model, n, new Rng(0));
    } finally {
      model.dispose();
    }
  };
  return { teacherMs: await timeOf(teacherId), studentMs: await timeOf(studentId) };
}
