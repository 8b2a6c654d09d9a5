//! The overview (throughput and failures over the last hour from the stats history, queue
//! depths, workers alive), the queues page (counts, live consumers — none is flagged — and, for
//! admin tokens, pause and resume) and the workers page
//! (running tasks, pools, RSS, heartbeat age; for admin tokens, pause, resume and warm or hard
//! shutdown of one worker).

use super::html::{action, chart, dur, esc, list, page, url};
use crate::ops::control::{self, WorkerCommand};
use crate::ops::{queues, workers};
use crate::serve::{ApiError, AppState, Scope};
use axum::extract::State;
use axum::response::Html;
use axum::Extension;
use std::time::Duration;
use stem_protocol::now_ms;

const LAPSE: Duration = Duration::from_secs(10);
/// How long the workers page waits for `inspect` replies.
const INSPECT: Duration = Duration::from_millis(700);

async fn queue_rows(state: &AppState, actions: bool) -> Result<Vec<Vec<String>>, ApiError> {
    let sizes = queues::sizes(&state.adapters, None).await?;
    Ok(sizes
        .iter()
        .map(|q| {
            let c = q.counts;
            let name = esc(&q.queue);
            let mut row = vec![
                format!("<a href=\"/ui/queues/{}\">{name}</a>", url(&q.queue)),
                c.ready.to_string(),
                c.delayed.to_string(),
                c.leased.to_string(),
                format!(
                    "<a href=\"/ui/dead-letters?queue={}\">{}</a>",
                    url(&q.queue),
                    c.dead
                ),
                if q.consumers == 0 {
                    "<b class=\"bad no-consumer\" title=\"no live worker consumes this queue\">none</b>".into()
                } else {
                    q.consumers.to_string()
                },
                if q.paused {
                    "<b class=\"bad\">paused</b>".into()
                } else {
                    "running".into()
                },
            ];
            if actions {
                let path = format!("/v1/queues/{}", url(&q.queue));
                row.push(format!(
                    "{} {}",
                    action("Pause", &format!("{path}/pause"), "{}", None),
                    action("Resume", &format!("{path}/resume"), "{}", None)
                ));
            }
            row
        })
        .collect())
}

fn worker_rows(list: &[workers::WorkerStatus]) -> Vec<Vec<String>> {
    list.iter()
        .map(|w| {
            let hb = &w.heartbeat;
            let s = &hb.stats;
            let pools: Vec<String> = s["pools"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    format!(
                        "{} {} ×{}",
                        esc(p["runtime"].as_str().unwrap_or("")),
                        esc(p["isolation"].as_str().unwrap_or("")),
                        p["size"]
                    )
                })
                .collect();
            vec![
                esc(&hb.worker),
                esc(&hb.queues.join(", ")),
                format!(
                    "{} / {}",
                    hb.in_flight,
                    s["concurrency"].as_u64().unwrap_or(0)
                ),
                s["processed"].as_u64().unwrap_or(0).to_string(),
                s["failed"].as_u64().unwrap_or(0).to_string(),
                esc(&pools.join("; ")),
                format!("{} MB", s["rss_mb"].as_u64().unwrap_or(0)),
                format!(
                    "<span class=\"{}\">{}</span>",
                    if w.lapsed { "bad" } else { "ok" },
                    dur(w.age_ms)
                ),
            ]
        })
        .collect()
}

const NO_QUEUES: &str = "No queues yet: a queue appears once a task is enqueued to it. \
    Enqueue one: <code>stem enqueue NAME</code>.";
const NO_WORKERS: &str = "No workers: a worker appears here while it sends heartbeats. \
    Start one: <code>stem worker</code> (next to your <code>stem.toml</code>).";

const WORKER_HEAD: &[&str] = &[
    "worker",
    "queues",
    "running",
    "processed",
    "failed",
    "pools",
    "RSS",
    "heartbeat",
];

