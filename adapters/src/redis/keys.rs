//! The key layout, in one place. Every key starts with the namespace, so several Stem
//! installations (or test runs) share one Redis database without seeing each other.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `{ns}:q:{queue}:p{0-9}` | stream | ready and leased tasks of one priority band (field `e`) |
//! | `{ns}:q:{queue}:p{0-9}:leases` | zset | leased entry ids scored by lease expiry (server ms) |
//! | `{ns}:q:{queue}:p{0-9}:fair` | zset | ready tasks with a fair key, `"{seq}|{envelope}"` scored by vt |
//! | `{ns}:q:{queue}:fair` | hash | fairness state: `clock`, `seq`, `scan` (prune cursor), `k:{fair key}` → last vt |
//! | `{ns}:q:{queue}:wake` | stream | one marker (MAXLEN 1) per keyed ready publish, to wake blocked fetches |
//! | `{ns}:delayed:{queue}` | zset | `"{priority}|{envelope}"` (keyed: `"{priority}#{vt}#{seq}|{envelope}"`) scored by due time (epoch ms) |
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
//! | `{ns}:q:{queue}:outbox` | hash | cluster mode only: publishes to other queues made by a commit or a replay, until sent |
//! | `{ns}:wf:run:{id}` | hash | a workflow run: the fields of `WfRun` (an absent field is `None`) |
//! | `{ns}:wf:steps:{id}` | hash | a run's journal: `{index}:{field}` → the fields of `WfStep` |
//! | `{ns}:wf:runs` | zset | every run id scored by `created_at` (listing; ties by id) |
//! | `{ns}:wf:runs:state:{state}` / `:wf:{workflow}` / `:wf-state:{state}:{workflow}` | zset | the same, per state, per workflow, per both (counts are their sizes) |
//! | `{ns}:wf:topic:{topic}` | zset | a topic's waiters, `{run}|{index}` scored by `since` |
//! | `{ns}:wf:waiters` / `{ns}:wf:waiter` | zset / hash | every waiter (`{len(run)}:{run}|{index}|{topic}`) by `since` / its `{since}|{deadline}` |
//! | `{ns}:wf:waits:{run}` | set | a run's waiters, `{index}|{topic}` (to drop them) |
//!
//! Fair dequeue (`fair_key`, see docs/redis.md): a task without a key takes today's path, an
//! XADD to its band stream. A keyed task gets its virtual start (vt) when published (by the
//! `place` prelude of the publishing scripts) and waits in its band's fair zset; the fetch
//! script, per band after the stream's own entries, pops the lowest vts, appends them to the
//! stream (with field `v`, the vt) and reads them at once, so leases, redelivery and commit are
//! the stream's. `seq` (zero-padded) starts each member, so equal vts go oldest first and a
//! member is unique even for a task published twice.
//!
//! In cluster mode ([`Keys::cluster`]) the same names carry Redis Cluster hash tags: a queue's
//! keys put its (escaped) name in braces (`ns:q:{default}:p5`, `ns:delayed:{default}`,
//! `ns:dlq:{default}`), so each queue is one slot and queues spread across the shards; every
//! other key starts with the namespace in braces (`{ns}:r:ID`, `{ns}:queues`), so the result
//! backend, control plane and the rest are one slot and their scripts stay single-slot. The
//! workflow keys are in that slot too, so every workflow operation is one script; the scripts
//! build the keys they find at run time (a run's topics, the index sets of a new state) from
//! [`Keys::wf_prefix`], the same way the `wf_*` methods here do.

use stem_protocol::envelope::MAX_PRIORITY;

/// Number of priority bands: one stream per priority value, so ordering by priority is exact.
pub const BANDS: u8 = MAX_PRIORITY + 1;

#[derive(Debug, Clone)]
pub struct Keys {
    /// The namespace, as it starts the queue keys.
    ns: String,
    /// What starts every other key: the namespace, in braces in cluster mode.
    global: String,
    cluster: bool,
}

impl Keys {
    /// The single-node layout.
    pub fn new(namespace: &str) -> Self {
        Keys {
            ns: namespace.to_string(),
            global: namespace.to_string(),
            cluster: false,
        }
    }

