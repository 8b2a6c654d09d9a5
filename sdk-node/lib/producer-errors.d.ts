// Types for the producer error shared by both transports (UnknownTaskError), re-exported by
// index.d.ts; the other producer errors are declared there.

import { StemError } from '../index.js';

/**
 * A task name the manifest does not declare. `stem serve` refuses it with an ApiError and
 * `stem enqueue` with a StemCliError; both carry `code` `'unknown_task'` and `task`, and both
 * are `instanceof UnknownTaskError` (the class matches any StemError by that code).
 */
export declare class UnknownTaskError extends StemError {
  constructor(task: string, message?: string);
  readonly code: 'unknown_task';
  /** The refused name (undefined when the message did not carry it). */
  readonly task?: string;
  static [Symbol.hasInstance](value: unknown): value is UnknownTaskError;
}
