// Types for @stem/sdk: the task side (task, run, Context, Retry, Fatal) and the producer Client.

/** Any value JSON can carry. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What a task handler gets as its first argument. */
export declare class Context {
  /** The task id. */
  readonly id: string;
  /** The registered task name. */
  readonly name: string;
  /** The queue the task came from. */
  readonly queue: string;
  /** Starts at 1. */
  readonly attempt: number;
  /** Retries that remain after this attempt. */
  readonly retriesLeft: number;
  /** Hard deadline, epoch milliseconds (the process group is killed then), when set. */
  readonly deadline?: number;
  /** Soft deadline, epoch milliseconds (`signal` is aborted then), when set. */
  readonly softDeadline?: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The task's keyword arguments (positional ones are the handler's own arguments). */
  readonly kwargs: Record<string, Json>;
  /** Aborted at the soft time limit, with a `SoftTimeLimitExceeded` reason. */
  readonly signal: AbortSignal;
  /** Report progress (any JSON value). */
  progress(value: unknown): void;
  /** Tell the supervisor the task is alive. */
  heartbeat(): void;
  /** Send a line to the supervisor's log, tagged with the task id. */
  log(message: unknown, level?: string): void;
}

/** A task handler: the context first, then the task's positional args. Sync or async. */
export type Handler<A extends any[] = any[], R = unknown> = (ctx: Context, ...args: A) => R | Promise<R>;

/** Register a handler under `name` (or under the function's own name). Returns the handler. */
export declare function task<A extends any[], R>(name: string, handler: Handler<A, R>): Handler<A, R>;
export declare function task<A extends any[], R>(handler: Handler<A, R>): Handler<A, R>;

/**
 * Serve the Stem child protocol on stdin/stdout: write `hello`, run each task, and exit
 * the process with status 0 on `shutdown` or end of input. Call once, after `task(...)`.
 */
export declare function run(): Promise<never>;

/** Throw to ask for a retry, optionally after `countdown` seconds. */
export declare class Retry extends Error {
  constructor(message?: string, options?: { countdown?: number; cause?: unknown });
  readonly name: 'Retry';
  readonly countdown?: number;
}

/** Throw to fail without a retry. */
export declare class Fatal extends Error {
  constructor(message?: string, options?: { cause?: unknown });
}

/** The reason `ctx.signal` is aborted with at the soft time limit. */
export declare class SoftTimeLimitExceeded extends Error {
  constructor(message?: string);
  readonly name: 'SoftTimeLimitExceeded';
}

export interface ClientOptions {
  /** The stem binary; default `STEM_BIN`, else `stem` on PATH. */
  bin?: string;
  /** Passed to the CLI as `--broker`. */
  broker?: string;
  /** Passed to the CLI as `--backend`. */
  backend?: string;
  /** The CLI's environment; default this process's. */
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export interface EnqueueOptions {
  kwargs?: Record<string, unknown>;
  queue?: string;
  /** Seconds before the task may run. */
  countdown?: number;
  /** When the task may run (a Date or the CLI's time syntax). */
  eta?: Date | string;
  priority?: number;
  /** Wait for the task to finish; the reply then carries `state` and `result` or `error`. */
  wait?: boolean;
  /** Kill the CLI after this many milliseconds. */
  timeout?: number;
}

export interface ResultOptions {
  /** Wait until the task finishes. */
  wait?: boolean;
  /** Kill the CLI after this many milliseconds. */
  timeout?: number;
}

export interface TaskErrorInfo {
  type: string;
  message: string;
  traceback: string;
  retryable?: boolean;
  countdown?: number;
}

/** A schedule's fields (one of every, cron or at); see docs/beat.md. */
export interface ScheduleOptions {
  every?: string | number;
  cron?: string;
  timezone?: string;
  at?: string | Date;
  anchor?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  queue?: string;
  priority?: number;
  headers?: Record<string, string>;
  enabled?: boolean;
  jitter?: string | number;
  expires?: string | number;
  catchUp?: 'none' | 'latest' | 'all';
  maxCatchUp?: number;
  /** The stem.toml whose tasks are checked (default: ./stem.toml). */
  manifest?: string;
}

/** What `stem schedule apply --json` prints. */
export interface ScheduleApplied {
  created: string[];
  updated: string[];
  unchanged: string[];
  pruned: string[];
}

/** What `stem enqueue --json` and `stem result --json` print (more fields may appear). */
export interface TaskRecord {
  id: string;
  state?: string;
  result?: Json;
  error?: TaskErrorInfo;
  [field: string]: unknown;
}

/** Enqueues tasks and reads results by running the `stem` CLI. */
export declare class Client {
  constructor(options?: ClientOptions);
  enqueue(name: string, args?: unknown[], options?: EnqueueOptions): Promise<TaskRecord>;
  result(id: string, options?: ResultOptions): Promise<TaskRecord>;
  /** Create or update a schedule through `stem schedule apply`. */
  schedule(id: string, task: string, options?: ScheduleOptions): Promise<ScheduleApplied>;
  /** Every stored schedule with its state. */
  schedules(): Promise<Array<Record<string, unknown>>>;
  /** Delete a schedule. */
  unschedule(id: string): Promise<{ deleted: string }>;
}

/** The CLI exited non-zero, was not found, or printed something other than JSON. */
export declare class StemCliError extends Error {
  readonly name: 'StemCliError';
  readonly command: string[];
  readonly exitCode?: number;
  readonly stderr?: string;
  readonly stdout?: string;
}
