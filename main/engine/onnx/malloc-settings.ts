// glibc malloc's settings for a process that runs onnxruntime training steps, passed through the
// environment because glibc reads them once, at the process's start (on macOS, on Windows and
// where malloc is not glibc's, they are inert). onnxruntime-node copies every output of a run
// into a new ArrayBuffer: a step's flat weights and both Adam moments, 16 MB each at Glow K8/h256.
// By default glibc gives that memory back to the system once those buffers are freed (its trim),
// so the next step's copies fault fresh pages in: 1,000-5,000 page faults a step on this project's
// machine, 1-9% of a K8 step (docs/performance.md, 2026-12-01). Setting either threshold turns
// glibc's own adjustment of both off, hence both: chunks up to the mmap threshold (32 MiB, glibc's
// largest on 64-bit) come from the heap, which the trim threshold keeps mapped once grown.

/** The variables, by name (glibc's older names for the tunables: values without '=', as npm's Windows shims require). */
export const MALLOC_SETTINGS: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(1024 * 1024 * 1024),
};

/** `env` with the settings in place (they replace the person's own, as the `flowdesk` command's first line does). */
export function withMallocSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, ...MALLOC_SETTINGS };
}

/** Whether this process started with the settings. */
export function startedWithMallocSettings(env: NodeJS.ProcessEnv = process.env): boolean {
  return Object.entries(MALLOC_SETTINGS).every(([name, value]) => env[name] === value);
}
