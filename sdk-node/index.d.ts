// Types for @stem/sdk: the task side (task, run, Context, Retry, Fatal), the worker side of
// workflows (workflow, WorkflowContext, StepFailedError: lib/workflow.d.ts), the producer Client
// (its workflow methods, WorkflowRun, WorkflowFailedError: lib/workflow-client.d.ts) and the
// canvas builders (signature, chain, group, chord: lib/canvas.d.ts); UnknownTaskError
// (lib/producer-errors.d.ts) and the StemWarning codes (lib/cli-notes.d.ts).

export * from './lib/workflow.js';
export * from './lib/workflow-client.js';
export * from './lib/canvas.js';
export * from './lib/producer-errors.js';
export * from './lib/cli-notes.js';
export * as pg from './lib/pg.js';
import type { PgQueryable } from './lib/pg.js';
import type { CanvasDocument, CanvasNodeView, CanvasSubmitted, CanvasView } from './lib/canvas.js';
import type { WorkflowClient, WorkflowRunState } from './lib/workflow-client.js';

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
  /** Hard deadline, epoch milliseconds (the process group is killed then), when set. For a task
   * line written ahead (pipelining), the task's own start plus its `time_limit_ms`. */
  readonly deadline?: number;
  /** Soft deadline, epoch milliseconds (`signal` is aborted then), when set. For a task line
   * written ahead, the task's own start plus its `soft_time_limit_ms`. */
  readonly softDeadline?: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The W3C traceparent this task's own work hangs under while it runs (the SDK's span of the
   * task when spans are exported, else the supervisor's), or null. Also in process.env.TRACEPARENT. */
  readonly traceparent: string | null;
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
  /** The `stem serve` API, e.g. `http://127.0.0.1:8750`; default `STEM_API_URL`. Without one the CLI is used. */
  url?: string;
  /** Bearer token for the API; default `STEM_API_TOKEN`. */
  token?: string;
  /** Seconds per API request (long-polls get their wait on top); default 30. */
  timeout?: Duration;
  /** CLI fallback: the stem binary; default `STEM_BIN`, else the one the platform package carries, else `stem` on PATH. */
  bin?: string;
  /** CLI fallback: passed as `--broker`. */
  broker?: string;
  /** CLI fallback: passed as `--backend`. */
  backend?: string;
  /** CLI fallback: the CLI's environment; default this process's. */
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/** A duration: seconds, or text like `"500ms"`, `"3s"`, `"2m"` (a bare number is seconds). */
export type Duration = number | string;

/** A duration in seconds (undefined stays undefined); RangeError on a bad one. */
export function seconds(value: Duration | undefined | null): number | undefined;

export interface TaskOptions {
  kwargs?: Record<string, unknown>;
  queue?: string;
  /** Seconds (or a duration like `"5s"`) before the task may run. */
  countdown?: number | string;
  /** When the task may run: a Date, an RFC 3339 string or epoch milliseconds. */
  eta?: Date | string | number;
  /** 0 (lowest, the default) to 9. */
  priority?: number;
  /** Overrides the manifest's max_retries. */
  maxRetries?: number;
  max_retries?: number;
  headers?: Record<string, string>;
  /** Use this task id instead of a fresh one; while a task with this id is live, enqueueing
   * it again publishes nothing (the result's `duplicate` is true). */
  id?: string;
  /** Publish nothing while a task of this name with this key is live (or for `uniqueFor`). */
  uniqueKey?: string;
  unique_key?: string;
  /** The dedup window of `uniqueKey`: seconds or a duration like `"10m"`. */
  uniqueFor?: number | string;
  unique_for?: number | string;
  /** Recorded `expired`, unrun, if not started by then: a duration (`"30s"`), a Date or an
   * RFC 3339 string. */
  expires?: Date | string | number;
  /** This task's hard time limit (seconds or "30s"); it may only lower the manifest's. */
  timeLimit?: Duration;
  time_limit?: Duration;
  /** This task's soft time limit; it may only lower the manifest's. */
  softTimeLimit?: Duration;
  soft_time_limit?: Duration;
  /** Keep no record of a success (for high-volume tasks); failures are recorded. Not with `wait`. */
  ignoreResult?: boolean;
  ignore_result?: boolean;
  /** The fairness key (a tenant, say; 1 to 256 bytes of UTF-8): within a queue and priority,
   * tasks with keys are served round-robin across keys. Default: the manifest's `fair_key` path.
   * Not with `client` (the SQL enqueue takes no fairness key). */
  fairKey?: string;
  fair_key?: string;
  /** The key's weight, an integer from 1 to 100: a key of weight 3 gets three turns to one of
   * weight 1. Needs a key (given, or from the manifest's `fair_key` path). */
  fairWeight?: number;
  fair_weight?: number;
}

