//! Issue 16: big payloads. `--args @FILE` and `--args @-` take arguments too big for a command
//! line; an `exec` task whose arguments do not fit in the environment gets them on stdin only
//! (`STEM_ARGS_OMITTED` says so) instead of failing to start; a payload bigger than the broker
//! takes is refused at enqueue; a spawn error that cannot succeed is not retried.

use std::io::Write;
use std::process::Stdio;
use stem_e2e::Env;

const COUNT_STDIN: &str = "[tasks.big]\nexec = [\"sh\", \"-c\", \"printf '%s ' \\\"$STEM_ARGS_OMITTED\\\"; wc -c\"]\nmax_retries = 2\n";

fn args_of(bytes: usize) -> String {
    format!("[{:?}]", "x".repeat(bytes))
}

#[test]
fn five_megabytes_of_args_come_from_a_file_and_reach_the_task_on_stdin() {
    let env = Env::with_manifest(COUNT_STDIN);
    env.write("args.json", &args_of(5_000_000));
    let path = env.file("args.json").display().to_string();
    let _worker = env.worker(&[]);
    let id = env.enqueue("big", &["--args", &format!("@{path}")]);
    let record = env.outcome(&id);
    assert_eq!(
        record["state"],
        "success",
        "{}",
        &record.to_string()[..400.min(record.to_string().len())]
    );
    let result = record["result"].as_str().unwrap_or_default().to_string();
    let (omitted, count) = result.split_once(' ').unwrap_or_default();
    assert_eq!(omitted, "STEM_ARGS", "{result}");
    let count: usize = count.trim().parse().unwrap_or(0);
    assert!(
        count > 5_000_000,
        "the envelope on stdin carries the args: {result}"
    );
    assert_eq!(record["attempt"], 1);
}

#[test]
fn args_come_from_stdin_with_at_dash() {
    let env = Env::with_manifest(
        "[tasks.echo]\nexec = [\"sh\", \"-c\", \"printf '%s' \\\"$STEM_ARGS\\\"\"]\n",
    );
    let mut child = env
        .command(env.path())
        .args(["enqueue", "echo", "--args", "@-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start stem enqueue");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"[1, \"two\"]")
        .expect("write args");
    let out = child.wait_with_output().expect("enqueue ends");
    assert!(out.status.success(), "{out:?}");
    let sent: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let _worker = env.worker(&[]);
    let record = env.outcome(sent["id"].as_str().expect("an id"));
    assert_eq!(record["result"], serde_json::json!([1, "two"]), "{record}");
}

#[test]
fn a_payload_bigger_than_the_broker_takes_is_refused_at_enqueue() {
    let env = Env::with_manifest(COUNT_STDIN);
    env.write("args.json", &args_of(20_000_000));
    let path = env.file("args.json").display().to_string();
    let out = env.stem(&["enqueue", "big", "--args", &format!("@{path}")]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(out.stderr.trim().lines().count(), 1, "{out:?}");
    assert!(
        out.stderr.contains("bytes the sqlite broker takes"),
        "{out:?}"
    );
    let out = env.stem(&["enqueue", "big", "--args", "@/no/such/file.json"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("cannot read /no/such/file.json"),
        "{out:?}"
    );
}

#[test]
fn a_spawn_error_that_cannot_succeed_is_not_retried() {
    let env = Env::with_manifest("[tasks.gone]\nexec = [\"./gone.sh\"]\nmax_retries = 3\n");
    env.write("gone.sh", "#!/bin/sh\necho hi\n");
    std::fs::set_permissions(
        env.file("gone.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let _worker = env.worker(&[]);
    // The program is there when the worker starts (its check passes), then removed.
    let first = env.enqueue("gone", &[]);
    assert_eq!(env.outcome(&first)["state"], "success");
    std::fs::remove_file(env.file("gone.sh")).expect("remove the program");
    let id = env.enqueue("gone", &[]);
    let record = env.outcome(&id);
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["error"]["type"], "SpawnError", "{record}");
    assert_eq!(record["error"]["retryable"], false, "{record}");
    assert_eq!(record["attempt"], 1, "not retried: {record}");
}

#[test]
fn each_broker_refuses_payloads_beyond_its_own_maximum() {
    use stem_e2e::stores::{world, Store};
    for (store, broker, bytes) in [
        (Store::Redis, "redis", 9_000_000),
        (Store::Postgres, "postgres", 20_000_000),
    ] {
        let Some(env) = world(
            store,
            COUNT_STDIN,
            "each_broker_refuses_payloads_beyond_its_own_maximum",
        ) else {
            continue;
        };
        env.write("args.json", &args_of(bytes));
        let path = env.file("args.json").display().to_string();
        let out = env.stem(&["enqueue", "big", "--args", &format!("@{path}")]);
        assert_eq!(out.code, Some(2), "{broker}: {out:?}");
        assert!(
            out.stderr
                .contains(&format!("bytes the {broker} broker takes")),
            "{out:?}"
        );
        assert!(
            env.queue_drained("default"),
            "{broker}: nothing was published"
        );
    }
}
