"""Enqueue in the application's own Postgres transaction: the task is published when that
transaction commits and never when it rolls back (`SCHEMA.enqueue`, docs/postgres.md, "Enqueue
from SQL"). Duck-typed on the connection, so the SDK needs no driver: a psycopg 3
`Connection` (sync), or a psycopg 3 `AsyncConnection` / asyncpg `Connection` (await
`enqueue_async`)::

    import psycopg
    from stem_sdk import pg

    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute("INSERT INTO orders (id) VALUES (%s)", (42,))
        task_id = pg.enqueue(conn, "send_receipt", [42])

`Client.enqueue(..., conn=conn)` / `AsyncClient.enqueue(..., conn=conn)` do the same and
return the usual handle. The schema is the namespace's (`STEM_NAMESPACE`, default `stem`,
mapped as the worker maps it); pass `schema=` otherwise. Options are the spec's (`queue`,
`id`, `priority`, `countdown`/`eta`, `expires`, `unique_key`, `unique_for`, `headers`); any
other is refused by the database. A refusal is the driver's own error (SQLSTATE 22023),
raised inside the caller's transaction like any failed statement. The SQL functions take no
fairness key: `fair_key` / `fair_weight` are refused here (`ValueError`, before anything is
sent) rather than dropped; enqueue keyed tasks through `Client` (the API or the CLI).
"""

import json
import os
import re
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Union

from .spec import TaskSpec, as_spec, task_spec

__all__ = ["enqueue", "enqueue_async", "enqueue_many", "enqueue_many_async", "schema_name", "spec_of"]


def schema_name(namespace: Optional[str] = None) -> str:
    """The Postgres schema of a namespace (default `STEM_NAMESPACE`, else `stem`), as the worker
    names it: lowercase letters, digits and `_`, `stem_` before a leading digit or `pg_`."""
    ns = namespace if namespace is not None else os.environ.get("STEM_NAMESPACE") or "stem"
    schema = "".join(c if ("a" <= c <= "z" or "0" <= c <= "9" or c == "_") else "_" for c in ns.lower())
    if not schema or len(schema) > 63:
        raise ValueError("namespace %r cannot name a postgres schema (1 to 63 characters)" % (ns,))
    if schema[0].isdigit() or schema.startswith("pg_"):
        schema = ("stem_" + schema)[:63]
    return schema


def _schema(schema: Optional[str]) -> str:
    name = schema if schema is not None else schema_name()
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError("schema %r is not a Stem schema name (lowercase letters, digits and _)" % (name,))
    return name


def spec_of(name: str, args: Sequence[Any] = (), kwargs: Optional[Mapping[str, Any]] = None,
            **options: Any) -> TaskSpec:
    """The spec `enqueue` sends: `task_spec`'s, options left as `None` dropped."""
    return task_spec(name, args, kwargs, **{k: v for k, v in options.items() if v is not None})


#: Spec fields `SCHEMA.enqueue` does not take and the SDK refuses before sending.
NOT_IN_SQL = ("fair_key", "fair_weight")


def _sql_spec(spec: TaskSpec, at: str = "enqueue") -> TaskSpec:
    """`spec`, refused (`ValueError` naming `at` and the field) when it has a field the SQL
    enqueue does not take: it would be lost, not refused, were it dropped here."""
    for field in NOT_IN_SQL:
        if field in spec:
            raise ValueError("%s: %s: enqueue from SQL takes no fairness key (SCHEMA.enqueue has no "
                             "%s option): enqueue this task through Client (the API or the CLI)"
                             % (at, field, field))
    return spec


def _specs_json(tasks: Iterable[Union[TaskSpec, Sequence[Any]]]) -> str:
    return json.dumps([_sql_spec(as_spec(t), "enqueue_many[%d]" % i) for i, t in enumerate(tasks)])


def _split(spec: TaskSpec) -> List[str]:
    _sql_spec(spec)
    options = {k: v for k, v in spec.items() if k not in ("task", "args", "kwargs")}
    return [spec["task"], json.dumps(spec.get("args", [])), json.dumps(spec.get("kwargs", {})), json.dumps(options)]


