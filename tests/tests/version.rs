//! Issue 25: `stem --version` names the version, the git commit the binary was built from
//! (supervisor/build.rs) and the cargo features built in; `-V` and a subcommand's `--version`
//! say the same.

use std::process::Command;

fn stdout_of(args: &[&str]) -> String {
    let out = Command::new(stem_e2e::stem_bin())
        .args(args)
        .output()
        .expect("run stem");
    assert!(out.status.success(), "stem {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn version_names_the_commit_and_the_features() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(stem_e2e::repo_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    let tail = format!(
        "{} (commit {commit}, features: sqlite redis postgres)\n",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(stdout_of(&["--version"]), format!("stem {tail}"));
    assert_eq!(stdout_of(&["-V"]), format!("stem {tail}"));
    assert_eq!(
        stdout_of(&["worker", "--version"]),
        format!("stem-worker {tail}")
    );
}
