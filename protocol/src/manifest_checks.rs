//! The checks a parsed manifest must pass before anything runs, as tables: one list of checks
//! per kind of table (`[runtimes.NAME]`, `[tasks.NAME]`, `[defaults]`). Each check returns the
//! key it blames and what is wrong; `validate` turns the first failure into a `ManifestError`
//! naming `file:line` (the key's line, else its table's). A new field's check is one more entry.
//! Checks that need the file system (does `cwd` exist?) are the supervisor's, at load.

use crate::manifest::{line_of_table, Manifest, ManifestError, Runtime, TaskSpec, SOFT_SIGNALS};
use std::time::Duration;

/// What one check found: the key to blame (its line is reported) and the message.
pub(crate) struct Problem {
    pub key: Option<&'static str>,
    pub message: String,
}

fn problem(key: &'static str, message: impl Into<String>) -> Problem {
    Problem {
        key: Some(key),
        message: message.into(),
    }
}

type Check<T> = fn(&Manifest, &T) -> Result<(), Problem>;

const RUNTIME_CHECKS: &[Check<Runtime>] = &[runtime_command, runtime_signal, runtime_pool];
const TASK_CHECKS: &[Check<TaskSpec>] = &[
    task_kind,
    task_signal,
    task_limits_positive,
    task_soft_below_hard,
    task_flow,
    task_fairness,
    task_retry_rules,
];

/// Runs every check; the first problem is the error.
pub(crate) fn validate(m: &Manifest, text: &str, file: &str) -> Result<(), ManifestError> {
    let fail = |table: &str, p: Problem| ManifestError {
        file: file.to_string(),
        line: p
            .key
            .and_then(|k| line_of_key(text, table, k))
            .or_else(|| line_of_table(text, table)),
        message: format!("{table}: {}", p.message),
    };
    if m.stem.concurrency == Some(0) {
        return Err(fail(
            "stem",
            problem("concurrency", "concurrency must be at least 1"),
        ));
    }
    let d = &m.defaults;
    for (key, value) in [
        ("soft_time_limit", d.soft_time_limit),
        ("time_limit", d.time_limit),
    ] {
        positive(key, value).map_err(|p| fail("defaults", p))?;
    }
    retry_rules(&d.retry_on, &d.no_retry_on).map_err(|p| fail("defaults", p))?;
    for (name, rt) in &m.runtimes {
        for check in RUNTIME_CHECKS {
            check(m, rt).map_err(|p| fail(&format!("runtimes.{name}"), p))?;
        }
    }
    for (name, limit) in &m.limits {
        crate::fairness::check_limit(limit)
            .map_err(|(key, message)| fail(&format!("limits.{name}"), problem(key, message)))?;
    }
    for (name, task) in &m.tasks {
        for check in TASK_CHECKS {
            check(m, task).map_err(|p| fail(&format!("tasks.{name}"), p))?;
        }
    }
    for (name, wf) in &m.workflows {
        let table = format!("workflows.{name}");
        if wf.runtime.is_none() {
            return Err(fail(
                &table,
                problem(
                    "runtime",
                    "a workflow needs `runtime` (the runtime that runs its code)",
                ),
            ));
        }
        let isolation = wf
            .runtime
            .as_ref()
            .and_then(|r| m.runtimes.get(r))
            .map(|r| r.isolation);
        if isolation == Some(crate::manifest::Isolation::Forkserver) {
            return Err(fail(&table, problem("runtime", "a workflow's runtime needs `process` or `pool` isolation, not `forkserver` (a step's answer is read from the child's stdin)")));
        }
        let task = wf.as_task();
        for check in TASK_CHECKS {
            check(m, &task).map_err(|p| fail(&table, p))?;
        }
        for (key, value) in [
            ("max_run_duration", wf.max_run_duration),
            ("max_suspension", wf.max_suspension),
        ] {
            positive(key, value).map_err(|p| fail(&table, p))?;
        }
    }
    for (name, entry) in &m.schedules {
        let table = format!("schedules.{name}");
        entry.to_schedule(name).map_err(|e| ManifestError {
            file: file.to_string(),
            line: line_of_table(text, &table),
            message: e.to_string(),
        })?;
    }
    Ok(())
}

fn runtime_command(_: &Manifest, rt: &Runtime) -> Result<(), Problem> {
    if rt.command.is_empty() || rt.command[0].is_empty() {
        return Err(problem("command", "`command` is empty"));
    }
    Ok(())
}

fn runtime_signal(_: &Manifest, rt: &Runtime) -> Result<(), Problem> {
    known_signal(&rt.soft_signal)
}

fn runtime_pool(_: &Manifest, rt: &Runtime) -> Result<(), Problem> {
    if rt.pool_size == Some(0) {
        return Err(problem("pool_size", "pool_size must be at least 1"));
    }
    if rt.max_tasks_per_child == Some(0) {
        return Err(problem(
            "max_tasks_per_child",
            "max_tasks_per_child must be at least 1",
        ));
    }
    Ok(())
}

