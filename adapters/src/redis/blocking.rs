//! Dedicated connections for blocking commands (XREADGROUP/XREAD BLOCK, BLPOP). A blocked
//! command holds its connection until it returns, so it must never run on the shared
//! multiplexed connection, where it would stall every other command. Idle connections are kept
//! for reuse; one that failed or timed out is dropped and a fresh one is opened next time. A call
//! cancelled while blocked (a multi-queue wait on a cluster cancels all reads but the first to
//! answer) gives its connection back as busy until its command's block time is over, when the
//! server has answered it and the reply was discarded. On a Redis Cluster each pooled
//! connection is a cluster connection of its own, so a blocking read goes to the node owning
//! its key's slot.

use super::conn::Conn;
use redis::cluster::ClusterClient;
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue, RedisError, RedisResult};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many idle blocking connections to keep.
const KEEP_IDLE: usize = 16;
/// Extra time allowed past the block time before a silent connection counts as dead.
const GRACE: Duration = Duration::from_secs(5);
/// How long after its block time a cancelled call's connection is taken to be free again.
const SETTLE: Duration = Duration::from_millis(200);

/// Where the pool's connections come from.
pub enum Source {
    Single(Client),
    Cluster(ClusterClient),
}

pub struct BlockingPool {
    source: Source,
    /// Idle connections, each free from its instant on.
    idle: Mutex<Vec<(Conn, Instant)>>,
}

/// A connection out of the pool for one call; given back busy if the call is cancelled.
struct Out<'a> {
    pool: &'a BlockingPool,
    conn: Option<Conn>,
    busy_until: Instant,
}

impl Drop for Out<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.give_back(conn, self.busy_until);
        }
    }
}

impl BlockingPool {
    pub fn new(source: Source) -> Self {
        BlockingPool {
            source,
            idle: Mutex::new(Vec::new()),
        }
    }

    async fn open(&self) -> RedisResult<Conn> {
        match &self.source {
            Source::Single(client) => {
                let config = AsyncConnectionConfig::new().set_connection_timeout(GRACE);
                client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map(Conn::Plain)
            }
            Source::Cluster(client) => client.get_async_connection().await.map(Conn::Cluster),
        }
    }

    fn give_back(&self, conn: Conn, free_at: Instant) {
        let mut idle = self.idle.lock().expect("pool lock");
        if idle.len() < KEEP_IDLE {
            idle.push((conn, free_at));
        }
    }

    /// Runs `cmd`, which blocks at most `block`, on a connection of its own.
    pub async fn run<T: FromRedisValue>(&self, cmd: &Cmd, block: Duration) -> RedisResult<T> {
        let now = Instant::now();
        let idle = {
            let mut idle = self.idle.lock().expect("pool lock");
            let free = idle.iter().position(|(_, at)| *at <= now);
            free.map(|i| idle.swap_remove(i).0)
        };
        let conn = match idle {
            Some(conn) => conn,
            None => self.open().await?,
        };
        let mut out = Out {
            pool: self,
            conn: Some(conn),
            busy_until: Instant::now() + block + SETTLE,
        };
        let conn = out.conn.as_mut().expect("just set");
        let result = match tokio::time::timeout(block + GRACE, cmd.query_async(conn)).await {
            Ok(result) => result,
            Err(_) => {
                out.conn = None;
                return Err(RedisError::from(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "blocking command got no reply",
                )));
            }
        };
        let broken = matches!(&result, Err(e) if e.is_io_error() || e.is_connection_dropped());
        if broken {
            out.conn = None;
        } else {
            out.busy_until = Instant::now();
        }
        result
    }
}
