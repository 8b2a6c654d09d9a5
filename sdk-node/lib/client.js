// The producer side: enqueue tasks and read results by running the `stem` CLI
// (STEM_BIN, else `stem` on PATH) and parsing its `--json` output.
'use strict';

const { execFile } = require('node:child_process');

/** The `stem` CLI failed: non-zero exit, missing binary, or output that is not JSON. */
class StemCliError extends Error {
  constructor(message, details = {}) {
    super(message);
    this.name = 'StemCliError';
    this.command = details.command;
    this.exitCode = details.exitCode;
    this.stderr = details.stderr;
    this.stdout = details.stdout;
  }
}

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

class Client {
  /**
   * @param {object} [options]
   * @param {string} [options.bin] the stem binary (default: STEM_BIN, else `stem` on PATH)
   * @param {string} [options.broker] passed as `--broker`
   * @param {string} [options.backend] passed as `--backend`
   * @param {NodeJS.ProcessEnv} [options.env] environment for the CLI (default: this process's)
   * @param {string} [options.cwd] working directory for the CLI
   */
  constructor(options = {}) {
    this.bin = options.bin || process.env.STEM_BIN || 'stem';
    this.broker = options.broker;
    this.backend = options.backend;
    this.env = options.env;
    this.cwd = options.cwd;
  }

  /** Enqueue task `name` with positional `args`; resolves to the CLI's JSON (at least `id`). */
  enqueue(name, args = [], options = {}) {
    const argv = ['enqueue', name, '--args', JSON.stringify(args), '--kwargs', JSON.stringify(options.kwargs || {})];
    if (options.queue !== undefined) argv.push('--queue', String(options.queue));
    if (options.countdown !== undefined) argv.push('--countdown', String(options.countdown));
    if (options.eta !== undefined) {
      argv.push('--eta', options.eta instanceof Date ? options.eta.toISOString() : String(options.eta));
    }
    if (options.priority !== undefined) argv.push('--priority', String(options.priority));
    if (options.wait) argv.push('--wait');
    return this.#stem(argv, options.timeout);
  }

  /** Read task `id`'s state and result; with `wait`, until it finishes. */
  result(id, options = {}) {
    const argv = ['result', String(id)];
    if (options.wait) argv.push('--wait');
    return this.#stem(argv, options.timeout);
  }

  /** Submit a canvas document (`stem canvas submit -`); resolves to `{id, published, nodes}`. */
  submitCanvas(document, options = {}) {
    return this.#stem(['canvas', 'submit', '-'], options.timeout, JSON.stringify(document));
  }

  /** A canvas's view (`stem canvas show`): its state, result, failed node and nodes. */
  showCanvas(id, options = {}) {
    return this.#stem(['canvas', 'show', String(id)], options.timeout);
  }

  #stem(argv, timeout, input) {
    argv.push('--json');
    if (this.broker !== undefined) argv.push('--broker', this.broker);
    if (this.backend !== undefined) argv.push('--backend', this.backend);
    const command = [this.bin, ...argv];
    const options = { env: this.env, cwd: this.cwd, timeout: timeout || 0, maxBuffer: 64 * 1024 * 1024 };
    return new Promise((resolve, reject) => {
      const child = execFile(this.bin, argv, options, (err, stdout, stderr) => {
        const details = { command, stdout, stderr };
        if (err && err.code === 'ENOENT') {
          return reject(new StemCliError(`stem CLI not found at '${this.bin}': set STEM_BIN or put stem on PATH`, details));
        }
        if (err) {
          details.exitCode = typeof err.code === 'number' ? err.code : undefined;
          const why = err.killed ? `timed out after ${timeout} ms` : lastLine(stderr) || err.message;
          return reject(new StemCliError(`stem ${argv[0]} failed: ${why}`, details));
        }
        try {
          resolve(parseJson(stdout));
        } catch {
          reject(new StemCliError(`stem ${argv[0]} printed no JSON: ${stdout.slice(0, 200)}`, details));
        }
      });
      if (input !== undefined) {
        child.stdin.on('error', () => {}); // a CLI that exits early reports through its status
        child.stdin.end(input);
      }
    });
  }
}

module.exports = { Client, StemCliError };