fn task_kind(m: &Manifest, task: &TaskSpec) -> Result<(), Problem> {
    match (&task.runtime, &task.exec) {
        (Some(_), Some(_)) => Err(problem("exec", "set either `runtime` or `exec`, not both")),
        (None, None) => Err(Problem {
            key: None,
            message: "needs `runtime = \"NAME\"` or `exec = [\"program\", ...]`".into(),
        }),
        (Some(rt), None) if !m.runtimes.contains_key(rt) => {
            let known: Vec<&str> = m.runtimes.keys().map(String::as_str).collect();
            let known = if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            };
            Err(problem(
                "runtime",
                format!("unknown runtime {rt:?} (defined: {known})"),
            ))
        }
        (None, Some(cmd)) if cmd.is_empty() || cmd[0].is_empty() => {
            Err(problem("exec", "`exec` is empty"))
        }
        _ => Ok(()),
    }
}

fn task_flow(_: &Manifest, task: &TaskSpec) -> Result<(), Problem> {
    crate::flow::check_task(task).map_err(|(key, message)| problem(key, message))
}

fn task_fairness(m: &Manifest, task: &TaskSpec) -> Result<(), Problem> {
    crate::fairness::check_task(m, task).map_err(|(key, message)| problem(key, message))
}

fn task_retry_rules(_: &Manifest, task: &TaskSpec) -> Result<(), Problem> {
    retry_rules(&task.retry_on, &task.no_retry_on)
}

/// `retry_on` / `no_retry_on`: error type names (no blanks, no spaces), none in both lists.
fn retry_rules(on: &Option<Vec<String>>, not: &Option<Vec<String>>) -> Result<(), Problem> {
    for (key, list) in [("retry_on", on), ("no_retry_on", not)] {
        for name in list.iter().flatten() {
            if name.is_empty() || name.chars().any(char::is_whitespace) {
                return Err(problem(
                    key,
                    format!("{key}: {name:?} is not an error type name (e.g. \"ConnectionError\")"),
                ));
            }
        }
    }
    if let Some(both) = on
        .iter()
        .flatten()
        .find(|n| not.iter().flatten().any(|m| m == *n))
    {
        return Err(problem(
            "no_retry_on",
            format!("{both:?} is in both retry_on and no_retry_on"),
        ));
    }
    Ok(())
}

fn task_signal(_: &Manifest, task: &TaskSpec) -> Result<(), Problem> {
    known_signal(&task.soft_signal)
}

fn task_limits_positive(_: &Manifest, task: &TaskSpec) -> Result<(), Problem> {
    positive("soft_time_limit", task.soft_time_limit)?;
    positive("time_limit", task.time_limit)
}

/// The soft limit warns before the hard one kills: it must come strictly first (the values
/// after `[defaults]`, blaming the task's own key where it sets one).
fn task_soft_below_hard(m: &Manifest, task: &TaskSpec) -> Result<(), Problem> {
    let soft = task.soft_time_limit.or(m.defaults.soft_time_limit);
    let hard = task.time_limit.or(m.defaults.time_limit);
    if let (Some(soft), Some(hard)) = (soft, hard) {
        if soft >= hard {
            let key = if task.soft_time_limit.is_some() {
                "soft_time_limit"
            } else {
                "time_limit"
            };
            return Err(problem(
                key,
                format!(
                    "soft_time_limit ({}) must be shorter than time_limit ({})",
                    humane(soft),
                    humane(hard)
                ),
            ));
        }
    }
    Ok(())
}

fn positive(key: &'static str, value: Option<Duration>) -> Result<(), Problem> {
    if value == Some(Duration::ZERO) {
        return Err(problem(
            key,
            format!("{key} must be longer than 0s (leave it out for no limit)"),
        ));
    }
    Ok(())
}

fn known_signal(sig: &Option<String>) -> Result<(), Problem> {
    match sig {
        Some(sig) if !SOFT_SIGNALS.contains(&sig.as_str()) => Err(problem(
            "soft_signal",
            format!(
                "unknown soft_signal {sig:?} (one of {})",
                SOFT_SIGNALS.join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

fn humane(d: Duration) -> String {
    format!("{d:?}")
}

/// The 1-based line of `key = ...` inside `[table]` (up to the next table header).
pub fn line_of_key(text: &str, table: &str, key: &str) -> Option<usize> {
    let start = line_of_table(text, table)?;
    text.lines()
        .enumerate()
        .skip(start)
        .take_while(|(_, l)| !l.trim_start().starts_with('['))
        .find(|(_, l)| l.split('=').next().is_some_and(|k| k.trim() == key))
        .map(|(i, _)| i + 1)
}
