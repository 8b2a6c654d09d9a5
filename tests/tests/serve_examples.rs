//! Issue 13: the seed's service examples run end to end by their own scripts, which check
//! their outcomes: `monolith_service` (embedded default), `microservice` (Redis) and
//! `mixed_cluster` (Redis and Postgres; each skips without its service URL).

use std::process::Command;
use stem_e2e::{repo_root, service_url, stem_bin};

fn run_example(name: &str, vars: &[(&str, String)]) {
    let script = repo_root().join("examples").join(name).join("run.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script).env("STEM_BIN", stem_bin());
    for var in [
        "STEM_BROKER_URL",
        "STEM_RESULT_BACKEND_URL",
        "STEM_NAMESPACE",
        "STEM_API_URL",
        "STEM_API_TOKEN",
        "STEM_API_TOKENS",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the example script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(&format!("{name}: ok")),
        "{name} failed ({:?}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn monolith_service() {
    run_example("monolith_service", &[]);
}

#[test]
fn microservice() {
    let Some(redis) = service_url("STEM_TEST_REDIS_URL", "microservice") else {
        return;
    };
    run_example("microservice", &[("STEM_REDIS_URL", redis)]);
}

#[test]
fn mixed_cluster() {
    let Some(redis) = service_url("STEM_TEST_REDIS_URL", "mixed_cluster") else {
        return;
    };
    let Some(postgres) = service_url("STEM_TEST_POSTGRES_URL", "mixed_cluster") else {
        return;
    };
    run_example(
        "mixed_cluster",
        &[("STEM_REDIS_URL", redis), ("STEM_POSTGRES_URL", postgres)],
    );
}
