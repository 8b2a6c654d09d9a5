// No-op Node task for the drain benchmarks: loads the SDK from the checkout (no install
// needed) and returns its first argument.
const path = require('path');
const { task, run } = require(path.join(__dirname, '..', '..', 'sdk-node'));

task('noop', (ctx, i) => (i === undefined ? null : i));

run();
