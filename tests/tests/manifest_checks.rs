//! Issue 16: a manifest that can never work is refused when the worker starts, with `file:line`,
//! instead of at the first task: a missing `cwd`, a program that cannot be found, a zero time
//! limit, a soft limit that is not before the hard one.

use stem_e2e::Env;

/// `stem worker` on `manifest`: it must exit 2 with one line naming `stem.toml:LINE` and `what`.
fn refused(manifest: &str, line: usize, what: &str) {
    let env = Env::with_manifest(manifest);
    let out = env.stem(&["worker", "--manifest", "stem.toml"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    let text = out.stderr.trim();
    assert_eq!(text.lines().count(), 1, "one line: {out:?}");
    assert!(text.contains(&format!("stem.toml:{line}: ")), "{out:?}");
    assert!(text.contains(what), "{what:?} in {out:?}");
}

#[test]
fn a_missing_cwd_is_refused_at_start() {
    refused(
        "[tasks.a]\nexec = [\"echo\", \"hi\"]\ncwd = \"/no/such/dir\"\n",
        3,
        "tasks.a: cwd \"/no/such/dir\" (/no/such/dir) does not exist",
    );
}

#[test]
fn a_program_that_cannot_be_found_is_refused_at_start() {
    refused(
        "[tasks.a]\nexec = [\"no-such-program-stem\"]\n",
        2,
        "cannot start `no-such-program-stem`: it is not found in PATH",
    );
    refused(
        "[runtimes.py]\ncommand = [\"./missing.py\"]\n\n[tasks.a]\nruntime = \"py\"\n",
        2,
        "missing.py does not exist or is not executable",
    );
}

#[test]
fn limits_that_kill_every_task_are_refused_at_start() {
    refused(
        "[tasks.a]\nexec = [\"true\"]\ntime_limit = \"0s\"\n",
        3,
        "time_limit must be longer than 0s",
    );
    refused(
        "[tasks.a]\nexec = [\"true\"]\nsoft_time_limit = \"2s\"\ntime_limit = \"2s\"\n",
        3,
        "soft_time_limit (2s) must be shorter than time_limit (2s)",
    );
}
