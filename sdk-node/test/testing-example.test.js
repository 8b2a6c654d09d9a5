// The README's "Testing your tasks" example, run as written: its three files are taken from the
// README's code blocks (each starts with `// FILE` or `# FILE`), written to a temporary folder
// where `node_modules/@stem/sdk` links to this SDK (as `npm install ./sdk-node` would put it),
// and `node --test` runs there against the real `stem` binary (STEM_BIN).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');

const SDK = path.join(__dirname, '..');
const FILES = ['tasks.js', 'stem.toml', 'tasks.test.js'];

function readmeFiles() {
  const text = fs.readFileSync(path.join(SDK, 'README.md'), 'utf8');
  const section = text.split('## Testing your tasks')[1].split('\n## ')[0];
  const found = {};
  for (const [, body] of section.matchAll(/```(?:js|toml)\n([\s\S]*?)```/g)) {
    const first = body.split('\n')[0].match(/^(?:\/\/|#) (\S+)$/);
    if (first) found[first[1]] = body;
  }
  return found;
}

test('the README has the example files', () => {
  assert.deepEqual(Object.keys(readmeFiles()).sort(), [...FILES].sort());
});

const skip = process.env.STEM_BIN || process.env.CI === 'true' ? false : 'STEM_BIN is not set: the example starts a real worker';
test('the README example passes under node --test', { skip, timeout: 300_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-node-example-'));
  try {
    const files = readmeFiles();
    for (const name of FILES) fs.writeFileSync(path.join(dir, name), files[name]);
    fs.mkdirSync(path.join(dir, 'node_modules', '@stem'), { recursive: true });
    fs.symlinkSync(SDK, path.join(dir, 'node_modules', '@stem', 'sdk'), 'dir');
    // Not as a child of this test run (NODE_TEST_CONTEXT would route its report to the parent).
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const { code, stdout, stderr } = await new Promise((resolve) => {
      execFile(process.execPath, ['--test', '--test-reporter=tap', 'tasks.test.js'], { cwd: dir, env, timeout: 240_000 },
        (err, out, errText) => resolve({ code: err ? err.code : 0, stdout: out, stderr: errText }));
    });
    assert.equal(code, 0, `${stdout.slice(-4000)}\n${stderr.slice(-2000)}`);
    assert.match(stdout, /# pass 5\b/, stdout.slice(-2000));
    assert.match(stdout, /# fail 0\b/, stdout.slice(-2000));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
