//! Workflow payloads as stored: a run's arguments, its outcome, each step's data and the events
//! emitted to waiting runs. Each is one JSON value, sealed (AES-256-GCM, bound to its kind and
//! owner: the run, the run and step index, or the event's topic) and then signed with that
//! binding inside the signed form, as configured — so a payload cannot be read without the keys,
//! edited, left unsigned, or moved to another run, step or topic. Without security configured
//! the stored form is the value's JSON.

use super::keys::Security;
use super::payloads::{open_value, seal_value};
use super::{sign_value, verify_value};
use serde_json::{json, Value};

const WF_KEY: &str = "$wf";

/// What a payload belongs to: its kind and owner (the binding checked when it is read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner<'a> {
    /// A run's arguments (and parent, headers).
    Run(&'a str),
    /// A final run's result or error.
    Outcome(&'a str),
    /// A step's data.
    Step(&'a str, u32),
    /// An event emitted on a topic (written into every step it resumes).
    Event(&'a str),
}

impl Owner<'_> {
    fn parts(&self) -> (&'static str, Vec<String>) {
        match self {
            Owner::Run(r) => ("wf-run", vec![r.to_string()]),
            Owner::Outcome(r) => ("wf-outcome", vec![r.to_string()]),
            Owner::Step(r, i) => ("wf-step", vec![r.to_string(), i.to_string()]),
            Owner::Event(t) => ("wf-event", vec![t.to_string()]),
        }
    }
}

pub(super) fn encode(sec: Option<&Security>, owner: &Owner, value: &Value) -> String {
    let Some(sec) = sec else {
        return value.to_string();
    };
    let (kind, parts) = owner.parts();
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    let stored = match &sec.sealing {
        Some(sealing) => seal_value(sealing, value, kind, &refs),
        None => value.clone(),
    };
    // Wrapped with its binding (so a step holding an event opens it with the event's), and
    // signed over the wrapper when signing is on.
    let mut wrapped = json!({ WF_KEY: {"kind": kind, "owner": parts, "value": stored} });
    if sec.signing.is_some() {
        if let Some(sig) = sign_value(sec, &wrapped) {
            wrapped["signature"] = Value::String(sig);
        }
    }
    wrapped.to_string()
}

/// The stored payload of `owner` (or of an event: a step's data may be the event that resumed
/// it), verified and opened.
pub(super) fn decode(sec: Option<&Security>, owner: &Owner, raw: &str) -> Result<Value, String> {
    let v: Value =
        serde_json::from_str(raw).map_err(|e| format!("unreadable workflow data: {e}"))?;
    let wrapped = v
        .as_object()
        .filter(|o| o.contains_key(WF_KEY) && o.keys().all(|k| k == WF_KEY || k == "signature"));
    let (stored, bound) = match (
        sec.and_then(|s| s.signing.as_ref().map(|g| (s, g))),
        wrapped,
    ) {
        (Some((sec, _)), Some(o)) => {
            verify_value(sec, &v)?;
            (o[WF_KEY]["value"].clone(), Some(&o[WF_KEY]))
        }
        (Some((_, signing)), None) if !signing.allow_unsigned => {
            return Err(
                "signature: missing (signing is required; this workflow data is unsigned)".into(),
            )
        }
        (_, Some(o)) => (o[WF_KEY]["value"].clone(), Some(&o[WF_KEY])),
        (_, None) => (v, None),
    };
    let (kind, parts) = match bound {
        Some(b) => {
            let kind = b["kind"].as_str().unwrap_or_default().to_string();
            let parts: Vec<String> = b["owner"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let (want_kind, want_parts) = owner.parts();
            let event_in_step = matches!(owner, Owner::Step(..)) && kind == "wf-event";
            if sec.is_some_and(|s| s.signing.is_some())
                && !event_in_step
                && (kind != want_kind || parts != want_parts)
            {
                return Err(format!(
                    "signature: this workflow data was signed for {kind} {parts:?}, not {want_kind} {want_parts:?}"
                ));
            }
            (kind, parts)
        }
        None => {
            let (k, p) = owner.parts();
            (k.to_string(), p)
        }
    };
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    match sec.and_then(|s| s.sealing.as_ref()) {
        Some(sealing) => open_value(sealing, &stored, &kind, &refs),
        None => open_value_unkeyed(stored),
    }
}

fn open_value_unkeyed(stored: Value) -> Result<Value, String> {
    if super::payloads::is_sealed(&stored) {
        return Err(
            "encryption: this workflow data is sealed and no STEM_ENCRYPTION_KEYS are set".into(),
        );
    }
    Ok(stored)
}
