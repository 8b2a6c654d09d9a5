// A Node producer of the microservice: speaks `stem serve` (STEM_API_URL, STEM_API_TOKEN).
'use strict';

const assert = require('node:assert/strict');
let sdk;
try {
  sdk = require('@stem/sdk'); // installed with `npm install ./sdk-node`
} catch {
  sdk = require('../../sdk-node'); // running from a checkout
}

(async () => {
  const client = new sdk.Client(); // STEM_API_URL and STEM_API_TOKEN from the environment
  const resized = await (await client.enqueue('resize', ['dog.png', 128])).get(60);
  assert.equal(resized.thumbnail, 'dog.png@128w');
  const many = await client.enqueueMany([...Array(100).keys()].map((i) => ['add', [i, 1]]));
  assert.deepEqual(await Promise.all(many.map((r) => r.get(60))), [...Array(100).keys()].map((i) => i + 1));
  console.log('node producer: ok (1 + 100 tasks)');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
