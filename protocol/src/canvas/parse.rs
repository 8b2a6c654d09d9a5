//! The strict canvas parser: a JSON document to a [`Node`], refusing anything unknown or empty
//! with the path of what is wrong (`chord.header[3].task: missing`).

use super::{Node, Options, Signature};
use serde_json::{Map, Value};

/// What is wrong with a canvas document, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CanvasError {
    pub path: String,
    pub message: String,
}

fn err(path: &str, message: impl Into<String>) -> CanvasError {
    CanvasError {
        path: if path.is_empty() {
            "canvas".into()
        } else {
            path.to_string()
        },
        message: message.into(),
    }
}

fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Parses a canvas document.
pub fn parse(doc: &Value) -> Result<Node, CanvasError> {
    node(doc, "")
}

fn node(v: &Value, path: &str) -> Result<Node, CanvasError> {
    let Value::Object(map) = v else {
        return Err(err(
            path,
            format!(
                "expected a signature ({{\"task\": ...}}), chain, group or chord, found {}",
                kind(v)
            ),
        ));
    };
    for shape in ["chain", "group", "chord"] {
        if let Some(inner) = map.get(shape) {
            if map.len() != 1 {
                let extra: Vec<&str> = map
                    .keys()
                    .map(String::as_str)
                    .filter(|k| *k != shape)
                    .collect();
                return Err(err(
                    path,
                    format!("a {shape} takes no other keys (found {})", extra.join(", ")),
                ));
            }
            let here = at(path, shape);
            return match shape {
                "chain" => Ok(Node::Chain(list(inner, &here, "chain")?)),
                "group" => Ok(Node::Group(list(inner, &here, "group")?)),
                _ => chord(inner, &here),
            };
        }
    }
    Ok(Node::Task(signature(map, path)?))
}

fn list(v: &Value, path: &str, what: &str) -> Result<Vec<Node>, CanvasError> {
    let Value::Array(items) = v else {
        return Err(err(
            path,
            format!("expected a list of nodes, found {}", kind(v)),
        ));
    };
    if items.is_empty() {
        return Err(err(path, format!("an empty {what}")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, n)| node(n, &format!("{path}[{i}]")))
        .collect()
}

fn chord(v: &Value, path: &str) -> Result<Node, CanvasError> {
    let Value::Object(map) = v else {
        return Err(err(
            path,
            format!(
                "expected {{\"header\": [...], \"body\": ...}}, found {}",
                kind(v)
            ),
        ));
    };
    if let Some(k) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "header" | "body" | "on_complete"))
    {
        return Err(err(
            &at(path, k),
            "unknown key (a chord has header and body, or header and on_complete)",
        ));
    }
    let header = map
        .get("header")
        .ok_or_else(|| err(&at(path, "header"), "missing"))?;
    // `body` runs with the members' results once all succeeded; `on_complete` with their
    // outcomes once all finished, whatever the outcomes.
    let (key, body, complete) = match (map.get("body"), map.get("on_complete")) {
        (Some(_), Some(_)) => {
            return Err(err(
                &at(path, "on_complete"),
                "a chord has a body or an on_complete callback, not both",
            ))
        }
        (Some(b), None) => ("body", b, false),
        (None, Some(c)) => ("on_complete", c, true),
        (None, None) => return Err(err(&at(path, "body"), "missing")),
    };
    Ok(Node::Chord {
        header: list(header, &at(path, "header"), "chord header")?,
        body: Box::new(node(body, &at(path, key))?),
        complete,
    })
}

const SIGNATURE_KEYS: &[&str] = &[
    "task",
    "args",
    "kwargs",
    "options",
    "immutable",
    "link",
    "link_error",
];

