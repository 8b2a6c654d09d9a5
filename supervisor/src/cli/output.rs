//! Printing for people, and as JSON for programs. JSON goes through `serde_json::Value`, whose
//! maps are sorted, so every object prints with its keys in alphabetical order.

use crate::ops::time::format_rfc3339;
use serde::Serialize;
use stem_protocol::{TaskRecord, TaskState};

/// Prints `value` as one line of JSON, keys sorted.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), serde_json::Error> {
    println!("{}", serde_json::to_value(value)?);
    Ok(())
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
    let times: Vec<String> = [
        ("created", Some(record.created_at)),
        ("started", record.started_at),
        ("finished", record.finished_at),
    ]
    .into_iter()
    .filter_map(|(what, at)| {
        at.filter(|t| *t > 0)
            .map(|t| format!("{what} {}", format_rfc3339(t)))
    })
    .collect();
    if !times.is_empty() {
        println!("{}", times.join(", "));
    }
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
            // `errors` holds every attempt's error, the last one being `error` (shown above).
            let earlier = earlier_errors(record);
            if !earlier.is_empty() {
                println!("earlier attempts:");
                for (i, e) in earlier.iter().enumerate() {
                    println!("  attempt {}: {}: {}", i + 1, e.kind, e.message);
                }
            }
        }
    }
}

/// The errors of the attempts before the one `record.error` tells of.
fn earlier_errors(record: &TaskRecord) -> &[stem_protocol::TaskError] {
    match (record.errors.split_last(), &record.error) {
        (Some((last, before)), Some(current)) if last == current => before,
        _ => &record.errors,
    }
}
