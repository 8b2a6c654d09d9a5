// Types of the Postgres helpers (lib/pg.js): enqueue in the application's own transaction.
// Re-exported by index.d.ts as `pg`.

import type { TaskOptions, TaskSpec } from '../index.js';

/** What the helpers need of a connection: node-postgres's `query(text, values)` (a pg Client or a pool's client). */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
}

export interface PgOptions {
  /** The namespace's schema (default: from STEM_NAMESPACE, else `stem`). */
  schema?: string;
}

/** The Postgres schema of a namespace, as the worker names it. */
export function schemaName(namespace?: string): string;
/** Publish task `name` in `client`'s current transaction; resolves to its id. */
export function enqueue(client: PgQueryable, name: string, args?: unknown[], options?: TaskOptions & PgOptions): Promise<string>;
/** Publish many tasks in one statement of `client`'s transaction; resolves to their ids in order. */
export function enqueueMany(client: PgQueryable, tasks: Iterable<TaskSpec>, options?: PgOptions): Promise<string[]>;
/** Publish a spec already built (`{ task, args, kwargs, ...options }`). */
export function sendSpec(client: PgQueryable, spec: Record<string, unknown>, schema?: string): Promise<string>;