fn signature(map: &Map<String, Value>, path: &str) -> Result<Signature, CanvasError> {
    if let Some(k) = map.keys().find(|k| !SIGNATURE_KEYS.contains(&k.as_str())) {
        return Err(err(
            &at(path, k),
            format!(
                "unknown key (a signature has {})",
                SIGNATURE_KEYS.join(", ")
            ),
        ));
    }
    let task = match map.get("task") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_)) => return Err(err(&at(path, "task"), "empty task name")),
        Some(other) => {
            return Err(err(
                &at(path, "task"),
                format!("expected a task name, found {}", kind(other)),
            ))
        }
        None => {
            return Err(err(
                &at(path, "task"),
                "missing (a signature names its task)",
            ))
        }
    };
    let args = match map.get("args") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(other) => {
            return Err(err(
                &at(path, "args"),
                format!("expected a JSON array, found {}", kind(other)),
            ))
        }
    };
    let kwargs = match map.get("kwargs") {
        None => Map::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(other) => {
            return Err(err(
                &at(path, "kwargs"),
                format!("expected a JSON object, found {}", kind(other)),
            ))
        }
    };
    let options = match map.get("options") {
        None => Options::default(),
        Some(v) => options(v, &at(path, "options"))?,
    };
    let immutable = match map.get("immutable") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(err(
                &at(path, "immutable"),
                format!("expected true or false, found {}", kind(other)),
            ))
        }
    };
    let callbacks = |key: &str| -> Result<Vec<Signature>, CanvasError> {
        let Some(v) = map.get(key) else {
            return Ok(Vec::new());
        };
        let here = at(path, key);
        let items: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            Value::Object(_) => vec![v],
            other => {
                return Err(err(
                    &here,
                    format!(
                        "expected a signature or a list of them, found {}",
                        kind(other)
                    ),
                ))
            }
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let p = format!("{here}[{i}]");
                match s {
                    Value::Object(m) => signature(m, &p),
                    other => Err(err(
                        &p,
                        format!("expected a signature, found {}", kind(other)),
                    )),
                }
            })
            .collect()
    };
    Ok(Signature {
        task,
        args,
        kwargs,
        options,
        immutable,
        link: callbacks("link")?,
        link_error: callbacks("link_error")?,
    })
}

fn options(v: &Value, path: &str) -> Result<Options, CanvasError> {
    let Value::Object(map) = v else {
        return Err(err(
            path,
            format!("expected a JSON object, found {}", kind(v)),
        ));
    };
    let mut o = Options::default();
    for (k, v) in map {
        let here = at(path, k);
        match k.as_str() {
            "queue" => match v {
                Value::String(q) if !q.is_empty() => o.queue = Some(q.clone()),
                other => {
                    return Err(err(
                        &here,
                        format!("expected a queue name, found {}", kind(other)),
                    ))
                }
            },
            "priority" => match v.as_u64() {
                Some(p) if p <= 9 => o.priority = Some(p as u8),
                _ => return Err(err(&here, format!("expected 0 to 9, found {v}"))),
            },
            "countdown" => match v.as_f64() {
                Some(s) if s.is_finite() && (0.0..=31_536_000.0).contains(&s) => {
                    o.countdown = Some(s)
                }
                _ => {
                    return Err(err(
                        &here,
                        format!("expected seconds from 0 to a year, found {v}"),
                    ))
                }
            },
            "max_retries" => match v.as_u64() {
                Some(n) if n <= u32::MAX as u64 => o.max_retries = Some(n as u32),
                _ => return Err(err(&here, format!("expected a count, found {v}"))),
            },
            "headers" => match v {
                Value::Object(h) => {
                    for (hk, hv) in h {
                        match hv {
                            Value::String(s) => {
                                o.headers.insert(hk.clone(), s.clone());
                            }
                            other => {
                                return Err(err(
                                    &at(&here, hk),
                                    format!("expected a string, found {}", kind(other)),
                                ))
                            }
                        }
                    }
                }
                other => {
                    return Err(err(
                        &here,
                        format!("expected a JSON object, found {}", kind(other)),
                    ))
                }
            },
            _ => {
                return Err(err(
                    &here,
                    "unknown option (queue, priority, countdown, max_retries, headers)",
                ))
            }
        }
    }
    Ok(o)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_parse_and_errors_name_the_path() {
        let doc = json!({"chord": {"header": [{"task": "add", "args": [1, 2]}, {"chain": [{"task": "a"}, {"group": [{"task": "b"}]}]}], "body": {"task": "tsum", "link_error": {"task": "alert"}}}});
        let Node::Chord { header, body, .. } = parse(&doc).unwrap() else {
            panic!("a chord")
        };
        assert_eq!(header.len(), 2);
        assert!(matches!(*body, Node::Task(ref s) if s.link_error.len() == 1));
        let cases = [
            (
                json!({"chord": {"header": [{"task": "a"}, {"task": "b"}, {"task": "c"}, {"args": []}], "body": {"task": "t"}}}),
                "chord.header[3].task: missing",
            ),
            (json!({"group": []}), "group: an empty group"),
            (
                json!({"chord": {"header": [{"task": "a"}], "body": 3}}),
                "chord.body: expected a signature",
            ),
            (
                json!({"task": "a", "args": {"x": 1}}),
                "args: expected a JSON array, found an object",
            ),
            (
                json!({"task": "a", "options": {"priority": 12}}),
                "options.priority: expected 0 to 9",
            ),
            (json!({"task": "a", "colour": 1}), "colour: unknown key"),
            (json!([1]), "canvas: expected a signature"),
        ];
        for (doc, want) in cases {
            let e = parse(&doc).unwrap_err().to_string();
            assert!(e.starts_with(want), "{e:?} should start with {want:?}");
        }
    }
}
