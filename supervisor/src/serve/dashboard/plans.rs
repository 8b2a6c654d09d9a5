//! The schedules page (every stored schedule: when, next and last fire, runs, errors) and the
//! canvases page (a canvas looked up by id: its state, result and every node).

use super::html::{esc, json, page, table, url};
use crate::ops::{canvas, schedules};
use crate::serve::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::response::Html;
use std::collections::HashMap;

pub async fn schedules_page(State(state): State<AppState>) -> Result<Html<String>, ApiError> {
    let list = schedules::list(&state.adapters).await?;
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|s| {
            vec![
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
            ]
        })
        .collect();
    let body = format!(
        "<h1>Schedules</h1><p>Stored schedules, published by <code>stem beat</code> (see docs/beat.md).</p>{}",
        table(
            "schedules",
            &["id", "task", "when", "enabled", "next fire", "last fire", "runs", "last error"],
            &rows
        )
    );
    Ok(page("Schedules", "/ui/schedules", &body))
}

pub async fn canvases_page(
    State(state): State<AppState>,
    Query(p): Query<HashMap<String, String>>,
) -> Result<Html<String>, ApiError> {
    let id = p.get("id").map(|s| s.trim()).filter(|s| !s.is_empty());
    let mut body = format!(
        "<h1>Canvases</h1><form method=\"get\"><input name=\"id\" placeholder=\"canvas id\" value=\"{}\">\
         <button>Show</button></form>",
        esc(id.unwrap_or(""))
    );
    if let Some(id) = id {
        let view = canvas::show(&state.adapters, id).await?;
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
        body.push_str(&format!(
            "<h2>{} <span class=\"state {}\">{}</span></h2>{}{}",
            esc(&view.id),
            esc(&view.state),
            esc(&view.state),
            view.result
                .as_ref()
                .map(|r| format!("<pre id=\"canvas-result\">{}</pre>", json(r)))
                .unwrap_or_default(),
            table(
                "nodes",
                &["node", "task", "task id", "state", "error"],
                &rows
            )
        ));
    }
    Ok(page("Canvases", "/ui/canvases", &body))
}
