//! What a worker checks at start, before it takes any task, so a broken setup is one line at
//! start instead of a failure at the first task: every working directory the manifest names
//! exists, and every program it starts can be found. Errors name `file:line` and the table.

use crate::manifest::LoadedManifest;
use std::path::Path;
use stem_protocol::manifest::{line_of_key, ManifestError};

/// The first problem with the manifest's paths, as a `file:line: table: ...` error.
pub fn check_paths(m: &LoadedManifest) -> Result<(), ManifestError> {
    let fail = |table: &str, key: &str, message: String| ManifestError {
        file: m.path.display().to_string(),
        line: line_of_key(&m.text, table, key),
        message: format!("{table}: {message}"),
    };
    let none = Vec::new();
    let mut starts = Vec::new();
    for (name, rt) in &m.manifest.runtimes {
        starts.push((format!("runtimes.{name}"), "command", &rt.command, &rt.cwd));
    }
    for (name, task) in &m.manifest.tasks {
        if let Some(argv) = &task.exec {
            starts.push((format!("tasks.{name}"), "exec", argv, &task.cwd));
        } else if task.cwd.is_some() {
            // A runtime task's `cwd` is not used (its runtime's is), but a missing one is a typo.
            starts.push((format!("tasks.{name}"), "", &none, &task.cwd));
        }
    }
    for (table, key, argv, cwd) in starts {
        let dir = m.cwd(cwd);
        if cwd.is_some() && !dir.is_dir() {
            let what = if dir.exists() {
                "is not a folder"
            } else {
                "does not exist"
            };
            return Err(fail(
                &table,
                "cwd",
                format!(
                    "cwd {:?} ({}) {what}",
                    cwd.as_deref().unwrap_or_default(),
                    dir.display()
                ),
            ));
        }
        let Some(program) = argv.first() else {
            continue;
        };
        if !program_found(&m.program(program)) {
            let where_ = if program.contains('/') {
                format!(
                    "{} does not exist or is not executable",
                    m.resolve(program).display()
                )
            } else {
                "it is not found in PATH".to_string()
            };
            return Err(fail(
                &table,
                key,
                format!("cannot start `{program}`: {where_}"),
            ));
        }
    }
    Ok(())
}

/// Whether `program` (a path, or a bare name looked up in PATH) is an executable file.
fn program_found(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return executable(Path::new(program));
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| executable(&dir.join(program))))
        .unwrap_or(false)
}
