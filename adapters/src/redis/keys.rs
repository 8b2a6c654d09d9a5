//! The key layout, in one place. Every key starts with the namespace, so several Stem
//! installations (or test runs) share one Redis database without seeing each other.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `{ns}:q:{queue}:p{0-9}` | stream | ready and leased tasks of one priority band (field `e`) |
//! | `{ns}:q:{queue}:p{0-9}:leases` | zset | leased entry ids scored by lease expiry (server ms) |
//! | `{ns}:delayed:{queue}` | zset | `"{priority}|{envelope}"` scored by due time (epoch ms) |
//! | `{ns}:dlq:{queue}` / `:order` / `:seq` | hash / zset / counter | dead letters by id, their order |
//! | `{ns}:queues` | set | every queue seen by a publish or holding dead letters |
//! | `{ns}:r:{task id}` | string | the task record JSON, with the record TTL |
//! | `{ns}:ri` | zset | task ids with a record, scored by the record's `updated_at` (listing) |
//! | `{ns}:w:{task id}` | list | a wake-up token pushed when the record became terminal |
//! | `{ns}:revoked` / `:at` / `:exp` | hash / zset / zset | revocations, by time made and expiry |
//! | `{ns}:ctl` | stream | control commands (capped) |
//! | `{ns}:ctl:reply:{request id}` | stream | replies to one command (short TTL) |
//! | `{ns}:hb:{worker}` / `{ns}:hb` | string / zset | latest heartbeat (TTL) / worker index by expiry |
//! | `{ns}:events` | stream | task events (capped) |
//! | `{ns}:grp:{group id}` | hash | a canvas group: `m:{index}` results, `size`, `joined`, `completer`, `failed` (results' TTL) |
//! | `{ns}:sched` | hash | schedule definitions (JSON) by id |
//! | `{ns}:sched:{id}:state` | hash | a schedule's `last_fire`, `next_fire`, `run_count`, `last_error`, `drift_ms` |
//! | `{ns}:beat:leader` | string | the beat lock, `"{token}|{holder}"`, with the lease as its PX TTL |
//! | `{ns}:beat:token` | counter | the latest fencing token issued (only grows) |
//! | `{ns}:beat:claim:{id}:{fire ms}` | string | a claimed fire (the claimer's token), PX TTL |

use stem_protocol::envelope::MAX_PRIORITY;

/// Number of priority bands: one stream per priority value, so ordering by priority is exact.
pub const BANDS: u8 = MAX_PRIORITY + 1;

#[derive(Debug, Clone)]
pub struct Keys {
    ns: String,
}

impl Keys {
    pub fn new(namespace: &str) -> Self {
        Keys {
            ns: namespace.to_string(),
        }
    }

    /// The consumer group name: one group per namespace.
    pub fn group(&self) -> &str {
        &self.ns
    }

    pub fn stream(&self, queue: &str, band: u8) -> String {
        format!("{}:q:{queue}:p{band}", self.ns)
    }

    pub fn leases(&self, queue: &str, band: u8) -> String {
        format!("{}:q:{queue}:p{band}:leases", self.ns)
    }

    /// The streams of `queue`, highest priority first.
    pub fn streams_high_first(&self, queue: &str) -> Vec<String> {
        (0..BANDS)
            .rev()
            .map(|band| self.stream(queue, band))
            .collect()
    }

    /// A unique lock (`--id`, `unique_for`).
    pub fn unique(&self, key: &str) -> String {
        format!("{}:unique:{key}", self.ns)
    }

    /// The set of paused queues.
    pub fn paused(&self) -> String {
        format!("{}:paused", self.ns)
    }

    /// A rate limit's token bucket.
    pub fn bucket(&self, key: &str) -> String {
        format!("{}:bucket:{key}", self.ns)
    }

    /// A concurrency limit's slots.
    pub fn slots(&self, key: &str) -> String {
        format!("{}:slots:{key}", self.ns)
    }

    pub fn delayed(&self, queue: &str) -> String {
        format!("{}:delayed:{queue}", self.ns)
    }

    pub fn dlq(&self, queue: &str) -> String {
        format!("{}:dlq:{queue}", self.ns)
    }

    pub fn dlq_order(&self, queue: &str) -> String {
        format!("{}:dlq:{queue}:order", self.ns)
    }

    pub fn dlq_seq(&self, queue: &str) -> String {
        format!("{}:dlq:{queue}:seq", self.ns)
    }

    pub fn queues(&self) -> String {
        format!("{}:queues", self.ns)
    }

    pub fn record(&self, id: &str) -> String {
        format!("{}:r:{id}", self.ns)
    }

    /// Every task id with a record, scored by its `updated_at`; pruned as records expire.
    pub fn record_index(&self) -> String {
        format!("{}:ri", self.ns)
    }

    pub fn waker(&self, id: &str) -> String {
        format!("{}:w:{id}", self.ns)
    }

    pub fn revoked(&self) -> String {
        format!("{}:revoked", self.ns)
    }

    pub fn revoked_at(&self) -> String {
        format!("{}:revoked:at", self.ns)
    }

    pub fn revoked_exp(&self) -> String {
        format!("{}:revoked:exp", self.ns)
    }

    pub fn control(&self) -> String {
        format!("{}:ctl", self.ns)
    }

    pub fn replies(&self, request_id: &str) -> String {
        format!("{}:ctl:reply:{request_id}", self.ns)
    }

    pub fn heartbeat(&self, worker: &str) -> String {
        format!("{}:hb:{worker}", self.ns)
    }

    pub fn heartbeats(&self) -> String {
        format!("{}:hb", self.ns)
    }

    pub fn group_state(&self, id: &str) -> String {
        format!("{}:grp:{id}", self.ns)
    }

    /// The index of per-minute counters (a sorted set of minute starts).
    pub fn stats(&self) -> String {
        format!("{}:stats", self.ns)
    }

    /// One minute's counters (a hash).
    pub fn stats_minute(&self, minute: i64) -> String {
        format!("{}:stats:{minute}", self.ns)
    }

    pub fn events(&self) -> String {
        format!("{}:events", self.ns)
    }

    pub fn schedules(&self) -> String {
        format!("{}:sched", self.ns)
    }

    pub fn schedule_state(&self, id: &str) -> String {
        format!("{}:sched:{id}:state", self.ns)
    }

    pub fn beat_leader(&self) -> String {
        format!("{}:beat:leader", self.ns)
    }

    pub fn beat_token(&self) -> String {
        format!("{}:beat:token", self.ns)
    }

    pub fn beat_claim(&self, id: &str, fire_time: i64) -> String {
        format!("{}:beat:claim:{id}:{fire_time}", self.ns)
    }
}

/// A delayed-set member: the band digit, `|`, then the envelope JSON (so the mover needs no
/// JSON decoding to pick the target stream).
pub fn delayed_member(priority: u8, json: &str) -> String {
    format!("{}|{json}", priority.min(MAX_PRIORITY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced() {
        let k = Keys::new("ns");
        assert_eq!(k.stream("default", 5), "ns:q:default:p5");
        assert_eq!(k.streams_high_first("a")[0], "ns:q:a:p9");
        assert_eq!(k.streams_high_first("a")[9], "ns:q:a:p0");
        assert_eq!(delayed_member(3, "{}"), "3|{}");
    }
}
