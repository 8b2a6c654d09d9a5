//! Tests of the manifest parser: defaults, strict keys with `file:line`, runtimes, limits.

use super::*;

const GOOD: &str = r#"
[runtimes.python]
command = ["python3", "tasks.py"]

[defaults]
max_retries = 2

[tasks.add]
runtime = "python"
soft_time_limit = "5s"
time_limit = "10s"

[tasks.hello]
exec = ["sh", "-c", "echo hello"]
queue = "shell"
max_retries = 0
retry = { backoff = "fixed", base = "3s" }
"#;

#[test]
fn parses_and_applies_defaults() {
    let m = Manifest::parse(GOOD, "stem.toml").unwrap();
    let add = m.effective("add").unwrap();
    assert_eq!(add.kind, TaskKind::Runtime("python".into()));
    assert_eq!(add.max_retries, 2);
    assert_eq!(add.time_limit, Some(Duration::from_secs(10)));
    assert_eq!(add.soft_signal, "SIGUSR1");
    let hello = m.effective("hello").unwrap();
    assert_eq!(hello.max_retries, 0);
    // Fixed backoff has no jitter unless asked: the delay is the base.
    assert_eq!(hello.retry.delay(3, 0.5), Duration::from_secs(3));
    assert_eq!(m.queues(), vec!["default".to_string(), "shell".to_string()]);
    assert!(m.effective("nope").is_none());
}

#[test]
fn typo_names_file_line_and_key() {
    let text = "[tasks.add]\nruntime = \"python\"\ntime_limt = \"5s\"\n";
    let e = Manifest::parse(text, "x/stem.toml").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.to_string().starts_with("x/stem.toml:3: "), "{e}");
    assert!(e.message.contains("time_limt"), "{e}");
}

#[test]
fn unknown_runtime_names_the_table_line() {
    let text = "[runtimes.python]\ncommand = [\"python3\"]\n\n[tasks.add]\nruntime = \"pyhton\"\n";
    let e = Manifest::parse(text, "stem.toml").unwrap_err();
    assert_eq!(e.line, Some(5), "the line of `runtime = ...`: {e}");
    assert!(e.message.contains("unknown runtime \"pyhton\""), "{e}");
}

#[test]
fn task_needs_exactly_one_way_to_run() {
    let e = Manifest::parse("[tasks.a]\nqueue = \"q\"\n", "m").unwrap_err();
    assert!(e.message.contains("needs `runtime"), "{e}");
}

#[test]
fn schedules_are_checked_with_the_manifest() {
    let text = "[tasks.a]\nexec = [\"true\"]\n\n[schedules.tick]\ntask = \"a\"\nevery = \"1s\"\n";
    let m = Manifest::parse(text, "stem.toml").unwrap();
    assert_eq!(m.schedules().unwrap()[0].id, "tick");
    let bad = text.replace("every = \"1s\"", "cron = \"* * *\"");
    let e = Manifest::parse(&bad, "stem.toml").unwrap_err().to_string();
    assert!(
        e.starts_with("stem.toml:4: schedules.tick.cron: invalid cron"),
        "{e}"
    );
    let typo = text.replace("every =", "evry =");
    let e = Manifest::parse(&typo, "stem.toml").unwrap_err().to_string();
    assert!(
        e.starts_with("stem.toml:6: schedules.tick: unknown field `evry`"),
        "{e}"
    );
}

#[test]
fn exponential_backoff_is_capped() {
    let p = RetryPolicy {
        base: Some(Duration::from_secs(1)),
        cap: Some(Duration::from_secs(10)),
        jitter: Some(false),
        ..Default::default()
    };
    assert_eq!(p.delay(1, 0.0), Duration::from_secs(1));
    assert_eq!(p.delay(3, 0.0), Duration::from_secs(4));
    assert_eq!(p.delay(30, 0.0), Duration::from_secs(10));
}

#[test]
fn a_zero_time_limit_is_refused_at_its_line() {
    let text = "[tasks.a]\nexec = [\"true\"]\ntime_limit = \"0s\"\n";
    let e = Manifest::parse(text, "stem.toml").unwrap_err().to_string();
    assert!(
        e.starts_with("stem.toml:3: tasks.a: time_limit must be longer than 0s"),
        "{e}"
    );
    let text = "[defaults]\nsoft_time_limit = \"0ms\"\n";
    let e = Manifest::parse(text, "stem.toml").unwrap_err().to_string();
    assert!(
        e.starts_with("stem.toml:2: defaults: soft_time_limit must be"),
        "{e}"
    );
}

