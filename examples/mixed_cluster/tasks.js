// Node tasks of the mixed cluster.
'use strict';

let sdk;
try {
  sdk = require('@stem/sdk'); // installed with `npm install ./sdk-node`
} catch {
  sdk = require('../../sdk-node'); // running from a checkout
}
const { task, run } = sdk;

task('invoice', (ctx, customer, cents) => {
  if (cents < 0) throw new RangeError(`a negative invoice for ${customer}`);
  return { customer, total: (cents / 100).toFixed(2) };
});

run();
