//! Shared helpers for the TLS tests: certificates made by the example's `make-certs.sh`
//! (openssl only), free loopback ports, and private servers stopped on drop.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private server process, killed and reaped on drop.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Makes the example's CA, server, client and stranger certificates in `dir`; false (after
/// saying why) when openssl is missing or fails.
pub fn make_certs(test: &str, dir: &Path) -> bool {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/encrypted_payload/make-certs.sh");
    let ok = Command::new("bash")
        .arg(&script)
        .arg(dir)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("{test}: openssl could not make certificates: skipping");
    }
    ok
}

pub fn pem(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `port` on loopback accepts a TCP connection.
pub fn wait_for_port(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// A TLS-only `redis-server` on `port` with the certificates in `dir`, asking clients for a
/// certificate signed by `ca.pem` when `auth_clients`; `None` when it cannot start.
pub fn redis_tls(dir: &Path, port: u16, auth_clients: bool) -> Option<Server> {
    let child = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--tls-port", &port.to_string()])
        .args([
            "--tls-auth-clients",
            if auth_clients { "yes" } else { "no" },
        ])
        .arg("--tls-cert-file")
        .arg(dir.join("server.pem"))
        .arg("--tls-key-file")
        .arg(dir.join("server.key"))
        .arg("--tls-ca-cert-file")
        .arg(dir.join("ca.pem"))
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = Server(child);
    wait_for_port(port, Duration::from_secs(5)).then_some(server)
}

/// The `initdb` of the installed Postgres, if any.
fn pg_bin(name: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop()
}

/// The uid and gid of the `postgres` user (the server refuses to run as root).
fn postgres_user() -> Option<(u32, u32)> {
    let out = Command::new("id").args(["-u", "postgres"]).output().ok()?;
    let uid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    let out = Command::new("id").args(["-g", "postgres"]).output().ok()?;
    let gid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some((uid, gid))
}

/// A private Postgres cluster on `port` that only takes TLS connections with a client
/// certificate signed by `dir/ca.pem` (`hostssl … clientcert=verify-ca`), run as the `postgres`
/// user from a fresh `initdb` under `dir`; `Err(why)` when this machine cannot run one.
pub fn postgres_mtls(dir: &Path, port: u16) -> Result<PgServer, String> {
    use std::os::unix::fs::{chown, PermissionsExt};
    use std::os::unix::process::CommandExt;
    let initdb = pg_bin("initdb").ok_or("no initdb under /usr/lib/postgresql")?;
    let postgres = pg_bin("postgres").ok_or("no postgres binary")?;
    let (uid, gid) = postgres_user().ok_or("no postgres user")?;
    let own = |p: &Path| chown(p, Some(uid), Some(gid)).map_err(|e| format!("chown {p:?}: {e}"));
    own(dir)?;
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
        own(&entry.path())?;
    }
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .map_err(|e| e.to_string())?;
    let data = dir.join("data");
    let status = Command::new(initdb)
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "--no-sync"])
        .uid(uid)
        .gid(gid)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("initdb: {e}"))?;
    if !status.success() {
        return Err(format!("initdb failed: {status}"));
    }
    std::fs::write(
        data.join("pg_hba.conf"),
        "hostssl all all 127.0.0.1/32 trust clientcert=verify-ca\n\
         host all all 127.0.0.1/32 reject\n",
    )
    .map_err(|e| e.to_string())?;
    let at = |name: &str| format!("{}", dir.join(name).display());
    let child = Command::new(postgres)
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-k"])
        .arg(dir)
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "ssl=on",
            "-c",
            "fsync=off",
        ])
        .args(["-c", &format!("ssl_cert_file={}", at("server.pem"))])
        .args(["-c", &format!("ssl_key_file={}", at("server.key"))])
        .args(["-c", &format!("ssl_ca_file={}", at("ca.pem"))])
        .uid(uid)
        .gid(gid)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("postgres: {e}"))?;
    let server = PgServer(child);
    if !wait_for_port(port, Duration::from_secs(20)) {
        return Err("the private postgres did not start listening".into());
    }
    // Listening is not accepting: a busy machine may still be "starting up" (57P03).
    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = || {
        Command::new(pg_bin("pg_isready").unwrap_or_else(|| "pg_isready".into()))
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
            .status()
            .is_ok_and(|s| s.success())
    };
    while !ready() {
        if Instant::now() >= deadline {
            return Err("the private postgres never accepted connections".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(server)
}

/// A private Postgres: stopped with an immediate shutdown (SIGQUIT) and reaped on drop.
pub struct PgServer(Child);

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-QUIT", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
