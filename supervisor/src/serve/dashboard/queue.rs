//! One queue's page: its counts, whether it is paused and how many live workers consume it (none
//! is flagged), and the tasks it holds — waiting (in fetch order), scheduled and retrying (by
//! due time), leased (with the worker and lease expiry) — each with its priority, attempt and
//! arguments (hidden when sealed); admin tokens get pause/resume and revoke of the picked tasks.

use super::html::{action, bulk_bar, dur, esc, list, page, pick, time, url, PICK_ALL};
use crate::ops::queue_tasks::{self, QueueList, QueuedTask};
use crate::ops::queues;
use crate::serve::{ApiError, AppState, Scope};
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::Extension;
use std::collections::HashMap;
use stem_protocol::now_ms;

/// Tasks shown per list.
const SHOWN: usize = 100;

/// The arguments in one short line (the task's page has them whole).
fn brief(t: &QueuedTask) -> String {
    if t.sealed {
        return "<i>sealed</i>".into();
    }
    if let Some(why) = &t.malformed {
        return format!("<b class=\"bad\">malformed</b>: {}", esc(why));
    }
    let mut text = String::new();
    if let Some(a) = &t.args {
        text.push_str(&serde_json::Value::from(a.clone()).to_string());
    }
    if let Some(k) = t.kwargs.as_ref().filter(|k| !k.is_empty()) {
        text.push(' ');
        text.push_str(&serde_json::Value::Object(k.clone()).to_string());
    }
    if text.chars().count() > 80 {
        text = text.chars().take(79).collect::<String>() + "…";
    }
    format!("<code>{}</code>", esc(&text))
}

fn row(t: &QueuedTask, list: QueueList, admin: bool, now: i64) -> Vec<String> {
    let id = if t.id.is_empty() {
        "—".to_string()
    } else {
        format!("<a href=\"/ui/tasks/{}\">{}</a>", url(&t.id), esc(&t.id))
    };
    let task = match &t.fair_key {
        Some(k) => format!(
            "{} <small class=\"muted\">key {}</small>",
            esc(&t.task),
            esc(k)
        ),
        None => esc(&t.task),
    };
    let mut cells = vec![id, task, t.priority.to_string(), t.attempt.to_string()];
    match list {
        QueueList::Waiting => cells.push(esc(&time(t.created_at))),
        QueueList::Scheduled | QueueList::Retrying => cells.push(match t.at {
            Some(at) if at > now => format!("{} (in {})", esc(&time(at)), dur(at - now)),
            Some(at) => format!("{} (due)", esc(&time(at))),
            None => "—".into(),
        }),
        QueueList::Leased => {
            cells.push(esc(t.worker.as_deref().unwrap_or("—")));
            cells.push(t.at.map(|at| dur(at - now)).unwrap_or_default());
        }
    }
    cells.push(brief(t));
    if admin {
        cells.insert(
            0,
            if t.id.is_empty() {
                String::new()
            } else {
                pick(&t.id)
            },
        );
    }
    cells
}

fn tabs(queue: &str, current: QueueList, sizes: &queues::QueueSize) -> String {
    let c = sizes.counts;
    let links: Vec<String> = QueueList::ALL
        .iter()
        .map(|l| {
            let count = match l {
                QueueList::Waiting => format!(" ({})", c.ready),
                QueueList::Leased => format!(" ({})", c.leased),
                _ => String::new(),
            };
            let here = if *l == current {
                " aria-current=\"page\" class=\"here\""
            } else {
                ""
            };
            format!(
                "<a id=\"tab-{0}\" href=\"/ui/queues/{1}?state={0}\"{here}>{0}{count}</a>",
                l.as_str(),
                url(queue)
            )
        })
        .collect();
    format!(
        "<nav class=\"tabs\" aria-label=\"lists\">{} <span class=\"muted\">delayed in all: {}</span></nav>",
        links.join(" "),
        c.delayed
    )
}

