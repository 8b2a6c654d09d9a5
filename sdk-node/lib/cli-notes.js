// What the `stem` CLI tells its user on stderr, passed on to the SDK's user: each distinct
// `note: ...` or `warning: ...` line of one command becomes a process warning
// (`process.emitWarning`, type `StemWarning`), with a stable code naming the kind of note.
'use strict';

const WARNING_TYPE = 'StemWarning';

/** The code of a note's text (after its prefix); a note not listed here gets STEM_NOTE / STEM_WARNING. */
const CODES = [
  [/^created the embedded store /, 'STEM_STORE_CREATED'],
  [/^no live worker consumes queue /, 'STEM_NO_LIVE_WORKER'],
  [/^--eta .* is in the past/, 'STEM_ETA_IN_PAST'],
  [/^no task .* is known/, 'STEM_UNKNOWN_TASK_ID'],
];

const PREFIX = /^(note|warning): (.+)$/;

/** The `{message, code}` of each distinct note or warning line of `stderr`, in order. */
function cliNotes(stderr) {
  const seen = new Set();
  const notes = [];
  for (const raw of String(stderr || '').split('\n')) {
    const match = PREFIX.exec(raw.trim());
    if (!match || seen.has(match[0])) continue;
    seen.add(match[0]);
    const message = match[2];
    const known = CODES.find(([pattern]) => pattern.test(message));
    notes.push({ message, code: known ? known[1] : `STEM_${match[1].toUpperCase()}` });
  }
  return notes;
}

/** Emits each note of `stderr` as a `StemWarning`. */
function emitCliNotes(stderr) {
  for (const { message, code } of cliNotes(stderr)) process.emitWarning(message, { type: WARNING_TYPE, code });
}

module.exports = { cliNotes, emitCliNotes, WARNING_TYPE };