#[test]
fn a_soft_limit_not_before_the_hard_one_is_refused() {
    for soft in ["5s", "6s"] {
        let text = format!(
            "[tasks.a]\nexec = [\"true\"]\ntime_limit = \"5s\"\nsoft_time_limit = \"{soft}\"\n"
        );
        let e = Manifest::parse(&text, "stem.toml").unwrap_err().to_string();
        assert!(
            e.starts_with("stem.toml:4: tasks.a: soft_time_limit"),
            "{e}"
        );
        assert!(e.contains("must be shorter than time_limit"), "{e}");
    }
    // The soft limit from [defaults] against the task's own hard limit.
    let text = "[defaults]\nsoft_time_limit = \"10s\"\n\n[tasks.a]\nexec = [\"true\"]\ntime_limit = \"2s\"\n";
    let e = Manifest::parse(text, "stem.toml").unwrap_err().to_string();
    assert!(
        e.starts_with("stem.toml:6: tasks.a: soft_time_limit (10s)"),
        "{e}"
    );
}

#[test]
fn exec_tasks_get_a_survivable_soft_signal_by_default() {
    let m = Manifest::parse(GOOD, "stem.toml").unwrap();
    assert_eq!(m.effective("hello").unwrap().soft_signal, "SIGURG");
    assert_eq!(
        m.effective("hello").unwrap().soft_action,
        SoftAction::Signal
    );
    let text = "[tasks.a]\nexec = [\"true\"]\nsoft_limit_action = \"terminate\"\n";
    let m = Manifest::parse(text, "stem.toml").unwrap();
    assert_eq!(m.effective("a").unwrap().soft_action, SoftAction::Terminate);
    let e = Manifest::parse(&text.replace("terminate", "stop"), "m").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
}

#[test]
fn a_concurrency_of_zero_is_refused() {
    let text = "[stem]\nconcurrency = 0\n";
    let e = Manifest::parse(text, "stem.toml").unwrap_err().to_string();
    assert!(
        e.starts_with("stem.toml:2: stem: concurrency must be at least 1"),
        "{e}"
    );
}

#[test]
fn pool_sizes_of_zero_are_refused() {
    let text = "[runtimes.py]\ncommand = [\"python3\"]\npool_size = 0\n";
    let e = Manifest::parse(text, "stem.toml").unwrap_err().to_string();
    assert!(
        e.starts_with("stem.toml:3: runtimes.py: pool_size must be at least 1"),
        "{e}"
    );
}

#[test]
fn retry_rules_by_error_type() {
    let text = "[defaults]\nno_retry_on = [\"ValueError\"]\n\n[tasks.a]\nexec = [\"true\"]\nretry_on = [\"ConnectionError\", \"TimeoutError\"]\n\n[tasks.b]\nexec = [\"true\"]\n";
    let m = Manifest::parse(text, "stem.toml").unwrap();
    let a = m.effective("a").unwrap();
    assert_eq!(a.retry_on, vec!["ConnectionError", "TimeoutError"]);
    assert_eq!(a.no_retry_on, vec!["ValueError"]);
    let b = m.effective("b").unwrap();
    assert!(b.retry_on.is_empty());
    assert_eq!(b.no_retry_on, vec!["ValueError"]);
    let both = "[tasks.a]\nexec = [\"true\"]\nretry_on = [\"E\"]\nno_retry_on = [\"E\"]\n";
    let e = Manifest::parse(both, "stem.toml").unwrap_err().to_string();
    assert_eq!(
        e,
        "stem.toml:4: tasks.a: \"E\" is in both retry_on and no_retry_on"
    );
    let blank = "[tasks.a]\nexec = [\"true\"]\nretry_on = [\"Connection Error\"]\n";
    let e = Manifest::parse(blank, "stem.toml").unwrap_err().to_string();
    assert!(
        e.starts_with(
            "stem.toml:3: tasks.a: retry_on: \"Connection Error\" is not an error type name"
        ),
        "{e}"
    );
    let typo = "[tasks.a]\nexec = [\"true\"]\nretry_onn = [\"E\"]\n";
    let e = Manifest::parse(typo, "stem.toml").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
}
