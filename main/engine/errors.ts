// Typed engine errors: a stable `code` a program can test and a message a person can act on.
// They cross process boundaries as plain `{ code, message }` objects (see toAppError).

export type ErrorCode =
  | 'NO_FOLDER'
  | 'NOT_A_FOLDER'
  | 'NO_IMAGES'
  | 'BAD_IMAGE'
  /** A folder whose sub-folders cannot be read as classes (images outside them, fewer than two). */
  | 'BAD_CLASSES'
  | 'BAD_CONFIG'
  | 'BAD_ARGUMENT'
  | 'BAD_CHECKPOINT'
  | 'NO_CHECKPOINT'
  | 'BACKEND_UNAVAILABLE'
  | 'NON_FINITE'
  | 'CANCELLED'
  | 'IO_ERROR'
  | 'RUN_LOCKED'
  | 'NO_TERMINAL'
  /** A Lab model trains already; the app trains one at a time. */
  | 'LAB_BUSY'
  | 'INTERNAL';

export class FlowDeskError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Problems with a folder of images or one image in it. */
export class DataError extends FlowDeskError {}
/** A model or training setting out of range or inconsistent. */
export class ConfigError extends FlowDeskError {}
/** A checkpoint, safetensors file or run folder that cannot be trusted. */
export class CheckpointError extends FlowDeskError {}
/** A compute backend that was asked for and cannot be loaded. */
export class BackendError extends FlowDeskError {}
/** Training that cannot continue (non-finite losses, cancelled). */
export class TrainError extends FlowDeskError {}

/**
 * Where JSON.parse failed (" at position N"), or ''. Its own message quotes the input, so it
 * never goes into an error: a file's contents must not reach the page.
 */
export function jsonErrorPosition(err: unknown): string {
  const position = /position (\d+)/.exec(String((err as Error)?.message))?.[1];
  return position === undefined ? '' : ` at position ${position}`;
}

export interface AppError {
  code: ErrorCode;
  message: string;
}

/** The first line of any thrown value's message, cut to 200 characters: a reason that fits one line of a report. */
export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0].slice(0, 200);
}

/** Plain-object form of any thrown value, safe to send over IPC or JSON. */
export function toAppError(err: unknown): AppError {
  if (err instanceof FlowDeskError) return { code: err.code, message: err.message };
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    return { code: 'IO_ERROR', message: e.message };
  }
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}
