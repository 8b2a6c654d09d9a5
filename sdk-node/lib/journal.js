// A resume's view of its run's journal: which index each workflow call takes and which
// recorded entry it replays. Under the version the run started with, calls match entries by
// index and a different name (or kind) there is nondeterminism; under another version they
// match by name, and calls with no entry take indexes after the journal's last.
'use strict';

/** The journal kind of each context call. */
const KINDS = { step: 'step', sleep: 'sleep', wait: 'event', call: 'call', child: 'child' };

class Journal {
  /** @param {object} workflow the task message's `workflow` field */
  constructor(workflow) {
    this.entries = [...workflow.journal].sort((a, b) => a.index - b.index);
    this.byIndex = new Map(this.entries.map((entry) => [entry.index, entry]));
    this.byName = workflow.version !== workflow.code_version;
    this.used = new Set();
    this.next = 0;
    this.fresh = this.entries.length === 0 ? 0 : this.entries[this.entries.length - 1].index + 1;
  }

  /**
   * The slot of the next call, asked as `name` of `kind` (a KINDS key): `{ index, entry }`
   * (entry undefined when none is recorded), or `{ index, nondeterminism: message }`.
   */
  take(name, kind) {
    const journalKind = KINDS[kind];
    if (this.byName) {
      const entry = this.entries.find((e) => !this.used.has(e) && e.name === name && e.kind === journalKind);
      if (entry === undefined) return { index: this.fresh++, entry: undefined };
      this.used.add(entry);
      return { index: entry.index, entry };
    }
    const index = this.next++;
    const entry = this.byIndex.get(index);
    if (entry === undefined) return { index, entry };
    if (entry.name !== name) {
      return { index, nondeterminism: `step ${index} was ${JSON.stringify(entry.name)} when recorded, the code now asks for ${JSON.stringify(name)}` };
    }
    if (entry.kind !== journalKind) {
      return {
        index,
        nondeterminism: `step ${index} was ${JSON.stringify(entry.name)} (a ${entry.kind}) when recorded, the code now asks for ${JSON.stringify(name)} (a ${journalKind})`,
      };
    }
    return { index, entry };
  }
}

/** Why a `workflow` field cannot be resumed, or null when it can. */
function invalidRun(workflow) {
  if (workflow === null || typeof workflow !== 'object' || Array.isArray(workflow)) return 'the task\'s workflow field must be an object';
  if (typeof workflow.run !== 'string' || workflow.run === '') return 'workflow.run must be a non-empty string';
  if (!Array.isArray(workflow.journal)) return 'workflow.journal must be an array';
  for (const entry of workflow.journal) {
    if (entry === null || typeof entry !== 'object' || !Number.isInteger(entry.index) || entry.index < 0
      || typeof entry.name !== 'string' || typeof entry.kind !== 'string' || typeof entry.state !== 'string') {
      return `workflow.journal holds an entry without an index, name, kind and state: ${JSON.stringify(entry)}`;
    }
  }
  return null;
}

module.exports = { Journal, invalidRun };
