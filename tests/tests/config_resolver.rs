//! One resolver for every command: with `[stem] broker = "sqlite://other.db"` in `./stem.toml`
//! and no `STEM_BROKER_URL`, the commands that take no `--manifest` of their own (`result`,
//! `tasks list`, `queue list`, `health`, `dlq list`, `canvas show`) use the store `stem enqueue`
//! used, and none of them creates the embedded default file beside it.

use stem_e2e::{Env, Output};

const MANIFEST: &str =
    "[stem]\nbroker = \"sqlite://other.db\"\n\n[tasks.hello]\nexec = [\"sh\", \"-c\", \"echo hi\"]\n";

/// `stem ARGS...` here with nothing but the manifest saying where the store is.
fn stem(env: &Env, args: &[&str]) -> Output {
    let mut cmd = env.command(env.path());
    cmd.env_remove("STEM_BROKER_URL");
    let out = cmd.args(args).output().expect("run stem");
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

#[test]
fn every_command_reads_the_manifests_stores() {
    let env = Env::with_manifest(MANIFEST);
    let id = stem(&env, &["enqueue", "hello", "--json"]).success().json()["id"]
        .as_str()
        .expect("an id")
        .to_string();
    assert!(
        env.file("other.db").exists(),
        "enqueue used the manifest's store"
    );

    let record = stem(&env, &["result", &id, "--json"]).success().json();
    assert_eq!(record["id"], id.as_str(), "{record}");
    stem(&env, &["tasks", "list", "--json"]).success();

    let queues = stem(&env, &["queue", "list", "--json"]).success().json();
    let default = queues
        .as_array()
        .and_then(|q| q.iter().find(|q| q["queue"] == "default"))
        .unwrap_or_else(|| panic!("queue list sees the queue enqueue used: {queues}"));
    assert_eq!(
        default["ready"], 1,
        "the task enqueue published waits there: {queues}"
    );

    stem(&env, &["dlq", "list", "--queue", "default", "--json"]).success();
    let health = stem(&env, &["health", "--json"]);
    assert!(
        health.stdout.contains("other.db"),
        "health checks the manifest's store: {health:?}"
    );

    assert!(
        !env.file("stem.db").exists(),
        "no command fell back to the embedded default"
    );
}
