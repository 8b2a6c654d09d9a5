// @stem/sdk: the task side (task, run, Retry, Fatal, SoftTimeLimitExceeded), the worker side of
// durable workflows (workflow, WorkflowContext, StepFailedError) and the
// producer side (Client with its workflow runs (WorkflowRun, WorkflowFailedError), and the
// canvas builders signature/chain/group/chord) of Stem for Node.
'use strict';

const { task, workflow } = require('./lib/registry');
const { run } = require('./lib/serve');
const { Retry, Fatal, SoftTimeLimitExceeded, StepFailedError } = require('./lib/errors');
const { WorkflowContext } = require('./lib/workflow-context');
const { Context } = require('./lib/context');
const { Client, TaskResult, StemCliError, StemError, ApiError, UnknownTaskError, TaskFailed, TaskTimeout } = require('./lib/client');
const { WorkflowFailedError } = require('./lib/producer-errors');
const { WorkflowRun } = require('./lib/workflow-client');
const { redirectStdout } = require('./lib/wire');
const { signature, chain, group, chord, CanvasResult } = require('./lib/canvas');
const { seconds } = require('./lib/spec');
const signing = require('./lib/signing');
const pg = require('./lib/pg');

// Under a Stem worker, keep stdout for the protocol from the first line a module prints.
if (process.env.STEM_PROTOCOL) redirectStdout();

module.exports = {
  task, run, Retry, Fatal, SoftTimeLimitExceeded, Context,
  workflow, WorkflowContext, StepFailedError,
  Client, TaskResult, StemCliError, StemError, ApiError, UnknownTaskError, TaskFailed, TaskTimeout,
  WorkflowRun, WorkflowFailedError,
  signature, chain, group, chord, CanvasResult, seconds, signing, pg,
};
