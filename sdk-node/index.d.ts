// Types for @stem/sdk: the task side (task, run, Context, Retry, Fatal), the producer Client and
// the canvas builders (signature, chain, group, chord).

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
  /** Submit a canvas document (`stem canvas submit -`). */
  submitCanvas(document: CanvasDocument, options?: { timeout?: number }): Promise<CanvasSubmitted>;
  /** A canvas's view (`stem canvas show`). */
  showCanvas(id: string, options?: { timeout?: number }): Promise<CanvasView>;
}

/** The CLI exited non-zero, was not found, or printed something other than JSON. */
export declare class StemCliError extends Error {
  readonly name: 'StemCliError';
  readonly command: string[];
  readonly exitCode?: number;
  readonly stderr?: string;
  readonly stdout?: string;
}

/** A canvas document (protocol/PROTOCOL.md, "Canvas"). */
export type CanvasDocument =
  | SignatureDocument
  | { chain: CanvasDocument[] }
  | { group: CanvasDocument[] }
  | { chord: { header: CanvasDocument[]; body: CanvasDocument } };

export interface SignatureDocument {
  task: string;
  args?: Json[];
  kwargs?: Record<string, Json>;
  options?: { queue?: string; priority?: number; countdown?: number; max_retries?: number; headers?: Record<string, string> };
  immutable?: boolean;
  link?: SignatureDocument[];
  link_error?: SignatureDocument[];
}

export interface SignatureOptions {
  kwargs?: Record<string, unknown>;
  queue?: string;
  /** 0 to 9. */
  priority?: number;
  /** Seconds before the task may run. */
  countdown?: number;
  maxRetries?: number;
  headers?: Record<string, string>;
  /** No parent result is prepended to its arguments. */
  immutable?: boolean;
}

/** What `stem canvas submit --json` prints. */
export interface CanvasSubmitted {
  id: string;
  published?: number;
  nodes?: number;
  [field: string]: unknown;
}

/** One node of `stem canvas show --json`. */
export interface CanvasNodeView {
  /** Where it is in the document (`chord.header[3]`). */
  path: string;
  task: string;
  task_id: string;
  state: string;
  error?: string;
}

/** What `stem canvas show --json` prints. */
export interface CanvasView {
  id: string;
  state: 'pending' | 'running' | 'success' | 'failure' | 'revoked' | string;
  result?: Json;
  failed?: string;
  nodes: CanvasNodeView[];
}

/** A node of a canvas. */
export declare abstract class Canvas {
  toJSON(): CanvasDocument;
  /** A chain of this node and the next ones (Python's `a | b`). */
  pipe(...next: Canvas[]): Chain;
  submit(client?: Client): Promise<CanvasResult>;
}

export declare class Signature extends Canvas {
  readonly task: string;
  toJSON(): SignatureDocument;
  /** Run `callback` with this task's result when it succeeds; returns this signature. */
  link(callback: Signature): this;
  /** Run `callback` with `{task_id, name, error}` when this task fails for good; returns this. */
  linkError(callback: Signature): this;
}
export declare class Chain extends Canvas {
  readonly nodes: Canvas[];
}
export declare class Group extends Canvas {
  readonly members: Canvas[];
}
export declare class Chord extends Canvas {
  readonly header: Canvas[];
  readonly body: Canvas;
}

export declare function signature(task: string, args?: unknown[], options?: SignatureOptions): Signature;
export declare function chain(...nodes: Canvas[]): Chain;
export declare function chain(nodes: Iterable<Canvas>): Chain;
export declare function group(...members: Canvas[]): Group;
export declare function group(members: Iterable<Canvas>): Group;
export declare function chord(header: Group | Iterable<Canvas>, body: Canvas): Chord;

/** A submitted canvas. */
export declare class CanvasResult {
  readonly id: string;
  readonly submitted: CanvasSubmitted;
  show(): Promise<CanvasView>;
  /** The final result; rejects with TaskFailed when the canvas failed or was revoked. */
  get(options?: { timeout?: number; interval?: number }): Promise<Json>;
}

/** A canvas ended in `failure` or `revoked`. */
export declare class TaskFailed extends Error {
  readonly name: 'TaskFailed';
  readonly id: string;
  readonly state: string;
  /** The failed node's path and task id, e.g. `chord.header[3] (canvas-…:3)`. */
  readonly failed?: string;
  readonly node?: CanvasNodeView;
  readonly view: CanvasView;
  readonly error: { type: string; message: string };
}
