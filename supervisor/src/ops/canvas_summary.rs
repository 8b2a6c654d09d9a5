//! What `stem canvas show` sums up: how many nodes succeeded, failed, are still to run, were
//! skipped or revoked; and which nodes' failures an `on_complete` chord absorbs (every node of
//! its header, at any depth: their failures go to its callback, not to the canvas).

use super::canvas::NodeView;
use serde::Serialize;
use std::collections::HashSet;
use stem_protocol::canvas::{child, Node};

/// Node counts by outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub succeeded: usize,
    /// Failed or expired.
    pub failed: usize,
    /// Not finished: pending, received, started or waiting for a retry.
    pub pending: usize,
    pub skipped: usize,
    pub revoked: usize,
}

impl Summary {
    pub fn of(nodes: &[NodeView]) -> Summary {
        let mut s = Summary::default();
        for n in nodes {
            match n.state.as_str() {
                "success" => s.succeeded += 1,
                "failure" | "expired" => s.failed += 1,
                "skipped" => s.skipped += 1,
                "revoked" => s.revoked += 1,
                _ => s.pending += 1,
            }
        }
        s
    }

    /// `3 succeeded, 1 failed, 2 pending` (skipped and revoked when there are any).
    pub fn line(&self) -> String {
        let mut parts = vec![
            format!("{} succeeded", self.succeeded),
            format!("{} failed", self.failed),
            format!("{} pending", self.pending),
        ];
        if self.skipped > 0 {
            parts.push(format!("{} skipped", self.skipped));
        }
        if self.revoked > 0 {
            parts.push(format!("{} revoked", self.revoked));
        }
        parts.join(", ")
    }
}

/// The task paths (as in task ids) inside the header of an `on_complete` chord.
pub fn absorbed(node: &Node, path: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    walk(node, path, false, &mut out);
    out
}

fn walk(node: &Node, path: &str, inside: bool, out: &mut HashSet<String>) {
    match node {
        Node::Task(_) => {
            if inside {
                out.insert(path.to_string());
            }
        }
        Node::Chain(nodes) | Node::Group(nodes) => {
            for (i, n) in nodes.iter().enumerate() {
                walk(n, &child(path, i), inside, out);
            }
        }
        Node::Chord {
            header,
            body,
            complete,
        } => {
            for (i, n) in header.iter().enumerate() {
                walk(n, &child(path, i), inside || *complete, out);
            }
            walk(body, &format!("{path}b"), inside, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_on_complete_header_absorbs_its_failures_and_its_callback_does_not() {
        let doc = json!({"chain": [{"task": "a"}, {"chord": {"header": [{"task": "b"},
            {"chain": [{"task": "c"}, {"task": "d"}]}], "on_complete": {"task": "report"}}}]});
        let node = stem_protocol::canvas::parse(&doc).unwrap();
        let mut got: Vec<_> = absorbed(&node, "").into_iter().collect();
        got.sort();
        assert_eq!(got, vec!["1.0", "1.1.0", "1.1.1"]);
    }

    #[test]
    fn the_summary_line() {
        let view = |state: &str| NodeView {
            path: String::new(),
            task: "t".into(),
            task_id: "x".into(),
            state: state.into(),
            error: None,
        };
        let nodes: Vec<_> = [
            "success", "failure", "expired", "started", "pending", "skipped",
        ]
        .iter()
        .map(|s| view(s))
        .collect();
        assert_eq!(
            Summary::of(&nodes).line(),
            "1 succeeded, 2 failed, 2 pending, 1 skipped"
        );
    }
}
