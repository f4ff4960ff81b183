// The Explore and projector stores against a fake Api: the attribute result and strip come as
// soon as a run, a direction and an image exist (no slider move), a tab switch clears the old
// notice, and a projected point opens in Explore's Reconstruct tab.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, expect, it, vi } from 'vitest';
import type { Api } from '../../preload/api.ts';

const calls = vi.hoisted(() => [] as { method: string; req: Record<string, unknown> }[]);
const answers: Record<string, unknown> = {
  listDirections: ['smile'],
  applyDirection: 'data:image/png;base64,AA==',
  directionStrip: { image: 'data:image/png;base64,AA==', count: 9, columns: 9, cell: 8, gutter: 2 },
  reconstruct: { original: 'o', reconstruction: 'r', maxError: 0, meanError: 0 },
};
vi.mock('../../renderer/src/api/index.ts', () => ({
  api: new Proxy({}, { get: (_, method: string) => async (req: Record<string, unknown>) => (calls.push({ method, req }), { ok: true, value: answers[method] }) }) as Api,
}));

const { STRIP_ALPHAS, useExploreStore } = await import('../../renderer/src/stores/explore.ts');

beforeEach(() => {
  setActivePinia(createPinia());
  calls.length = 0;
});

it('shows the attribute at the slider and a strip over the alphas once run, direction and image exist', async () => {
  const x = useExploreStore();
  await x.showAttribute();
  expect(calls).toEqual([]);
  await x.open('r1');
  expect(x.direction).toBe('smile');
  x.attributeImage = 'data:image/png;base64,AA==';
  calls.length = 0; // opening a run also asks which weights it explores with (getRun)
  await x.showAttribute();
  expect(calls.map((c) => c.method)).toEqual(['applyDirection', 'directionStrip']);
  expect(calls[0].req.alpha).toBe(0);
  expect(calls[1].req.alphas).toEqual(STRIP_ALPHAS);
  expect(x.attributed).toMatch(/^data:image\/png/);
  expect(x.attributeStrip?.count).toBe(9);
});

it('clears the notice when the tab changes', () => {
  const x = useExploreStore();
  x.notice = 'Exported model.json.';
  x.show('import');
  expect(x.tab).toBe('import');
  expect(x.notice).toBeNull();
});

it('opens an image in the Reconstruct tab and reconstructs it', async () => {
  const x = useExploreStore();
  x.show('rank');
  await x.openImage('r2', 'data:image/png;base64,AA==');
  expect(x.runId).toBe('r2');
  expect(x.tab).toBe('reconstruct');
  expect(calls.at(-1)).toEqual({ method: 'reconstruct', req: { runId: 'r2', image: 'data:image/png;base64,AA==' } });
  expect(x.reconstruction?.maxError).toBe(0);
});
