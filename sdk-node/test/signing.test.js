// Replays protocol/vectors/signing.jsonl: canonical texts, signed forms and signatures (HMAC and
// Ed25519, both deterministic) must be exactly the vectors', and a changed field must fail.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { signing } = require('..');

const FILE = path.join(__dirname, '..', '..', 'protocol', 'vectors', 'signing.jsonl');
const cases = fs.readFileSync(FILE, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));

test('the signing vectors are there', () => {
  assert.ok(cases.filter((c) => 'canonical' in c).length >= 5);
  assert.ok(cases.filter((c) => 'signature' in c).length >= 8);
});

for (const c of cases) {
  test(`signing vector ${c.case}`, () => {
    if ('canonical' in c) {
      assert.equal(signing.canonical(c.value), c.canonical);
      return;
    }
    assert.equal(signing.signedForm(c.value).toString('utf8'), c.signed_form);
    const { algorithm, id } = c.key;
    const sig = algorithm === 'ed25519'
      ? signing.signEd25519(c.value, id, c.key.seed)
      : signing.signHmac(c.value, id, c.key.secret);
    assert.equal(sig, c.signature);
    const keys = { [id]: algorithm === 'ed25519' ? signing.ed25519PublicKey(Buffer.from(c.key.seed, 'base64')) : c.key.secret };
    const stored = { ...c.value, signature: sig };
    assert.equal(signing.verify(stored, keys, algorithm), true);
    assert.throws(() => signing.verify({ ...stored, attempt: 99 }, keys, algorithm), /^Error: signature: does not match/);
    const unsigned = { ...stored };
    delete unsigned.signature;
    assert.throws(() => signing.verify(unsigned, keys, algorithm), /^Error: signature: missing/);
  });
}
