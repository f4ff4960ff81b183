// Layout checks in a real browser: text that runs past its box or its panel, which the layout
// tests of each view assert is none, at each window size and colour scheme.
import type { Page } from 'playwright-core';

/**
 * Elements whose own text runs past their box or past the panel around them, unless meant to
 * (a scrolling box or an ellipsis on the way up). Described as "tag.class 'text'".
 */
export function overflowingText(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const meant = (el: Element | null): boolean => {
      for (let e = el; e && e !== document.body; e = e.parentElement) {
        const s = getComputedStyle(e);
        if (s.textOverflow === 'ellipsis' || ['auto', 'scroll'].includes(s.overflowX)) return true;
      }
      return false;
    };
    for (const el of Array.from(document.querySelectorAll('main *, nav *'))) {
      const own = Array.from(el.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim() !== '');
      if (!own || meant(el)) continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0) continue;
      const panel = el.closest('.panel, nav, main')!.getBoundingClientRect();
      const s = getComputedStyle(el);
      const wider = s.display !== 'inline' && el.scrollWidth > el.clientWidth + 1;
      if (wider || box.right > panel.right + 1 || box.left < panel.left - 1) out.push(`${el.tagName.toLowerCase()}.${el.className} '${el.textContent!.trim().slice(0, 40)}'`);
    }
    return out;
  });
}
