// Which `stem` the CLI transport runs: an explicit bin, STEM_BIN, the platform package's binary,
// then `stem` on PATH. (tests/dist/check.sh installs the real tarballs and checks the
// platform package's binary is run.)
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { packagedStem, platformPackage } = require('../lib/binary');
const { CliTransport } = require('../lib/cli');

test('the platform package is named after the os and cpu', () => {
  assert.equal(platformPackage('linux', 'x64'), '@stem/cli-linux-x64');
  assert.equal(platformPackage('darwin', 'arm64'), '@stem/cli-darwin-arm64');
  assert.equal(platformPackage(), `@stem/cli-${process.platform}-${process.arch}`);
});

test('a checkout carries no binary: STEM_BIN, else stem on PATH', () => {
  assert.equal(packagedStem(), undefined);
  const saved = process.env.STEM_BIN;
  try {
    delete process.env.STEM_BIN;
    assert.equal(new CliTransport().bin, 'stem');
    process.env.STEM_BIN = '/opt/stem/bin/stem';
    assert.equal(new CliTransport().bin, '/opt/stem/bin/stem');
    assert.equal(new CliTransport({ bin: '/usr/local/bin/stem' }).bin, '/usr/local/bin/stem');
  } finally {
    if (saved === undefined) delete process.env.STEM_BIN;
    else process.env.STEM_BIN = saved;
  }
});
