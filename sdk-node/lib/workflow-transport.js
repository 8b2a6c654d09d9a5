// The workflow operations of the producer over each transport: `stem wf ... --json` through the
// CLI, `/v1/workflows` and `/v1/events` of `stem serve` over HTTP. Both answer the same shapes
// (a run view, an array of runs or waiters, `{topic, resumed, runs}`), and a refusal carries
// the same stable `code` on either: `unknown_workflow`, `run_not_found`, `workflow_conflict`
// (on ApiError as the server sends it; on StemCliError read from the CLI's message).
'use strict';

const { StemCliError } = require('./producer-errors');
const { MAX_POLL } = require('./http');

/** The API code of a `stem wf` failure, from the one-line reason the CLI prints. */
const CLI_CODES = [
  [/^(error: )?no workflow run /, 'run_not_found'],
  [/^(error: )?unknown workflow /, 'unknown_workflow'],
  [/^(error: )?(run \S+ has no step |run \S+ has already ended)/, 'workflow_conflict'],
  [/^(error: )?(id: run id |topic: topic |run id |topic )/, 'invalid_field'],
];

function cliCode(err) {
  const line = String(err.stderr || '').trim().split('\n').pop() || '';
  const found = CLI_CODES.find(([pattern]) => pattern.test(line));
  return found ? found[1] : undefined;
}

class CliWorkflows {
  constructor(cli) {
    this.cli = cli;
  }

  async call(argv, timeoutMs) {
    try {
      return await this.cli.run(['wf', ...argv], timeoutMs);
    } catch (err) {
      if (err instanceof StemCliError) {
        const code = cliCode(err);
        if (code !== undefined) err.code = code;
        err.message = err.message.replace(/^stem wf failed/, `stem wf ${argv[0]} failed`);
      }
      throw err;
    }
  }

  start(name, start) {
    const argv = ['start', name, '--args', JSON.stringify(start.args), '--kwargs', JSON.stringify(start.kwargs)];
    if (start.id !== undefined) argv.push('--id', start.id);
    if (start.manifest !== undefined) argv.push('--manifest', String(start.manifest));
    return this.call(argv);
  }

  /** The run with its steps; the CLI has no long-poll, so `wait` is left to the caller's polling. */
  show(id) {
    return this.call(['show', id]);
  }

  list(filter) {
    const argv = ['ls'];
    if (filter.state !== undefined) argv.push('--state', filter.state);
    if (filter.name !== undefined) argv.push('--name', filter.name);
    if (filter.limit !== undefined) argv.push('--limit', String(filter.limit));
    return this.call(argv);
  }

  waiters(filter) {
    const argv = ['waiters'];
    if (filter.topic !== undefined) argv.push('--topic', filter.topic);
    if (filter.limit !== undefined) argv.push('--limit', String(filter.limit));
    return this.call(argv);
  }

  emit(topic, payload) {
    return this.call(['emit', topic, '--payload', JSON.stringify(payload)]);
  }

  cancel(id) {
    return this.call(['cancel', id]);
  }

  rewind(id, to) {
    return this.call(['rewind', id, '--to', to]);
  }
}

class HttpWorkflows {
  constructor(http) {
    this.http = http;
    /** The server long-polls a run until it ends. */
    this.longPolls = true;
  }

  start(name, start) {
    const body = { args: start.args, kwargs: start.kwargs };
    if (start.id !== undefined) body.id = start.id;
    return this.http.request('POST', `/v1/workflows/${encodeURIComponent(name)}/runs`, body);
  }

  /** The run with its steps; with `wait` (seconds), long-polls until it ended (at most 30 s). */
  show(id, wait) {
    const poll = wait ? Math.min(wait, MAX_POLL) : 0;
    const query = poll ? `?wait=${Math.max(1, Math.round(poll * 1000))}ms` : '';
    return this.http.request('GET', `/v1/workflows/runs/${encodeURIComponent(id)}${query}`, undefined, this.http.timeout + poll);
  }

  async list(filter) {
    const reply = await this.http.request('GET', `/v1/workflows/runs${query(filter)}`);
    return reply.runs;
  }

  async waiters(filter) {
    const reply = await this.http.request('GET', `/v1/workflows/waiters${query(filter)}`);
    return reply.waiters;
  }

  emit(topic, payload) {
    return this.http.request('POST', `/v1/events/${encodeURIComponent(topic)}`, { payload });
  }

  cancel(id) {
    return this.http.request('POST', `/v1/workflows/runs/${encodeURIComponent(id)}/cancel`, {});
  }

  rewind(id, to) {
    return this.http.request('POST', `/v1/workflows/runs/${encodeURIComponent(id)}/rewind`, { to });
  }
}

/** `?k=v&...` of the defined fields. */
function query(fields) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

module.exports = { CliWorkflows, HttpWorkflows };
