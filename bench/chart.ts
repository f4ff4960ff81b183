// The chart at scale, measured in Chromium (issue 14): a million-point training curve (raw and
// smoothed) with a validation curve, its first draw and the redraw after each appended point.
// Targets: first draw under 1 s, an append under 16 ms (one frame). Printed by `npm run bench`
// (`--only=chart`), never asserted in a test.
import { chromiumMissing, launchBrowser } from '../test/helpers/browser.ts';
import { drawChartInPage } from '../test/helpers/chart-page.ts';

const POINTS = 1_000_000;
const APPENDS = 30;

export async function chartSpeed(): Promise<object> {
  if (chromiumMissing) return { bench: 'chart', available: false, reason: chromiumMissing };
  const browser = await launchBrowser();
  try {
    const r = await drawChartInPage(browser, POINTS, APPENDS);
    const sorted = [...r.appendMs].sort((x, y) => x - y);
    const round = (v: number) => Math.round(v * 100) / 100;
    return { bench: 'chart', points: r.points, rows: r.rows, first_draw_ms: round(r.firstDrawMs), append_median_ms: round(sorted[Math.floor(sorted.length / 2)]), append_max_ms: round(sorted.at(-1)!) };
  } finally {
    await browser.close();
  }
}
