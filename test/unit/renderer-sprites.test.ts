// The renderer's pure helpers for many-image sprites and run names: where image i sits in a
// sprite (matching the engine's grid layout), paths shown relative to a folder, and the model
// menu's label naming the checkpoint.
import { describe, expect, it } from 'vitest';
import { GRID_GUTTER } from '../../main/engine/data/image-grid.ts';
import { modelLabel, relativeTo } from '../../renderer/src/format.ts';
import { cellOrigin, spriteSize } from '../../renderer/src/sprite.ts';

describe('sprites', () => {
  const sprite = { image: 'data:image/png;base64,', count: 7, columns: 3, cell: 8, gutter: GRID_GUTTER };

  it('places image i where the engine grid draws it', () => {
    expect(cellOrigin(sprite, 0)).toEqual({ left: 2, top: 2 });
    expect(cellOrigin(sprite, 4)).toEqual({ left: 2 + 10, top: 2 + 10 });
    expect(cellOrigin(sprite, 6)).toEqual({ left: 2, top: 2 + 20 });
    expect(spriteSize(sprite)).toEqual({ width: 3 * 8 + 4 * 2, height: 3 * 8 + 4 * 2 });
  });
});

describe('labels', () => {
  it('shows paths relative to the folder they lie in, and others whole', () => {
    expect(relativeTo('/data/photos', '/data/photos/a/b.png')).toBe('a/b.png');
    expect(relativeTo('/data/photos/', '/data/photos/b.png')).toBe('b.png');
    expect(relativeTo('/data/photos', '/data/photos2/b.png')).toBe('/data/photos2/b.png');
  });

  it('names the checkpoint a model menu loads', () => {
    expect(modelLabel({ id: 'r1', model: { kind: 'glow' }, checkpointStep: 400 })).toBe('r1 (glow, checkpoint step 400)');
    expect(modelLabel({ id: 'r2', model: { kind: 'nice' }, checkpointStep: null })).toBe('r2 (nice, no checkpoint yet)');
  });
});
