// Types for the warnings the CLI transport emits from the `stem` CLI's notes (lib/cli-notes.js),
// re-exported by index.d.ts.

/** `warning.code` of a `StemWarning` (`process.on('warning', ...)`, `warning.name === 'StemWarning'`). */
export type StemWarningCode =
  /** `stem` created the embedded store stem.db in the working folder (no store was there). */
  | 'STEM_STORE_CREATED'
  /** A waited-on enqueue: no live worker consumes the task's queue. */
  | 'STEM_NO_LIVE_WORKER'
  /** The task's eta is in the past: it runs as soon as a worker is free. */
  | 'STEM_ETA_IN_PAST'
  /** A revoked id no task has yet: the revocation is stored for when it comes. */
  | 'STEM_UNKNOWN_TASK_ID'
  /** Any other `note:` or `warning:` line of the CLI. */
  | 'STEM_NOTE'
  | 'STEM_WARNING';
