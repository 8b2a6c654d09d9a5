//! The workflows pages: the runs (counts by state, filtered by state and workflow, newest first
//! and paged by creation time, and the runs waiting for events) and one run (state, arguments,
//! outcome, times and the timeline of its steps; cancel, and rewind to a step, for admins).

use super::html::{action, dur, esc, json, list as listing, page, table, time, url};
use crate::ops::workflows::{self, RunView};
use crate::ops::OpsError;
use crate::serve::workflows::parse_state;
use crate::serve::{ApiError, AppState, Scope};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use stem_adapters::workflow::{RunFilter, RunState, RUN_STATES};
use stem_protocol::workflow::{JournalEntry, StepKind, StepState};

/// Runs a page.
const PAGE: usize = 50;
/// Waiters listed on the runs page.
const WAITERS: usize = 100;
/// Characters of a step's result or error shown in the timeline.
const SHORT: usize = 200;

fn state_cell(s: &str) -> String {
    format!("<span class=\"state {0}\">{0}</span>", esc(s))
}

fn run_link(id: &str) -> String {
    format!("<a href=\"/ui/workflows/{}\">{}</a>", url(id), esc(id))
}

/// `s` cut to `SHORT` characters, with an ellipsis when cut.
fn short(s: &str) -> String {
    match s.char_indices().nth(SHORT) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

fn counts_bar(counts: &std::collections::BTreeMap<String, u64>) -> String {
    let mut out = String::from("<p id=\"counts\" class=\"counts\">");
    for s in RUN_STATES {
        let n = counts.get(s.as_str()).copied().unwrap_or(0);
        let _ = write!(
            out,
            "<a href=\"/ui/workflows?state={0}\" data-state=\"{0}\">{1} <b>{n}</b></a> ",
            s.as_str(),
            state_cell(s.as_str())
        );
    }
    out.push_str("</p>");
    out
}

fn filter_form(state: Option<&str>, name: &str) -> String {
    let mut states = String::from("<option value=\"\">any state</option>");
    for s in RUN_STATES.map(|s| s.as_str()) {
        let sel = if state == Some(s) { " selected" } else { "" };
        let _ = write!(states, "<option{sel}>{s}</option>");
    }
    format!(
        "<form id=\"filter\" method=\"get\" action=\"/ui/workflows\">\
         <label for=\"f-state\">State</label><select id=\"f-state\" name=\"state\">{states}</select>\
         <label for=\"f-name\">Workflow</label><input id=\"f-name\" name=\"name\" placeholder=\"workflow\" value=\"{}\">\
         <button>Filter</button></form>",
        esc(name)
    )
}

pub async fn list(
    State(state): State<AppState>,
    Query(p): Query<HashMap<String, String>>,
) -> Result<Html<String>, ApiError> {
    let given = |k: &str| p.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let run_state = given("state").map(parse_state).transpose()?;
    let before = given("before")
        .map(|b| {
            b.parse::<i64>().map_err(|_| {
                ApiError::bad_request("invalid_parameter", "before: expected epoch milliseconds")
            })
        })
        .transpose()?;
    let filter = RunFilter {
        state: run_state,
        workflow: given("name").map(String::from),
        before,
        limit: PAGE + 1,
    };
    let runs = workflows::list(&state.adapters, &filter).await?;
    let counts = workflows::counts(&state.adapters).await?;
    let rows: Vec<Vec<String>> = runs
        .iter()
        .take(PAGE)
        .map(|r| {
            vec![
                run_link(&r.id),
                esc(&r.workflow),
                state_cell(r.state.as_str()),
                esc(&time(r.created_at)),
                esc(&time(r.updated_at)),
                r.finished_at.map(|f| esc(&time(f))).unwrap_or_default(),
                r.resumes.to_string(),
            ]
        })
        .collect();
    let mut pager = String::from("<p class=\"pager\">");
    if before.is_some() {
        pager.push_str("<a id=\"newest\" href=\"/ui/workflows\">newest</a>");
    }
    if let (true, Some(last)) = (runs.len() > PAGE, runs.get(PAGE - 1)) {
        let mut q = vec![format!("before={}", last.created_at)];
        if let Some(s) = run_state {
            q.push(format!("state={}", s.as_str()));
        }
        if let Some(n) = given("name") {
            q.push(format!("name={}", url(n)));
        }
        let _ = write!(
            pager,
            " <a id=\"older\" href=\"/ui/workflows?{}\">older →</a>",
            esc(&q.join("&"))
        );
    }
    pager.push_str("</p>");
    let waiters = workflows::waiters(&state.adapters, None, WAITERS).await?;
    let waiting: Vec<Vec<String>> = waiters
        .iter()
        .map(|w| {
            vec![
                format!("<code>{}</code>", esc(&w.topic)),
                run_link(&w.run),
                w.index.to_string(),
                w.deadline.map(|d| esc(&time(d))).unwrap_or("none".into()),
                esc(&time(w.since)),
            ]
        })
        .collect();
    let body = format!(
        "<h1>Workflows</h1>{}{}{}{pager}<h2>Waiting for events</h2>{}",
        counts_bar(&counts),
        filter_form(run_state.map(|s| s.as_str()), given("name").unwrap_or("")),
        listing(
            "runs",
            &[
                "run",
                "workflow",
                "state",
                "created (UTC)",
                "updated",
                "finished",
                "resumes"
            ],
            &rows,
            "No workflow runs here: a run of a workflow the manifest declares \
             (<code>[workflows.NAME]</code>) appears once started. Start one: \
             <code>stem wf start NAME --args '[...]'</code>."
        ),
        listing(
            "waiters",
            &["topic", "run", "step", "deadline (UTC)", "since"],
            &waiting,
            "No run waits for an event: a run suspended in <code>ctx.wait_for_event</code> \
             appears here; wake it with <code>stem wf emit TOPIC</code>."
        )
    );
    Ok(page("Workflows", "/ui/workflows", &body))
}

/// A step's outcome and what it waits for, as table cell HTML.
fn detail(s: &JournalEntry) -> String {
    let mut out = Vec::new();
    match s.kind {
        StepKind::Sleep => {
            if let Some(w) = s.wake_at {
                out.push(format!("wakes {}", esc(&time(w))));
            }
        }
        StepKind::Event => {
            if let Some(t) = &s.topic {
                out.push(format!("topic <code>{}</code>", esc(t)));
            }
            if s.timed_out {
                out.push("<b>timed out</b>".into());
            } else if let (Some(d), false) = (s.deadline, s.state.is_final()) {
                out.push(format!("until {}", esc(&time(d))));
            }
        }
        StepKind::Call => {
            if let Some(t) = &s.target {
                out.push(format!(
                    "task <a href=\"/ui/tasks/{}\">{}</a>",
                    url(t),
                    esc(t)
                ));
            }
        }
        StepKind::Child => {
            if let Some(t) = &s.target {
                out.push(format!("run {}", run_link(t)));
            }
        }
        StepKind::Step => {}
    }
    if let Some(r) = &s.result {
        let text = serde_json::to_string(r).unwrap_or_default();
        out.push(format!(
            "→ <code class=\"result\">{}</code>",
            esc(&short(&text))
        ));
    }
    if let Some(e) = &s.error {
        out.push(format!(
            "<span class=\"bad\"><b>{}</b>: {}</span>",
            esc(&e.kind),
            esc(&short(&e.message))
        ));
    }
    out.join("<br>")
}

fn timeline(view: &RunView, admin: bool) -> String {
    let rewind = format!("/v1/workflows/runs/{}/rewind", url(&view.id));
    let mut seen = HashSet::new();
    let rows: Vec<Vec<String>> = view
        .steps
        .iter()
        .flatten()
        .map(|s| {
            let took = match (s.started_at, s.finished_at) {
                (Some(a), Some(b)) => dur(b - a),
                (Some(_), None) if s.state == StepState::Running => "running".into(),
                _ => String::new(),
            };
            let mut row = vec![
                s.index.to_string(),
                esc(&s.name),
                s.kind.as_str().to_string(),
                state_cell(s.state.as_str()),
                s.attempt.to_string(),
                detail(s),
                took,
            ];
            if admin {
                // A rewind goes to the first step of the name: offer it there only.
                row.push(if seen.insert(s.name.as_str()) {
                    let body = serde_json::json!({ "to": s.name }).to_string();
                    let ask = format!(
                        "Rewind run {} to step {:?}? It and every step after it run again.",
                        view.id, s.name
                    );
                    action("Rewind here", &rewind, &body, Some(&ask))
                } else {
                    String::new()
                });
            }
            row
        })
        .collect();
    let mut head = vec!["#", "step", "kind", "state", "attempt", "detail", "took"];
    if admin {
        head.push("");
    }
    table("steps", &head, &rows)
}

fn facts(v: &RunView) -> String {
    let mut facts = vec![
        (
            "workflow",
            format!("{} (version {})", esc(&v.workflow), v.version),
        ),
        ("state", state_cell(v.state.as_str())),
        ("queue", esc(&v.queue)),
        ("resumes", v.resumes.to_string()),
        ("created", esc(&time(v.created_at))),
        ("updated", esc(&time(v.updated_at))),
    ];
    if let Some(p) = &v.parent {
        facts.push(("parent", run_link(p)));
    }
    if let Some(s) = v.suspended_at.filter(|_| v.state == RunState::Suspended) {
        facts.push(("suspended", esc(&time(s))));
    }
    if let Some(w) = v.wake_at.filter(|_| !v.state.is_final()) {
        facts.push(("wakes", esc(&time(w))));
    }
    if let Some(f) = v.finished_at {
        facts.push(("finished", esc(&time(f))));
        facts.push(("run time", dur(f - v.created_at)));
    }
    if let Some(u) = &v.unreadable {
        facts.push((
            "unreadable",
            format!("<span class=\"bad\">{}</span>", esc(u)),
        ));
    }
    let items: String = facts
        .iter()
        .map(|(k, v)| format!("<dt>{k}</dt><dd>{v}</dd>"))
        .collect();
    format!("<dl class=\"facts\" id=\"facts\">{items}</dl>")
}

pub async fn show(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = match workflows::show(&state.adapters, &id, true).await {
        Ok(v) => v,
        Err(OpsError::RunNotFound(_)) => {
            let body = format!(
                "<h1>Run <code id=\"run-id\">{}</code></h1><p class=\"none\">No such run.</p>",
                esc(&id)
            );
            let html = page("Run", "/ui/workflows", &body);
            return Ok((StatusCode::NOT_FOUND, html).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let admin = scope == Scope::Admin;
    let mut body = format!(
        "<h1>Run <code id=\"run-id\">{}</code></h1>{}",
        esc(&view.id),
        facts(&view)
    );
    if admin && !view.state.is_final() {
        let path = format!("/v1/workflows/runs/{}/cancel", url(&view.id));
        let _ = write!(
            body,
            "<p>{}</p>",
            action(
                "Cancel",
                &path,
                "{}",
                Some("Cancel this run? A step running now is stopped.")
            )
        );
    }
    let _ = write!(
        body,
        "<h2>Arguments</h2><h3>args</h3><pre id=\"args\">{}</pre><h3>kwargs</h3><pre id=\"kwargs\">{}</pre>",
        json(&view.args),
        json(&Value::Object(view.kwargs.clone()))
    );
    if let Some(r) = &view.result {
        let _ = write!(body, "<h2>Result</h2><pre id=\"result\">{}</pre>", json(r));
    }
    if let Some(e) = &view.error {
        let _ = write!(
            body,
            "<h2>Error</h2><p id=\"error\"><b>{}</b>: {}</p><pre id=\"traceback\">{}</pre>",
            esc(&e.kind),
            esc(&e.message),
            esc(&e.traceback)
        );
    }
    let _ = write!(body, "<h2>Steps</h2>{}", timeline(&view, admin));
    Ok(page(&format!("Run {}", view.id), "/ui/workflows", &body).into_response())
}
