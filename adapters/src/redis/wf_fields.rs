//! How workflow runs, journal steps and waiters are laid out as Redis hash fields and script
//! arguments, and read back from the scripts' replies. Every value is a string: numbers in
//! decimal (never through a float), an absent field is `None`. An optional script argument is
//! `-` (none) or `+` followed by the value (`lua/wf_lib.lua`, `opt`).

use crate::workflow::{RunState, Waiter, WfRun, WfStep};
use crate::{AdapterError, Result};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::str::FromStr;
use stem_protocol::workflow::{StepKind, StepState};

/// An optional script argument.
pub(super) fn opt<T: Display>(v: Option<T>) -> String {
    match v {
        None => "-".to_string(),
        Some(v) => format!("+{v}"),
    }
}

/// A run's hash fields as name, optional value pairs.
pub(super) fn run_fields(run: &WfRun) -> Vec<(&'static str, String)> {
    vec![
        ("id", opt(Some(&run.id))),
        ("workflow", opt(Some(&run.workflow))),
        ("version", opt(Some(run.version))),
        ("queue", opt(Some(&run.queue))),
        ("state", opt(Some(run.state))),
        ("data", opt(Some(&run.data))),
        ("outcome", opt(run.outcome.as_ref())),
        ("seq", opt(Some(run.seq))),
        ("resume_id", opt(run.resume_id.as_ref())),
        ("generation", opt(Some(run.generation))),
        ("created_at", opt(Some(run.created_at))),
        ("updated_at", opt(Some(run.updated_at))),
        ("suspended_at", opt(run.suspended_at)),
        ("wake_at", opt(run.wake_at)),
        ("finished_at", opt(run.finished_at)),
    ]
}

/// A step's journal fields (each stored as `{index}:{name}`) as name, optional value pairs.
pub(super) fn step_fields(step: &WfStep) -> Vec<(&'static str, String)> {
    vec![
        ("name", opt(Some(&step.name))),
        ("kind", opt(Some(step.kind.as_str()))),
        ("state", opt(Some(step.state.as_str()))),
        ("attempt", opt(Some(step.attempt))),
        ("data", opt(step.data.as_ref())),
        ("started_at", opt(Some(step.started_at))),
        ("updated_at", opt(Some(step.updated_at))),
        ("finished_at", opt(step.finished_at)),
    ]
}

fn malformed(what: &str, id: &str, field: &str) -> AdapterError {
    AdapterError::permanent(format!(
        "redis: workflow {what} {id:?} has a missing or malformed field {field:?}"
    ))
}

/// Reads the fields of one hash (or one journal step) by name.
struct Fields<'a> {
    what: &'static str,
    id: &'a str,
    map: HashMap<&'a str, &'a str>,
}

impl<'a> Fields<'a> {
    fn text(&self, name: &str) -> Result<String> {
        self.opt_text(name)
            .ok_or_else(|| malformed(self.what, self.id, name))
    }

    fn opt_text(&self, name: &str) -> Option<String> {
        self.map.get(name).map(|v| v.to_string())
    }

    fn num<T: FromStr>(&self, name: &str) -> Result<T> {
        self.opt_num(name)?
            .ok_or_else(|| malformed(self.what, self.id, name))
    }

    fn opt_num<T: FromStr>(&self, name: &str) -> Result<Option<T>> {
        self.map
            .get(name)
            .map(|v| v.parse().map_err(|_| malformed(self.what, self.id, name)))
            .transpose()
    }

