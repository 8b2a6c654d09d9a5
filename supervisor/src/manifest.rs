//! Loading `stem.toml` from disk: strict parsing (errors name the file and line), and turning
//! runtimes and `exec` tasks into spawn specs whose relative paths resolve against the
//! manifest's folder.

use crate::exec::spawn::SpawnSpec;
use std::path::{Path, PathBuf};
use stem_protocol::manifest::{EffectiveTask, Manifest, Runtime};

pub struct LoadedManifest {
    pub manifest: Manifest,
    pub path: PathBuf,
    /// The folder relative paths resolve against.
    pub dir: PathBuf,
    /// The file's text, for `file:line` in later checks.
    pub text: String,
}

impl LoadedManifest {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read manifest {}: {e}", path.display()))?;
        let manifest = Manifest::parse(&text, &path.display().to_string())?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        Ok(LoadedManifest {
            manifest,
            path: path.to_path_buf(),
            dir,
            text,
        })
    }

    pub fn effective(&self, name: &str) -> Option<EffectiveTask> {
        self.manifest.effective(name)
    }

    pub(crate) fn resolve(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.dir.join(path)
        }
    }

    /// A program path with a slash is relative to the manifest; a bare name is looked up in PATH.
    pub(crate) fn program(&self, p: &str) -> String {
        if p.contains('/') {
            self.resolve(p).display().to_string()
        } else {
            p.to_string()
        }
    }

    pub(crate) fn cwd(&self, cwd: &Option<String>) -> PathBuf {
        cwd.as_deref()
            .map(|c| self.resolve(c))
            .unwrap_or_else(|| self.dir.clone())
    }

    /// How to start a child of runtime `name`.
    pub fn runtime_spec(&self, _name: &str, rt: &Runtime) -> SpawnSpec {
        let mut spec = SpawnSpec::new(&rt.command);
        spec.program = self.program(&rt.command[0]);
        spec.cwd = Some(self.cwd(&rt.cwd));
        spec.env = rt.env.clone();
        spec.rlimits = rt.rlimits.unwrap_or_default();
        spec.env.insert(
            "STEM_PROTOCOL".into(),
            stem_protocol::PROTOCOL_VERSION.to_string(),
        );
        spec.env.insert(
            "STEM_SOFT_SIGNAL".into(),
            rt.soft_signal.clone().unwrap_or_else(|| "SIGUSR1".into()),
        );
        spec.env.insert(
            "STEM_ISOLATION".into(),
            format!("{:?}", rt.isolation).to_lowercase(),
        );
        spec
    }

    /// How to start an `exec` task's program.
    pub fn exec_spec(&self, task: &EffectiveTask, argv: &[String]) -> SpawnSpec {
        let mut spec = SpawnSpec::new(argv);
        spec.program = self.program(&argv[0]);
        spec.cwd = Some(self.cwd(&task.cwd));
        spec.env = task.env.clone();
        spec.rlimits = task.rlimits;
        spec
    }
}
