//! The tasks pages: the list (search by id, task name, state, queue and time; 50 a page, newest
//! first, continued by cursor so a page at 100,000+ records reads only its own rows; bulk retry,
//! revoke, terminate and delete of the picked rows) and one task's page (arguments, result or error and traceback, every attempt's error,
//! progress, worker, timings; revoke and terminate; retry a task that failed for good), and a
//! form to enqueue a task. Actions are offered to admin tokens only.

use super::html::{
    action, action_then, bulk_bar, dur, esc, json, list as listing, page, pick, table, time, url,
    PICK_ALL,
};
use crate::ops::results;
use crate::ops::time::parse_since;
use crate::serve::{ApiError, AppState, Scope};
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use std::collections::HashMap;
use stem_adapters::backend::RecordCursor;
use stem_adapters::RecordFilter;
use stem_protocol::{TaskRecord, TaskState};

/// Tasks a page.
pub const PAGE: usize = 50;

const STATES: &[&str] = &[
    "pending", "received", "started", "retry", "success", "failure", "revoked", "expired",
    "skipped",
];

fn bad(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("invalid_parameter", format!("{field}: {why}"))
}

fn search_form(p: &HashMap<String, String>) -> String {
    let v = |k: &str| esc(p.get(k).map(String::as_str).unwrap_or(""));
    let mut states = String::from("<option value=\"\">any state</option>");
    for s in STATES {
        let sel = if p.get("state").map(String::as_str) == Some(s) {
            " selected"
        } else {
            ""
        };
        states.push_str(&format!("<option{sel}>{s}</option>"));
    }
    format!(
        "<form id=\"search\" method=\"get\" action=\"/ui/tasks\">\
         <label for=\"f-id\">Task id</label><input id=\"f-id\" name=\"id\" placeholder=\"task id\" value=\"{}\">\
         <label for=\"f-task\">Name</label><input id=\"f-task\" name=\"task\" placeholder=\"task name\" value=\"{}\">\
         <label for=\"f-state\">State</label><select id=\"f-state\" name=\"state\">{states}</select>\
         <label for=\"f-queue\">Queue</label><input id=\"f-queue\" name=\"queue\" placeholder=\"queue\" value=\"{}\">\
         <label for=\"f-since\">Since</label><input id=\"f-since\" name=\"since\" placeholder=\"1h, or RFC 3339\" value=\"{}\">\
         <button>Search</button></form>",
        v("id"),
        v("task"),
        v("queue"),
        v("since")
    )
}

/// The enqueue form (admin tokens only): task name (the manifest's names offered), labelled args
/// and kwargs boxes (JSON), queue; the script posts it to `/v1/tasks` and opens the new task.
fn enqueue_form(names: &[String]) -> String {
    let options: String = names
        .iter()
        .map(|n| format!("<option value=\"{}\">", esc(n)))
        .collect();
    format!(
        "<details id=\"enqueue-box\" data-keep><summary>Enqueue a task</summary>\
         <form id=\"enqueue\" method=\"post\" data-post-form=\"/v1/tasks\" data-follow=\"/ui/tasks/\">\
         <label for=\"e-task\">Task</label><input id=\"e-task\" name=\"task\" list=\"e-names\" required data-keep>\
         <datalist id=\"e-names\">{options}</datalist>\
         <label for=\"e-args\">args (JSON array)</label>\
         <textarea id=\"e-args\" name=\"args\" rows=\"2\" placeholder=\"[1, 2]\" data-json data-keep></textarea>\
         <label for=\"e-kwargs\">kwargs (JSON object)</label>\
         <textarea id=\"e-kwargs\" name=\"kwargs\" rows=\"2\" placeholder=\"{{}}\" data-json data-keep></textarea>\
         <label for=\"e-queue\">Queue</label><input id=\"e-queue\" name=\"queue\" placeholder=\"the task's route\" data-keep>\
         <button>Enqueue</button></form></details>"
    )
}

fn state_cell(s: TaskState) -> String {
    format!("<span class=\"state {0}\">{0}</span>", s.as_str())
}

