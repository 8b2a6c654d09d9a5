//! Dedicated connections for blocking commands (XREADGROUP/XREAD BLOCK, BLPOP). A blocked
//! command holds its connection until it returns, so it must never run on the shared
//! multiplexed connection, where it would stall every other command. Idle connections are kept
//! for reuse; one that failed or timed out is dropped and a fresh one is opened next time. On a
//! Redis Cluster each pooled connection is a cluster connection of its own, so a blocking read
//! goes to the node owning its key's slot.

use super::conn::Conn;
use redis::cluster::ClusterClient;
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue, RedisError, RedisResult};
use std::sync::Mutex;
use std::time::Duration;

/// How many idle blocking connections to keep.
const KEEP_IDLE: usize = 16;
/// Extra time allowed past the block time before a silent connection counts as dead.
const GRACE: Duration = Duration::from_secs(5);

/// Where the pool's connections come from.
pub enum Source {
    Single(Client),
    Cluster(ClusterClient),
}

pub struct BlockingPool {
    source: Source,
    idle: Mutex<Vec<Conn>>,
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

    /// Runs `cmd`, which blocks at most `block`, on a connection of its own. A call cancelled
    /// while blocked drops its connection (the server may still be blocked on it).
    pub async fn run<T: FromRedisValue>(&self, cmd: &Cmd, block: Duration) -> RedisResult<T> {
        let idle = self.idle.lock().expect("pool lock").pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => self.open().await?,
        };
        let result = match tokio::time::timeout(block + GRACE, cmd.query_async(&mut conn)).await {
            Ok(result) => result,
            Err(_) => {
                return Err(RedisError::from(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "blocking command got no reply",
                )))
            }
        };
        let broken = matches!(&result, Err(e) if e.is_io_error() || e.is_connection_dropped());
        if !broken {
            let mut idle = self.idle.lock().expect("pool lock");
            if idle.len() < KEEP_IDLE {
                idle.push(conn);
            }
        }
        result
    }
}
