// An image the user may not read is skipped with "permission denied". Root reads any file, so
// besides the real chmod case (run when not root) the kernel's EACCES is simulated on the open.
import { afterAll, describe, expect, it, vi } from 'vitest';
import { decodeImageFile, importImageFolder } from '../../main/engine/data/index.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

const simulated = vi.hoisted(() => ({ denied: new Set<string>() }));

// Image files are opened with openSync (decode.ts reads small files with blocking calls).
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const openSync: typeof real.openSync = (path, ...rest) => {
    if (simulated.denied.has(String(path))) {
      throw Object.assign(new Error(`EACCES: permission denied, open '${String(path)}'`), { code: 'EACCES', errno: -13, syscall: 'open', path: String(path) });
    }
    return real.openSync(path, ...rest);
  };
  return { ...real, openSync, default: { ...real, openSync } };
});

const folder = await makeImageFolder({ count: 4, size: 8, bad: ['unreadable'] });
afterAll(() => folder.cleanup());
const unreadable = folder.bad.unreadable;
const expected = { path: unreadable, reason: 'permission denied (the file cannot be read by this user)' };

describe('unreadable files', () => {
  it('skips a file whose open() is refused, and uses the rest', async () => {
    simulated.denied.add(unreadable);
    try {
      const { train, val, report } = await importImageFolder(folder.dir, { size: 8, cacheDir: null });
      expect(report.skipped).toEqual([expected]);
      expect([...train.paths, ...val.paths].sort()).toEqual([...folder.good].sort());
      await expect(decodeImageFile(unreadable, { size: 8, channels: 3 })).rejects.toMatchObject({ code: 'BAD_IMAGE', message: expected.reason });
    } finally {
      simulated.denied.clear();
    }
  });

  it.skipIf(process.getuid?.() === 0)('skips a file with mode 000 (not run as root, who can read it)', async () => {
    const { report } = await importImageFolder(folder.dir, { size: 8, cacheDir: null });
    expect(report.skipped).toEqual([expected]);
  });

  it.runIf(process.getuid?.() === 0)('reads a mode 000 file as root, so only the simulation above tests the refusal', async () => {
    const { report } = await importImageFolder(folder.dir, { size: 8, cacheDir: null });
    expect(report.used).toBe(5);
  });
});
