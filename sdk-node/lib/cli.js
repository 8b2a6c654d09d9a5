// The fallback when no API URL is given: run the `stem` CLI (STEM_BIN, else the binary this
// install carries (lib/binary.js), else `stem` on PATH) and parse its `--json` output. Needs no
// server: the embedded SQLite default just works.
// What the CLI notes on stderr (a store it created, no live worker on the queue) is passed on
// as a `StemWarning` (lib/cli-notes.js); a task name the manifest lacks is refused with
// `code` `unknown_task`, as `stem serve` refuses it (UnknownTaskError).
'use strict';

const { execFile } = require('node:child_process');
const { StemCliError, UNKNOWN_TASK, unknownTaskName } = require('./producer-errors');
const { emitCliNotes } = require('./cli-notes');
const { packagedStem } = require('./binary');

function parseJson(stdout) {
  const text = stdout.trim();
  try {
    return JSON.parse(text);
  } catch {
    // A CLI that also prints progress lines: the JSON object is the last line.
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    return JSON.parse(lines[lines.length - 1]);
  }
}

function lastLine(text) {
  const lines = String(text).trim().split('\n');
  return lines[lines.length - 1];
}

/** `stem enqueue`'s refusal of a task name the manifest does not declare (also `stdin line N: ...`). */
const UNKNOWN_TASK_LINE = /^(error: )?(stdin line \d+: )?unknown task "/;

/** Marks a StemCliError of `stem enqueue` refusing an unknown task with the API's code. */
function markUnknownTask(err) {
  if (!(err instanceof StemCliError)) return err;
  const line = lastLine(err.stderr || '');
  if (UNKNOWN_TASK_LINE.test(line)) {
    err.code = UNKNOWN_TASK;
    err.task = unknownTaskName(line);
  }
  return err;
}

/** The most bytes of args and kwargs put on a command line; bigger payloads go on stdin. */
const ARGV_PAYLOAD_MAX = 64 * 1024;

class CliTransport {
  constructor(options = {}) {
    this.bin = options.bin || process.env.STEM_BIN || packagedStem() || 'stem';
    this.broker = options.broker;
    this.backend = options.backend;
    this.env = options.env;
    this.cwd = options.cwd;
  }

  async enqueue(specs) {
    try {
      if (specs.length !== 1) {
        const lines = specs.map((s) => JSON.stringify(s) + '\n').join('');
        const reply = await this.run(['enqueue', '--stdin'], undefined, lines);
        return reply.ids.map((id) => ({ id, state: 'pending' }));
      }
      const spec = specs[0];
      const argv = this.enqueueArgv(spec);
      if (argv === undefined) {
        // Too big for a command line (the kernel takes at most 128 KiB per argument): on stdin.
        const reply = await this.run(['enqueue', '--stdin'], undefined, JSON.stringify(spec) + '\n');
        return [{ id: reply.ids[0], state: 'pending' }];
      }
      return [await this.run(argv)];
    } catch (err) {
      throw markUnknownTask(err);
    }
  }

  /**
   * Enqueue one task and wait up to `wait` seconds for it (`stem enqueue --wait`, which notes
   * at once when no live worker consumes the task's queue); resolves to the task's record,
   * finished or not. Undefined when the CLI cannot do it in one command (a payload too big for
   * a command line) or when it would hide a duplicate (an `id` or `unique_key` was given):
   * the caller enqueues and waits in two steps then.
   */
  async enqueueAndWait(spec, wait) {
    if (spec.id !== undefined || spec.unique_key !== undefined) return undefined;
    const argv = this.enqueueArgv(spec);
    if (argv === undefined) return undefined;
    argv.push('--wait', '--timeout', Math.max(wait, 0.001).toFixed(3));
    try {
      return await this.run(argv, (wait + 30) * 1000, undefined, true);
    } catch (err) {
      throw markUnknownTask(err);
    }
  }

