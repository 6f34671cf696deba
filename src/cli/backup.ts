// `seglog backup <dir> <dest>`: an online backup through log.backup(). The directory is opened
// read-only, so the command writes nothing there and runs next to the process that writes it (the
// copy holds what that process had handed to the OS; all of it after a clean close). A progress bar is drawn
// on stderr when it is a terminal; Ctrl-C aborts the backup, which removes what it wrote.
// Crash: see src/backup/backup.ts (a killed backup leaves `<dest>.backup-partial-*`, never `<dest>`).
import { checkDirectory, entryFor } from './open.js';
import { Progress, formatBytes, out } from './output.js';

export async function backupCommand(dirIn: string, dest: string): Promise<void> {
  const dir = checkDirectory(dirIn);
  const openLog = await entryFor(dir);
  const log = await openLog(dir, { readOnly: true });
  const controller = new AbortController();
  const onSigint = (): void => controller.abort(new Error('interrupted (SIGINT)'));
  process.once('SIGINT', onSigint);
  const progress = new Progress('backup');
  let last = { totalBytes: 0, copiedBytes: 0, linkedBytes: 0, totalFiles: 0 };
  try {
    await log.backup(dest, {
      signal: controller.signal,
      onProgress: (p) => {
        last = p;
        progress.update(p.copiedBytes, p.totalBytes, p.topic);
      },
    });
  } finally {
    process.off('SIGINT', onSigint);
    progress.done();
    await log.close();
  }
  await out(`backed up ${dir} to ${dest}: ${last.totalFiles} files, ${formatBytes(last.totalBytes)} (${formatBytes(last.linkedBytes)} hard-linked)`);
}
