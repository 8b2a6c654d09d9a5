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
    assert_eq!(hello.retry.delay(3, 0.5), Duration::from_millis(1500));
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
    assert_eq!(e.line, Some(4));
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
