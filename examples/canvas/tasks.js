// Node task of the canvas example (served by a warm pool): one member of the chord's header.
let sdk;
try {
  sdk = require('@stem/sdk'); // installed with `npm install ./sdk-node`
} catch {
  sdk = require('../../sdk-node'); // running from a checkout
}
const { task, run } = sdk;

task('word_count', (ctx, text) => text.split(/\s+/).filter(Boolean).length);

run();
