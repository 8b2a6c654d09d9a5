// Types for the worker side of durable workflows (workflow, WorkflowContext, StepFailedError),
// re-exported by index.d.ts.

import type { Context, Json } from '../index.js';
import { Fatal } from '../index.js';

/** A workflow duration: milliseconds, or text like `"500ms"`, `"90s"`, `"2d"`, `"1h30m"`. */
export type WorkflowDuration = number | string;

export interface StepOptions {
  /** Extra attempts after `fn` throws (default 0). A `Fatal` is never retried. */
  retries?: number;
  /** Wait before each retry (ms or a duration text, default 0). Above 0 the run suspends until then. */
  retryDelay?: WorkflowDuration;
}

/** `ctx.sleep`'s argument: a duration, or a wake time. */
export type SleepFor = WorkflowDuration | { until: Date | number };

export interface WaitOptions {
  /** Give up after this long (ms or a duration text): the wait then resolves with `timedOut`. */
  timeout?: WorkflowDuration;
}

/** What `ctx.waitForEvent` resolves to: the event's payload, or `timedOut` (payload null). */
export interface EventResult<P = Json> {
  timedOut: boolean;
  payload: P | null;
}

export interface CallOptions {
  kwargs?: Record<string, unknown>;
  /** The step's name in the journal; default the task's name. */
  name?: string;
  queue?: string;
  /** 0 (lowest) to 9. */
  priority?: number;
  maxRetries?: number;
  max_retries?: number;
  /** As an enqueue takes it: seconds or a duration like `"30s"`. */
  timeLimit?: number | string;
  time_limit?: number | string;
  /** As an enqueue takes it: seconds or a duration like `"5s"`. */
  countdown?: number | string;
}

export interface ChildOptions {
  kwargs?: Record<string, unknown>;
}

/**
 * What a workflow function gets as its first argument: the resume's task context (`kwargs`,
 * `signal`, `log`, ...) plus the run and its durable calls. Each call is numbered in the order
 * the code makes it and replayed from the journal when recorded; calls run one at a time. A
 * call that suspends the run never settles (the resume ends there, whatever surrounds it).
 */
export declare class WorkflowContext extends Context {
  /** The workflow's name (the resume's task is `wf:NAME`). */
  readonly name: string;
  /** The resume's task name, `wf:NAME`. */
  readonly taskName: string;
  readonly runId: string;
  /** The version the run started under. */
  readonly version: number;
  /** The version the manifest declares now (calls match recorded steps by name when it differs). */
  readonly codeVersion: number;
  /** `RUN/STEP_NAME/ATTEMPT` while a step's function runs; reading it anywhere else throws. */
  readonly idempotencyKey: string;
  /**
   * Run `fn()` once per run (at least once: a step cut short by a crash runs again) and resolve
   * to its result as JSON gives it back. A step that failed for good rejects with StepFailedError.
   */
  step<R>(name: string, fn: () => R | Promise<R>, options?: StepOptions): Promise<Awaited<R>>;
  /** Suspend the run for a duration or until a wake time. */
  sleep(name: string, duration: SleepFor): Promise<void>;
  /** Suspend until an event on `topic` arrives (or the timeout passes). */
  waitForEvent<P = Json>(name: string, topic: string, options?: WaitOptions): Promise<EventResult<P>>;
  /** Run the task `task` (in any language) once per run and resolve to its result. */
  call<R = Json>(task: string, args?: unknown[], options?: CallOptions): Promise<R>;
  /** Start a run of `workflow` as step `name` and resolve to its result once it ends. */
  startChild<R = Json>(name: string, workflow: string, args?: unknown[], options?: ChildOptions): Promise<R>;
}

/** A workflow function: the context first, then the run's positional args. Sync or async. */
export type WorkflowFunction<A extends any[] = any[], R = unknown> = (ctx: WorkflowContext, ...args: A) => R | Promise<R>;

/** Register a workflow under `name` (or the function's own name), served as the task `wf:NAME`. */
export declare function workflow<A extends any[], R>(name: string, fn: WorkflowFunction<A, R>): WorkflowFunction<A, R>;
export declare function workflow<A extends any[], R>(fn: WorkflowFunction<A, R>): WorkflowFunction<A, R>;

/** What a workflow call throws for a step that failed for good (its code, task or child run). */
export declare class StepFailedError extends Fatal {
  constructor(step: string, error?: { type?: string; message?: string; traceback?: string });
  readonly name: 'StepFailedError';
  /** The step's name. */
  readonly step: string;
  /** The step's error type (e.g. the class name of what its code threw). */
  readonly type: string;
  readonly traceback: string;
}
