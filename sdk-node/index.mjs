// ES module entry for @stem/sdk: re-exports the CommonJS build (one shared registry).
import sdk from './index.js';

export const {
  task,
  run,
  Retry,
  Fatal,
  SoftTimeLimitExceeded,
  Context,
  Client,
  StemCliError,
  signature,
  chain,
  group,
  chord,
  CanvasResult,
  TaskFailed,
} = sdk;
export default sdk;
