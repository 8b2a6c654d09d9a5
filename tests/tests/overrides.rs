//! Issue 26: per-enqueue overrides — `--time-limit` and `--soft-time-limit` lower the manifest's
//! limits for one task and can never raise them (refused at enqueue when the manifest is at
//! hand; an envelope carrying a longer limit, from a producer with another manifest, still
//! runs under the worker's), `ignore_result` keeps no record of a success but records a
//! failure, and bad values are refused naming the flag or field.

use stem_e2e::{repo_root, wait_for, Env, Output, PATIENCE};

fn manifest(nap_limit: &str) -> String {
    let sdk = repo_root().join("sdk-python");
    format!(
        "[runtimes.python]\ncommand = [\"python3\", \"tasks.py\"]\nenv = {{ PYTHONPATH = {:?} }}\n\n\
         [defaults]\nmax_retries = 0\n\n\
         [tasks.nap]\nexec = [\"sleep\", \"30\"]\ntime_limit = \"{nap_limit}\"\n\n\
         [tasks.patient]\nruntime = \"python\"\nsoft_time_limit = \"50s\"\ntime_limit = \"60s\"\n\n\
         [tasks.mark]\nexec = [\"sh\", \"mark.sh\"]\n",
        sdk.display().to_string()
    )
}

/// Notes the task's id in `ran.txt`; fails when its argument is "fail".
const MARK: &str = r#"echo "$STEM_TASK_ID" >> ran.txt
[ "$STEM_ARGS" != '["fail"]' ]
"#;

const TASKS: &str = r#"import time
from stem_sdk import SoftTimeLimitExceeded, run, task


@task("patient")
def patient():
    try:
        time.sleep(45)
    except SoftTimeLimitExceeded:
        return "cut short"
    return "slept"


if __name__ == "__main__":
    run()
"#;

#[test]
fn an_enqueue_lowers_time_limits_and_cannot_raise_them() {
    let env = Env::with_manifest(&manifest("60s"));
    env.write("tasks.py", TASKS);
    env.write("mark.sh", MARK);
    // Refused at enqueue: above the manifest's limit, zero, soft not below hard.
    let out = env.stem(&["enqueue", "nap", "--time-limit", "2m"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("time_limit: 120s is above the manifest's time_limit for nap (60s): an enqueue can only lower it"),
        "{out:?}"
    );
    let out = env.stem(&["enqueue", "nap", "--time-limit", "0s"]);
    assert!(
        !out.ok()
            && out
                .stderr
                .contains("time_limit: expected from 1ms to ten years"),
        "{out:?}"
    );
    let out = env.stem(&[
        "enqueue",
        "nap",
        "--time-limit",
        "1s",
        "--soft-time-limit",
        "2s",
    ]);
    assert!(
        !out.ok()
            && out
                .stderr
                .contains("--soft-time-limit (2s) must be shorter than --time-limit (1s)"),
        "{out:?}"
    );

    let worker = env.worker(&[]);
    let lowered = env.enqueue("nap", &["--time-limit", "1s"]);
    let soft = env.enqueue("patient", &["--soft-time-limit", "500ms"]);
    let record = env.outcome(&lowered);
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["error"]["type"], "TimeLimitExceeded", "{record}");
    assert!(
        record["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("time_limit of 1s")),
        "{record}"
    );
    let record = env.outcome(&soft);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"], "cut short", "{record}");

    // A producer with another manifest (no limit there) writes ten years into the envelope:
    // the worker's manifest still bounds it. Here that manifest says 2s.
    env.write("other.toml", "[tasks.nap]\nexec = [\"sleep\", \"30\"]\n");
    drop(worker);
    env.write("stem.toml", &manifest("2s"));
    let _second = env.worker(&[]);
    let out = env
        .stem(&[
            "enqueue",
            "nap",
            "--manifest",
            "other.toml",
            "--time-limit",
            "3650d",
            "--json",
        ])
        .success();
    let raised = out.json()["id"].as_str().unwrap().to_string();
    let record = env.outcome(&raised);
    assert_eq!(record["error"]["type"], "TimeLimitExceeded", "{record}");
    let message = record["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("time_limit of 2s"),
        "a ten-year envelope limit must not lift the worker's: {record}"
    );
}

#[test]
fn ignore_result_keeps_no_record_of_a_success_but_records_a_failure() {
    let env = Env::with_manifest(&manifest("60s"));
    env.write("tasks.py", TASKS);
    env.write("mark.sh", MARK);
    let out = env.stem(&["enqueue", "mark", "--ignore-result", "--wait"]);
    assert_eq!(out.code, Some(2), "--wait with --ignore-result: {out:?}");

    let _worker = env.worker(&[]);
    let quiet = env.enqueue("mark", &["--ignore-result", "--args", "[\"ok\"]"]);
    let failing = env.enqueue("mark", &["--ignore-result", "--args", "[\"fail\"]"]);
    let kept = env.enqueue("mark", &["--args", "[\"ok\"]"]);
    let record = env.outcome(&failing);
    assert_eq!(
        record["state"], "failure",
        "a failure is recorded: {record}"
    );
    assert_eq!(env.outcome(&kept)["state"], "success");
    assert!(
        wait_for(PATIENCE, || {
            env.read("ran.txt").lines().any(|l| l == quiet) && env.queue_drained("default")
        }),
        "the ignored task did not run: {}",
        env.worker_logs()
    );
    let record = env.record(&quiet);
    assert_eq!(
        record["state"], "unknown",
        "no record of an ignored success: {record}"
    );

    // The same through a task spec (`enqueue --stdin`, as the HTTP API takes it).
    let bad = run_stdin(&env, "{\"task\": \"mark\", \"time_limit\": \"1s\"}\n");
    assert!(
        bad.stderr
            .contains("stdin line 1: time_limit: expected seconds, a number above 0"),
        "{bad:?}"
    );
    let bad = run_stdin(&env, "{\"task\": \"mark\", \"ignore_result\": 1}\n");
    assert!(
        bad.stderr
            .contains("stdin line 1: ignore_result: expected true or false"),
        "{bad:?}"
    );
    let ok = run_stdin(
        &env,
        "{\"task\": \"mark\", \"args\": [\"ok\"], \"ignore_result\": true, \"time_limit\": 5}\n",
    );
    assert!(ok.ok(), "{ok:?}");
    let id = ok.stdout.trim().to_string();
    assert!(
        wait_for(PATIENCE, || env.read("ran.txt").lines().any(|l| l == id)
            && env.queue_drained("default")),
        "{}",
        env.worker_logs()
    );
    assert_eq!(env.record(&id)["state"], "unknown");
}

fn run_stdin(env: &Env, input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = env
        .command(env.path())
        .args(["enqueue", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start stem enqueue --stdin");
    child
        .stdin
        .take()
        .expect("a stdin pipe")
        .write_all(input.as_bytes())
        .expect("write the specs");
    let out = child.wait_with_output().expect("wait for stem enqueue");
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}
