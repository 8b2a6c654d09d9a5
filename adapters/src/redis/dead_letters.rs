//! Dead letters per queue: a hash of letters by id plus a sorted set giving their order of
//! arrival, so list, replay and purge each take one script call and stay atomic.

use super::{redis_error, scripts, RedisStore};
use crate::{AdapterError, DeadLetter, Result};
use stem_protocol::TaskEnvelope;

impl RedisStore {
    pub(super) async fn list_dead_letters(
        &self,
        queue: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut call = scripts::DEAD_LETTERS.prepare_invoke();
        // Lua numbers are doubles: a limit like usize::MAX ("all of them") would reach ZRANGE
        // as `1.8e+19` and be refused as not an integer, so cap it at an exact one.
        call.key(self.keys.dlq(queue))
            .key(self.keys.dlq_order(queue))
            .arg(limit.min(1 << 50));
        let raw: Vec<String> = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("dead letters", e))?;
        raw.iter()
            .map(|json| {
                crate::codec::decode_letter(json)
                    .map_err(|e| AdapterError::permanent(format!("in queue {queue:?}: {e}")))
            })
            .collect()
    }

    pub(super) async fn replay(
        &self,
        queue: &str,
        id: &str,
        envelope: &TaskEnvelope,
    ) -> Result<bool> {
        if self.cluster() {
            return self.replay_slotted(queue, id, envelope).await;
        }
        let mut call = scripts::REPLAY.prepare_invoke();
        call.key(self.keys.dlq(queue))
            .key(self.keys.dlq_order(queue))
            .key(self.keys.queues())
            .arg(id)
            .arg("1");
        self.placement(envelope, envelope.eta).add_to(&mut call);
        let replayed: i64 = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("replay dead letter", e))?;
        Ok(replayed == 1)
    }

    pub(super) async fn purge(&self, queue: &str) -> Result<u64> {
        let mut call = scripts::PURGE.prepare_invoke();
        call.key(self.keys.dlq(queue))
            .key(self.keys.dlq_order(queue));
        call.invoke_async(&mut self.conn())
            .await
            .map_err(|e| redis_error("purge dead letters", e))
    }
}
