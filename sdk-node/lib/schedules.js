// Schedule helpers of the producer (client.schedule, .schedules, .unschedule): they run the
// `stem schedule` commands through the CLI transport, since schedules have no HTTP route.
// `schedule` writes a one-schedule TOML file and runs `stem schedule apply FILE --json`; the
// CLI checks it (the task against the manifest, the cron, the time zone) and a refusal is a
// StemCliError naming the field. An API client needs the `stem` binary for these too, and
// `broker`/`backend` (or STEM_BROKER_URL) naming the same store as the server.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// A JSON string is a TOML basic string once DEL is escaped.
function tomlString(s) {
  return JSON.stringify(s).replace(/\x7f/g, '\\u007f');
}

/** A TOML value for a schedule field: strings, numbers, booleans, arrays, tables. */
function tomlValue(v) {
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') return tomlString(v);
  if (v instanceof Date) return tomlString(v.toISOString());
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.entries(v).map(([k, x]) => `${tomlString(k)} = ${tomlValue(x)}`).join(', ')}}`;
  }
  throw new TypeError(`cannot write ${v} into a schedule (TOML has no null)`);
}

const SCHEDULE_FIELDS = ['every', 'cron', 'timezone', 'at', 'anchor', 'args', 'kwargs', 'queue', 'priority',
  'headers', 'enabled', 'jitter', 'expires', 'catchUp', 'maxCatchUp'];

function snake(name) {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The `[schedules."ID"]` table `stem schedule apply` reads; undefined options are left out. */
function scheduleToml(id, task, options = {}) {
  let text = `[schedules.${tomlString(String(id))}]\ntask = ${tomlValue(task)}\n`;
  for (const field of SCHEDULE_FIELDS) {
    if (options[field] !== undefined) text += `${snake(field)} = ${tomlValue(options[field])}\n`;
  }
  return text;
}

/** Create or update schedule `id`; resolves to what apply did ({created, updated, unchanged, pruned}). */
async function schedule(cli, id, task, options = {}) {
  const text = scheduleToml(id, task, options);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stem-schedule-'));
  const file = path.join(dir, 'schedule.toml');
  try {
    fs.writeFileSync(file, text);
    const argv = ['schedule', 'apply', file];
    if (options.manifest !== undefined) argv.push('--manifest', String(options.manifest));
    return await cli.run(argv);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every stored schedule with its state (`stem schedule list --json`). */
function schedules(cli) {
  return cli.run(['schedule', 'list']);
}

/** Delete schedule `id` (`stem schedule delete ID --yes --json`). */
function unschedule(cli, id) {
  return cli.run(['schedule', 'delete', String(id), '--yes']);
}

module.exports = { schedule, schedules, unschedule, scheduleToml };
