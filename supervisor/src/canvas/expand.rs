//! From canvas nodes to the envelopes to publish: a signature becomes one task (the input, a
//! parent's result, prepended to its arguments unless it is immutable); a chain publishes its
//! first node, carrying the rest as steps; a group publishes every member, each carrying a join
//! step; a chord is its header as a group followed by its body. Task ids come from the node's
//! path in the document, so `stem canvas show` can find every node's record.

use crate::telemetry::ids;
use serde_json::Value;
use stem_protocol::canvas::{child, task_id, Continuation, Node, Signature, Step};
use stem_protocol::trace::{self, TraceParent};
use stem_protocol::TaskEnvelope;

/// Where a task name is routed by default (the manifest's queue for it).
pub type Route<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// The envelopes that start `node` (at `path`) of canvas `canvas_id` with `input`, followed by
/// `rest`.
pub fn expand(
    canvas_id: &str,
    node: &Node,
    path: &str,
    input: Option<&Value>,
    rest: &[Step],
    route: Route<'_>,
) -> Vec<TaskEnvelope> {
    let mut out = Vec::new();
    push(canvas_id, node, path, input, rest.to_vec(), route, &mut out);
    out
}

fn push(
    canvas_id: &str,
    node: &Node,
    path: &str,
    input: Option<&Value>,
    rest: Vec<Step>,
    route: Route<'_>,
    out: &mut Vec<TaskEnvelope>,
) {
    match node {
        Node::Task(sig) => out.push(envelope(
            canvas_id,
            sig,
            task_id(canvas_id, path),
            input,
            rest,
            route,
        )),
        Node::Chain(nodes) => {
            let mut steps: Vec<Step> = nodes
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, n)| Step::Run {
                    node: n.clone(),
                    path: child(path, i),
                })
                .collect();
            steps.extend(rest);
            push(
                canvas_id,
                &nodes[0],
                &child(path, 0),
                input,
                steps,
                route,
                out,
            );
        }
        Node::Group(members) => {
            let g = Group {
                members,
                path,
                outcomes: false,
            };
            group(canvas_id, g, input, rest, route, out)
        }
        Node::Chord {
            header,
            body,
            complete,
        } => {
            let mut steps = vec![Step::Run {
                node: (**body).clone(),
                path: format!("{path}b"),
            }];
            steps.extend(rest);
            let g = Group {
                members: header,
                path,
                outcomes: *complete,
            };
            group(canvas_id, g, input, steps, route, out);
        }
    }
}

/// A group's members at `path`; `outcomes`: an `on_complete` chord's (members join with their
/// outcomes, failures included).
struct Group<'a> {
    members: &'a [Node],
    path: &'a str,
    outcomes: bool,
}

fn group(
    canvas_id: &str,
    g: Group<'_>,
    input: Option<&Value>,
    rest: Vec<Step>,
    route: Route<'_>,
    out: &mut Vec<TaskEnvelope>,
) {
    let (members, path) = (g.members, g.path);
    let group_id = stem_protocol::canvas::group_id(canvas_id, path);
    let size = members.len() as u32;
    for (i, m) in members.iter().enumerate() {
        let mut steps = vec![Step::Join {
            group_id: group_id.clone(),
            index: i as u32,
            size,
            outcomes: g.outcomes,
        }];
        steps.extend(rest.iter().cloned());
        push(canvas_id, m, &child(path, i), input, steps, route, out);
    }
}

/// One signature's envelope: `input` prepended unless immutable, its options applied.
pub fn envelope(
    canvas_id: &str,
    sig: &Signature,
    id: String,
    input: Option<&Value>,
    steps: Vec<Step>,
    route: Route<'_>,
) -> TaskEnvelope {
    let mut env = TaskEnvelope::new(&sig.task);
    env.id = id;
    env.args = match input {
        Some(v) if !sig.immutable => std::iter::once(v.clone())
            .chain(sig.args.iter().cloned())
            .collect(),
        _ => sig.args.clone(),
    };
    env.kwargs = sig.kwargs.clone();
    let o = &sig.options;
    env.queue = o
        .queue
        .clone()
        .or_else(|| route(&sig.task))
        .unwrap_or_else(|| stem_protocol::envelope::DEFAULT_QUEUE.to_string());
    env.priority = o.priority.unwrap_or(0);
    env.max_retries = o.max_retries;
    env.headers = o.headers.clone();
    env.headers
        .insert("stem-canvas".to_string(), canvas_id.to_string());
    // Every node of a canvas in one trace: the signature's own trace context, else one worked
    // out from the canvas id (follow-ups published later by workers get the same).
    let own = env
        .headers
        .get(trace::HEADER)
        .and_then(|v| TraceParent::parse(v));
    if own.is_none() {
        let root = TraceParent {
            trace_id: ids::task_trace_id(canvas_id),
            parent_id: ids::attempt_span_id("canvas", canvas_id, 0),
            flags: 1,
        };
        env.headers
            .insert(trace::HEADER.to_string(), root.to_string());
    }
    if let Some(secs) = o.countdown {
        env.eta = Some(crate::ops::time::store_clock_ms() + (secs * 1000.0) as i64);
    }
    env.canvas = Some(Box::new(Continuation {
        canvas_id: canvas_id.to_string(),
        steps,
        link: sig.link.clone(),
        link_error: sig.link_error.clone(),
    }));
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stem_protocol::canvas::parse;

    fn no_route(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_chord_publishes_its_header_with_joins_then_the_body() {
        let doc = json!({"chord": {"header": [{"task": "add", "args": [1, 2]}, {"task": "add", "args": [3, 4]}], "body": {"task": "tsum"}}});
        let node = parse(&doc).unwrap();
        let envs = expand("c1", &node, "", None, &[], &no_route);
        assert_eq!(envs.len(), 2);
        assert_eq!(envs[0].id, "c1:0");
        assert_eq!(envs[1].args, vec![json!(3), json!(4)]);
        let steps = &envs[1].canvas.as_ref().unwrap().steps;
        assert!(matches!(
            &steps[0],
            Step::Join {
                index: 1,
                size: 2,
                ..
            }
        ));
        assert!(matches!(&steps[1], Step::Run { path, .. } if path == "b"));
    }

    #[test]
    fn a_chain_prepends_the_input_unless_immutable() {
        let doc = json!({"chain": [{"task": "a"}, {"task": "b", "args": [1]}, {"task": "c", "immutable": true}]});
        let Node::Chain(nodes) = parse(&doc).unwrap() else {
            panic!()
        };
        let b = expand("c", &nodes[1], "1", Some(&json!(7)), &[], &no_route);
        assert_eq!(b[0].args, vec![json!(7), json!(1)]);
        let c = expand("c", &nodes[2], "2", Some(&json!(7)), &[], &no_route);
        assert!(c[0].args.is_empty());
    }

    #[test]
    fn every_node_of_a_canvas_is_in_one_trace_unless_it_has_its_own() {
        let mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let doc = json!({"group": [{"task": "a"}, {"task": "b"},
            {"task": "c", "options": {"headers": {"traceparent": mine}}}]});
        let node = parse(&doc).unwrap();
        let envs = expand("c9", &node, "", None, &[], &no_route);
        let tp = |e: &TaskEnvelope| TraceParent::parse(&e.headers[trace::HEADER]).unwrap();
        assert_eq!(tp(&envs[0]), tp(&envs[1]));
        assert_eq!(tp(&envs[0]).trace_id, ids::task_trace_id("c9"));
        assert_eq!(envs[2].headers[trace::HEADER], mine);
    }
}
