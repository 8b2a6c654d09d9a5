//! `retries_left` in the task request a child gets honours a per-task override: a task whose
//! manifest allows 5 retries, enqueued with `--max-retries 2` (or 0), is told it has 2 (or 0)
//! left on its first attempt; without the override, 5.

use stem_e2e::{fake_runtime, Env};

const FAKE: &str = env!("CARGO_BIN_EXE_stem-fake-task");

#[test]
fn a_per_task_max_retries_override_reaches_the_child_as_retries_left() {
    let env = Env::with_manifest(&format!(
        "{}\n[tasks.retries_left]\nruntime = \"fake\"\nmax_retries = 5\n",
        fake_runtime("fake", FAKE, "process")
    ));
    let _worker = env.worker(&["--concurrency", "1"]);
    for (flags, left) in [
        (&["--max-retries", "2"][..], 2),
        (&["--max-retries", "0"][..], 0),
        (&[][..], 5),
    ] {
        let id = env.enqueue("retries_left", flags);
        let record = env.outcome(&id);
        assert_eq!(record["state"], "success", "{record}");
        assert_eq!(
            record["result"], left,
            "enqueued with {flags:?}, the child was told {} retries left: {record}",
            record["result"]
        );
    }
}
