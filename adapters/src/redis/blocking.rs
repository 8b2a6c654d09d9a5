//! Dedicated connections for blocking commands (XREADGROUP/XREAD BLOCK, BLPOP). A blocked
//! command holds its connection until it returns, so it must never run on the shared
//! multiplexed connection, where it would stall every other command. Idle connections are kept
//! for reuse; one that failed or timed out is dropped and a fresh one is opened next time.

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue, RedisError, RedisResult};
use std::sync::Mutex;
use std::time::Duration;

/// How many idle blocking connections to keep.
const KEEP_IDLE: usize = 16;
/// Extra time allowed past the block time before a silent connection counts as dead.
const GRACE: Duration = Duration::from_secs(5);

pub struct BlockingPool {
    client: Client,
    idle: Mutex<Vec<MultiplexedConnection>>,
}

impl BlockingPool {
    pub fn new(client: Client) -> Self {
        BlockingPool {
            client,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `cmd`, which blocks at most `block`, on a connection of its own.
    pub async fn run<T: FromRedisValue>(&self, cmd: &Cmd, block: Duration) -> RedisResult<T> {
        let idle = self.idle.lock().expect("pool lock").pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => {
                let config = AsyncConnectionConfig::new().set_connection_timeout(GRACE);
                self.client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?
            }
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
