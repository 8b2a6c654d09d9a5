//! Tests of the task-spec parsing in `specs.rs`.

use super::*;
use crate::ops::OpsErrorKind;
use serde_json::json;

fn err_of(body: &str) -> String {
    let (shape, specs) = match parse_body(body.as_bytes()) {
        Ok(parsed) => parsed,
        Err(e) => return e.to_string(),
    };
    envelopes(shape, &specs, None)
        .expect_err("invalid")
        .to_string()
}

#[test]
fn one_an_array_or_json_lines() {
    let (shape, specs) = parse_body(br#"{"task": "a"}"#).expect("one");
    assert_eq!((shape, specs.len()), (Shape::One, 1));
    let (shape, specs) = parse_body(br#"[{"task": "a"}, {"task": "b"}]"#).expect("array");
    assert_eq!((shape, specs.len()), (Shape::Many, 2));
    let lines = "{\"task\": \"a\"}\n{\"task\": \"b\", \"args\": [1]}\n";
    let (shape, specs) = parse_body(lines.as_bytes()).expect("lines");
    let envs = envelopes(shape, &specs, None).expect("valid");
    assert_eq!((shape, envs.len()), (Shape::Many, 2));
    assert_eq!(envs[1].args, vec![json!(1)]);
}

#[test]
fn every_field_becomes_the_envelope() {
    let spec = json!({"task": "t", "args": [1], "kwargs": {"k": 2}, "queue": "q",
        "countdown": "1m", "priority": 3, "max_retries": 0, "headers": {"h": "v"}, "id": "x"});
    let o = options(&spec).expect("valid");
    assert_eq!(
        (o.queue.as_deref(), o.priority, o.max_retries),
        (Some("q"), 3, Some(0))
    );
    assert_eq!(o.start, Start::After(Duration::from_secs(60)));
    assert_eq!((o.id.as_deref(), o.headers["h"].as_str()), (Some("x"), "v"));
    let at = options(&json!({"task": "t", "eta": "2026-12-01T10:00:00Z"})).expect("eta");
    assert_eq!(at.start, Start::At(1_796_119_200_000));
}

#[test]
fn errors_name_the_field_and_the_task() {
    assert_eq!(
        err_of(r#"{"task": "t", "args": {"a": 1}}"#),
        "args: expected a JSON array"
    );
    assert_eq!(
        err_of(r#"{"args": []}"#),
        "task: missing: every spec names its task"
    );
    assert_eq!(
        err_of(r#"[{"task": "t"}, {"task": "t", "priority": 12}]"#),
        "tasks[1]: priority: expected an integer from 0 to 9"
    );
    assert!(err_of(r#"{"task": "t", "colour": 1}"#).starts_with("colour: unknown field"));
    let malformed = err_of(r#"{"task": "t""#);
    assert!(
        malformed.starts_with("body: malformed JSON: EOF while parsing"),
        "{malformed}"
    );
    assert_eq!(
        err_of("[1]"),
        "tasks[0]: task spec: expected a JSON object like {\"task\": \"NAME\", \"args\": []}"
    );
    let many = format!("[{}]", vec![r#"{"task":"t"}"#; MAX_BATCH + 1].join(","));
    let err = parse_body(many.as_bytes()).expect_err("too many");
    assert_eq!(err.kind(), OpsErrorKind::BadInput);
}
