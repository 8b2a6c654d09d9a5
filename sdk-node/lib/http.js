// Speaking `stem serve`'s HTTP API with the global fetch (keep-alive by default in Node):
// JSON in and out, error answers rejected as ApiError (an unknown task name's also matches
// UnknownTaskError, as the CLI transport's does).
'use strict';

const { ApiError, StemError, UNKNOWN_TASK, unknownTaskName } = require('./producer-errors');

/** The longest single long-poll asked of the server (it caps `wait` at 60 s). */
const MAX_POLL = 30;

class HttpTransport {
  constructor(url, token, timeout) {
    if (!/^https?:\/\/[^/]+/.test(url)) throw new TypeError(`url must be http://HOST[:PORT] or https://..., got ${url}`);
    this.url = url.replace(/\/+$/, '');
    this.token = token;
    this.timeout = timeout;
  }

  async request(method, path, body, timeout) {
    const headers = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    // Whole milliseconds: AbortSignal.timeout throws on a fraction (a long-poll's seconds left).
    const limit = Math.ceil((timeout === undefined ? this.timeout : timeout) * 1000);
    let response;
    try {
      response = await fetch(this.url + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(limit),
      });
    } catch (err) {
      throw new StemError(`cannot reach the Stem API at ${this.url}: ${err.cause ? err.cause.message : err.message}`);
    }
    const text = await response.text();
    if (response.status >= 400) {
      let error;
      try {
        error = JSON.parse(text).error;
      } catch {
        error = undefined;
      }
      if (error && error.code) {
        const err = new ApiError(response.status, error.code, error.message);
        if (error.code === UNKNOWN_TASK) err.task = unknownTaskName(error.message);
        throw err;
      }
      throw new ApiError(response.status, `http_${response.status}`, text.slice(0, 200) || 'no body');
    }
    return text ? JSON.parse(text) : null;
  }

  async enqueue(specs) {
    if (specs.length === 1) return [await this.request('POST', '/v1/tasks', specs[0])];
    const reply = await this.request('POST', '/v1/tasks', specs);
    return reply.ids.map((id) => ({ id, state: 'pending' }));
  }

  info(id, wait) {
    const poll = wait ? Math.min(wait, MAX_POLL) : 0;
    const query = poll ? `?wait=${Math.max(1, Math.round(poll * 1000))}ms` : '';
    return this.request('GET', `/v1/tasks/${encodeURIComponent(id)}${query}`, undefined, this.timeout + poll);
  }

  revoke(id, options = {}) {
    const body = { terminate: Boolean(options.terminate) };
    if (options.reason !== undefined) body.reason = options.reason;
    return this.request('POST', `/v1/tasks/${encodeURIComponent(id)}/revoke`, body);
  }
}

module.exports = { HttpTransport, MAX_POLL };
