//! Helpers for the kill-and-restart tests on Redis and Postgres: a task that notes its id,
//! counting the notes, per-worker subfolders, and worker flags with a short lease.

use crate::Env;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A task that notes its id in `ran.txt` (beside the manifest), then runs for a while.
pub fn note_manifest(sleep: &str) -> String {
    format!(
        "[tasks.note]\nexec = [\"sh\", \"-c\", \"echo $STEM_TASK_ID >> ran.txt; sleep {sleep}\"]\n\
         max_retries = 0\ntime_limit = \"60s\"\n"
    )
}

/// How many times each id was noted in `file`.
pub fn counts(env: &Env, file: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for id in env.read(file).lines().filter(|l| !l.is_empty()) {
        *out.entry(id.to_string()).or_default() += 1;
    }
    out
}

/// A subfolder with the same manifest, so a worker started on it notes its tasks apart.
pub fn subfolder(env: &Env, name: &str, manifest: &str) -> PathBuf {
    std::fs::create_dir_all(env.file(name)).expect("create a subfolder");
    env.write(&format!("{name}/stem.toml"), manifest);
    env.file(&format!("{name}/stem.toml"))
}

/// Flags for a worker with a stable id, `concurrency` slots and a 2 s lease.
pub fn worker_args<'a>(id: &'a str, concurrency: &'a str) -> [&'a str; 6] {
    [
        "--worker-id",
        id,
        "--concurrency",
        concurrency,
        "--visibility-timeout",
        "2s",
    ]
}