pub async fn list(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Query(p): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let given = |k: &str| p.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    if let Some(id) = given("id") {
        return Ok(Redirect::to(&format!("/ui/tasks/{}", url(id))).into_response());
    }
    let after = given("after")
        .map(RecordCursor::parse)
        .transpose()
        .map_err(|e| bad("after", e))?;
    let filter = RecordFilter {
        state: given("state")
            .map(|s| {
                TaskState::parse(s).ok_or_else(|| bad("state", format!("unknown state {s:?}")))
            })
            .transpose()?,
        name: given("task").map(String::from),
        queue: given("queue").map(String::from),
        since: given("since")
            .map(parse_since)
            .transpose()
            .map_err(|e| bad("since", e))?,
        limit: PAGE,
        after: after.clone(),
    };
    let (records, next) = results::page(&state.adapters, &filter).await?;
    let admin = scope == Scope::Admin;
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let mut row = vec![
                format!("<a href=\"/ui/tasks/{}\">{}</a>", url(&r.id), esc(&r.id)),
                esc(&r.name),
                esc(&r.queue),
                state_cell(r.state),
                r.attempt.to_string(),
                esc(&time(r.updated_at)),
            ];
            if admin {
                row.insert(0, pick(&r.id));
            }
            row
        })
        .collect();
    let mut query: Vec<String> = p
        .iter()
        .filter(|(k, v)| *k != "after" && *k != "page" && !v.is_empty())
        .map(|(k, v)| format!("{}={}", url(k), url(v)))
        .collect();
    query.sort();
    let link = |after: Option<&RecordCursor>, label: &str, id: &str| {
        let mut q = query.clone();
        if let Some(c) = after {
            q.push(format!("after={}", url(&c.to_string())));
        }
        format!(
            "<a id=\"{id}\" href=\"/ui/tasks?{}\">{label}</a>",
            esc(&q.join("&"))
        )
    };
    let mut pager = String::from("<p class=\"pager\">");
    pager.push_str(if after.is_some() {
        "older records"
    } else {
        "newest records"
    });
    if after.is_some() {
        pager.push(' ');
        pager.push_str(&link(None, "↑ newest", "newest"));
    }
    if let Some(c) = &next {
        pager.push(' ');
        pager.push_str(&link(Some(c), "older →", "older"));
    }
    pager.push_str("</p>");
    let enqueue = if admin {
        let names: Vec<String> = state
            .manifest
            .as_deref()
            .map(|m| m.manifest.tasks.keys().cloned().collect())
            .unwrap_or_default();
        enqueue_form(&names)
    } else {
        String::new()
    };
    let mut head = vec!["id", "task", "queue", "state", "attempt", "updated (UTC)"];
    let mut bulk = String::new();
    if admin {
        head.insert(0, PICK_ALL);
        if !rows.is_empty() {
            bulk = bulk_bar(&[
                ("retry", "Retry", "Enqueue the selected failed tasks again?"),
                ("revoke", "Revoke", "Revoke the selected tasks?"),
                (
                    "terminate",
                    "Terminate",
                    "Revoke the selected tasks and stop those running (TERM, then KILL)?",
                ),
                (
                    "delete",
                    "Delete records",
                    "Delete the records of the selected finished tasks?",
                ),
            ]);
        }
    }
    let body = format!(
        "<h1>Tasks</h1>{enqueue}{}{bulk}{}{pager}",
        search_form(&p),
        listing(
            "tasks",
            &head,
            &rows,
            if filter.state.is_none()
                && filter.name.is_none()
                && filter.queue.is_none()
                && filter.since.is_none()
            {
                "No tasks yet: a task's record (its state, result or error) appears here once a \
                 worker takes it. Enqueue one: <code>stem enqueue NAME --args '[1, 2]'</code>, and run \
                 a worker: <code>stem worker</code>."
            } else {
                "No task matches this search: clear a field, or widen <b>since</b>."
            }
        )
    );
    Ok(page("Tasks", "/ui/tasks", &body).into_response())
}

