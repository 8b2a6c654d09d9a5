//! A private `redis-server` on a loopback port of its own, for tests that kill and restart
//! their Redis (the shared one is never touched): started with its data in an append-only file,
//! killed when dropped.

use crate::{wait_for, PATIENCE};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A private `redis-server` keeping its data in an append-only file, killed when dropped.
pub struct PrivateRedis {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl PrivateRedis {
    /// `None` when there is no `redis-server` on PATH.
    pub fn start(port: u16, dir: tempfile::TempDir) -> Option<PrivateRedis> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = PrivateRedis { child, port, dir };
        let up = wait_for(PATIENCE, || server.pong());
        assert!(up, "the private redis-server did not come up on {port}");
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn pong(&self) -> bool {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    /// SIGKILL and reap (the port closes).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGKILL, a pause with the port closed, then the same server on the same data.
    pub fn crash_and_restart(mut self, down: Duration) -> PrivateRedis {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(down);
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("a temp dir"));
        PrivateRedis::start(self.port, dir).expect("restart redis-server")
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
