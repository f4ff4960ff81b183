// The renderer build writes the app's CSP into index.html ahead of every script: a page loaded
// from file:// in Electron gets no response headers, so this <meta> is its only policy.
import { describe, expect, it } from 'vitest';
import { build, type Rolldown } from 'vite';
import { HEADER_CSP, META_CSP } from '../../main/csp.ts';
import { rendererConfig } from '../../renderer/vite.config.ts';

describe('content security policy', () => {
  it('forbids eval, inline scripts and other origins', () => {
    for (const policy of [META_CSP, HEADER_CSP]) {
      const directives = new Map(policy.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values] as const;
      }));
      expect(directives.get('script-src')).toEqual(["'self'"]);
      expect(directives.get('connect-src')).toEqual(["'self'"]);
      expect(directives.get('default-src')).toEqual(["'self'"]);
      expect(policy).not.toContain('unsafe-eval');
    }
    // A <meta> policy cannot carry frame-ancestors; Chromium warns and ignores it.
    expect(META_CSP).not.toContain('frame-ancestors');
    expect(HEADER_CSP).toContain("frame-ancestors 'none'");
  });

  it('is the first thing in the built page head', async () => {
    const out = (await build({ ...rendererConfig, configFile: false, logLevel: 'silent', build: { ...rendererConfig.build, write: false } })) as Rolldown.RolldownOutput;
    const page = out.output.find((f) => f.fileName === 'index.html');
    expect(page?.type).toBe('asset');
    const html = String((page as Rolldown.OutputAsset).source).replaceAll('&#39;', "'");
    const meta = html.indexOf(`<meta http-equiv="Content-Security-Policy" content="${META_CSP}">`);
    expect(meta).toBeGreaterThan(-1);
    expect(meta).toBeLessThan(html.indexOf('<script'));
    expect(html.match(/http-equiv="Content-Security-Policy"/g)).toHaveLength(1);
  });
});
