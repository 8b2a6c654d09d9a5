//! Build script: puts the version line `stem --version` prints (the crate's version, the git
//! commit it was built from and the enabled cargo features) into `STEM_VERSION_LINE`.
//!
//! The commit comes from `git rev-parse HEAD` when the workspace is a git checkout, else from
//! the `STEM_GIT_COMMIT` environment variable (a build from a source archive), else "unknown".
//! The script reruns only when HEAD or the branch it points to moves, so ordinary edits do not
//! invalidate anything.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=STEM_GIT_COMMIT");
    let commit = git_commit(&manifest_dir)
        .or_else(|| {
            std::env::var("STEM_GIT_COMMIT")
                .ok()
                .filter(|c| !c.trim().is_empty())
        })
        .unwrap_or_else(|| "unknown".to_string());
    let features: Vec<&str> = ["sqlite", "redis", "postgres"]
        .into_iter()
        .filter(|f| std::env::var_os(format!("CARGO_FEATURE_{}", f.to_uppercase())).is_some())
        .collect();
    let features = if features.is_empty() {
        "none".to_string()
    } else {
        features.join(" ")
    };
    let version = std::env::var("CARGO_PKG_VERSION").expect("set by cargo");
    println!(
        "cargo:rustc-env=STEM_VERSION_LINE={version} (commit {}, features: {features})",
        commit.trim()
    );
}

/// Runs git in `dir`; its trimmed stdout when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// The commit of this checkout (12 hex digits), with rerun-if-changed lines for the files that
/// move when it changes. None when the workspace is not the top of a git checkout (a source
/// archive unpacked inside some other repository must not take that repository's commit).
fn git_commit(manifest_dir: &Path) -> Option<String> {
    let workspace = manifest_dir.parent()?;
    let top = PathBuf::from(git(manifest_dir, &["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != workspace.canonicalize().ok()? {
        return None;
    }
    let commit = git(manifest_dir, &["rev-parse", "--short=12", "HEAD"])?;
    let mut watched = vec!["HEAD".to_string()];
    if let Some(branch) = git(manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
        watched.push("packed-refs".to_string());
    }
    for name in watched {
        if let Some(path) = git(manifest_dir, &["rev-parse", "--git-path", &name]) {
            let path = manifest_dir.join(path);
            // A path that does not exist would make cargo rerun the script on every build.
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    Some(commit)
}
