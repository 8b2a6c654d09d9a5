//! The dead letters pages: every queue's (or one queue's) letters filtered by text, one letter
//! shown with its envelope and error; replay one, the selected ones or a whole queue, and purge
//! with a confirmation (admin tokens only). Actions go through the API; the page updates in place.

use super::html::{action, esc, json, list as listing, page, time, url};
use crate::ops::dlq;
use crate::serve::{ApiError, AppState, Scope};
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::Extension;
use std::collections::HashMap;
use stem_adapters::DeadLetter;

/// What the page says when there are no dead letters.
const NONE: &str = "No dead letters: a task that fails its last attempt (or a message no worker \
    can read) lands here, to be replayed or purged. Nothing to do until one does; \
    <code>stem dlq list QUEUE</code> shows the same.";

/// Letters listed per queue.
const LIMIT: usize = 500;

fn matches(l: &DeadLetter, q: &str) -> bool {
    let q = q.to_lowercase();
    let name = l.envelope.as_ref().map(|e| e.name.as_str()).unwrap_or("");
    let error = l.error.as_ref().map(|e| e.message.as_str()).unwrap_or("");
    [l.id.as_str(), name, l.reason.as_str(), error]
        .iter()
        .any(|s| s.to_lowercase().contains(&q))
}

fn replay_path(queue: &str) -> String {
    format!("/v1/queues/{}/dead-letters/replay", url(queue))
}

pub async fn list(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Query(p): Query<HashMap<String, String>>,
) -> Result<Html<String>, ApiError> {
    let admin = scope == Scope::Admin;
    let filter = p.get("q").map(|s| s.trim()).filter(|s| !s.is_empty());
    let queues = match p.get("queue").filter(|q| !q.is_empty()) {
        Some(q) => vec![q.clone()],
        None => state
            .adapters
            .admin
            .queues()
            .await
            .map_err(crate::ops::OpsError::from)?,
    };
    let mut body = format!(
        "<h1>Dead letters</h1><form id=\"filter\" method=\"get\">\
         <label for=\"f-queue\">Queue</label><input id=\"f-queue\" name=\"queue\" placeholder=\"queue\" value=\"{}\">\
         <label for=\"f-q\">Text</label><input id=\"f-q\" name=\"q\" placeholder=\"id, task, reason or error\" value=\"{}\">\
         <button>Filter</button></form>",
        esc(p.get("queue").map(String::as_str).unwrap_or("")),
        esc(filter.unwrap_or(""))
    );
    let mut shown = 0;
    for queue in &queues {
        let letters = dlq::list(&state.adapters, queue, LIMIT).await?;
        if letters.is_empty() && !p.contains_key("queue") {
            continue;
        }
        let rows: Vec<Vec<String>> = letters
            .iter()
            .filter(|l| filter.is_none_or(|q| matches(l, q)))
            .map(|l| {
                let name = l
                    .envelope
                    .as_ref()
                    .map(|e| e.name.as_str())
                    .unwrap_or("(malformed)");
                let body = serde_json::json!({ "id": l.id }).to_string();
                let mut row = vec![
                    format!(
                        "<input type=\"checkbox\" class=\"pick\" data-queue=\"{}\" value=\"{}\" aria-label=\"select {}\">",
                        esc(queue),
                        esc(&l.id),
                        esc(&l.id)
                    ),
                    format!(
                        "<a href=\"/ui/dead-letters/{}/{}\">{}</a>",
                        url(queue),
                        url(&l.id),
                        esc(&l.id)
                    ),
                    esc(name),
                    esc(&l.reason),
                    esc(l.error.as_ref().map(|e| e.message.as_str()).unwrap_or("")),
                    esc(&time(l.dead_at)),
                    action("Replay", &replay_path(queue), &body, None),
                ];
                if !admin {
                    row.remove(row.len() - 1);
                    row.remove(0);
                }
                row
            })
            .collect();
        shown += 1;
        let purge = format!("/v1/queues/{}/dead-letters/purge", url(queue));
        let actions = if admin {
            format!(
                "<p>{} {} {}</p>",
                "<button type=\"button\" data-replay-picked>Replay selected</button>",
                action(
                    "Replay all",
                    &replay_path(queue),
                    "{}",
                    Some(&format!("Replay every dead letter of {queue}?"))
                ),
                action(
                    "Purge",
                    &purge,
                    "{}",
                    Some(&format!(
                        "Delete every dead letter of {queue}? This cannot be undone."
                    ))
                ),
            )
        } else {
            String::new()
        };
        let head: &[&str] = if admin {
            &["", "id", "task", "reason", "error", "dead since (UTC)", ""]
        } else {
            &["id", "task", "reason", "error", "dead since (UTC)"]
        };
        body.push_str(&format!(
            "<section class=\"dlq\" data-queue=\"{q}\"><h2>{q} <small>{} letter(s)</small></h2>{actions}{}</section>",
            letters.len(),
            listing(
                &format!("dlq-{}", url(queue)),
                head,
                &rows,
                if letters.is_empty() { NONE } else { "No dead letter of this queue matches the filter." }
            ),
            q = esc(queue),
        ));
    }
    if shown == 0 {
        body.push_str(&format!(
            "<p id=\"dead-letters\" class=\"none empty\">{NONE}</p>"
        ));
    }
    Ok(page("Dead letters", "/ui/dead-letters", &body))
}

pub async fn show(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path((queue, id)): Path<(String, String)>,
) -> Result<Html<String>, ApiError> {
    let l = dlq::show(&state.adapters, &queue, &id).await?;
    let body = serde_json::json!({ "id": l.id }).to_string();
    let mut out = format!(
        "<h1>Dead letter <code>{}</code></h1><p>queue {}, {}; dead since {}</p><p>{}</p>",
        esc(&l.id),
        esc(&queue),
        esc(&l.reason),
        esc(&time(l.dead_at)),
        if scope == Scope::Admin {
            action("Replay", &replay_path(&queue), &body, None)
        } else {
            String::new()
        }
    );
    if let Some(e) = &l.error {
        out.push_str(&format!(
            "<h2>Error</h2><p><b>{}</b>: {}</p><pre id=\"traceback\">{}</pre>",
            esc(&e.kind),
            esc(&e.message),
            esc(&e.traceback)
        ));
    }
    match (&l.envelope, &l.raw) {
        (Some(env), _) => out.push_str(&format!(
            "<h2>Envelope</h2><pre id=\"envelope\">{}</pre>",
            json(env)
        )),
        (None, Some(raw)) => out.push_str(&format!("<h2>Raw payload</h2><pre>{}</pre>", esc(raw))),
        _ => {}
    }
    Ok(page("Dead letter", "/ui/dead-letters", &out))
}
