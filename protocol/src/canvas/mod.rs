//! Canvas: signatures and the shapes built from them — `chain` (each result becomes the first
//! argument of the next unless it is immutable), `group` (members in parallel; its result is the
//! list of member results in order), `chord` (a group and a body that receives that list) and
//! any nesting of them — plus the continuation a published task carries: what to do with its
//! result once it is committed.
//!
//! A canvas document is JSON: a signature `{"task": "add", "args": [1, 2]}`, or
//! `{"chain": [..]}`, `{"group": [..]}`, `{"chord": {"header": [..], "body": ..}}`.
//! [`parse`] checks one strictly and names the path of what is wrong (`chord.header[3].task`).

mod parse;

pub use parse::{parse, CanvasError};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// How a signature's task is published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Options {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// Seconds to wait before the task may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub countdown: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// One task to run: its name, arguments, options and callbacks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    pub task: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub kwargs: Map<String, Value>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub options: Options,
    /// No parent result is prepended to its arguments.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub immutable: bool,
    /// Published with this task's result when it succeeds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<Signature>,
    /// Published when this task (or, for a chord body, its chord) fails for good, with
    /// `{"task_id", "error"}` as its first argument.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_error: Vec<Signature>,
}

fn is_default(o: &Options) -> bool {
    *o == Options::default()
}

/// A node of a canvas. `path` names it in the document (`0`, `1.2`, ...) and gives the ids of
/// its tasks, so every node's task id is known from the document alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    Task(Signature),
    Chain(Vec<Node>),
    Group(Vec<Node>),
    /// A group and its body: with `complete` false, the body runs once every member
    /// succeeded, with their results; with `complete` true (`on_complete` in a document), once
    /// every member finished whatever the outcome, with their outcomes (see [`outcome`]).
    Chord {
        header: Vec<Node>,
        body: Box<Node>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        complete: bool,
    },
}

/// One step of what follows a task, applied in order to its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Run `node` (at `path` in the document) with the result as its input.
    Run { node: Node, path: String },
    /// Join the group `group_id` as member `index` of `size`; when every member has joined, the
    /// next steps apply to the list of their results, in order.
    Join {
        group_id: String,
        index: u32,
        size: u32,
        /// The group of an `on_complete` chord: a member joins when it finishes whatever the
        /// outcome, with its [`outcome`] instead of its result.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        outcomes: bool,
    },
}

/// What a member of an `on_complete` chord joins with: `{"id", "state": "success", "result"}`,
/// or `{"id", "state": "failure" | "expired", "error"}` (the task that ended the member: a
/// chain member's last node, or the node that failed it).
pub fn outcome(task_id: &str, state: &str, result: Option<&Value>, error: Option<Value>) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), Value::String(task_id.to_string()));
    o.insert("state".into(), Value::String(state.to_string()));
    if let Some(r) = result {
        o.insert("result".into(), r.clone());
    }
    if let Some(e) = error {
        o.insert("error".into(), e);
    }
    Value::Object(o)
}

/// What a published task of a canvas carries: the canvas it belongs to, its own callbacks and
/// the steps that follow it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Continuation {
    pub canvas_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<Signature>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_error: Vec<Signature>,
}

impl Node {
    /// Every signature of the node with its path, in document order.
    pub fn tasks(&self, path: &str) -> Vec<(String, &Signature)> {
        let mut out = Vec::new();
        self.walk(path, &mut out);
        out
    }

    fn walk<'a>(&'a self, path: &str, out: &mut Vec<(String, &'a Signature)>) {
        match self {
            Node::Task(s) => out.push((path.to_string(), s)),
            Node::Chain(nodes) | Node::Group(nodes) => {
                for (i, n) in nodes.iter().enumerate() {
                    n.walk(&child(path, i), out);
                }
            }
            Node::Chord { header, body, .. } => {
                for (i, n) in header.iter().enumerate() {
                    n.walk(&child(path, i), out);
                }
                body.walk(&format!("{path}b"), out);
            }
        }
    }
}

/// The path of child `i` of the node at `path`.
pub fn child(path: &str, i: usize) -> String {
    if path.is_empty() {
        i.to_string()
    } else {
        format!("{path}.{i}")
    }
}

/// The task id of the signature at `path` in canvas `canvas_id`.
pub fn task_id(canvas_id: &str, path: &str) -> String {
    if path.is_empty() {
        format!("{canvas_id}:t")
    } else {
        format!("{canvas_id}:{path}")
    }
}

/// The id of the group at `path`.
pub fn group_id(canvas_id: &str, path: &str) -> String {
    format!("{canvas_id}:g{path}")
}
