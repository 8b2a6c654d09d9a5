// ES module entry for @stem/sdk: re-exports the CommonJS build (one shared registry).
import sdk from './index.js';

export const {
  task, run, Retry, Fatal, SoftTimeLimitExceeded, Context,
  workflow, WorkflowContext, StepFailedError,
  Client, TaskResult, StemCliError, StemError, ApiError, UnknownTaskError, TaskFailed, TaskTimeout,
  WorkflowRun, WorkflowFailedError,
  signature, chain, group, chord, CanvasResult, seconds, signing, pg,
} = sdk;
export default sdk;
