// Issue 14 in a real browser: the Train view's layout while training at 1400x900 and 1000x700 in
// light and dark (chart and latest grid above the fold, no text past its panel), the warmup
// warning, the attribute result and alpha strip without touching the slider, ranking's
// unreadable files and relative paths, and the latent projector opening a point in Explore.
// Screenshots go to test-results/screenshots (FLOWDESK_SHOTS overrides).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importInPage, openAppInBrowser } from '../helpers/app-page.ts';
import { browserTestSkip, LAYOUT_SIZES } from '../helpers/browser.ts';
import { overflowingText } from '../helpers/text-overflow.ts';

const skip = browserTestSkip;
const shots = process.env.FLOWDESK_SHOTS ?? join('test-results', 'screenshots');
const SCHEMES = ['light', 'dark'] as const;

describe.skipIf(skip !== null)(`issue 14 in browser mode${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let session: Awaited<ReturnType<typeof openAppInBrowser>>;
  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    session = await openAppInBrowser(LAYOUT_SIZES[0]);
  }, 120_000);
  afterAll(async () => {
    await session?.close();
  });

  it('imports the folder', async () => {
    await importInPage(session.page, session.images.dir, 8, 3);
  }, 120_000);

  it('warns when warmup is longer than the run', async () => {
    await session.page.getByTestId('nav-train').click();
    await session.page.getByTestId('steps').fill('100');
    await expect.poll(() => session.page.getByTestId('warmup-warning').textContent()).toMatch(/Warmup \(200 steps\) is longer than the run \(100 steps\)/);
    await session.page.getByTestId('steps').fill('5000');
    await expect.poll(() => session.page.getByTestId('warmup-warning').count()).toBe(0);
  });

  it('keeps the chart and the latest grid above the fold and every text inside its panel while training', async () => {
    await session.page.getByTestId('batch').fill('8');
    await session.page.getByTestId('eval-every').fill('10');
    await session.page.getByTestId('start').click();
    await expect.poll(() => session.page.getByTestId('train-grid').isVisible(), { timeout: 180_000 }).toBe(true);
    // Past the first evaluation, so the chart has curves as it has while a run trains.
    await expect.poll(async () => Number(await session.page.getByTestId('step').textContent()), { timeout: 180_000 }).toBeGreaterThan(10);
    for (const size of LAYOUT_SIZES) {
      for (const colorScheme of SCHEMES) {
        await session.page.setViewportSize(size);
        await session.page.emulateMedia({ colorScheme });
        await session.page.evaluate(() => window.scrollTo(0, 0));
        const where = `${size.width}x${size.height} ${colorScheme}`;
        await session.page.screenshot({ path: join(shots, `train-${size.width}x${size.height}-${colorScheme}.png`) });
        for (const id of ['chart', 'train-grid']) {
          const box = await session.page.getByTestId(id).boundingBox();
          expect(box, `${id} at ${where}`).not.toBeNull();
          expect(box!.y + box!.height, `${id} bottom at ${where}`).toBeLessThanOrEqual(size.height);
        }
        expect(await overflowingText(session.page), where).toEqual([]);
      }
    }
  }, 400_000);

  it('pauses the run', async () => {
    await session.page.setViewportSize(LAYOUT_SIZES[0]);
    await session.page.emulateMedia({ colorScheme: 'light' });
    await session.page.getByTestId('pause').click();
    await expect.poll(() => session.page.locator('.meta .phase').textContent(), { timeout: 120_000 }).toBe('paused');
  }, 150_000);

  it('shows the attribute result and an alpha strip as soon as an image and a direction exist', async () => {
    await session.page.getByTestId('nav-explore').click();
    await session.page.getByTestId('tab-attributes').click();
    await session.page.getByTestId('with-folder').fill(session.images.dir);
    await session.page.getByTestId('without-folder').fill(session.other.dir);
    await session.page.getByTestId('compute-direction').click();
    await expect.poll(() => session.page.locator('.notice').textContent(), { timeout: 60_000 }).toMatch(/from 48 images/);
    await session.page.getByTestId('attribute-file').setInputFiles(session.images.good[3]);
    await expect.poll(() => session.page.getByTestId('attributed').getAttribute('src'), { timeout: 60_000 }).toMatch(/^data:image\/png/);
    await expect.poll(() => session.page.locator('[data-testid=attribute-strip] .frame').count(), { timeout: 60_000 }).toBe(9);
    expect(await session.page.getByTestId('alpha').inputValue()).toBe('0');
    await session.page.screenshot({ path: join(shots, 'explore-attributes-strip.png') });
    await session.page.getByTestId('tab-rank').click();
    expect(await session.page.locator('.notice').count()).toBe(0);
  }, 180_000);

  it('ranks with thumbnails and relative paths and lists the files it could not read', async () => {
    await session.page.getByTestId('rank-folder').fill(session.images.dir);
    await session.page.getByTestId('rank').click();
    await expect.poll(() => session.page.getByTestId('ranking').isVisible(), { timeout: 60_000 }).toBe(true);
    expect(await session.page.locator('[data-testid=ranking] .thumb').count()).toBe(12);
    const file = session.page.locator('[data-testid=ranking] td.file').first();
    expect(await file.textContent()).not.toContain(session.images.dir);
    expect(await file.getAttribute('title')).toContain(session.images.dir);
    const skipped = await session.page.getByTestId('rank-skipped').textContent();
    expect(skipped).toContain('bad-zero-byte.png');
    expect(skipped).toContain('2 files could not be read');
    await session.page.screenshot({ path: join(shots, 'explore-rank-skipped.png'), fullPage: true });
  }, 120_000);

  it('maps the validation images in the projector and opens a point in Explore', async () => {
    await session.page.getByTestId('nav-projector').click();
    await session.page.getByTestId('project').click();
    const points = session.page.getByTestId('projector-point');
    await expect.poll(() => points.count(), { timeout: 120_000 }).toBeGreaterThan(1);
    await points.first().hover();
    await expect.poll(() => session.page.getByTestId('projector-hovered').textContent()).toMatch(/\.png$/);
    for (const size of LAYOUT_SIZES) {
      for (const colorScheme of SCHEMES) {
        await session.page.setViewportSize(size);
        await session.page.emulateMedia({ colorScheme });
        expect(await overflowingText(session.page), `${size.width}x${size.height} ${colorScheme}`).toEqual([]);
        await session.page.screenshot({ path: join(shots, `projector-${size.width}x${size.height}-${colorScheme}.png`) });
      }
    }
    await session.page.setViewportSize(LAYOUT_SIZES[0]);
    await session.page.emulateMedia({ colorScheme: 'light' });
    await points.first().click();
    await expect.poll(() => session.page.getByTestId('reconstruction').isVisible(), { timeout: 60_000 }).toBe(true);
    expect(await session.page.getByTestId('tab-reconstruct').getAttribute('aria-selected')).toBe('true');
  }, 300_000);
});