  /** `stem enqueue TASK --args ... [options]`, or undefined when the payload needs stdin. */
  enqueueArgv(spec) {
    const args = JSON.stringify(spec.args || []);
    const kwargs = JSON.stringify(spec.kwargs || {});
    if (args.length + kwargs.length > ARGV_PAYLOAD_MAX) return undefined;
    const argv = ['enqueue', spec.task, '--args', args, '--kwargs', kwargs];
    if (spec.queue !== undefined) argv.push('--queue', String(spec.queue));
    if (spec.countdown !== undefined) argv.push('--countdown', String(spec.countdown));
    // The CLI takes RFC 3339 as it is, and epoch milliseconds.
    if (spec.eta !== undefined) argv.push('--eta', String(spec.eta));
    if (spec.priority !== undefined) argv.push('--priority', String(spec.priority));
    if (spec.max_retries !== undefined) argv.push('--max-retries', String(spec.max_retries));
    if (spec.id !== undefined) argv.push('--id', String(spec.id));
    if (spec.unique_key !== undefined) argv.push('--unique-key', String(spec.unique_key));
    if (spec.unique_for !== undefined) argv.push('--unique-for', String(spec.unique_for));
    if (spec.expires !== undefined) argv.push('--expires', String(spec.expires));
    if (spec.time_limit !== undefined) argv.push('--time-limit', String(spec.time_limit));
    if (spec.soft_time_limit !== undefined) argv.push('--soft-time-limit', String(spec.soft_time_limit));
    if (spec.ignore_result) argv.push('--ignore-result');
    // `--flag=VALUE`: a key starting with "-" is not taken for a flag.
    if (spec.fair_key !== undefined) argv.push(`--fair-key=${spec.fair_key}`);
    if (spec.fair_weight !== undefined) argv.push(`--fair-weight=${spec.fair_weight}`);
    for (const [k, v] of Object.entries(spec.headers || {})) argv.push('--header', `${k}=${v}`);
    return argv;
  }

  info(id, wait) {
    const argv = ['result', String(id)];
    if (wait) argv.push('--wait', '--timeout', wait.toFixed(3));
    return this.run(argv, wait ? (wait + 30) * 1000 : undefined, undefined, true);
  }

  revoke(id, options = {}) {
    const argv = ['revoke', String(id)];
    if (options.terminate) argv.push('--terminate');
    return this.run(argv);
  }

  run(argv, timeoutMs, input, recordOnFailure = false) {
    argv.push('--json');
    if (this.broker !== undefined) argv.push('--broker', this.broker);
    if (this.backend !== undefined) argv.push('--backend', this.backend);
    const command = [this.bin, ...argv];
    const options = { env: this.env, cwd: this.cwd, timeout: timeoutMs || 0, maxBuffer: 256 * 1024 * 1024 };
    return new Promise((resolve, reject) => {
      const child = execFile(this.bin, argv, options, (err, stdout, stderr) => {
        const details = { command, stdout, stderr };
        if (err && err.code === 'ENOENT') {
          return reject(new StemCliError(`stem CLI not found at '${this.bin}': set STEM_BIN, install @stem/sdk with its platform package or put stem on PATH, or give new Client({ url }) to use stem serve`, details));
        }
        emitCliNotes(stderr);
        let reply;
        try {
          reply = parseJson(stdout);
        } catch {
          reply = undefined;
        }
        // `stem result --wait` of a failed or timed-out task exits non-zero and still prints the record.
        if (reply && typeof reply === 'object' && (!err || (recordOnFailure && reply.state))) return resolve(reply);
        if (err) {
          details.exitCode = typeof err.code === 'number' ? err.code : undefined;
          const why = err.killed ? `timed out after ${timeoutMs} ms` : lastLine(stderr) || err.message;
          return reject(new StemCliError(`stem ${argv[0]} failed: ${why}`, details));
        }
        reject(new StemCliError(`stem ${argv[0]} printed no JSON: ${stdout.slice(0, 200)}`, details));
      });
      if (input !== undefined) {
        child.stdin.on('error', () => {}); // a CLI that exits before reading reports through its status
        child.stdin.end(input);
      }
    });
  }
}

module.exports = { CliTransport };
