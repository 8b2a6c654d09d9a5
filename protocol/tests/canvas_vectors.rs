//! Replays `protocol/vectors/canvas.jsonl`: every `doc` (the document the SDK builders must
//! produce) parses with [`stem_protocol::canvas::parse`] and serializes back to the same JSON
//! value; every `invalid` document is refused with an error naming exactly its `error` path.

use serde_json::{json, Value};
use stem_protocol::canvas::{parse, Node};

/// A node back to its document (a signature serializes as itself; shapes wrap their nodes).
fn document(node: &Node) -> Value {
    match node {
        Node::Task(sig) => serde_json::to_value(sig).unwrap(),
        Node::Chain(nodes) => json!({ "chain": nodes.iter().map(document).collect::<Vec<_>>() }),
        Node::Group(nodes) => json!({ "group": nodes.iter().map(document).collect::<Vec<_>>() }),
        Node::Chord {
            header,
            body,
            complete,
        } => {
            let key = if *complete { "on_complete" } else { "body" };
            json!({ "chord": {
                "header": header.iter().map(document).collect::<Vec<_>>(),
                key: document(body),
            }})
        }
    }
}

#[test]
fn canvas_vectors_parse_round_trip_and_refuse_with_their_path() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/canvas.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let (mut docs, mut invalid) = (0, 0);
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = format!("{}:{}", path.display(), i + 1);
        let case: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{at}: {e}"));
        if let Some(doc) = case.get("doc") {
            assert!(
                case["build"].is_string(),
                "{at}: a doc case says how it is built"
            );
            let node = parse(doc).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(&document(&node), doc, "{at}: round trip");
            docs += 1;
        } else if let Some(doc) = case.get("invalid") {
            let want = case["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{at}: no error"));
            let err = parse(doc).expect_err(&at);
            assert_eq!(err.path, want, "{at}: {err}");
            assert!(err.to_string().starts_with(&format!("{want}: ")), "{at}");
            assert!(!err.to_string().contains('\n'), "{at}: one line");
            invalid += 1;
        } else {
            panic!("{at}: neither doc nor invalid");
        }
    }
    assert!(
        docs >= 10 && invalid >= 10,
        "{docs} docs, {invalid} invalid"
    );
}

/// PROTOCOL.md documents a step's node in serde's externally tagged form, not the document's.
#[test]
fn a_step_carries_its_node_externally_tagged() {
    let node = parse(&json!({"chain": [{"task": "tsum"}]})).unwrap();
    let step = stem_protocol::canvas::Step::Run {
        node,
        path: "b".into(),
    };
    assert_eq!(
        serde_json::to_value(&step).unwrap(),
        json!({"run": {"node": {"chain": [{"task": {"task": "tsum"}}]}, "path": "b"}})
    );
}
