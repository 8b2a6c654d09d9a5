//! Issue 26 on a real Postgres: `SCHEMA.enqueue(...)` called in the application's own
//! transaction (through `psql`, from a session whose search_path is `public`). A rolled-back
//! enqueue runs nothing; a committed one runs once on a real worker; a unique id enqueued twice
//! is one task, also beside `stem enqueue --id`, and free again once that task finished; bad
//! options are refused with one clear line naming the field.
//! Runs when `STEM_TEST_POSTGRES_URL` is set; says it skips otherwise.

use std::process::Command;
use stem_e2e::pg::psql;
use stem_e2e::{service_url, unique_namespace, Env};

const POSTGRES: &str = "STEM_TEST_POSTGRES_URL";

const MANIFEST: &str = r#"[tasks.add]
exec = ["sh", "-c", "echo \"$STEM_ARGS\" >> ran.txt; echo \"$STEM_ARGS\""]
max_retries = 0
"#;

/// psql's error line for `sql`, which must fail.
fn psql_error(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .expect("run psql");
    assert!(!out.status.success(), "{sql} did not fail: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr.lines().next().unwrap_or_default().to_string()
}

fn migrated(test: &str) -> Option<(String, String, Env)> {
    let url = service_url(POSTGRES, test)?;
    let ns = unique_namespace();
    let env = Env::with_broker(MANIFEST, &url, &ns);
    env.stem(&["migrate"]).success();
    Some((url, ns, env))
}

#[test]
fn postgres_sql_enqueue_runs_on_commit_and_never_on_rollback() {
    let Some((url, ns, env)) =
        migrated("postgres_sql_enqueue_runs_on_commit_and_never_on_rollback")
    else {
        return;
    };
    let _worker = env.worker(&["--concurrency", "1"]);
    let rolled_back = psql(
        &url,
        &format!("BEGIN; SELECT {ns}.enqueue('add', '[1, 2]'); ROLLBACK;"),
    );
    let rolled_back = rolled_back.lines().find(|l| l.len() == 36).expect("an id");
    let committed = psql(
        &url,
        &format!("BEGIN; SELECT {ns}.enqueue('add', '[3, 4]'); COMMIT;"),
    );
    let committed = committed.lines().find(|l| l.len() == 36).expect("an id");
    let record = env.outcome(committed);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"], serde_json::json!([3, 4]), "{record}");
    assert_eq!(record["attempt"], 1, "{record}");
    // The worker takes tasks in order: had the rolled-back row existed, it would have run first.
    assert_eq!(
        env.read("ran.txt"),
        "[3,4]\n",
        "only the committed task ran"
    );
    assert_eq!(env.record(rolled_back)["state"], "unknown");
    assert_eq!(psql(&url, &format!("SELECT count(*) FROM {ns}.tasks")), "0");

    // Many in one call, in order, with options; the queue is registered for `stem queue`.
    let ids = psql(
        &url,
        &format!(
            "SELECT array_to_string({ns}.enqueue_many('[{{\"task\": \"add\", \"args\": [5]}}, \
             {{\"task\": \"add\", \"args\": [6], \"priority\": 9, \"headers\": {{\"h\": \"v\"}}}}]'), ',')"
        ),
    );
    let ids: Vec<&str> = ids.split(',').collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    for (id, want) in ids.iter().zip([5, 6]) {
        let record = env.outcome(id);
        assert_eq!(record["state"], "success", "{record}");
        assert_eq!(record["result"], serde_json::json!([want]), "{record}");
    }
}

#[test]
fn postgres_sql_enqueue_of_a_unique_id_twice_is_one_task() {
    let Some((url, ns, env)) = migrated("postgres_sql_enqueue_of_a_unique_id_twice_is_one_task")
    else {
        return;
    };
    let enqueue = |args: &str| {
        psql(
            &url,
            &format!("SELECT {ns}.enqueue('add', '{args}', options => '{{\"id\": \"order-7\"}}')"),
        )
    };
    // Twice in one transaction, then again in another: one row, one id.
    let both = psql(
        &url,
        &format!(
            "BEGIN; SELECT {ns}.enqueue('add', '[1]', options => '{{\"id\": \"order-7\"}}'); \
             SELECT {ns}.enqueue('add', '[2]', options => '{{\"id\": \"order-7\"}}'); COMMIT;"
        ),
    );
    assert_eq!(
        both.lines().filter(|l| *l == "order-7").count(),
        2,
        "{both}"
    );
    assert_eq!(enqueue("[3]"), "order-7");
    // In one enqueue_many too: the first spec publishes, the second names it.
    let many = psql(
        &url,
        &format!(
            "SELECT array_to_string({ns}.enqueue_many('[{{\"task\": \"add\", \"id\": \"many-1\", \"args\": [6]}}, \
             {{\"task\": \"add\", \"id\": \"many-1\", \"args\": [7]}}]'), ',')"
        ),
    );
    assert_eq!(many, "many-1,many-1");
    // Like every other producer: the CLI sees the live SQL task as the holder.
    let cli = env
        .stem(&[
            "enqueue", "add", "--id", "order-7", "--args", "[4]", "--json",
        ])
        .success()
        .json();
    assert_eq!(cli["duplicate"], true, "{cli}");
    assert_eq!(
        psql(
            &url,
            &format!("SELECT count(*) FROM {ns}.tasks WHERE task_id = 'order-7'")
        ),
        "1"
    );
    let _worker = env.worker(&["--concurrency", "1"]);
    let record = env.outcome("order-7");
    assert_eq!(record["result"], serde_json::json!([1]), "{record}");
    // Finished: the worker gave the lock back, so the id runs again (its record reset first).
    stem_e2e::wait_for(stem_e2e::PATIENCE, || {
        psql(
            &url,
            &format!("SELECT count(*) FROM {ns}.flow_uniques WHERE key = 'id:order-7'"),
        ) == "0"
    });
    assert_eq!(enqueue("[8]"), "order-7");
    let again = stem_e2e::wait_for_value(stem_e2e::PATIENCE, || {
        let r = env.record("order-7");
        (r["result"] == serde_json::json!([8])).then_some(r)
    })
    .unwrap_or_else(|| panic!("the second run did not finish\n{}", env.worker_logs()));
    assert_eq!(again["state"], "success", "{again}");
    assert_eq!(env.outcome("many-1")["result"], serde_json::json!([6]));
    assert_eq!(env.read("ran.txt"), "[1]\n[6]\n[8]\n");

    // A unique key with a window dedups whatever the id, also after the task finished.
    let keyed = |id: &str| {
        psql(
            &url,
            &format!(
                "SELECT {ns}.enqueue('add', '[9]', options => \
                 '{{\"id\": \"{id}\", \"unique_key\": \"report\", \"unique_for\": \"10m\"}}')"
            ),
        )
    };
    assert_eq!(keyed("r-1"), "r-1");
    assert_eq!(env.outcome("r-1")["state"], "success");
    assert_eq!(keyed("r-2"), "r-1");
}

#[test]
fn postgres_sql_enqueue_refuses_bad_input_naming_the_field() {
    let Some((url, ns, _env)) = migrated("postgres_sql_enqueue_refuses_bad_input_naming_the_field")
    else {
        return;
    };
    let cases = [
        (
            "'add', '{}'",
            "enqueue: args: expected a JSON array, got object",
        ),
        (
            "'add', '[]', '[]'",
            "enqueue: kwargs: expected a JSON object",
        ),
        ("'', '[]'", "enqueue: task: expected a non-empty task name"),
        (
            "'add', '[]', options => '{\"canvas\": {}}'",
            "enqueue: options.canvas: unknown option (known: queue, id,",
        ),
        (
            "'add', '[]', options => '{\"workflow\": \"w\"}'",
            "options.workflow: unknown option",
        ),
        (
            "'add', '[]', options => '{\"priority\": -1}'",
            "options.priority: expected an integer from 0 to 9, got -1",
        ),
        (
            "'add', '[]', options => '{\"eta\": \"99999-01-01T00:00:00Z\"}'",
            "options.eta: expected epoch milliseconds or an RFC 3339 time up to the year 9999",
        ),
        (
            "'add', '[]', options => '{\"countdown\": \"20000d\"}'",
            "options.countdown: expected seconds",
        ),
        (
            "'add', '[]', options => '{\"countdown\": 1, \"eta\": 1}'",
            "options.countdown: give countdown or eta, not both",
        ),
        (
            "'add', '[]', options => '{\"queue\": null}'",
            "options.queue: null is not a value here",
        ),
        (
            "'add', '[]', options => '{\"headers\": {\"stem-wf-parent\": \"x\"}}'",
            "options.headers.stem-wf-parent: headers starting \"stem-\" are Stem's own",
        ),
        (
            "'add', '[]', options => '{\"unique_for\": \"1m\"}'",
            "options.unique_for: a dedup window needs its unique_key",
        ),
        (
            "'add', jsonb_build_array(repeat('x', 17000000))",
            "enqueue: args: the task is 17000",
        ),
    ];
    for (call, want) in cases {
        let line = psql_error(&url, &format!("SELECT {ns}.enqueue({call})"));
        assert!(
            line.starts_with(&format!("ERROR:  {ns}.")) && line.contains(want),
            "{call}: {line}"
        );
    }
    let line = psql_error(
        &url,
        &format!("SELECT {ns}.enqueue_many('[{{\"task\": \"add\"}}, {{\"task\": \"add\", \"priority\": 12}}]')"),
    );
    assert!(
        line.contains(&format!("{ns}.enqueue_many[1]: options.priority")),
        "{line}"
    );
    // A refused batch publishes nothing, not even its good specs.
    assert_eq!(psql(&url, &format!("SELECT count(*) FROM {ns}.tasks")), "0");
}
