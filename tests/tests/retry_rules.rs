//! Issue 26: retry rules by exception — a manifest's `retry_on` / `no_retry_on` are matched
//! against the type chain the child reports (Python MRO names, JS prototype chain names): a
//! failure of a listed type (or a subclass of one) retries, an unlisted one fails at once, and
//! a type in `no_retry_on` never retries.

use serde_json::Value;
use stem_e2e::{repo_root, Env};

/// The dead letter of `id` in the default queue.
fn dead_letter(env: &Env, id: &str) -> Value {
    let list = env
        .stem(&["dlq", "list", "--queue", "default", "--json"])
        .success()
        .json();
    list.as_array()
        .and_then(|l| l.iter().find(|l| l["id"] == id).cloned())
        .unwrap_or_else(|| panic!("no dead letter for {id}: {list}"))
}

const PY_TASKS: &str = r#"from stem_sdk import current, run, task


class QuotaError(Exception):
    pass


@task("fetch")
def fetch(kind):
    # A subclass of ConnectionError: matched by `retry_on = ["ConnectionError"]` via its MRO.
    if kind == "refused" and current.attempt < 3:
        raise ConnectionRefusedError("refused on attempt %d" % current.attempt)
    if kind == "value":
        raise ValueError("bad value on attempt %d" % current.attempt)
    if kind == "quota":
        raise QuotaError("over quota")
    return {"attempt": current.attempt}


if __name__ == "__main__":
    run()
"#;

#[test]
fn python_errors_retry_only_when_their_type_is_listed() {
    let sdk = repo_root().join("sdk-python");
    let env = Env::with_manifest(&format!(
        "[runtimes.python]\ncommand = [\"python3\", \"tasks.py\"]\nenv = {{ PYTHONPATH = {:?} }}\n\n\
         [tasks.fetch]\nruntime = \"python\"\ntime_limit = \"60s\"\nmax_retries = 4\n\
         retry = {{ backoff = \"fixed\", base = \"50ms\", jitter = false }}\n\
         retry_on = [\"ConnectionError\", \"TimeoutError\", \"QuotaError\"]\n\
         no_retry_on = [\"RuntimeError\"]\n",
        sdk.display().to_string()
    ));
    env.write("tasks.py", PY_TASKS);
    let _worker = env.worker(&[]);

    let listed = env.enqueue("fetch", &["--args", "[\"refused\"]"]);
    let unlisted = env.enqueue("fetch", &["--args", "[\"value\"]"]);
    let own = env.enqueue("fetch", &["--args", "[\"quota\"]"]);

    let record = env.outcome(&listed);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["attempt"], 3, "{record}");
    let first = &record["errors"][0];
    assert_eq!(first["type"], "ConnectionRefusedError", "{record}");
    assert_eq!(
        first["types"],
        serde_json::json!([
            "ConnectionRefusedError",
            "ConnectionError",
            "OSError",
            "Exception",
            "BaseException"
        ]),
        "{record}"
    );

    let record = env.outcome(&unlisted);
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(
        record["attempt"], 1,
        "an unlisted type is not retried: {record}"
    );
    let letter = dead_letter(&env, &unlisted);
    assert_eq!(
        letter["reason"],
        "not retried: ValueError is not in retry_on (ConnectionError, TimeoutError, QuotaError)",
        "{letter}"
    );

    // A task's own exception class is listed by name: retried up to max_retries.
    let record = env.outcome(&own);
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["attempt"], 5, "{record}");
    assert!(
        dead_letter(&env, &own)["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("max_retries exceeded")),
        "{own}"
    );
}

#[test]
fn node_errors_match_by_prototype_chain_and_no_retry_on_wins() {
    let sdk = repo_root().join("sdk-node");
    let env = Env::with_manifest(
        "[runtimes.node]\ncommand = [\"node\", \"tasks.js\"]\nsoft_signal = \"SIGUSR2\"\n\n\
         [defaults]\ntime_limit = \"60s\"\nmax_retries = 3\n\
         retry = { backoff = \"fixed\", base = \"50ms\", jitter = false }\n\
         no_retry_on = [\"AuthError\"]\n\n\
         [tasks.call]\nruntime = \"node\"\nretry_on = [\"NetworkError\"]\n",
    );
    env.write(
        "tasks.js",
        &format!(
            "const {{ task, run }} = require({:?});\n\
             class NetworkError extends Error {{}}\n\
             class Timeout extends NetworkError {{ constructor(m) {{ super(m); this.name = 'Timeout'; }} }}\n\
             class AuthError extends NetworkError {{}}\n\
             task('call', (ctx, kind) => {{\n  \
               if (kind === 'timeout' && ctx.attempt < 2) throw new Timeout('slow');\n  \
               if (kind === 'auth') throw new AuthError('denied');\n  \
               if (kind === 'type') throw new TypeError('not a function');\n  \
               return ctx.attempt;\n}});\n\
             run();\n",
            sdk.display().to_string()
        ),
    );
    let _worker = env.worker(&[]);
    let timeout = env.enqueue("call", &["--args", "[\"timeout\"]"]);
    let auth = env.enqueue("call", &["--args", "[\"auth\"]"]);
    let type_error = env.enqueue("call", &["--args", "[\"type\"]"]);

    let record = env.outcome(&timeout);
    assert_eq!(record["state"], "success", "{record}");
    assert_eq!(record["result"], 2, "{record}");
    assert_eq!(
        record["errors"][0]["types"],
        serde_json::json!(["Timeout", "NetworkError", "Error"]),
        "{record}"
    );

    // AuthError is a NetworkError (listed) but also in no_retry_on (from [defaults]).
    let record = env.outcome(&auth);
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["attempt"], 1, "{record}");
    assert_eq!(
        dead_letter(&env, &auth)["reason"],
        "not retried: AuthError is in no_retry_on"
    );

    let record = env.outcome(&type_error);
    assert_eq!(record["state"], "failure", "{record}");
    assert_eq!(record["attempt"], 1, "{record}");
    assert_eq!(
        dead_letter(&env, &type_error)["reason"],
        "not retried: TypeError is not in retry_on (NetworkError)"
    );
}
