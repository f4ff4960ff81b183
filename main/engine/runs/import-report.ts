// import-report.json: what the run's images were, file by file (which were skipped and why), as
// the import that fed this training session saw them. Written by the run's writer under its
// lock, atomically; a resume writes the report of its own import over it.
import { writeFileAtomically } from '../fs/atomic-write.ts';
import type { ImportReport } from '../data/index.ts';
import { importReportPath } from './run-layout.ts';

export const IMPORT_REPORT_FORMAT = 'flowdesk.import-report';
export const IMPORT_REPORT_VERSION = 1;

export async function writeImportReport(runDir: string, report: ImportReport): Promise<void> {
  const { folder, found, ignored, used, train, val, skipped, fromCache, fingerprint, classMode, classes, seconds } = report;
  const json = { format: IMPORT_REPORT_FORMAT, version: IMPORT_REPORT_VERSION, folder, found, ignored, used, train, val, skipped, fromCache, fingerprint, classMode, classes, seconds };
  await writeFileAtomically(importReportPath(runDir), `${JSON.stringify(json, null, 2)}\n`);
}
