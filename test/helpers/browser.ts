// Debian's Chromium driven by playwright-core, headless, with the flags this sandboxed,
// offline machine needs. Tests that need it skip with a stated reason where it is absent.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { rendererDir } from '../../main/cli/serve-command.ts';

export const CHROMIUM = process.env.FLOWDESK_CHROMIUM ?? '/usr/bin/chromium';
export const chromiumMissing = existsSync(CHROMIUM) ? null : `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set FLOWDESK_CHROMIUM)`;

/** Why a browser-mode test cannot run here (the app unbuilt, or no Chromium), or null when it can. */
export const browserTestSkip = !existsSync(join(rendererDir(), 'index.html')) ? 'the app is not built (npm run build)' : chromiumMissing;

/** The window sizes layout checks and screenshots use. */
export const LAYOUT_SIZES = [
  { width: 1400, height: 900 },
  { width: 1000, height: 700 },
] as const;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}
