//! Reading a whole world's stores and logs as text to look for strings that must not be there:
//! every key of a Redis namespace with every value of every type, every row of a Postgres
//! schema, a SQLite file dumped as SQL plus its raw bytes and those of its WAL and shared
//! memory files, and every log file of the world's folder.

use crate::Env;
use std::fs;
use std::process::{Command, Stdio};

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every key of the namespace `ns` on the Redis at `url`, with its value whatever its type.
pub fn redis_dump(url: &str, ns: &str) -> String {
    let redis = |args: &[&str]| {
        let mut all = vec!["-u", url, "--no-raw"];
        all.extend_from_slice(args);
        run("redis-cli", &all)
    };
    let mut keys: Vec<String> = run(
        "redis-cli",
        &["-u", url, "--scan", "--pattern", &format!("*{ns}*")],
    )
    .lines()
    .map(str::to_string)
    .collect();
    keys.sort();
    keys.dedup();
    let mut out = String::new();
    for k in &keys {
        let kind = redis(&["TYPE", k]);
        let value = match kind.trim().trim_matches('"') {
            "string" => redis(&["GET", k]),
            "hash" => redis(&["HGETALL", k]),
            "list" => redis(&["LRANGE", k, "0", "-1"]),
            "set" => redis(&["SMEMBERS", k]),
            "zset" => redis(&["ZRANGE", k, "0", "-1", "WITHSCORES"]),
            "stream" => redis(&["XRANGE", k, "-", "+"]),
            other => format!("(type {other})"),
        };
        out.push_str(&format!("== {k} ({})\n{value}\n", kind.trim()));
    }
    // --no-raw quotes values; the raw form too, so escaping cannot hide a string.
    for k in &keys {
        for cmd in [["GET"].as_slice(), &["HGETALL"], &["XRANGE"]] {
            let mut args: Vec<&str> = vec!["-u", url, cmd[0], k];
            if cmd[0] == "XRANGE" {
                args.extend(["-", "+"]);
            }
            out.push_str(&run("redis-cli", &args));
        }
    }
    out
}

/// Every row of every table of schema `ns` on the Postgres at `url`.
pub fn postgres_dump(url: &str, ns: &str) -> String {
    run(
        "pg_dump",
        &["--data-only", "--inserts", "--schema", ns, url],
    )
}

/// A SQLite file as SQL text, then the raw bytes of the file, its WAL and shared memory.
pub fn sqlite_dump(path: &std::path::Path) -> String {
    let mut out = run("sqlite3", &[&path.display().to_string(), ".dump"]);
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        if let Ok(bytes) = fs::read(&file) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    out
}

/// Everything the world's stores hold, as text (its SQLite file, or its service namespace).
pub fn store_dump(env: &Env) -> String {
    let url = env.broker_url();
    let ns = env.namespace().unwrap_or("stem").to_string();
    if url.starts_with("redis") {
        redis_dump(&url, &ns)
    } else if url.starts_with("postgres") {
        postgres_dump(&url, &ns)
    } else {
        sqlite_dump(&env.file("stem.db"))
    }
}

/// Every `*.log` file of the world's folder (workers, beats, servers), whole.
pub fn all_logs(env: &Env) -> String {
    let mut out = String::new();
    if let Ok(dir) = fs::read_dir(env.path()) {
        for entry in dir.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "log") {
                out.push_str(&format!("== {}\n", path.display()));
                out.push_str(&String::from_utf8_lossy(
                    &fs::read(&path).unwrap_or_default(),
                ));
            }
        }
    }
    out
}

/// The markers found in `text`, each with a little of what surrounds its first occurrence.
pub fn found<'a>(text: &str, markers: &[&'a str]) -> Vec<(&'a str, String)> {
    markers
        .iter()
        .filter_map(|m| {
            let at = text.find(m)?;
            let start = (at.saturating_sub(120)..=at)
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(at);
            let end = (at + m.len() + 120).min(text.len());
            let end = (end..=text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(text.len());
            Some((*m, text[start..end].to_string()))
        })
        .collect()
}