pub async fn overview(State(state): State<AppState>) -> Result<Html<String>, ApiError> {
    let now = now_ms();
    let minutes = state
        .adapters
        .history
        .minutes(now - 3_600_000)
        .await
        .map_err(crate::ops::OpsError::from)?;
    let fleet = workers::list(&state.adapters, LAPSE).await?;
    let alive = fleet.iter().filter(|w| !w.lapsed).count();
    let body = format!(
        "<h1>Overview</h1><section><h2>Throughput, last hour</h2>{}</section>\
         <section><h2>Queues</h2>{}</section>\
         <section><h2>Workers <small id=\"alive\">{alive} alive</small></h2>{}</section>",
        chart(&minutes, now),
        list(
            "queues",
            &["queue", "ready", "delayed", "leased", "dead", "workers", "state"],
            &queue_rows(&state, false).await?,
            NO_QUEUES
        ),
        list("workers", WORKER_HEAD, &worker_rows(&fleet), NO_WORKERS),
    );
    Ok(page("Overview", "/", &body))
}

pub async fn queues_page(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
) -> Result<Html<String>, ApiError> {
    let admin = scope == Scope::Admin;
    let mut head = vec![
        "queue", "ready", "delayed", "leased", "dead", "workers", "state",
    ];
    if admin {
        head.push("");
    }
    let body = format!(
        "<h1>Queues</h1><p>A queue's page lists the tasks it holds. Pause and resume tell every \
         live worker consuming the queue; the state column shows pauses stored in the broker \
         (<code>stem queue pause</code>); <b>workers</b> counts the live workers consuming it.</p>{}",
        list("queues", &head, &queue_rows(&state, admin).await?, NO_QUEUES)
    );
    Ok(page("Queues", "/ui/queues", &body))
}

/// The actions on one live worker (admin tokens only): its own pause and resume of every queue
/// it consumes, and a warm or hard shutdown, each asked to confirm.
fn worker_actions(w: &workers::WorkerStatus) -> String {
    if w.lapsed {
        return String::new();
    }
    let id = &w.heartbeat.worker;
    let path = format!("/v1/workers/{}", url(id));
    [
        action(
            "Pause",
            &format!("{path}/pause"),
            "{}",
            Some(&format!(
                "Pause {id}? It stops fetching (other workers go on) until resumed."
            )),
        ),
        action("Resume", &format!("{path}/resume"), "{}", None),
        action(
            "Shutdown",
            &format!("{path}/shutdown"),
            "{\"mode\":\"warm\"}",
            Some(&format!(
                "Shut {id} down warm? It finishes its running tasks, then exits."
            )),
        ),
        action(
            "Kill",
            &format!("{path}/shutdown"),
            "{\"mode\":\"hard\"}",
            Some(&format!(
                "Shut {id} down cold? Its running tasks are killed and given back to their queues."
            )),
        ),
    ]
    .join(" ")
}

pub async fn workers_page(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
) -> Result<Html<String>, ApiError> {
    let fleet = workers::list(&state.adapters, LAPSE).await?;
    let admin = scope == Scope::Admin;
    let mut rows = worker_rows(&fleet);
    let mut head = WORKER_HEAD.to_vec();
    if admin {
        head.push("");
        for (row, w) in rows.iter_mut().zip(&fleet) {
            row.push(worker_actions(w));
        }
    }
    let inspect = control::send(&state.adapters, &WorkerCommand::Inspect, None, INSPECT).await?;
    let mut running = Vec::new();
    let mut paused = Vec::new();
    for (worker, reply) in inspect.by_worker() {
        for r in reply["running"].as_array().into_iter().flatten() {
            let id = r["id"].as_str().unwrap_or("");
            running.push(vec![
                esc(&worker),
                format!("<a href=\"/ui/tasks/{}\">{}</a>", url(id), esc(id)),
                esc(r["name"].as_str().unwrap_or("")),
                r["pid"].as_u64().map(|p| p.to_string()).unwrap_or_default(),
                dur(r["runtime_ms"].as_i64().unwrap_or(0)),
            ]);
        }
        for q in reply["paused"].as_array().into_iter().flatten() {
            paused.push(format!(
                "{} on {}",
                esc(q.as_str().unwrap_or("")),
                esc(&worker)
            ));
        }
    }
    let paused = if paused.is_empty() {
        String::new()
    } else {
        format!("<p id=\"paused\">Paused: {}</p>", paused.join(", "))
    };
    let body = format!(
        "<h1>Workers</h1>{}{paused}<h2>Running tasks</h2>{}{}",
        list("workers", &head, &rows, NO_WORKERS),
        list(
            "running",
            &["worker", "task", "name", "pid", "running for"],
            &running,
            "No task is running now."
        ),
        super::fair_keys::throttled(&fleet)
    );
    Ok(page("Workers", "/ui/workers", &body))
}