    /// The cluster layout (hash tags). A namespace with a brace would move the tags, so it is
    /// refused.
    pub fn cluster(namespace: &str) -> Result<Self, String> {
        if namespace.contains(['{', '}']) {
            return Err(format!(
                "namespace {namespace:?} contains a brace, which Redis Cluster reads as a hash \
                 tag: choose a namespace without '{{' or '}}'"
            ));
        }
        Ok(Keys {
            ns: namespace.to_string(),
            global: format!("{{{namespace}}}"),
            cluster: true,
        })
    }

    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// A queue's name as it appears in its keys: in cluster mode a hash tag of the name with
    /// `%`, `{` and `}` percent-escaped (an empty name is `%`, which no other name gives).
    fn q(&self, queue: &str) -> String {
        if !self.cluster {
            return queue.to_string();
        }
        if queue.is_empty() {
            return "{%}".to_string();
        }
        let escaped = queue
            .replace('%', "%25")
            .replace('{', "%7B")
            .replace('}', "%7D");
        format!("{{{escaped}}}")
    }

    /// Where a commit or replay leaves publishes to other queues (cluster mode).
    pub fn outbox(&self, queue: &str) -> String {
        format!("{}:q:{}:outbox", self.ns, self.q(queue))
    }

    /// The consumer group name: one group per namespace.
    pub fn group(&self) -> &str {
        &self.ns
    }

    pub fn stream(&self, queue: &str, band: u8) -> String {
        format!("{}:q:{}:p{band}", self.ns, self.q(queue))
    }

    /// A band's keyed tasks waiting for their turn, scored by vt.
    pub fn fair(&self, queue: &str, band: u8) -> String {
        format!("{}:q:{}:p{band}:fair", self.ns, self.q(queue))
    }

    /// A queue's fairness state: its clock, publish counter and last vt per key.
    pub fn fair_state(&self, queue: &str) -> String {
        format!("{}:q:{}:fair", self.ns, self.q(queue))
    }

    /// A queue's wake stream: a keyed publish adds a marker that ends a blocked fetch's wait.
    pub fn wake(&self, queue: &str) -> String {
        format!("{}:q:{}:wake", self.ns, self.q(queue))
    }

    pub fn leases(&self, queue: &str, band: u8) -> String {
        format!("{}:q:{}:p{band}:leases", self.ns, self.q(queue))
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
        format!("{}:unique:{key}", self.global)
    }

    /// The set of paused queues.
    pub fn paused(&self) -> String {
        format!("{}:paused", self.global)
    }

    /// A rate limit's token bucket.
    pub fn bucket(&self, key: &str) -> String {
        format!("{}:bucket:{key}", self.global)
    }

    /// A concurrency limit's slots.
    pub fn slots(&self, key: &str) -> String {
        format!("{}:slots:{key}", self.global)
    }

    pub fn delayed(&self, queue: &str) -> String {
        format!("{}:delayed:{}", self.ns, self.q(queue))
    }

    pub fn dlq(&self, queue: &str) -> String {
        format!("{}:dlq:{}", self.ns, self.q(queue))
    }

    pub fn dlq_order(&self, queue: &str) -> String {
        format!("{}:dlq:{}:order", self.ns, self.q(queue))
    }

    pub fn dlq_seq(&self, queue: &str) -> String {
        format!("{}:dlq:{}:seq", self.ns, self.q(queue))
    }

    pub fn queues(&self) -> String {
        format!("{}:queues", self.global)
    }

    pub fn record(&self, id: &str) -> String {
        format!("{}:r:{id}", self.global)
    }

    /// Every task id with a record, scored by its `updated_at`; pruned as records expire.
    pub fn record_index(&self) -> String {
        format!("{}:ri", self.global)
    }

    pub fn waker(&self, id: &str) -> String {
        format!("{}:w:{id}", self.global)
    }

    pub fn revoked(&self) -> String {
        format!("{}:revoked", self.global)
    }

    pub fn revoked_at(&self) -> String {
        format!("{}:revoked:at", self.global)
    }

    pub fn revoked_exp(&self) -> String {
        format!("{}:revoked:exp", self.global)
    }

    pub fn control(&self) -> String {
        format!("{}:ctl", self.global)
    }

    pub fn replies(&self, request_id: &str) -> String {
        format!("{}:ctl:reply:{request_id}", self.global)
    }

    pub fn heartbeat(&self, worker: &str) -> String {
        format!("{}:hb:{worker}", self.global)
    }

    pub fn heartbeats(&self) -> String {
        format!("{}:hb", self.global)
    }

    pub fn group_state(&self, id: &str) -> String {
        format!("{}:grp:{id}", self.global)
    }

    /// The index of per-minute counters (a sorted set of minute starts).
    pub fn stats(&self) -> String {
        format!("{}:stats", self.global)
    }

    /// One minute's counters (a hash).
    pub fn stats_minute(&self, minute: i64) -> String {
        format!("{}:stats:{minute}", self.global)
    }

    pub fn events(&self) -> String {
        format!("{}:events", self.global)
    }

    pub fn schedules(&self) -> String {
        format!("{}:sched", self.global)
    }

