// Types for @stem/sdk/testing: runTask (a task's handler called eagerly with a recording
// context) and startWorker (a real `stem worker` on a temporary store, with a bound Client).
import { Client, Context, Json, TaskErrorInfo } from '../index.js';

export interface RunTaskOptions {
  kwargs?: Record<string, unknown>;
  /** From 1 (the default). */
  attempt?: number;
  /** 0 by default. */
  retriesLeft?: number;
  queue?: string;
  headers?: Record<string, string>;
  id?: string;
  /** Seconds after which `ctx.signal` aborts with SoftTimeLimitExceeded, as at the soft limit. */
  softLimitAfter?: number;
}

export declare class TaskRun<R = Json> {
  readonly state: 'success' | 'retry' | 'failure';
  readonly value: R | undefined;
  readonly thrown: unknown;
  readonly error: TaskErrorInfo | undefined;
  readonly progress: unknown[];
  readonly logs: Array<[string, string]>;
  readonly heartbeats: number;
  readonly succeeded: boolean;
  readonly retried: boolean;
  readonly failed: boolean;
  readonly countdown: number | undefined;
  readonly retryable: boolean;
  /** The value; throws what the handler threw. */
  get(): R;
}

export function runTask<A extends any[], R>(
  handler: (ctx: Context, ...args: A) => R | Promise<R>, args?: A, options?: RunTaskOptions): Promise<TaskRun<Awaited<R>>>;
export function runTask(name: string, args?: unknown[], options?: RunTaskOptions): Promise<TaskRun>;

export interface StartWorkerOptions {
  /** Your stem.toml. */
  manifest: string;
  /** The store's folder (default: a fresh temporary one, removed at stop). */
  dir?: string;
  /** A node:test context: the worker is stopped after that test. */
  t?: { after(fn: () => unknown): void };
  concurrency?: number;
  queues?: string[];
  extraArgs?: string[];
  env?: Record<string, string>;
  /** The stem binary (default STEM_BIN, else `stem` on PATH). */
  bin?: string;
  /** Seconds to wait for the worker to answer a ping (30). */
  readyTimeout?: number;
}

export declare class StemWorker {
  constructor(options: StartWorkerOptions);
  readonly client: Client;
  readonly store: string;
  readonly dir: string;
  readonly logPath: string;
  start(): Promise<this>;
  logTail(lines?: number): string;
  stop(grace?: number): Promise<{ code: number | null; signal: string | null } | null>;
}

export function startWorker(options: StartWorkerOptions): Promise<StemWorker>;
