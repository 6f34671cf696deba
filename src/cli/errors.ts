// CLI errors and exit codes: every failure the CLI reports on purpose is a CliError with the exit
// code below and a message meant for a person. Library errors (SeglogError) are mapped in main.ts.

/** The exit codes of `seglog` (documented in `seglog --help` and the README). */
export const EXIT = {
  ok: 0,
  /** verify found damage, a read hit damaged data, or an operation failed. */
  failed: 1,
  /** bad arguments or unknown command. */
  usage: 2,
  /** the log directory does not exist. */
  noDirectory: 3,
  /** the directory is open for writing by another process. */
  locked: 4,
  /** the topic does not exist. */
  noTopic: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(readonly exitCode: ExitCode, message: string) {
    super(message);
    this.name = 'CliError';
  }
}