pub async fn show(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(queue): Path<String>,
    Query(p): Query<HashMap<String, String>>,
) -> Result<Html<String>, ApiError> {
    let list_name = p.get("state").map(String::as_str).unwrap_or("waiting");
    let current = QueueList::parse(list_name).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_parameter",
            format!("state: unknown list {list_name:?} (waiting, scheduled, retrying or leased)"),
        )
    })?;
    let admin = scope == Scope::Admin;
    let size = queues::sizes(&state.adapters, Some(vec![queue.clone()]))
        .await?
        .remove(0);
    let tasks = queue_tasks::tasks(&state.adapters, &queue, current, SHOWN).await?;
    let now = now_ms();
    let c = size.counts;
    let consumers = if size.consumers == 0 {
        "<b id=\"consumers\" class=\"bad\">no live worker consumes this queue</b>: what waits \
         here will not run until one does (<code>stem worker --queues NAME</code>)"
            .to_string()
    } else {
        format!(
            "<span id=\"consumers\">{} live worker{} consume{} it</span>",
            size.consumers,
            if size.consumers == 1 { "" } else { "s" },
            if size.consumers == 1 { "s" } else { "" }
        )
    };
    let paused = if size.paused {
        "<b class=\"bad\">paused</b>"
    } else {
        "running"
    };
    let mut body = format!(
        "<h1>Queue <code id=\"queue-name\">{}</code></h1>\
         <dl class=\"facts\"><dt>state</dt><dd id=\"queue-state\">{paused}</dd>\
         <dt>workers</dt><dd>{consumers}</dd>\
         <dt>waiting</dt><dd>{}</dd><dt>delayed</dt><dd>{}</dd><dt>leased</dt><dd>{}</dd>\
         <dt>dead letters</dt><dd><a href=\"/ui/dead-letters?queue={}\">{}</a></dd>\
         <dt>records</dt><dd><a href=\"/ui/tasks?queue={}\">tasks of this queue</a></dd></dl>",
        esc(&queue),
        c.ready,
        c.delayed,
        c.leased,
        url(&queue),
        c.dead,
        url(&queue),
    );
    if admin {
        let path = format!("/v1/queues/{}", url(&queue));
        body.push_str(&format!(
            "<p>{} {}</p>",
            action("Pause", &format!("{path}/pause"), "{}", None),
            action("Resume", &format!("{path}/resume"), "{}", None)
        ));
    }
    body.push_str(&super::fair_keys::section(&state.adapters, &queue).await?);
    body.push_str(&tabs(&queue, current, &size));
    let mut head = vec!["id", "task", "priority", "attempt"];
    match current {
        QueueList::Waiting => head.push("enqueued (UTC)"),
        QueueList::Scheduled | QueueList::Retrying => head.push("due (UTC)"),
        QueueList::Leased => head.extend(["worker", "lease left"]),
    }
    head.push("arguments");
    if admin {
        head.insert(0, PICK_ALL);
        if !tasks.is_empty() {
            body.push_str(&bulk_bar(&[(
                "revoke",
                "Revoke",
                "Revoke the selected tasks? Workers skip them and record them revoked.",
            )]));
        }
    }
    let rows: Vec<Vec<String>> = tasks.iter().map(|t| row(t, current, admin, now)).collect();
    let empty = match current {
        QueueList::Waiting => "Nothing waits in this queue now.",
        QueueList::Scheduled => "No scheduled task: one enqueued with <code>--countdown</code> or <code>--eta</code> waits here until due.",
        QueueList::Retrying => "No task waits for a retry: a failed attempt with retries left waits here for its delay.",
        QueueList::Leased => "No task is leased: a worker leases tasks as it takes them.",
    };
    body.push_str(&list(
        &format!("queued-{}", current.as_str()),
        &head,
        &rows,
        empty,
    ));
    if rows.len() == SHOWN {
        body.push_str(&format!(
            "<p class=\"muted\">The first {SHOWN} shown; <code>GET /v1/queues/{}/tasks?state={}&amp;limit=1000</code> lists more.</p>",
            esc(&url(&queue)),
            current.as_str()
        ));
    }
    Ok(page(&format!("Queue {queue}"), "/ui/queues", &body))
}
