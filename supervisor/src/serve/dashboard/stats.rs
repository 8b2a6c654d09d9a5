//! The stats page: per task type over a window (1 hour unless `since` says), the records by
//! state, the failure rate, run time and queue wait at p50 and p95, and two latency charts (run
//! time, queue wait: p50 and p95 per minute, with axes and units) — from the kept records, as
//! `GET /v1/stats/tasks` answers ([`crate::ops::task_stats`]).

use super::charts::{latency, Point};
use super::html::{dur, esc, list, page, url};
use crate::ops::task_stats::{self, Spread, SAMPLE};
use crate::ops::time::parse_since;
use crate::serve::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::response::Html;
use std::collections::HashMap;
use stem_protocol::now_ms;

fn spread(s: &Spread) -> (String, String) {
    let show = |v: Option<i64>| v.map(dur).unwrap_or_else(|| "—".into());
    (show(s.p50_ms), show(s.p95_ms))
}

pub async fn page_view(
    State(state): State<AppState>,
    Query(p): Query<HashMap<String, String>>,
) -> Result<Html<String>, ApiError> {
    let given = |k: &str| p.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let since_text = given("since").unwrap_or("1h");
    let since = parse_since(since_text)
        .map_err(|e| ApiError::bad_request("invalid_parameter", format!("since: {e}")))?;
    let task = given("task").map(String::from);
    let stats = task_stats::stats(&state.adapters, since, task.clone()).await?;
    let rows: Vec<Vec<String>> = stats
        .tasks
        .iter()
        .map(|t| {
            let n = |s: &str| t.states.get(s).copied().unwrap_or(0).to_string();
            let (run50, run95) = spread(&t.run_time);
            let (wait50, wait95) = spread(&t.queue_wait);
            vec![
                format!(
                    "<a href=\"/ui/tasks?task={}&amp;since={}\">{}</a>",
                    url(&t.task),
                    url(since_text),
                    esc(&t.task)
                ),
                t.states.values().sum::<u64>().to_string(),
                n("success"),
                n("failure"),
                t.failure_rate
                    .map(|r| format!("{:.1}%", r * 100.0))
                    .unwrap_or_else(|| "—".into()),
                run50,
                run95,
                wait50,
                wait95,
            ]
        })
        .collect();
    let now = now_ms();
    let start = since.max(now - 24 * 3_600_000);
    let points = |run: bool| -> Vec<Point> {
        stats
            .minutes
            .iter()
            .filter(|m| m.minute >= start - 60_000)
            .map(|m| {
                let s = if run { m.run_time } else { m.queue_wait };
                Point {
                    minute: m.minute,
                    p50: s.p50_ms,
                    p95: s.p95_ms,
                }
            })
            .collect()
    };
    let sampled = if stats.sampled {
        format!(
            "<p class=\"muted\">Computed from the {SAMPLE} most recent records of the window (there are more).</p>"
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>Stats</h1>\
         <form id=\"stats-form\" method=\"get\" action=\"/ui/stats\">\
         <label for=\"s-since\">Since</label><input id=\"s-since\" name=\"since\" value=\"{}\" placeholder=\"1h, or RFC 3339\">\
         <label for=\"s-task\">Task</label><input id=\"s-task\" name=\"task\" value=\"{}\" placeholder=\"every task\">\
         <button>Show</button></form>\
         <p>From the {} kept record(s) updated since then: run time is start to finish, queue \
         wait is enqueue to start (a countdown or retries count as waiting).</p>{sampled}{}\
         <h2>Latency</h2>{}{}",
        esc(since_text),
        esc(task.as_deref().unwrap_or("")),
        stats.records,
        list(
            "task-stats",
            &[
                "task",
                "records",
                "succeeded",
                "failed",
                "failure rate",
                "run p50",
                "run p95",
                "wait p50",
                "wait p95"
            ],
            &rows,
            "No task records in this window: records appear as workers run tasks \
             (<code>stem worker</code>); widen <b>since</b> to see older ones."
        ),
        latency("run-latency", "run time", &points(true), start, now),
        latency("wait-latency", "queue wait", &points(false), start, now),
    );
    Ok(page("Stats", "/ui/stats", &body))
}
