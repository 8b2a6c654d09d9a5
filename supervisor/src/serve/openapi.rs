//! The OpenAPI document of this API, checked in at `docs/openapi.json` and served at
//! `/v1/openapi.json` (an end-to-end test compares the two and calls every documented path). A
//! server with a manifest says which names it takes: the document it serves lists the
//! manifest's tasks as the `enum` of `TaskSpec.task` and its workflows as the `enum` of the
//! start route's `{name}`, so a client (or a fuzzer) knows an unknown name is refused. A server
//! without tokens (loopback only) serves it with no security requirement: none is asked.

use super::AppState;
use crate::manifest::LoadedManifest;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::Value;
use std::sync::OnceLock;

pub const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

/// The path whose `{name}` is a workflow's.
const START: &str = "/v1/workflows/{name}/runs";

pub async fn document(State(state): State<AppState>) -> impl IntoResponse {
    static SERVED: OnceLock<String> = OnceLock::new();
    let text = SERVED.get_or_init(|| served(state.manifest.as_deref(), !state.tokens.is_empty()));
    ([(header::CONTENT_TYPE, "application/json")], text.clone())
}

/// The checked-in document, with the manifest's names when there is one, and no security
/// requirement without `tokens`.
pub fn served(manifest: Option<&LoadedManifest>, tokens: bool) -> String {
    if manifest.is_none() && tokens {
        return DOCUMENT.to_string();
    }
    let mut doc: Value = serde_json::from_str(DOCUMENT).expect("docs/openapi.json is JSON");
    if !tokens {
        doc["security"] = Value::Array(Vec::new());
    }
    let Some(m) = manifest else {
        return doc.to_string();
    };
    let tasks: Vec<Value> = m.manifest.tasks.keys().cloned().map(Value::from).collect();
    let flows: Vec<Value> = m
        .manifest
        .workflows
        .keys()
        .cloned()
        .map(Value::from)
        .collect();
    if let Some(task) = doc.pointer_mut("/components/schemas/TaskSpec/properties/task") {
        task["enum"] = Value::Array(tasks);
    }
    let params = doc
        .pointer_mut("/paths")
        .and_then(|p| p.get_mut(START))
        .and_then(|p| p.pointer_mut("/post/parameters"))
        .and_then(Value::as_array_mut);
    // With no workflows every start is a 404 (unknown_workflow), which the document lists.
    for p in params.into_iter().flatten().filter(|_| !flows.is_empty()) {
        if p["name"] == "name" {
            p["schema"]["enum"] = Value::Array(flows.clone());
        }
    }
    doc.to_string()
}
