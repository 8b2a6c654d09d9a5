//! The schedules page (every stored schedule: when, next and last fire, runs, errors; admin
//! tokens enable, disable and run one now) and the
//! canvas pages: a lookup form at `/ui/canvases` (`?id=ID` redirects) and one canvas at
//! `/ui/canvases/{id}` (its state, result and every node; an unknown id is a 404 page).

use super::html::{action, action_then, esc, json, list, page, url};
use crate::ops::{canvas, schedules, OpsError};
use crate::serve::{ApiError, AppState, Scope};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use std::collections::HashMap;

pub async fn schedules_page(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
) -> Result<Html<String>, ApiError> {
    let admin = scope == Scope::Admin;
    let stored = schedules::list(&state.adapters).await?;
    let rows: Vec<Vec<String>> = stored
        .iter()
        .map(|s| {
            let mut row = vec![
                esc(&s.id),
                esc(&s.task),
                esc(&s.when),
                if s.enabled {
                    "yes".into()
                } else {
                    "<b>no</b>".into()
                },
                esc(s.next_fire.as_deref().unwrap_or("—")),
                esc(s.last_fire.as_deref().unwrap_or("—")),
                s.run_count.to_string(),
                esc(s.last_error.as_deref().unwrap_or("")),
            ];
            if admin {
                let path = format!("/v1/schedules/{}", url(&s.id));
                let toggle = if s.enabled {
                    action(
                        "Disable",
                        &format!("{path}/disable"),
                        "{}",
                        Some(&format!(
                            "Disable schedule {}? It stops firing until enabled.",
                            s.id
                        )),
                    )
                } else {
                    action("Enable", &format!("{path}/enable"), "{}", None)
                };
                row.push(format!(
                    "{toggle} {}",
                    action_then("Run now", &format!("{path}/run"), "/ui/tasks/")
                ));
            }
            row
        })
        .collect();
    let mut head = vec![
        "id",
        "task",
        "when",
        "enabled",
        "next fire",
        "last fire",
        "runs",
        "last error",
    ];
    if admin {
        head.push("");
    }
    let body = format!(
        "<h1>Schedules</h1><p>Stored schedules, published by <code>stem beat</code> (see docs/beat.md).</p>{}",
        list(
            "schedules",
            &head,
            &rows,
            "No schedules yet: the stored schedules appear here with their next fire. Add some with \
             <code>stem schedule apply FILE</code> (<code>[schedules.NAME]</code> tables), then run \
             <code>stem beat</code>."
        )
    );
    Ok(page("Schedules", "/ui/schedules", &body))
}

fn lookup_form(id: &str) -> String {
    format!(
        "<form id=\"lookup\" method=\"get\" action=\"/ui/canvases\"><label for=\"canvas-id\">Canvas id</label>\
         <input id=\"canvas-id\" name=\"id\" placeholder=\"canvas id\" value=\"{}\"><button>Show</button></form>",
        esc(id)
    )
}

/// `/ui/canvases`: the lookup form; `?id=ID` redirects to the canvas's own page.
pub async fn canvases_page(Query(p): Query<HashMap<String, String>>) -> Response {
    if let Some(id) = p.get("id").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        return Redirect::to(&format!("/ui/canvases/{}", url(id))).into_response();
    }
    let body = format!(
        "<h1>Canvases</h1>{}<p id=\"canvases\" class=\"none empty\">No canvas shown: enter the id that \
         <code>stem canvas submit FILE</code> printed to see its state and nodes (make one with that \
         command, see docs/canvas.md).</p>",
        lookup_form("")
    );
    page("Canvases", "/ui/canvases", &body).into_response()
}

/// `/ui/canvases/{id}`: one canvas, its state, result and every node; 404 when unknown.
pub async fn canvas_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = match canvas::show(&state.adapters, &id).await {
        Ok(v) => v,
        Err(OpsError::CanvasNotFound(_)) => {
            let body = format!(
                "<h1>Canvas <code id=\"canvas-id-shown\">{}</code></h1>{}<p id=\"unknown\" class=\"none\">\
                 Unknown canvas: no canvas has this id (its records may have expired).</p>",
                esc(&id),
                lookup_form(&id)
            );
            let html = page("Unknown canvas", "/ui/canvases", &body);
            return Ok((StatusCode::NOT_FOUND, html).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let rows: Vec<Vec<String>> = view
        .nodes
        .iter()
        .map(|n| {
            vec![
                esc(&n.path),
                esc(&n.task),
                format!(
                    "<a href=\"/ui/tasks/{}\">{}</a>",
                    url(&n.task_id),
                    esc(&n.task_id)
                ),
                format!("<span class=\"state {0}\">{0}</span>", esc(&n.state)),
                esc(n.error.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    let body = format!(
        "<h1>Canvas <code id=\"canvas-id-shown\">{}</code> <span class=\"state {st}\">{st}</span></h1>{}<p id=\"canvas-summary\">{}</p>{}{}",
        esc(&view.id),
        lookup_form(&view.id),
        esc(&view.summary.line()),
        view.result
            .as_ref()
            .map(|r| format!("<h2>Result</h2><pre id=\"canvas-result\">{}</pre>", json(r)))
            .unwrap_or_default(),
        list(
            "nodes",
            &["node", "task", "task id", "state", "error"],
            &rows,
            "This canvas has no nodes."
        ),
        st = esc(&view.state),
    );
    Ok(page(&format!("Canvas {}", view.id), "/ui/canvases", &body).into_response())
}