export interface EnqueueOptions extends TaskOptions {
  /** Enqueue in this node-postgres client's current transaction (published when it commits; lib/pg.js). */
  client?: PgQueryable;
  /** With `client`: the namespace's schema (default: from STEM_NAMESPACE, else `stem`). */
  schema?: string;
  /** Resolve only once the task finished. */
  wait?: boolean;
  /** With `wait`: reject with TaskTimeout after this many seconds. */
  timeout?: Duration;
}

/** One task of `enqueueMany`: a spec as the API takes it, or `[name, args, options]`. */
export type TaskSpec =
  | ({ task: string; args?: unknown[] } & Omit<TaskOptions, 'maxRetries' | 'fairKey' | 'fairWeight'>)
  | [string, unknown[]?, TaskOptions?];

export interface TaskErrorInfo {
  type: string;
  message: string;
  traceback: string;
  retryable?: boolean;
  countdown?: number;
  /** The error's type chain, most derived first (what `retry_on` / `no_retry_on` match). */
  types?: string[];
}

export type TaskState = 'pending' | 'received' | 'started' | 'retry' | 'success' | 'failure' | 'revoked' | 'expired';

/** A task's record (more fields may appear). */
export interface TaskRecord {
  id: string;
  state: TaskState;
  name?: string;
  queue?: string;
  attempt?: number;
  args?: Json[];
  kwargs?: Record<string, Json>;
  result?: Json;
  error?: TaskErrorInfo;
  errors?: TaskErrorInfo[];
  [field: string]: unknown;
}

