// The theme as the Lab's canvases need it: a colour variable's value now, and a redraw when the
// system switches between light and dark (a canvas keeps the colours it was drawn with).
import { onBeforeUnmount, onMounted } from 'vue';

export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/** Calls `redraw` whenever the colour scheme changes, for as long as the component lives. */
export function redrawOnSchemeChange(redraw: () => void): void {
  const scheme = matchMedia('(prefers-color-scheme: dark)');
  onMounted(() => scheme.addEventListener('change', redraw));
  onBeforeUnmount(() => scheme.removeEventListener('change', redraw));
}