def _kind(conn: Any) -> str:
    module = type(conn).__module__ or ""
    if module.startswith("asyncpg") or (hasattr(conn, "fetchval") and not hasattr(conn, "cursor")):
        return "asyncpg"
    if module.startswith("psycopg2"):
        raise TypeError("psycopg2 connections are not supported: use psycopg 3, or call "
                        "SELECT stem.enqueue(%s, %s::jsonb) on a cursor (docs/postgres.md)")
    if module.startswith("psycopg"):
        return "psycopg"
    if hasattr(conn, "execute") and hasattr(conn, "cursor"):
        return "psycopg"
    raise TypeError("conn must be a psycopg 3 or asyncpg connection, got %s.%s" % (module, type(conn).__name__))


def _sql(kind: str, schema: str, many: bool) -> str:
    if many:
        return "SELECT %s.enqueue_many(%s::jsonb)" % (schema, "$1" if kind == "asyncpg" else "%s")
    marks = ("$1", "$2::jsonb", "$3::jsonb", "$4::jsonb") if kind == "asyncpg" else ("%s", "%s::jsonb", "%s::jsonb", "%s::jsonb")
    return "SELECT %s.enqueue(%s)" % (schema, ", ".join(marks))


def enqueue(conn: Any, name: str, args: Sequence[Any] = (), kwargs: Optional[Mapping[str, Any]] = None, *,
            schema: Optional[str] = None, **options: Any) -> str:
    """Publish task `name` in `conn`'s current transaction (psycopg 3, sync); returns its id (for
    a duplicate of a live unique task, that task's id)."""
    return send_spec(conn, spec_of(name, args, kwargs, **options), schema)


def send_spec(conn: Any, spec: TaskSpec, schema: Optional[str] = None) -> str:
    """`enqueue` for a spec already built."""
    sql = _sql("psycopg", _schema(schema), False)
    if _kind(conn) != "psycopg" or _is_async(conn):
        raise TypeError("this connection is asynchronous: await stem_sdk.pg.enqueue_async(conn, ...)")
    row = conn.execute(sql, _split(spec)).fetchone()
    return str(row[0])


def enqueue_many(conn: Any, tasks: Iterable[Union[TaskSpec, Sequence[Any]]], *, schema: Optional[str] = None) -> List[str]:
    """Publish many tasks (specs or `(name, args[, kwargs])`, at most 10,000) in one statement of
    `conn`'s transaction (psycopg 3, sync); their ids in order."""
    sql = _sql("psycopg", _schema(schema), True)
    if _kind(conn) != "psycopg" or _is_async(conn):
        raise TypeError("this connection is asynchronous: await stem_sdk.pg.enqueue_many_async(conn, ...)")
    specs = _specs_json(tasks)
    row = conn.execute(sql, [specs]).fetchone()
    return [str(i) for i in row[0]]


async def enqueue_async(conn: Any, name: str, args: Sequence[Any] = (), kwargs: Optional[Mapping[str, Any]] = None, *,
                        schema: Optional[str] = None, **options: Any) -> str:
    """`enqueue` on an asyncpg connection or a psycopg 3 `AsyncConnection`."""
    return await send_spec_async(conn, spec_of(name, args, kwargs, **options), schema)


async def send_spec_async(conn: Any, spec: TaskSpec, schema: Optional[str] = None) -> str:
    """`enqueue_async` for a spec already built."""
    kind = _kind(conn)
    sql = _sql(kind, _schema(schema), False)
    if kind == "asyncpg":
        return str(await conn.fetchval(sql, *_split(spec)))
    if not _is_async(conn):
        return send_spec(conn, spec, schema)
    cursor = await conn.execute(sql, _split(spec))
    row = await cursor.fetchone()
    return str(row[0])


async def enqueue_many_async(conn: Any, tasks: Iterable[Union[TaskSpec, Sequence[Any]]], *,
                             schema: Optional[str] = None) -> List[str]:
    """`enqueue_many` on an asyncpg connection or a psycopg 3 `AsyncConnection`."""
    kind = _kind(conn)
    sql = _sql(kind, _schema(schema), True)
    specs = _specs_json(tasks)
    if kind == "asyncpg":
        ids = await conn.fetchval(sql, specs)
    elif not _is_async(conn):
        return enqueue_many(conn, json.loads(specs), schema=schema)
    else:
        cursor = await conn.execute(sql, [specs])
        ids = (await cursor.fetchone())[0]
    return [str(i) for i in ids]


def _is_async(conn: Any) -> bool:
    import inspect
    return inspect.iscoroutinefunction(getattr(conn, "execute", None))
