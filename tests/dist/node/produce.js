// The installed-npm check's producer: `produce.js WANT_BIN` enqueues add(2, 3) over the CLI
// (the platform package's binary, which must be WANT_BIN) and waits for 5; `produce.js --url
// URL` does it over `stem serve`'s HTTP API (a pure-JS install, no binary).
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const { Client } = require('@stem/sdk');

async function waitForServer(url, deadline) {
  for (;;) {
    try {
      const reply = await fetch(`${url}/readyz`);
      if (reply.ok) return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${url}/readyz did not answer within 60s: ${err.message}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

(async () => {
  let client;
  let how;
  if (process.argv[2] === '--url') {
    await waitForServer(process.argv[3], Date.now() + 60_000);
    assert.equal(fs.existsSync('node_modules/@stem/cli-linux-x64'), false, 'a pure install has the binary package');
    client = new Client({ url: process.argv[3] });
    how = `HTTP ${process.argv[3]}`;
  } else {
    client = new Client();
    assert.equal(fs.realpathSync(client.cli.bin), fs.realpathSync(process.argv[2]), 'the SDK runs another binary');
    how = `the CLI at ${client.cli.bin}`;
  }
  const result = await (await client.enqueue('add', [2, 3])).get(60);
  assert.equal(result, 5);
  console.log(`node: add(2, 3) = ${result} over ${how} (@stem/sdk from ${require.resolve('@stem/sdk')})`);
})().catch((err) => {
  console.error(`produce.js: ${err.stack || err}`);
  process.exit(1);
});
