//! Replays every transcript in `protocol/vectors/`: each line must parse into the typed
//! message for its direction and serialize back to the same JSON value.

use serde_json::Value;
use stem_protocol::{ChildMessage, SupervisorMessage};

#[test]
fn every_vector_line_roundtrips_through_the_rust_types() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        // canvas.jsonl holds canvas documents (tests/canvas_vectors.rs) and signing.jsonl
        // signing cases (adapters/tests/signing_vectors.rs): not transcripts.
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl")
            || matches!(
                path.file_stem().and_then(|s| s.to_str()),
                Some("canvas" | "signing")
            )
        {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let mut saw_hello_first = false;
        for (i, line) in text.lines().enumerate() {
            let where_ = format!("{}:{}", path.display(), i + 1);
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{where_}: {e}"));
            if let Some(msg) = v.get("to_child") {
                let typed: SupervisorMessage =
                    serde_json::from_value(msg.clone()).unwrap_or_else(|e| panic!("{where_}: {e}"));
                assert_eq!(&serde_json::to_value(&typed).unwrap(), msg, "{where_}");
            } else if let Some(msg) = v.get("from_child") {
                let typed: ChildMessage =
                    serde_json::from_value(msg.clone()).unwrap_or_else(|e| panic!("{where_}: {e}"));
                if i == 0 {
                    saw_hello_first = matches!(typed, ChildMessage::Hello { .. });
                }
                assert_eq!(&serde_json::to_value(&typed).unwrap(), msg, "{where_}");
            } else {
                panic!("{where_}: neither to_child nor from_child");
            }
        }
        assert!(saw_hello_first, "{}: must open with hello", path.display());
    }
    assert!(files >= 8, "expected the vector files, found {files}");
}
