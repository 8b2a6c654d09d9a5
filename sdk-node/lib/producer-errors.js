// Errors of the producer side, the same as the Python SDK's: every one is a StemError;
// ApiError is an error answer of `stem serve` (status, stable code, message naming the
// field); TaskFailed is a task that ended in failure or revoked, carrying its error's type,
// message and traceback; TaskTimeout is a wait that ran out (for a task or a workflow run);
// WorkflowFailedError is a workflow run that ended failed, cancelled or timed_out;
// UnknownTaskError matches the refusal of a task name the manifest does not declare, on
// either transport (an ApiError or a StemCliError with code `unknown_task`).
'use strict';

class StemError extends Error {
  constructor(message) {
    super(message);
    this.name = 'StemError';
  }
}

class ApiError extends StemError {
  constructor(status, code, message) {
    super(`${message} (${code}, HTTP ${status})`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.detail = message;
  }
}

/** The `stem` CLI failed: non-zero exit, missing binary, or output that is not JSON. */
class StemCliError extends StemError {
  constructor(message, details = {}) {
    super(message);
    this.name = 'StemCliError';
    this.command = details.command;
    this.exitCode = details.exitCode;
    this.stderr = details.stderr;
    this.stdout = details.stdout;
    /** A workflow refusal's API code (`run_not_found`, ...), read from the CLI's message. */
    this.code = details.code;
  }
}

const UNKNOWN_TASK = 'unknown_task';

/**
 * A task name the manifest does not declare, refused by `stem serve` (an ApiError) or by
 * `stem enqueue` (a StemCliError): both carry `code` `unknown_task` and `task`, the name.
 * JS has single inheritance, so this class matches by that code (`Symbol.hasInstance`):
 * `err instanceof UnknownTaskError` holds over both transports, and so do
 * `instanceof ApiError` / `instanceof StemCliError` as before.
 */
class UnknownTaskError extends StemError {
  constructor(task, message = `unknown task ${JSON.stringify(task)}`) {
    super(message);
    this.name = 'UnknownTaskError';
    this.code = UNKNOWN_TASK;
    this.task = task;
  }

  static [Symbol.hasInstance](value) {
    return value instanceof StemError && value.code === UNKNOWN_TASK;
  }
}

/** The task name in a refusal's message (`unknown task "nope": stem.toml names add`). */
function unknownTaskName(message) {
  const match = /unknown task ("(?:[^"\\]|\\.)*")/.exec(String(message));
  if (!match) return undefined;
  try {
    return JSON.parse(match[1]);
  } catch {
    return match[1].slice(1, -1);
  }
}

class TaskFailed extends StemError {
  constructor(info) {
    const error = info.error && typeof info.error === 'object' ? info.error : {};
    const errorType = error.type || info.state;
    const message = error.message || '';
    super(`task ${info.id} ${info.state}: ${errorType}: ${message}`);
    this.name = 'TaskFailed';
    this.id = info.id;
    this.state = info.state;
    this.errorType = errorType;
    this.taskMessage = message;
    this.traceback = error.traceback || '';
    this.error = error;
    this.info = info;
  }
}

class TaskTimeout extends StemError {
  /** `what` names the thing waited for: `task`, or `workflow run`. */
  constructor(id, state, timeout, what = 'task') {
    super(`${what} ${id} is still ${state} after ${timeout}s`);
    this.name = 'TaskTimeout';
    this.id = id;
    this.state = state;
  }
}

/**
 * A workflow run that ended `failed`, `cancelled` or `timed_out`: `state`, `error` (the run's
 * `{type, message, traceback}`, `{}` when none was recorded), `errorType`, `errorMessage`,
 * `traceback`, and `run`, the run as shown.
 */
class WorkflowFailedError extends StemError {
  constructor(run) {
    const error = run.error && typeof run.error === 'object' ? run.error : {};
    const errorType = error.type || run.state;
    const message = error.message || '';
    super(`workflow run ${run.id} ${run.state}: ${errorType}${message ? `: ${message}` : ''}`);
    this.name = 'WorkflowFailedError';
    this.id = run.id;
    this.workflow = run.workflow;
    this.state = run.state;
    this.error = error;
    this.errorType = errorType;
    this.errorMessage = message;
    this.traceback = error.traceback || '';
    this.run = run;
  }
}

module.exports = {
  StemError, ApiError, StemCliError, UnknownTaskError, TaskFailed, TaskTimeout, WorkflowFailedError,
  UNKNOWN_TASK, unknownTaskName,
};
