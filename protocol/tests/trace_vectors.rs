//! Replays `protocol/vectors/traceparent.json`: each case parses (or is refused) as it says.

use serde_json::Value;
use stem_protocol::trace::TraceParent;

#[test]
fn every_traceparent_case_parses_as_the_vector_says() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/traceparent.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let value = case["value"].as_str().unwrap();
        let got = TraceParent::parse(value);
        assert_eq!(got.is_some(), case["valid"] == true, "{value:?}");
        if let Some(t) = got {
            assert_eq!(t.trace_id_hex(), case["trace_id"], "{value:?}");
            assert_eq!(t.parent_id_hex(), case["parent_id"], "{value:?}");
            assert_eq!(Value::Bool(t.sampled()), case["sampled"], "{value:?}");
        }
    }
}