fn progress(r: &TaskRecord) -> String {
    let Some(p) = &r.progress else {
        return String::new();
    };
    let (cur, total) = (p["current"].as_f64(), p["total"].as_f64());
    let bar = match (cur, total) {
        (Some(c), Some(t)) if t > 0.0 => format!(
            "<progress id=\"progress\" max=\"{t}\" value=\"{c}\"></progress> {:.0}%",
            c / t * 100.0
        ),
        _ => String::new(),
    };
    format!("<h2>Progress</h2>{bar}<pre>{}</pre>", json(p))
}

pub async fn show(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let Some(r) = results::get(&state.adapters, &id).await? else {
        let body = format!(
            "<h1>Task {}</h1><p class=\"none\">No record of this task (not yet received by a worker, or expired).</p>",
            esc(&id)
        );
        return Ok(page("Task", "/ui/tasks", &body));
    };
    let mut facts = vec![
        ("task", esc(&r.name)),
        ("queue", esc(&r.queue)),
        ("state", state_cell(r.state)),
        ("attempt", r.attempt.to_string()),
        ("worker", esc(r.worker.as_deref().unwrap_or("—"))),
        ("created", esc(&time(r.created_at))),
    ];
    if let Some(s) = r.started_at {
        facts.push(("started", esc(&time(s))));
        facts.push(("queue wait", dur(s - r.created_at)));
    }
    if let Some(f) = r.finished_at {
        facts.push(("finished", esc(&time(f))));
        if let Some(s) = r.started_at {
            facts.push(("run time", dur(f - s)));
        }
    }
    let facts: String = facts
        .iter()
        .map(|(k, v)| format!("<dt>{k}</dt><dd>{v}</dd>"))
        .collect();
    let mut body = format!(
        "<h1>Task <code id=\"task-id\">{}</code></h1><dl class=\"facts\">{facts}</dl>",
        esc(&r.id)
    );
    let admin = scope == Scope::Admin;
    if admin && r.state == TaskState::Failure {
        let path = format!("/v1/tasks/{}/retry", url(&r.id));
        body.push_str(&format!(
            "<p>{} <small>enqueues this task again (same name, arguments and queue) under a new id</small></p>",
            action_then("Retry", &path, "/ui/tasks/")
        ));
    }
    if admin && !r.state.is_terminal() {
        let path = format!("/v1/tasks/{}/revoke", url(&r.id));
        body.push_str(&format!(
            "<p>{} {}</p>",
            action("Revoke", &path, "{}", Some("Revoke this task?")),
            action(
                "Terminate",
                &path,
                "{\"terminate\":true}",
                Some("Terminate this task (TERM, then KILL its process group)?")
            )
        ));
    }
    body.push_str(&format!(
        "<h2>Arguments</h2><h3>args</h3><pre id=\"args\">{}</pre><h3>kwargs</h3><pre id=\"kwargs\">{}</pre>",
        json(&r.args),
        json(&r.kwargs)
    ));
    body.push_str(&progress(&r));
    if let Some(v) = &r.result {
        body.push_str(&format!(
            "<h2>Result</h2><pre id=\"result\">{}</pre>",
            json(v)
        ));
    }
    if let Some(e) = &r.error {
        body.push_str(&format!(
            "<h2>Error</h2><p id=\"error\"><b>{}</b>: {}</p><pre id=\"traceback\">{}</pre>",
            esc(&e.kind),
            esc(&e.message),
            esc(&e.traceback)
        ));
    }
    if !r.errors.is_empty() {
        let rows: Vec<Vec<String>> = r
            .errors
            .iter()
            .enumerate()
            .map(|(i, e)| {
                vec![
                    (i + 1).to_string(),
                    esc(&e.kind),
                    esc(&e.message),
                    format!(
                        "<details><summary>traceback</summary><pre>{}</pre></details>",
                        esc(&e.traceback)
                    ),
                ]
            })
            .collect();
        body.push_str("<h2>Attempts</h2>");
        body.push_str(&table(
            "attempts",
            &["attempt", "error", "message", ""],
            &rows,
        ));
    }
    if let Some(s) = &r.stderr {
        body.push_str(&format!(
            "<h2>stderr</h2><pre id=\"stderr\">{}</pre>",
            esc(s)
        ));
    }
    Ok(page(&format!("Task {}", r.id), "/ui/tasks", &body))
}
