// Names the cause of a failed file operation in words a person can act on ("disk full",
// "read-only file system", "permission denied"), keeping the errno code for a bug report.

export function ioCause(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOSPC':
      return 'disk full (ENOSPC)';
    case 'EDQUOT':
      return 'disk quota exceeded (EDQUOT)';
    case 'EROFS':
      return 'read-only file system (EROFS)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'ENOENT':
      return 'no such file or folder (ENOENT)';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
