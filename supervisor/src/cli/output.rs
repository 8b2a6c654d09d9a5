//! Printing task records for people (and as JSON for programs).

use serde_json::{json, Value};
use stem_protocol::{TaskRecord, TaskState};

/// The `--json` form: the record with `id`, `state` and `result` or `error` on top.
pub fn record_json(record: &TaskRecord) -> Value {
    serde_json::to_value(record).unwrap_or(Value::Null)
}

/// The form for an id with no record yet.
pub fn pending_json(id: &str) -> Value {
    json!({"id": id, "state": "pending"})
}

pub fn print_record(record: &TaskRecord) {
    let took = match (record.started_at, record.finished_at) {
        (Some(s), Some(f)) => format!(", {} ms", f - s),
        _ => String::new(),
    };
    println!(
        "{}  {}  {}  (attempt {}{took})",
        record.id, record.name, record.state, record.attempt
    );
    if let Some(p) = &record.progress {
        if !record.state.is_terminal() {
            println!("progress: {p}");
        }
    }
    match record.state {
        TaskState::Success => println!(
            "result: {}",
            record
                .result
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_else(|| "null".into())
        ),
        _ => {
            if let Some(e) = &record.error {
                println!("error: {}: {}", e.kind, e.message);
                if !e.traceback.trim().is_empty() {
                    println!("traceback:");
                    for line in e.traceback.trim_end().lines() {
                        println!("  {line}");
                    }
                }
            }
            if record.errors.len() > 1 {
                println!("earlier attempts:");
                for (i, e) in record.errors.iter().enumerate() {
                    println!("  attempt {}: {}: {}", i + 1, e.kind, e.message);
                }
            }
        }
    }
}
