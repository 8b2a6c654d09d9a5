// Types for the producer side of durable workflows (the Client's startWorkflow, workflowRun,
// workflowRuns, workflowWaiters, emit, cancelWorkflow, rewindWorkflow; WorkflowRun;
// WorkflowFailedError), re-exported by index.d.ts.

import type { Duration, Json, TaskErrorInfo } from '../index.js';
import { StemError } from '../index.js';

/** A run's state: `running ⇄ suspended`, then one of the final four. */
export type WorkflowRunState = 'running' | 'suspended' | 'completed' | 'failed' | 'cancelled' | 'timed_out';

export interface StartWorkflowOptions {
  /** The run's positional arguments (default none). */
  args?: unknown[];
  /** The run's keyword arguments, `ctx.kwargs` in the workflow (default none). */
  kwargs?: Record<string, unknown>;
  /** The run's id (default a fresh one): starting again with it finds the run and starts nothing. */
  id?: string;
  /** CLI only: the stem.toml declaring the workflow (default STEM_MANIFEST, else ./stem.toml). */
  manifest?: string;
}

/** What a start answers. */
export interface WorkflowStarted {
  run: string;
  workflow: string;
  state: WorkflowRunState;
  /** False when a run with the id existed: nothing was started. */
  created: boolean;
}

/** One step of a run's journal (more fields may appear). */
export interface WorkflowStep {
  index: number;
  name: string;
  kind: 'step' | 'sleep' | 'event' | 'call' | 'child' | string;
  state: 'running' | 'waiting' | 'done' | 'failed' | string;
  attempt: number;
  result?: Json;
  error?: Partial<TaskErrorInfo>;
  /** An event wait's topic. */
  topic?: string;
  /** An event wait that timed out. */
  timed_out?: boolean;
  /** A sleep's or wait's wake time, epoch ms. */
  wake_at?: number;
  /** A call's task id or a child's run id. */
  target?: string;
  [field: string]: unknown;
}

/** A run as shown (`steps` only for one run, not in lists). Times are epoch ms. */
export interface WorkflowRunView {
  id: string;
  workflow: string;
  version: number;
  queue: string;
  state: WorkflowRunState;
  args: Json[];
  kwargs: Record<string, Json>;
  result?: Json;
  error?: Partial<TaskErrorInfo>;
  /** The parent run of a child run. */
  parent?: string;
  created_at: number;
  updated_at: number;
  suspended_at?: number;
  wake_at?: number;
  finished_at?: number;
  /** Resumes that claimed the run so far. */
  resumes: number;
  steps?: WorkflowStep[];
  /** Why a stored part could not be read (a signature refused, a sealed value without keys). */
  unreadable?: string;
}

/** A run waiting for an event. */
export interface WorkflowWaiter {
  topic: string;
  run: string;
  /** The waiting step's index. */
  index: number;
  /** When the wait times out, epoch ms (none: it waits for good). */
  deadline?: number | null;
  since?: number;
  [field: string]: unknown;
}

/** What an emit answers: the runs the event resumed (none when nobody waited). */
export interface WorkflowEmitted {
  topic: string;
  resumed: number;
  runs: string[];
}

export interface WorkflowWaitOptions {
  /** Seconds (or a duration like `"30s"`) to wait; default no limit. */
  timeout?: Duration;
  /** CLI only: the first pause between polls, seconds (default 0.1; it grows to 1 s). */
  interval?: number;
}

/** A run of a workflow (started here, or `client.workflowRun(id)`). */
export declare class WorkflowRun {
  readonly id: string;
  /** What the start answered; `{ run }` for a looked-up run. */
  readonly started: WorkflowStarted | { run: string };
  /** False when a run with the start's id already existed (nothing was started). */
  readonly created: boolean;
  /** The run as it stands, with its steps. */
  show(): Promise<WorkflowRunView>;
  /** The run once it ended (any final state); TaskTimeout after `timeout` seconds. */
  wait(options?: Duration | WorkflowWaitOptions): Promise<WorkflowRunView>;
  /** The result of a completed run; WorkflowFailedError when it failed, was cancelled or timed out. */
  get<R = Json>(options?: Duration | WorkflowWaitOptions): Promise<R>;
  /** End the run `cancelled`. */
  cancel(): Promise<WorkflowRunView>;
  /** Run the first step named `to` and every later one again. */
  rewind(to: string): Promise<WorkflowRunView>;
}

/** A run that ended failed, cancelled or timed_out (from `WorkflowRun.get`). */
export declare class WorkflowFailedError extends StemError {
  readonly name: 'WorkflowFailedError';
  /** The run's id. */
  readonly id: string;
  readonly workflow: string;
  readonly state: 'failed' | 'cancelled' | 'timed_out';
  /** The run's recorded error (`{}` when none was). */
  readonly error: Partial<TaskErrorInfo>;
  /** The error's type (e.g. `Fatal`, `Cancelled`), else the state. */
  readonly errorType: string;
  readonly errorMessage: string;
  readonly traceback: string;
  /** The run as shown. */
  readonly run: WorkflowRunView;
}

/** The Client's workflow methods (over its transport: the CLI, or the HTTP API with a URL). */
export interface WorkflowClient {
  /** Start a run of `name`; with `id`, idempotent (same id twice: one run). */
  startWorkflow(name: string, options?: StartWorkflowOptions): Promise<WorkflowRun>;
  /** A handle on an existing run. */
  workflowRun(runId: string): WorkflowRun;
  /** Runs, newest first, without their steps (default limit 50). */
  workflowRuns(filter?: { state?: WorkflowRunState; name?: string; limit?: number }): Promise<WorkflowRunView[]>;
  /** The runs waiting for events (default limit 100). */
  workflowWaiters(filter?: { topic?: string; limit?: number }): Promise<WorkflowWaiter[]>;
  /** Emit an event on `topic`: every run waiting on it resumes with `payload` (default null). */
  emit(topic: string, payload?: unknown): Promise<WorkflowEmitted>;
  cancelWorkflow(runId: string): Promise<WorkflowRunView>;
  rewindWorkflow(runId: string, to: string): Promise<WorkflowRunView>;
}
