//! Sealed event data, dead-letter errors, group results, schedules and envelope follow-ups:
//! they round trip with the key, hold no plaintext, and fail to open when moved elsewhere.

use super::*;
use crate::codec::keys::Security;
use crate::codec::secure::{open_envelope, protect_envelope};
use crate::TaskEvent;
use base64::Engine;
use serde_json::json;
use stem_protocol::schedule::{Schedule, Spec};
use stem_protocol::TaskEnvelope;

fn aes() -> Security {
    let key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let vars = [("STEM_ENCRYPTION_KEYS", format!("e1:{key}"))];
    Security::from_vars(&|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .expect("valid settings")
}

#[test]
fn event_data_is_sealed_and_bound_to_its_task_and_kind() {
    let sec = aes();
    let event = TaskEvent {
        kind: "progress".into(),
        task_id: "t1".into(),
        name: "n".into(),
        queue: "q".into(),
        worker: "w".into(),
        at: 1,
        data: json!({"secret": "MARKER"}),
        sealed: None,
    };
    let sealed = seal_event(Some(&sec), &event);
    assert!(sealed.data.is_null());
    assert!(!serde_json::to_string(&sealed).unwrap().contains("MARKER"));
    assert_eq!(open_event(Some(&sec), sealed.clone()), event);
    let moved = TaskEvent {
        task_id: "t2".into(),
        ..sealed.clone()
    };
    assert!(
        open_event(Some(&sec), moved).sealed.is_some(),
        "left sealed"
    );
    assert!(
        open_event(None, sealed).data.is_null(),
        "no key: stays sealed"
    );
}

#[test]
fn member_results_round_trip_and_refuse_another_slot() {
    let sec = aes();
    let raw = encode_member(Some(&sec), "g1", 2, &json!("MARKER"));
    assert!(!raw.contains("MARKER"));
    assert_eq!(
        decode_member(Some(&sec), "g1", 2, &raw).unwrap(),
        json!("MARKER")
    );
    assert!(decode_member(Some(&sec), "g1", 3, &raw).is_err());
    assert!(decode_member(None, "g1", 2, &raw).is_err());
}

#[test]
fn schedule_arguments_are_sealed() {
    let sec = aes();
    let mut s = Schedule::new("s1", "t", Spec::At { at: 0 });
    s.args = vec![json!("MARKER")];
    let stored = encode_schedule(Some(&sec), &s);
    assert!(!serde_json::to_string(&stored).unwrap().contains("MARKER"));
    assert_eq!(decode_schedule(Some(&sec), stored), s);
}

#[test]
fn follow_ups_ride_sealed_with_the_arguments() {
    let sec = aes();
    let mut env = TaskEnvelope::new("t");
    env.canvas = Some(
        serde_json::from_value(json!({"canvas_id": "c1", "steps": [
            {"run": {"node": {"task": {"task": "next", "args": ["MARKER"]}}, "path": "1"}}
        ]}))
        .expect("a continuation"),
    );
    let stored = protect_envelope(&sec, &env);
    assert!(stored.canvas.is_none());
    assert!(!stored.to_json().contains("MARKER"));
    assert_eq!(open_envelope(&sec, stored).unwrap().canvas, env.canvas);
    let mut plain = env.clone();
    plain.sealed = None;
    assert!(
        open_envelope(&sec, plain).is_err(),
        "an unsealed follow-up is refused"
    );
}
