// Signatures as the Stem codec makes and checks them (protocol/PROTOCOL.md, "Signing"): over
// the canonical JSON of a stored envelope or record without its `signature` member — keys
// sorted by code point, no whitespace, strings as JSON.stringify writes them, numbers as
// Number.prototype.toString writes them — as `ALGORITHM:KEY_ID:BASE64`, with HMAC-SHA256 or
// Ed25519 (node:crypto). Replays protocol/vectors/signing.jsonl in test/signing.test.js.
'use strict';

const crypto = require('node:crypto');

// UTF-8 byte order is Unicode code point order (JavaScript's default sort is UTF-16 order).
function byCodePoint(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function write(value) {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean': return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('signature: a number that JSON cannot hold: ' + value);
      return String(value); // -0 gives "0"
    case 'string': return JSON.stringify(value);
    case 'object':
      if (Array.isArray(value)) return '[' + value.map(write).join(',') + ']';
      return writeObject(value, null);
    default:
      throw new TypeError('signature: not a JSON value: ' + typeof value);
  }
}

function writeObject(obj, skip) {
  const keys = Object.keys(obj).filter((k) => k !== skip && obj[k] !== undefined).sort(byCodePoint);
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + write(obj[k])).join(',') + '}';
}

/** The canonical JSON text of `value` (a parsed JSON value). */
function canonical(value) {
  return write(value);
}

/** What a signature covers: the canonical form of object `obj` without its `signature`. */
function signedForm(obj) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new TypeError('signature: only a JSON object is signed');
  }
  return Buffer.from(writeObject(obj, 'signature'), 'utf8');
}

// A PKCS#8 Ed25519 private key is this fixed prefix and the 32-byte seed; a public key in
// SubjectPublicKeyInfo form this prefix and the 32 key bytes.
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

function bytes(key, what) {
  const b = Buffer.isBuffer(key) || key instanceof Uint8Array ? Buffer.from(key) : Buffer.from(String(key), 'base64');
  if (b.length === 0) throw new TypeError(`signature: empty ${what}`);
  return b;
}

/** `hmac-sha256:KEY_ID:BASE64` of object `obj` (an envelope or record as stored). */
function signHmac(obj, keyId, secret) {
  const mac = crypto.createHmac('sha256', bytes(secret, 'secret')).update(signedForm(obj)).digest('base64');
  return `hmac-sha256:${keyId}:${mac}`;
}

/** `ed25519:KEY_ID:BASE64` of object `obj` with the 32-byte private key `seed`. */
function signEd25519(obj, keyId, seed) {
  const der = Buffer.concat([ED25519_PKCS8, bytes(seed, 'seed')]);
  const key = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return `ed25519:${keyId}:${crypto.sign(null, signedForm(obj), key).toString('base64')}`;
}

/** The 32-byte Ed25519 public key of private key `seed`. */
function ed25519PublicKey(seed) {
  const der = Buffer.concat([ED25519_PKCS8, bytes(seed, 'seed')]);
  const spki = crypto.createPublicKey(crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }))
    .export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - 32);
}

/**
 * Checks object `obj`'s `signature` against `keys` (key id → HMAC secret, or Ed25519 public
 * key, as bytes or base64) for `algorithm`. Returns true, or throws an Error whose message
 * starts with `signature:` as the worker's reasons do.
 */
function verify(obj, keys, algorithm = 'hmac-sha256') {
  const sig = obj && obj.signature;
  if (typeof sig !== 'string') throw new Error('signature: missing (signing is required)');
  const [alg, id, b64, ...rest] = sig.split(':');
  if (b64 === undefined || rest.length) throw new Error('signature: not ALGORITHM:KEY:BASE64');
  if (alg !== algorithm) throw new Error(`signature: algorithm ${JSON.stringify(alg)}, expected ${algorithm}`);
  if (!Object.prototype.hasOwnProperty.call(keys, id)) throw new Error(`signature: unknown key ${JSON.stringify(id)}`);
  const given = Buffer.from(b64, 'base64');
  const data = signedForm(obj);
  let ok;
  if (alg === 'hmac-sha256') {
    const want = crypto.createHmac('sha256', bytes(keys[id], 'secret')).update(data).digest();
    ok = given.length === want.length && crypto.timingSafeEqual(given, want);
  } else if (alg === 'ed25519') {
    const key = crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI, bytes(keys[id], 'public key')]), format: 'der', type: 'spki' });
    ok = crypto.verify(null, data, key, given);
  } else {
    throw new Error(`signature: unsupported algorithm ${JSON.stringify(alg)}`);
  }
  if (!ok) throw new Error(`signature: does not match (key ${JSON.stringify(id)}): the payload was changed or signed by another key`);
  return true;
}

module.exports = { canonical, signedForm, signHmac, signEd25519, ed25519PublicKey, verify };
