//! Starting a child: its own process group, a clean environment (an allowlist of the
//! supervisor's variables plus what the manifest gives), a working directory, optional rlimits,
//! and death with the supervisor (so a killed worker leaves no task running behind it).

use super::tree::Tree;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use stem_protocol::manifest::Rlimits;
use tokio::process::{Child, Command};

/// Variables of the supervisor's own environment a child may see. Everything else is cleared.
pub const ENV_ALLOWLIST: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "TERM",
    "PYENV_ROOT",
    "PYENV_VERSION",
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "NODE_PATH",
];

/// Everything needed to start one child.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// Added after the allowlist; later entries win.
    pub env: BTreeMap<String, String>,
    pub rlimits: Rlimits,
}

impl SpawnSpec {
    pub fn new(argv: &[String]) -> Self {
        SpawnSpec {
            program: argv[0].clone(),
            args: argv[1..].to_vec(),
            cwd: None,
            env: BTreeMap::new(),
            rlimits: Rlimits::default(),
        }
    }

    /// `program args...` for messages.
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Starts the child with piped stdin, stdout and stderr, as the leader of a new process group,
/// in a [`Tree`] of its own (its cgroup, entered before exec, or a tracked process tree).
pub fn spawn(spec: &SpawnSpec) -> std::io::Result<(Child, Tree)> {
    let tree = Tree::new();
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    for key in ENV_ALLOWLIST {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    cmd.envs(&spec.env);
    if let Some((key, value)) = tree.marker() {
        cmd.env(key, value);
    }
    if let Some(dir) = &spec.cwd {
        cmd.current_dir(dir);
    }
    crate::exec::unix::prepare_child(&mut cmd, spec.rlimits, tree.cgroup_fd());
    let child = crate::exec::reaper::spawn_owned(|| cmd.spawn()).map_err(|e| {
        let why = match &spec.cwd {
            Some(dir) if !dir.is_dir() => {
                format!("its working directory {} does not exist", dir.display())
            }
            _ => e.to_string(),
        };
        std::io::Error::new(
            e.kind(),
            format!("cannot start `{}`: {why}", spec.display()),
        )
    })?;
    if let Some(pid) = child.id() {
        tree.started(pid);
    }
    Ok((child, tree))
}

/// A spawn failure as a task error: one that cannot succeed on a retry (no such program, no
/// permission, an argument list too long for the kernel) is permanent, so it is not retried.
pub fn spawn_error(e: &std::io::Error) -> stem_protocol::TaskError {
    use std::io::ErrorKind;
    let error = stem_protocol::TaskError::new("SpawnError", e.to_string());
    match e.kind() {
        ErrorKind::NotFound
        | ErrorKind::PermissionDenied
        | ErrorKind::ArgumentListTooLong
        | ErrorKind::InvalidInput => error.permanent(),
        _ => error,
    }
}