    pub fn schedule_state(&self, id: &str) -> String {
        format!("{}:sched:{id}:state", self.global)
    }

    pub fn beat_leader(&self) -> String {
        format!("{}:beat:leader", self.global)
    }

    pub fn beat_token(&self) -> String {
        format!("{}:beat:token", self.global)
    }

    pub fn beat_claim(&self, id: &str, fire_time: i64) -> String {
        format!("{}:beat:claim:{id}:{fire_time}", self.global)
    }

    /// What starts every workflow key (the workflow scripts get it as `ARGV[1]`).
    pub fn wf_prefix(&self) -> String {
        format!("{}:wf:", self.global)
    }

    /// A run's hash.
    pub fn wf_run(&self, id: &str) -> String {
        format!("{}run:{id}", self.wf_prefix())
    }

    /// A run's journal hash.
    pub fn wf_steps(&self, id: &str) -> String {
        format!("{}steps:{id}", self.wf_prefix())
    }

    /// The listing index of the runs in `state` (any when `None`) of `workflow` (any when
    /// `None`), scored by `created_at`.
    pub fn wf_runs(&self, state: Option<&str>, workflow: Option<&str>) -> String {
        let p = self.wf_prefix();
        match (state, workflow) {
            (None, None) => format!("{p}runs"),
            (Some(s), None) => format!("{p}runs:state:{s}"),
            (None, Some(w)) => format!("{p}runs:wf:{w}"),
            (Some(s), Some(w)) => format!("{p}runs:wf-state:{s}:{w}"),
        }
    }

    /// The waiters of one topic.
    pub fn wf_topic(&self, topic: &str) -> String {
        format!("{}topic:{topic}", self.wf_prefix())
    }

    /// Every waiter, by `since`.
    pub fn wf_waiters(&self) -> String {
        format!("{}waiters", self.wf_prefix())
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
        assert_eq!(k.record("x"), "ns:r:x");
        assert_eq!(k.fair("default", 5), "ns:q:default:p5:fair");
        assert_eq!(k.fair_state("default"), "ns:q:default:fair");
        assert_eq!(k.wake("default"), "ns:q:default:wake");
    }

    #[test]
    fn cluster_keys_tag_each_queue_and_the_rest() {
        let k = Keys::cluster("ns").unwrap();
        assert_eq!(k.stream("default", 5), "ns:q:{default}:p5");
        assert_eq!(k.leases("default", 5), "ns:q:{default}:p5:leases");
        assert_eq!(k.delayed("default"), "ns:delayed:{default}");
        assert_eq!(k.dlq_seq("default"), "ns:dlq:{default}:seq");
        assert_eq!(k.outbox("default"), "ns:q:{default}:outbox");
        assert_eq!(k.record("x"), "{ns}:r:x");
        assert_eq!(k.queues(), "{ns}:queues");
        assert_eq!(k.stream("a{b}%", 0), "ns:q:{a%7Bb%7D%25}:p0");
        assert_eq!(k.stream("", 0), "ns:q:{%}:p0");
        let slot = |key: &str| redis::cluster_routing::get_slot(key.as_bytes());
        assert_eq!(slot(&k.stream("a{b}", 9)), slot(&k.dlq_order("a{b}")));
        assert_eq!(k.fair("default", 5), "ns:q:{default}:p5:fair");
        for key in [k.fair("a{b}", 0), k.fair_state("a{b}"), k.wake("a{b}")] {
            assert_eq!(slot(&key), slot(&k.delayed("a{b}")), "{key}");
        }
        assert_eq!(slot(&k.record("t1")), slot(&k.heartbeats()));
        assert!(Keys::cluster("n{s").unwrap_err().contains("brace"));
    }

    #[test]
    fn workflow_keys_share_the_global_slot() {
        let k = Keys::new("ns");
        assert_eq!(k.wf_run("r1"), "ns:wf:run:r1");
        assert_eq!(
            k.wf_runs(Some("running"), Some("a")),
            "ns:wf:runs:wf-state:running:a"
        );
        let k = Keys::cluster("ns").unwrap();
        assert_eq!(k.wf_steps("r1"), "{ns}:wf:steps:r1");
        let slot = |key: &str| redis::cluster_routing::get_slot(key.as_bytes());
        let global = slot(&k.queues());
        for key in [
            k.wf_run("a{b}c"),
            k.wf_steps("}{"),
            k.wf_runs(None, None),
            k.wf_runs(Some("failed"), Some("{x}")),
            k.wf_topic("{t}"),
            k.wf_waiters(),
        ] {
            assert_eq!(slot(&key), global, "{key}");
        }
    }
}