    fn parsed<T>(&self, name: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T> {
        self.map
            .get(name)
            .and_then(|v| parse(v))
            .ok_or_else(|| malformed(self.what, self.id, name))
    }
}

/// A run from its hash's fields as a flat name, value list; `None` when empty (no such run).
pub(super) fn run_from(flat: &[String]) -> Result<Option<WfRun>> {
    if flat.is_empty() {
        return Ok(None);
    }
    let map: HashMap<&str, &str> = flat
        .chunks_exact(2)
        .map(|kv| (kv[0].as_str(), kv[1].as_str()))
        .collect();
    let id = map.get("id").copied().unwrap_or("?");
    let f = Fields {
        what: "run",
        id,
        map,
    };
    Ok(Some(WfRun {
        id: f.text("id")?,
        workflow: f.text("workflow")?,
        version: f.num("version")?,
        queue: f.text("queue")?,
        state: f.parsed("state", RunState::parse)?,
        data: f.text("data")?,
        outcome: f.opt_text("outcome"),
        seq: f.num("seq")?,
        resume_id: f.opt_text("resume_id"),
        generation: f.num("generation")?,
        created_at: f.num("created_at")?,
        updated_at: f.num("updated_at")?,
        suspended_at: f.opt_num("suspended_at")?,
        wake_at: f.opt_num("wake_at")?,
        finished_at: f.opt_num("finished_at")?,
    }))
}

/// A run's journal, by index, from its hash's fields (`{index}:{name}`) as a flat list.
pub(super) fn steps_from(run: &str, flat: &[String]) -> Result<Vec<WfStep>> {
    let mut by_index: BTreeMap<u32, HashMap<&str, &str>> = BTreeMap::new();
    for kv in flat.chunks_exact(2) {
        let (index, name) = kv[0]
            .split_once(':')
            .and_then(|(i, n)| Some((i.parse::<u32>().ok()?, n)))
            .ok_or_else(|| malformed("journal of run", run, &kv[0]))?;
        by_index.entry(index).or_default().insert(name, &kv[1]);
    }
    by_index
        .into_iter()
        .map(|(index, map)| {
            let f = Fields {
                what: "journal of run",
                id: run,
                map,
            };
            Ok(WfStep {
                run: run.to_string(),
                index,
                name: f.text("name")?,
                kind: f.parsed("kind", StepKind::parse)?,
                state: f.parsed("state", StepState::parse)?,
                attempt: f.num("attempt")?,
                data: f.opt_text("data"),
                started_at: f.num("started_at")?,
                updated_at: f.num("updated_at")?,
                finished_at: f.opt_num("finished_at")?,
            })
        })
        .collect()
}

/// A waiter from a `wf_waiters.lua` row: topic, run, index, since, deadline (empty for none).
pub(super) fn waiter_from(row: &[String]) -> Result<Waiter> {
    let [topic, run, index, since, deadline] = row else {
        return Err(AdapterError::permanent(format!(
            "redis: malformed workflow waiter {row:?}"
        )));
    };
    let bad = |field: &str| malformed("waiter of run", run, field);
    Ok(Waiter {
        topic: topic.clone(),
        run: run.clone(),
        index: index.parse().map_err(|_| bad("index"))?,
        deadline: (!deadline.is_empty())
            .then(|| deadline.parse())
            .transpose()
            .map_err(|_| bad("deadline"))?,
        since: since.parse().map_err(|_| bad("since"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(pairs: &[(&str, String)]) -> Vec<String> {
        pairs
            .iter()
            .filter_map(|(k, v)| v.strip_prefix('+').map(|v| [k.to_string(), v.to_string()]))
            .flatten()
            .collect()
    }

    #[test]
    fn a_run_reads_back_as_written() {
        let run = WfRun {
            id: "r:1|x".into(),
            workflow: "order".into(),
            version: 3,
            queue: "wf".into(),
            state: RunState::TimedOut,
            data: "{}".into(),
            outcome: Some(String::new()),
            seq: 7,
            resume_id: None,
            generation: (1 << 53) + 1,
            created_at: 1_700_000_000_000,
            updated_at: 1_700_000_000_001,
            suspended_at: None,
            wake_at: Some(-5),
            finished_at: Some(1_700_000_000_002),
        };
        assert_eq!(run_from(&flat(&run_fields(&run))).unwrap(), Some(run));
        assert_eq!(run_from(&[]).unwrap(), None);
        let err = run_from(&["id".into(), "r".into()]).unwrap_err();
        assert!(err.to_string().contains("workflow"), "{err}");
    }

    #[test]
    fn a_journal_reads_back_by_index() {
        let step = |index: u32, state: StepState| WfStep {
            run: "r".into(),
            index,
            name: format!("s{index}"),
            kind: StepKind::Event,
            state,
            attempt: 2,
            data: (index != 10).then(|| "{\"a\":1}".to_string()),
            started_at: 1,
            updated_at: 2,
            finished_at: state.is_final().then_some(3),
        };
        let steps = [step(10, StepState::Waiting), step(2, StepState::Done)];
        let mut all = Vec::new();
        for s in &steps {
            let prefixed: Vec<(&str, String)> = step_fields(s).into_iter().collect();
            for pair in flat(&prefixed).chunks(2) {
                all.push(format!("{}:{}", s.index, pair[0]));
                all.push(pair[1].clone());
            }
        }
        let got = steps_from("r", &all).unwrap();
        assert_eq!(got, vec![steps[1].clone(), steps[0].clone()]);
    }

    #[test]
    fn a_waiter_row_reads_back() {
        let row = |d: &str| -> Vec<String> {
            ["t|1", "r|2", "4", "100", d]
                .iter()
                .map(|s| s.to_string())
                .collect()
        };
        let w = waiter_from(&row("")).unwrap();
        assert_eq!(
            (w.topic.as_str(), w.run.as_str(), w.index),
            ("t|1", "r|2", 4)
        );
        assert_eq!((w.since, w.deadline), (100, None));
        assert_eq!(waiter_from(&row("250")).unwrap().deadline, Some(250));
        assert!(waiter_from(&row("x")).is_err());
    }
}
