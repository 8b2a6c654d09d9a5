// Node tasks for the node_task example, served over the Stem child protocol.
let sdk;
try {
  sdk = require('@stem/sdk'); // installed with `npm install ./sdk-node`
} catch {
  sdk = require('../../sdk-node'); // running from a checkout
}
const { task, run } = sdk;

task('word_count', (ctx, text) => {
  console.log(`counting words of task ${ctx.id}`); // goes to stderr, logged by the worker
  return text.split(/\s+/).filter(Boolean).length;
});

task('slow_count', async (ctx, n) => {
  let i = 0;
  for (; i < n; i++) {
    if (ctx.signal.aborted) return { partial: true, counted: i };
    ctx.progress({ current: i, total: n });
    await new Promise((r) => setTimeout(r, 100));
  }
  return { partial: false, counted: i };
});

run();
