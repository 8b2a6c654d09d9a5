// The Node task of the workflows example: renders an order's invoice. The order workflow
// (flows.py) calls it with ctx.call("render_invoice", [order]); it is an ordinary task.
let sdk;
try {
  sdk = require('@stem/sdk'); // installed with `npm install ./sdk-node`
} catch {
  sdk = require('../../sdk-node'); // running from a checkout
}
const { task, run } = sdk;

task('render_invoice', (ctx, order) => {
  const lines = order.items.map((item) => `${item.qty} x ${item.sku}`);
  const total = (order.total_cents / 100).toFixed(2);
  console.log(`rendering invoice INV-${order.id} (task ${ctx.id}, attempt ${ctx.attempt})`); // to the worker log
  return { invoice: `INV-${order.id}`, lines, total };
});

run();
