//! A look at the tasks a queue holds (`BrokerAdmin::peek`), in the states `counts.lua` counts:
//! waiting — a band stream's entries past the consumer group's last-delivered id (acknowledged
//! entries are deleted, so every entry up to it is leased), then the band's keyed tasks by vt
//! (the order a fetch takes them), bands highest first; delayed — the
//! delayed set by due time; leased — the group's pending entries with their holder and the lease
//! expiry from the band's lease set, soonest to run out first. Read-only, in pages of `limit`.

use super::{redis_error, RedisStore};
use crate::{codec, Held, Payload, Peeked, Result};
use redis::streams::{StreamId, StreamInfoGroupsReply, StreamPendingCountReply, StreamRangeReply};
use redis::AsyncCommands;

fn payload_of(entry: &StreamId) -> Payload {
    match entry.get::<Vec<u8>>("e") {
        Some(bytes) => codec::decode_payload_bytes(&bytes),
        None => Payload::Malformed {
            raw: entry.id.clone(),
            reason: "malformed stream entry: no `e` field holding a task envelope".into(),
        },
    }
}

pub(super) async fn peek(
    store: &RedisStore,
    queue: &str,
    state: Held,
    limit: usize,
) -> Result<Vec<Peeked>> {
    let mut conn = store.conn();
    let fail = |e| redis_error("peek at a queue", e);
    let mut out = Vec::new();
    match state {
        Held::Delayed => {
            let stop = isize::try_from(limit).unwrap_or(isize::MAX) - 1;
            if stop < 0 {
                return Ok(out);
            }
            let members: Vec<(String, f64)> = conn
                .zrange_withscores(store.keys.delayed(queue), 0, stop)
                .await
                .map_err(fail)?;
            for (member, due) in members {
                let json = member.split_once('|').map_or(member.as_str(), |(_, j)| j);
                out.push(Peeked {
                    payload: codec::decode_payload(json.to_string()),
                    at: Some(due as i64),
                    owner: None,
                    deliveries: 0,
                });
            }
        }
        Held::Waiting => {
            for band in (0..super::keys::BANDS).rev() {
                if out.len() >= limit {
                    break;
                }
                let stream = store.keys.stream(queue, band);
                let len: usize = conn.xlen(&stream).await.map_err(fail)?;
                if len > 0 {
                    waiting_entries(store, &stream, limit, &mut out).await?;
                }
                if out.len() >= limit {
                    break;
                }
                let stop = (limit - out.len()).min(isize::MAX as usize) as isize - 1;
                let keyed: Vec<Vec<u8>> = conn
                    .zrange(store.keys.fair(queue, band), 0, stop)
                    .await
                    .map_err(fail)?;
                out.extend(keyed.iter().map(|member| {
                    let json = match member.iter().position(|&b| b == b'|') {
                        Some(bar) => &member[bar + 1..],
                        None => member.as_slice(),
                    };
                    Peeked {
                        payload: codec::decode_payload_bytes(json),
                        at: None,
                        owner: None,
                        deliveries: 0,
                    }
                }));
            }
        }
        Held::Leased => {
            for band in 0..super::keys::BANDS {
                let stream = store.keys.stream(queue, band);
                let len: usize = conn.xlen(&stream).await.map_err(fail)?;
                if len == 0 {
                    continue;
                }
                let pending: StreamPendingCountReply = match conn
                    .xpending_count(&stream, store.keys.group(), "-", "+", limit)
                    .await
                {
                    Ok(p) => p,
                    // No consumer group yet: nothing was ever leased at this priority.
                    Err(e) if e.code() == Some("NOGROUP") => continue,
                    Err(e) => return Err(fail(e)),
                };
                let leases = store.keys.leases(queue, band);
                for p in pending.ids {
                    let until: Option<f64> = conn.zscore(&leases, &p.id).await.map_err(fail)?;
                    let entry: StreamRangeReply =
                        conn.xrange(&stream, &p.id, &p.id).await.map_err(fail)?;
                    let Some(entry) = entry.ids.first() else {
                        continue;
                    };
                    out.push(Peeked {
                        payload: payload_of(entry),
                        at: until.map(|t| t as i64),
                        owner: Some(p.consumer),
                        deliveries: u32::try_from(p.times_delivered).unwrap_or(u32::MAX),
                    });
                }
            }
            out.sort_by_key(|p| p.at.unwrap_or(i64::MAX));
            out.truncate(limit);
        }
    }
    Ok(out)
}

/// The entries of band stream `stream` past the group's last-delivered id (not yet leased), up
/// to `limit` in `out` in all.
async fn waiting_entries(
    store: &RedisStore,
    stream: &str,
    limit: usize,
    out: &mut Vec<Peeked>,
) -> Result<()> {
    let mut conn = store.conn();
    let fail = |e| redis_error("peek at a queue", e);
    let groups: StreamInfoGroupsReply = conn.xinfo_groups(stream).await.map_err(fail)?;
    let start = groups
        .groups
        .iter()
        .find(|g| g.name == store.keys.group())
        .map_or("-".to_string(), |g| format!("({}", g.last_delivered_id));
    let page: StreamRangeReply = conn
        .xrange_count(stream, &start, "+", limit - out.len())
        .await
        .map_err(fail)?;
    out.extend(page.ids.iter().map(|entry| Peeked {
        payload: payload_of(entry),
        at: None,
        owner: None,
        deliveries: 0,
    }));
    Ok(())
}
