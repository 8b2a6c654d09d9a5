// Types of the canvas builders (signature, chain, group, chord), the canvas documents they
// build and the handle of a submitted canvas; re-exported by index.d.ts.

import type { Client, Duration, Json } from '../index.js';

/** A canvas document (protocol/PROTOCOL.md, "Canvas"). */
export type CanvasDocument =
  | SignatureDocument
  | { chain: CanvasDocument[] }
  | { group: CanvasDocument[] }
  | { chord: { header: CanvasDocument[]; body: CanvasDocument } }
  | { chord: { header: CanvasDocument[]; on_complete: CanvasDocument } };

export interface SignatureDocument {
  task: string;
  args?: Json[];
  kwargs?: Record<string, Json>;
  options?: { queue?: string; priority?: number; countdown?: number; max_retries?: number; headers?: Record<string, string> };
  immutable?: boolean;
  link?: SignatureDocument[];
  link_error?: SignatureDocument[];
}

export interface SignatureOptions {
  kwargs?: Record<string, unknown>;
  queue?: string;
  /** 0 to 9. */
  priority?: number;
  /** Seconds before the task may run. */
  countdown?: number;
  maxRetries?: number;
  headers?: Record<string, string>;
  /** No parent result is prepended to its arguments. */
  immutable?: boolean;
}

/** What `stem canvas submit --json` prints. */
export interface CanvasSubmitted {
  id: string;
  published?: number;
  nodes?: number;
  [field: string]: unknown;
}

/** One node of `stem canvas show --json`. */
export interface CanvasNodeView {
  /** Where it is in the document (`chord.header[3]`). */
  path: string;
  task: string;
  task_id: string;
  state: string;
  error?: string;
}

/** What `stem canvas show --json` prints. */
export interface CanvasView {
  id: string;
  state: 'pending' | 'running' | 'success' | 'failure' | 'revoked' | string;
  result?: Json;
  failed?: string;
  /** Nodes by outcome. */
  summary: { succeeded: number; failed: number; pending: number; skipped: number; revoked: number };
  nodes: CanvasNodeView[];
}

/** A node of a canvas. */
export declare abstract class Canvas {
  toJSON(): CanvasDocument;
  /** A chain of this node and the next ones (Python's `a | b`). */
  pipe(...next: Canvas[]): Chain;
  submit(client?: Client): Promise<CanvasResult>;
}

export declare class Signature extends Canvas {
  readonly task: string;
  toJSON(): SignatureDocument;
  /** Run `callback` with this task's result when it succeeds; returns this signature. */
  link(callback: Signature): this;
  /** Run `callback` with `{task_id, name, error}` when this task fails for good; returns this. */
  linkError(callback: Signature): this;
}
export declare class Chain extends Canvas {
  readonly nodes: Canvas[];
}
export declare class Group extends Canvas {
  readonly members: Canvas[];
}
export declare class Chord extends Canvas {
  readonly header: Canvas[];
  readonly body: Canvas;
}

export declare function signature(task: string, args?: unknown[], options?: SignatureOptions): Signature;
export declare function chain(...nodes: Canvas[]): Chain;
export declare function chain(nodes: Iterable<Canvas>): Chain;
export declare function group(...members: Canvas[]): Group;
export declare function group(members: Iterable<Canvas>): Group;
/**
 * `chord(header, body)`: `body` gets the members' results once all succeeded.
 * `chord(header, { onComplete })`: the callback runs once every member finished, whatever the
 * outcomes, with their outcomes (`{id, state, result | error}`) in member order.
 */
export declare function chord(header: Group | Iterable<Canvas>, body: Canvas | { onComplete: Canvas }): Chord;

/** A submitted canvas. */
export declare class CanvasResult {
  readonly id: string;
  readonly submitted: CanvasSubmitted;
  show(): Promise<CanvasView>;
  /** The final result; rejects with TaskFailed when the canvas failed or was revoked. */
  get(options?: Duration | { timeout?: Duration; interval?: number }): Promise<Json>;
}
