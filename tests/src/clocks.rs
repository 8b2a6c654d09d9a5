//! Running `stem` under a skewed clock with libfaketime (Debian's `faketime` package, installed
//! by `.ci/run`): present, it is used; absent, a test fails under `CI=true` and says it skips
//! otherwise, like the browser tests.

use crate::Env;
use std::collections::HashMap;
use std::path::PathBuf;

/// libfaketime's library, when installed.
fn libfaketime() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("/usr/lib/faketime/libfaketime.so.1")];
    if let Ok(dirs) = std::fs::read_dir("/usr/lib") {
        for d in dirs.flatten() {
            candidates.push(d.path().join("faketime/libfaketime.so.1"));
        }
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// The library to preload for a skewed clock; panics under `CI=true` when libfaketime is not
/// installed, else says that `test` skips. (The library is preloaded into `stem` itself: the
/// `faketime` wrapper forks, and a stop of its pid would miss the worker.)
pub fn faketime_available(test: &str) -> Option<Skew> {
    if let Some(lib) = libfaketime() {
        return Some(Skew { lib });
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: libfaketime is not installed (apt-get install faketime; .ci/run does)");
    }
    eprintln!("{test}: libfaketime is not installed: skipping");
    None
}

/// libfaketime, found.
pub struct Skew {
    lib: PathBuf,
}

impl Skew {
    /// The environment that runs a process with its clock `offset` (`+1h`, `-1h`) off.
    pub fn vars<'a>(&'a self, offset: &'a str) -> [(&'a str, &'a str); 3] {
        [
            ("LD_PRELOAD", self.lib.to_str().unwrap_or_default()),
            ("FAKETIME", offset),
            ("FAKETIME_DONT_RESET", "1"),
        ]
    }
}

/// `stem health --json --no-workers-ok` run with `vars`: its parsed report.
pub fn health_with(env: &Env, vars: &[(&str, &str)]) -> serde_json::Value {
    let out = env
        .command(env.path())
        .args(["health", "--json", "--no-workers-ok"])
        .envs(vars.iter().copied())
        .output()
        .expect("run stem health");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stem health --json printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Every line of `text` that occurs more than once (a task id noted at each start).
pub fn repeated_lines(text: &str) -> Vec<String> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        *seen.entry(line).or_default() += 1;
    }
    let mut twice: Vec<String> = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(l, _)| l.to_string())
        .collect();
    twice.sort();
    twice
}