export interface Revoked {
  id: string;
  revoked: boolean;
  terminate: boolean;
  running_on?: string[];
  workers_told?: number;
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

/** Enqueues tasks (and starts workflow runs: WorkflowClient) over the HTTP API of `stem serve`, or (without a URL) through the `stem` CLI. */
export interface Client extends WorkflowClient {}
export declare class Client {
  constructor(options?: ClientOptions);
  enqueue(name: string, args?: unknown[], options?: EnqueueOptions): Promise<TaskResult>;
  enqueueMany(tasks: Iterable<TaskSpec>, options?: { batchSize?: number }): Promise<TaskResult[]>;
  result(id: string): TaskResult;
  info(id: string, options?: { wait?: number }): Promise<TaskRecord>;
  revoke(id: string, options?: { terminate?: boolean; reason?: string }): Promise<Revoked>;
  /** Create or update a schedule through `stem schedule apply` (always the CLI: schedules have no HTTP route). */
  schedule(id: string, task: string, options?: ScheduleOptions): Promise<ScheduleApplied>;
  /** Every stored schedule with its state (`stem schedule list`). */
  schedules(): Promise<Array<Record<string, unknown>>>;
  /** Delete a schedule (`stem schedule delete`). */
  unschedule(id: string): Promise<{ deleted: string }>;
  /** Submit a canvas document (`stem canvas submit - --json`; always the CLI: canvases have no HTTP route). `timeout` in seconds. */
  submitCanvas(document: CanvasDocument, options?: { timeout?: Duration }): Promise<CanvasSubmitted>;
  /** A canvas's view (`stem canvas show ID --json`). `timeout` in seconds. */
  showCanvas(id: string, options?: { timeout?: Duration }): Promise<CanvasView>;
}

/** A handle on one task. */
export declare class TaskResult {
  readonly id: string;
  readonly enqueued: { id: string; state?: string; queue?: string; duplicate?: boolean };
  /** True when a live task already held this id or unique key: nothing was published. */
  readonly duplicate: boolean;
  info(): Promise<TaskRecord>;
  ready(): Promise<boolean>;
  /** The record once the task finished; TaskTimeout after `timeout` seconds. */
  wait(timeout?: Duration | { timeout?: Duration }): Promise<TaskRecord>;
  /** The result value; TaskFailed when it failed or was revoked. */
  get(timeout?: Duration | { timeout?: Duration }): Promise<Json | undefined>;
  get(options: { timeout?: Duration; propagate: false }): Promise<Json | TaskRecord | undefined>;
  get(timeout: Duration | undefined, options: { propagate: false }): Promise<Json | TaskRecord | undefined>;
  revoke(options?: { terminate?: boolean }): Promise<Revoked>;
}

export declare class StemError extends Error {}

/** An error answer of `stem serve`. */
export declare class ApiError extends StemError {
  readonly name: 'ApiError';
  readonly status: number;
  /** Stable: invalid_field, unknown_task, unauthorized, forbidden, body_too_large, unavailable, ... */
  readonly code: string;
  /** The server's message, naming the field. */
  readonly detail: string;
  /** With code `unknown_task` (see UnknownTaskError): the refused task name. */
  readonly task?: string;
}

/**
 * A task (or a canvas, from `CanvasResult.get`) ended in failure or revoked. For a canvas,
 * `error` is the failed node's `{type, message}`, and `failed`, `node` and `view` are set.
 */
export declare class TaskFailed extends StemError {
  readonly name: 'TaskFailed';
  readonly id: string;
  readonly state: TaskState;
  /** The task's error type, e.g. `ValueError`. */
  readonly errorType: string;
  /** The task's own error message. */
  readonly taskMessage: string;
  readonly traceback: string;
  readonly error: Partial<TaskErrorInfo>;
  readonly info: TaskRecord;
  /** A canvas's failed node: its path and task id, e.g. `chord.header[3] (canvas-…:3)`. */
  readonly failed?: string;
  /** A canvas's failed node, as `stem canvas show` has it. */
  readonly node?: CanvasNodeView;
  /** The failed canvas's view. */
  readonly view?: CanvasView;
}

/** A wait for a task (or a workflow run) that ran out; `state` is the last one seen. */
export declare class TaskTimeout extends StemError {
  readonly name: 'TaskTimeout';
  readonly id: string;
  readonly state: TaskState | WorkflowRunState | undefined;
}

/** The CLI exited non-zero, was not found, or printed something other than JSON. */
export declare class StemCliError extends StemError {
  readonly name: 'StemCliError';
  /** A refusal's API code, as ApiError has it: unknown_task (see UnknownTaskError), unknown_workflow, run_not_found, workflow_conflict. */
  readonly code?: string;
  /** With code `unknown_task`: the refused task name. */
  readonly task?: string;
  readonly command: string[];
  readonly exitCode?: number;
  readonly stderr?: string;
  readonly stdout?: string;
}

/** Key bytes, or their base64 text. */
export type KeyBytes = Uint8Array | string;

/**
 * Signatures as the Stem codec makes and checks them (PROTOCOL.md, "Signing"): over the
 * canonical JSON of a stored envelope or record without its `signature` member.
 */
export declare const signing: {
  /** The canonical JSON text of a parsed JSON value. */
  canonical(value: Json): string;
  /** What a signature covers: the canonical UTF-8 bytes of `obj` without `signature`. */
  signedForm(obj: { [key: string]: Json }): Uint8Array;
  /** `hmac-sha256:KEY_ID:BASE64`. */
  signHmac(obj: { [key: string]: Json }, keyId: string, secret: KeyBytes): string;
  /** `ed25519:KEY_ID:BASE64` with the 32-byte private key (seed). */
  signEd25519(obj: { [key: string]: Json }, keyId: string, seed: KeyBytes): string;
  /** The 32-byte Ed25519 public key of a private key (seed). */
  ed25519PublicKey(seed: KeyBytes): Uint8Array;
  /** True, or throws an Error whose message starts with `signature:`. `keys`: key id → HMAC secret or Ed25519 public key. */
  verify(obj: { [key: string]: Json }, keys: { [keyId: string]: KeyBytes }, algorithm?: 'hmac-sha256' | 'ed25519'): true;
};
