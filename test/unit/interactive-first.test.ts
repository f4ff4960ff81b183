// Requests a person waits on come before training steps (main/worker/interactive-first.ts):
// the gate is idle when nothing interactive runs, holds while one does and for a moment after,
// and only the interactive calls pass through it.
import { describe, expect, it } from 'vitest';
import { InteractiveGate, interactiveFirst } from '../../main/worker/interactive-first.ts';

describe('InteractiveGate', () => {
  it('holds the trainer while an interactive call runs, and lets it go when the last one ends', async () => {
    const gate = new InteractiveGate(0);
    await gate.idle(); // nothing running: at once
    let endA = () => undefined as void;
    let endB = () => undefined as void;
    const a = gate.run(() => new Promise<void>((r) => (endA = r)));
    const b = gate.run(() => new Promise<void>((r) => (endB = r)));
    let released = false;
    const waiting = gate.idle().then(() => (released = true));
    endA();
    await a;
    await new Promise((r) => setTimeout(r, 10));
    expect(released).toBe(false);
    endB();
    await b;
    await waiting;
    expect(released).toBe(true);
  });

  it('holds a moment after the last call, so the next one of a drag finds no step in progress', async () => {
    const gate = new InteractiveGate(200);
    await gate.run(async () => undefined);
    const t0 = Date.now();
    await gate.idle();
    const held = Date.now() - t0;
    expect(held).toBeGreaterThanOrEqual(190);
    // A call during the hold starts the moment again from its own end.
    await gate.run(async () => undefined);
    const waited = gate.idle().then(() => Date.now());
    await new Promise((r) => setTimeout(r, 100));
    const end = await gate.run(async () => Date.now());
    expect((await waited) - end).toBeGreaterThanOrEqual(190);
  });

  it('releases the trainer when an interactive call fails, too', async () => {
    const gate = new InteractiveGate(0);
    await expect(gate.run(async () => Promise.reject(new Error('bad image')))).rejects.toThrow('bad image');
    await gate.idle();
  });

  it('routes only interactive calls through the gate', async () => {
    const gate = new InteractiveGate(0);
    const held: string[] = [];
    const dispatch = interactiveFirst(async (method) => {
      let holds = true;
      void gate.idle().then(() => (holds = false));
      await Promise.resolve();
      if (holds) held.push(method);
      return { ok: true, value: null };
    }, gate);
    for (const m of ['sample', 'reconstruct', 'interpolate', 'applyDirection', 'importFolder', 'rankFolder', 'listRuns']) await dispatch(m, {});
    expect(held).toEqual(['sample', 'reconstruct', 'interpolate', 'applyDirection']);
  });
});
