//! Helpers for the beat tests: a manifest whose `tick` task appends its envelope to
//! `fired.jsonl`, starting beats with short leases, reading who leads, and counting the
//! published fires by their `stem-fire-time` header.

use crate::{wait_for_value, Env, Worker, PATIENCE};
use serde_json::Value;
use std::collections::BTreeMap;

/// A manifest with the `tick` task: its envelope (with the schedule headers) goes to a line of
/// `fired.jsonl`.
/// (One `printf` per envelope, so two ticks running at once never share a line.)
pub const MANIFEST: &str = "[tasks.tick]\nexec = [\"sh\", \"-c\", \"line=$(cat); printf '%s\\\\n' \\\"$line\\\" >> fired.jsonl\"]\nmax_retries = 0\n";

/// `[schedules.ID]` firing `tick` every second with `catch_up`.
pub fn every_second(id: &str, catch_up: &str) -> String {
    format!("[schedules.{id}]\ntask = \"tick\"\nevery = \"1s\"\ncatch_up = \"{catch_up}\"\n\n")
}

/// Starts `stem beat` named `id` with a `lock_ttl` lease and a 100 ms tick.
pub fn start(env: &Env, id: &str, lock_ttl: &str, extra: &[&str]) -> Worker {
    let mut args = vec![
        "beat",
        "--beat-id",
        id,
        "--lock-ttl",
        lock_ttl,
        "--tick",
        "100ms",
    ];
    args.extend_from_slice(extra);
    env.spawn(&args, &format!("beat-{id}.log"), &[])
}

/// The lock holder `stem observe schedules --json` reports, if any.
pub fn leader(env: &Env, extra: &[&str]) -> Option<String> {
    let mut args = vec!["observe", "schedules", "--json"];
    args.extend_from_slice(extra);
    let out = env.stem(&args);
    if !out.ok() {
        return None;
    }
    out.json()["leader"]["holder"].as_str().map(str::to_string)
}

/// Waits until `id` leads; panics after `PATIENCE`.
pub fn wait_leader(env: &Env, id: &str, extra: &[&str]) {
    let got = wait_for_value(PATIENCE, || leader(env, extra).filter(|l| l == id));
    assert!(
        got.is_some(),
        "beat {id} never led: {:?}",
        leader(env, extra)
    );
}

/// Fire times (epoch ms) by schedule, each with how many tasks carried it, from `fired.jsonl`.
pub fn fires(env: &Env) -> BTreeMap<String, BTreeMap<i64, usize>> {
    let mut out: BTreeMap<String, BTreeMap<i64, usize>> = BTreeMap::new();
    for line in env
        .read("fired.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let env: Value = serde_json::from_str(line).expect("an envelope per line");
        let h = &env["headers"];
        let schedule = h["stem-schedule"]
            .as_str()
            .expect("stem-schedule")
            .to_string();
        let time = h["stem-fire-time"].as_str().expect("stem-fire-time");
        let id = env["id"].as_str().unwrap_or_default();
        assert_eq!(
            id,
            format!("{schedule}@{time}"),
            "the task id names schedule and time"
        );
        *out.entry(schedule)
            .or_default()
            .entry(parse_rfc3339_ms(time))
            .or_default() += 1;
    }
    out
}

/// Epoch ms of `2026-01-02T03:04:05Z` or `...05.250Z` (UTC only, as the beat prints them).
pub fn parse_rfc3339_ms(t: &str) -> i64 {
    let n = |s: &str| {
        s.parse::<i64>()
            .unwrap_or_else(|_| panic!("bad time {t:?}"))
    };
    let (date, time) = t.trim_end_matches('Z').split_once('T').expect("a T");
    let d: Vec<i64> = date.split('-').map(n).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let c: Vec<i64> = hms.split(':').map(n).collect();
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let ms = format!("{frac:0<3}")[..3].parse::<i64>().unwrap_or(0);
    ((days * 24 + c[0]) * 60 + c[1]) * 60_000 + c[2] * 1000 + ms
}

/// Now, epoch ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
