//! Editing a world's store by hand, as a hostile writer to it would: read the stored envelopes
//! of a queue, insert an envelope of one's own making, read and overwrite a task's stored record
//! — through `sqlite3`, `redis-cli` and `psql`, never through `stem`.

use crate::stores::Store;
use crate::Env;
use std::process::{Command, Stdio};

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ns(env: &Env) -> String {
    env.namespace().unwrap_or("stem").to_string()
}

fn sqlite(env: &Env, sql: &str) -> String {
    let db = env.file("stem.db");
    run(
        "sqlite3",
        &["-cmd", ".timeout 10000", &db.display().to_string(), sql],
    )
}

fn redis(args: &[&str]) -> String {
    let url = std::env::var(crate::stores::REDIS).expect("a Redis world has its URL");
    let mut all = vec!["-u", url.as_str(), "--raw"];
    all.extend_from_slice(args);
    run("redis-cli", &all)
}

fn psql(sql: &str) -> String {
    let url = std::env::var(crate::stores::POSTGRES).expect("a Postgres world has its URL");
    run("psql", &["-qAt", "-v", "ON_ERROR_STOP=1", &url, "-c", sql])
}

/// The raw stored envelopes of queue `default` not yet taken (priority 0).
pub fn stored_envelopes(env: &Env, store: Store) -> Vec<String> {
    let ns = ns(env);
    let text = match store {
        Store::Sqlite => sqlite(
            env,
            &format!(
                "SELECT payload FROM stem_tasks WHERE ns = {} AND queue = 'default' ORDER BY id",
                quote(&ns)
            ),
        ),
        Store::Redis | Store::RedisWithPostgres => {
            redis(&["XRANGE", &format!("{ns}:q:default:p0"), "-", "+"])
        }
        Store::Postgres => psql(&format!(
            "SELECT payload FROM {ns}.tasks WHERE queue = 'default' ORDER BY id"
        )),
    };
    text.lines()
        .filter(|l| l.starts_with('{'))
        .map(str::to_string)
        .collect()
}

/// Inserts `payload` (any text) as a ready task of queue `default`.
pub fn insert_envelope(env: &Env, store: Store, id: &str, payload: &str) {
    let ns = ns(env);
    match store {
        Store::Sqlite => {
            sqlite(
                env,
                &format!(
                    "INSERT INTO stem_tasks (ns, queue, priority, state, visible_at, deliveries, payload) \
                     VALUES ({}, 'default', 0, 0, 0, 0, {})",
                    quote(&ns),
                    quote(payload)
                ),
            );
        }
        Store::Redis | Store::RedisWithPostgres => {
            redis(&["XADD", &format!("{ns}:q:default:p0"), "*", "e", payload]);
        }
        Store::Postgres => {
            psql(&format!(
                "INSERT INTO {ns}.tasks (task_id, queue, priority, eta, visible_at, payload, created_at) \
                 VALUES ({}, 'default', 0, 0, 0, {}, 0)",
                quote(id),
                quote(payload)
            ));
        }
    }
}

/// The stored record of task `id`, as stored.
pub fn stored_record(env: &Env, store: Store, id: &str) -> String {
    let ns = ns(env);
    let text = match store {
        Store::Sqlite => sqlite(
            env,
            &format!(
                "SELECT record FROM stem_results WHERE ns = {} AND id = {}",
                quote(&ns),
                quote(id)
            ),
        ),
        Store::Redis => redis(&["GET", &format!("{ns}:r:{id}")]),
        Store::Postgres | Store::RedisWithPostgres => psql(&format!(
            "SELECT record FROM {ns}.results WHERE id = {}",
            quote(id)
        )),
    };
    text.trim().to_string()
}

/// Overwrites the stored record of task `id` with `json`.
pub fn overwrite_record(env: &Env, store: Store, id: &str, json: &str) {
    let ns = ns(env);
    match store {
        Store::Sqlite => {
            sqlite(
                env,
                &format!(
                    "UPDATE stem_results SET record = {} WHERE ns = {} AND id = {}",
                    quote(json),
                    quote(&ns),
                    quote(id)
                ),
            );
        }
        Store::Redis => {
            redis(&["SET", &format!("{ns}:r:{id}"), json]);
        }
        Store::Postgres | Store::RedisWithPostgres => {
            psql(&format!(
                "UPDATE {ns}.results SET record = {} WHERE id = {}",
                quote(json),
                quote(id)
            ));
        }
    }
}

/// Runs `sql` on a SQLite world's file (the namespace is `stem`), as a writer to it would.
pub fn sqlite_sql(env: &Env, sql: &str) -> String {
    sqlite(env, sql)
}
