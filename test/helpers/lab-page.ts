// What the Lab's browser tests do on the page: count a canvas's colours (is anything drawn?), set a
// family and its small settings, hold target pictures back (a slow machine), train (or wait) until
// the model's row in the comparison table is scored, and take the layout screenshots.
import { join } from 'node:path';
import type { Page, Route } from 'playwright-core';
import { expect } from 'vitest';
import { LAYOUT_SIZES } from './browser.ts';

/** Distinct colours among a canvas's pixels: a blank or single-colour canvas has one or two. */
export function colours(page: Page, testId: string): Promise<number> {
  return page.getByTestId(testId).evaluate((c: HTMLCanvasElement) => {
    const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
    const seen = new Set<number>();
    for (let i = 0; i < data.length; i += 4) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return seen.size;
  });
}

/** Sets the family (unless `flow` is null: a distillation's student is fixed) and its small settings; `batch` sits under Advanced. */
export async function setFamily(page: Page, flow: string | null, settings: Record<string, number>) {
  if (flow !== null) await page.getByTestId('lab-flow').selectOption(flow);
  const advanced = page.locator('form.settings details.advanced');
  if ((await advanced.count()) && !(await advanced.evaluate((d: HTMLDetailsElement) => d.open))) await advanced.locator('summary').click();
  for (const [testId, value] of Object.entries(settings)) await page.getByTestId(testId).fill(String(value));
}

/** The table row of the model of family `flow` (the first, if several). */
export const labRow = (page: Page, flow: string) => page.locator(`[data-testid=lab-row][data-flow=${flow}]`).first();

/**
 * Holds the page's target pictures back until the returned function lets them through: a slow
 * machine, where Train can be pressed before the target just chosen has been shown.
 */
export async function holdTargetPictures(page: Page): Promise<() => Promise<void>> {
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const held: Promise<void>[] = [];
  const hold = (route: Route) => {
    const passed = gate.then(() => route.continue());
    held.push(passed);
    return passed;
  };
  await page.route('**/api/labTarget', hold);
  return async () => {
    release();
    await Promise.all(held);
    await page.unroute('**/api/labTarget', hold);
  };
}

/**
 * Presses Train (then runs `pressed`, if given) and waits until the model's row shows its sampling
 * and density times (it is scored) and Train is back.
 */
export async function trainToTable(page: Page, flow: string, pressed?: () => Promise<void>) {
  await page.getByTestId('lab-train').click();
  await pressed?.();
  await waitUntilScored(page, flow);
}

/** Waits until the row of the model of family `flow` shows its sampling and density times and Train is back. */
export async function waitUntilScored(page: Page, flow: string) {
  const times = labRow(page, flow).locator('td.times');
  await expect.poll(async () => (await times.count()) > 0 && /\d/.test((await times.textContent()) ?? ''), { timeout: 240_000 }).toBe(true);
  await expect.poll(() => page.getByTestId('lab-train').isVisible(), { timeout: 60_000 }).toBe(true);
}

/**
 * Screenshots `name` at each layout size, light and dark, into `dir`: the whole page, or the
 * window with `scrollTo` (a test id) in view. Leaves the page at the first size, light.
 */
export async function shootLab(page: Page, dir: string, name: string, opts: { scrollTo?: string } = {}) {
  for (const size of LAYOUT_SIZES) {
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.setViewportSize(size);
      await page.emulateMedia({ colorScheme });
      if (opts.scrollTo) await page.getByTestId(opts.scrollTo).scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(dir, `${name}-${size.width}x${size.height}-${colorScheme}.png`), fullPage: !opts.scrollTo, animations: 'disabled' });
    }
  }
  await page.setViewportSize(LAYOUT_SIZES[0]);
  await page.emulateMedia({ colorScheme: 'light' });
}
