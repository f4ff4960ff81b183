// A one-line progress display for the terminal: redrawn in place on a TTY at most ~10 times a
// second, and printed as plain lines every few seconds when output goes to a file or CI log.

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class ProgressBar {
  private last = 0;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly plainEveryMs = 5000,
  ) {}

  /** Shows `text` after a bar for done/total, throttled. */
  update(done: number, total: number, text: string): void {
    const now = Date.now();
    const tty = this.stream.isTTY === true;
    if (now - this.last < (tty ? 100 : this.plainEveryMs) && done < total) return;
    this.last = now;
    const width = 24;
    const filled = total > 0 ? Math.round((width * Math.min(done, total)) / total) : 0;
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const line = `${bar} ${text}`;
    if (tty) {
      const cols = this.stream.columns ?? 120;
      this.stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}\x1b[K`);
      this.drawn = true;
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  /** Prints a message on its own line without breaking the bar. */
  log(message: string): void {
    this.clear();
    this.stream.write(`${message}\n`);
  }

  clear(): void {
    if (this.drawn && this.stream.isTTY) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
