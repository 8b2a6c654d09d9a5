// Workflow times on the wire are milliseconds: a duration is a number of ms or text like
// "500ms", "90s", "2d", "1h30m"; a wake time is a Date or epoch milliseconds.
'use strict';

const UNIT_MS = { ms: 1, s: 1000, m: 60 * 1000, h: 3600 * 1000, d: 86400 * 1000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/**
 * Milliseconds (a whole, non-negative number) from a number of ms or a duration text: one or
 * more `<number><unit>` parts (units ms, s, m, h, d; spaces between parts allowed), e.g.
 * "500ms", "1.5s", "2d", "1h30m". A unit is required in text. `what` names the value in errors.
 */
function durationMs(value, what = 'duration') {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${what}: expected milliseconds >= 0, got ${value}`);
    if (!Number.isSafeInteger(Math.round(value))) throw new RangeError(`${what}: ${value} ms is too long`);
    return Math.round(value);
  }
  if (value instanceof Date) throw new TypeError(`${what}: a Date is a wake time, not a duration (pass { until: date })`);
  if (typeof value !== 'string') {
    throw new TypeError(`${what}: expected milliseconds or a duration like "500ms", "2d", "1h30m", got ${describe(value)}`);
  }
  const text = value.replace(/\s+/g, '');
  if (!WHOLE.test(text)) {
    throw new RangeError(`${what}: invalid duration ${JSON.stringify(value)} (expected e.g. "500ms", "2d", "1h30m"; units ms, s, m, h, d)`);
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit];
  if (!Number.isSafeInteger(Math.round(total))) throw new RangeError(`${what}: ${JSON.stringify(value)} is too long`);
  return Math.round(total);
}

/** Epoch milliseconds from a Date or a number of epoch milliseconds. */
function epochMs(value, what = 'until') {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new TypeError(`${what}: expected a valid Date or epoch milliseconds, got ${describe(value)}`);
  }
  return Math.round(ms);
}

function describe(value) {
  if (value instanceof Date) return 'an invalid Date';
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : typeof value;
}

module.exports = { durationMs, epochMs };
