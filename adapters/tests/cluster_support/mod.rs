//! A private three-master Redis Cluster on free loopback ports, for the tests that need one
//! (the adapter's contract and sharding tests, and the end-to-end test, which includes this
//! file by path): three `redis-server --cluster-enabled yes` joined by
//! `redis-cli --cluster create`, ready once every node says `cluster_state:ok`; the servers
//! are killed and their directory removed on drop. `start` says why and gives `None` when
//! `redis-server` or `redis-cli` is absent. [`Cluster::start_tls`] makes the same cluster
//! TLS-only (clients and the cluster bus), with the certificates of a directory made by the
//! example's `make-certs.sh`.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `redis-server "$@"` and stops it (then removes its files) once the test process
/// `$STEM_TEST_PARENT` or the server is gone, or on SIGTERM.
const WATCHDOG: &str = r#"redis-server "$@" & s=$!
trap 'kill $s 2>/dev/null' TERM
while kill -0 "$STEM_TEST_PARENT" 2>/dev/null && kill -0 $s 2>/dev/null; do sleep 1; done
kill $s 2>/dev/null; wait $s
rm -f "$STEM_TEST_CONF"; rmdir "$STEM_TEST_DIR" 2>/dev/null; true"#;

/// How long starting the servers and forming the cluster may take.
const DEADLINE: Duration = Duration::from_secs(60);

/// A running private cluster: three masters, 16384 slots between them.
pub struct Cluster {
    children: Vec<Child>,
    ports: Vec<u16>,
    /// The certificates' directory of a TLS cluster.
    tls: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A port `p` with `p` and its cluster bus port `p + 10000` free just now.
fn free_pair() -> u16 {
    loop {
        let Ok(l) = std::net::TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(port) = l.local_addr().map(|a| a.port()) else {
            continue;
        };
        if port < 55_000 && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

fn pong(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// `--tls --cacert CA` for a TLS cluster's certificates directory.
fn tls_args(tls: Option<&Path>) -> Vec<String> {
    match tls {
        None => Vec::new(),
        Some(dir) => vec![
            "--tls".into(),
            "--cacert".into(),
            dir.join("ca.pem").display().to_string(),
        ],
    }
}

/// `redis-cli -p PORT ARGS...` (TLS with the CA of `tls`), its output trimmed.
fn cli_in(tls: Option<&Path>, port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(tls_args(tls))
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Polls `check` every 50 ms until it holds or `deadline` passes.
fn poll(deadline: Instant, mut check: impl FnMut() -> bool) -> bool {
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Cluster {
    /// Starts a cluster for `test`, or says why not and returns `None`.
    pub fn start(test: &str) -> Option<Cluster> {
        Self::launch(test, None)
    }

    /// Starts a TLS-only cluster with `certs` (`ca.pem`, `server.pem`, `server.key`; clients
    /// are not asked for certificates).
    pub fn start_tls(test: &str, certs: &Path) -> Option<Cluster> {
        Self::launch(test, Some(certs.to_path_buf()))
    }

    fn launch(test: &str, tls: Option<PathBuf>) -> Option<Cluster> {
        if !have("redis-server") || !have("redis-cli") {
            eprintln!("{test}: redis-server or redis-cli is not on PATH: skipping");
            return None;
        }
        let deadline = Instant::now() + DEADLINE;
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut cluster = Cluster {
            children: Vec::new(),
            ports: Vec::new(),
            tls,
            _dir: dir,
        };
        while cluster.ports.len() < 3 {
            let port = free_pair();
            let child = cluster.server(port);
            cluster.children.push(child);
            let child = cluster.children.last_mut().expect("just pushed");
            let tls = cluster.tls.clone();
            let answers = |port| match &tls {
                None => pong(port),
                Some(dir) => cli_in(Some(dir), port, &["PING"]) == "PONG",
            };
            let up = poll(deadline, || {
                answers(port) || matches!(child.try_wait(), Ok(Some(_)))
            });
            assert!(up, "{test}: redis-server on {port} did not start");
            if answers(port) {
                cluster.ports.push(port);
            } else {
                // Lost a race for the port to another test: try another one.
                cluster.children.pop();
            }
        }
        let nodes: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let out_file = cluster._dir.path().join("create.log");
        let mut create = Command::new("redis-cli")
            .args(tls_args(cluster.tls.as_deref()))
            .arg("--cluster")
            .arg("create")
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_file).expect("create.log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("run redis-cli --cluster create");
        let mut status = None;
        let created = poll(deadline, || {
            status = create.try_wait().ok().flatten();
            status.is_some()
        });
        if !created {
            let _ = create.kill();
            let _ = create.wait();
        }
        let log = std::fs::read_to_string(&out_file).unwrap_or_default();
        assert!(
            created && status.is_some_and(|s| s.success()),
            "{test}: redis-cli --cluster create failed or never finished: {log}"
        );
        let ports = cluster.ports.clone();
        let ok = poll(deadline, || {
            ports.iter().all(|&p| {
                let info = cluster.cli(p, &["CLUSTER", "INFO"]);
                info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3")
            })
        });
        assert!(
            ok,
            "{test}: the cluster on {ports:?} never reached cluster_state:ok"
        );
        Some(cluster)
    }

    fn server(&self, port: u16) -> Child {
        let conf = self._dir.path().join(format!("nodes-{port}.conf"));
        Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("sh")
            .env("STEM_TEST_PARENT", std::process::id().to_string())
            .env("STEM_TEST_CONF", &conf)
            .env("STEM_TEST_DIR", self._dir.path())
            .args(match &self.tls {
                None => vec!["--port".into(), port.to_string()],
                Some(dir) => {
                    let file = |name: &str| dir.join(name).display().to_string();
                    vec![
                        "--port".into(),
                        "0".into(),
                        "--tls-port".into(),
                        port.to_string(),
                        "--tls-cluster".into(),
                        "yes".into(),
                        "--tls-cert-file".into(),
                        file("server.pem"),
                        "--tls-key-file".into(),
                        file("server.key"),
                        // The cluster bus presents a client certificate to its peers.
                        "--tls-client-cert-file".into(),
                        file("client.pem"),
                        "--tls-client-key-file".into(),
                        file("client.key"),
                        "--tls-ca-cert-file".into(),
                        file("ca.pem"),
                        "--tls-auth-clients".into(),
                        "no".into(),
                    ]
                }
            })
            .args(["--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes", "--cluster-config-file"])
            .arg(&conf)
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(self._dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server")
    }

    /// The `redis+cluster://` (`rediss+cluster://` with TLS) URL naming all three nodes.
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}+cluster://{}", nodes.join(","))
    }

    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// `redis-cli -p PORT ARGS...` (no cluster redirects), its output trimmed.
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        cli_in(self.tls.as_deref(), port, args)
    }

    /// Number of keys held by the node on `port`.
    pub fn dbsize(&self, port: u16) -> u64 {
        self.cli(port, &["DBSIZE"]).parse().unwrap_or(0)
    }

    /// The keys of the node on `port` matching `pattern`.
    pub fn keys(&self, port: u16, pattern: &str) -> Vec<String> {
        self.cli(port, &["--scan", "--pattern", pattern])
            .lines()
            .map(str::to_string)
            .filter(|k| !k.is_empty())
            .collect()
    }
}

impl Drop for Cluster {
    /// Shuts every server down, then waits for its watchdog (which notices within a second).
    fn drop(&mut self) {
        for &port in &self.ports {
            let _ = self.cli(port, &["SHUTDOWN", "NOSAVE"]);
        }
        for child in &mut self.children {
            let _ = child.wait();
        }
    }
}
