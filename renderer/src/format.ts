// Number and time formatting shared by the views.

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m > 0) return `${m} min ${String(sec).padStart(2, '0')} s`;
  return `${sec} s`;
}

export function bpd(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(3);
}

/** A share (0..1) as a percentage with one decimal, or a dash. */
export function percent(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(1)} %`;
}

export function shortDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** A run's display name: the one a person gave it, else its id. */
export function runLabel(r: { id: string; name?: string }): string {
  return r.name ?? r.id;
}

/**
 * A run as the model menus name it (its display name, else its id): the checkpoint a model is
 * loaded from, not the last logged step.
 */
export function modelLabel(r: { id: string; name?: string; model: { kind: string }; checkpointStep: number | null }): string {
  return `${runLabel(r)} (${r.model.kind}, ${r.checkpointStep === null ? 'no checkpoint yet' : `checkpoint step ${r.checkpointStep}`})`;
}

/** `path` relative to `folder` when it lies inside it, else `path` itself. */
export function relativeTo(folder: string, path: string): string {
  const base = folder.replace(/[\\/]+$/, '');
  return path.startsWith(`${base}/`) || path.startsWith(`${base}\\`) ? path.slice(base.length + 1) : path;
}
