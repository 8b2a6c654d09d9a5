//! W3C Trace Context (`traceparent`) as carried in a task envelope's `headers["traceparent"]`:
//! parsed strictly (version `00`, lowercase hex, ids not all zeros), formatted, and a fresh
//! one made for a producer that has none. The supervisor hands a child the traceparent of its
//! own span for the attempt; the SDKs parse it with the same rules (`protocol/vectors/traceparent.jsonl`).

use std::fmt;

/// The envelope header (and child environment variable, upper-cased) that carries it.
pub const HEADER: &str = "traceparent";

/// A parsed `traceparent`: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: [u8; 16],
    pub parent_id: [u8; 8],
    pub flags: u8,
}

fn hex_bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl TraceParent {
    /// Parses a `traceparent` value; `None` for anything not a valid version-00 header.
    pub fn parse(value: &str) -> Option<TraceParent> {
        let parts: Vec<&str> = value.trim().split('-').collect();
        let [version, trace, parent, flags] = parts.as_slice() else {
            return None;
        };
        if *version != "00" {
            return None;
        }
        let trace_id = hex_bytes::<16>(trace)?;
        let parent_id = hex_bytes::<8>(parent)?;
        let [flags] = hex_bytes::<1>(flags)?;
        if trace_id == [0; 16] || parent_id == [0; 8] {
            return None;
        }
        Some(TraceParent {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// A new trace (sampled) with a random trace id and parent id.
    pub fn fresh() -> TraceParent {
        let a = uuid::Uuid::new_v4().into_bytes();
        let b = uuid::Uuid::new_v4().into_bytes();
        let mut parent_id = [0u8; 8];
        parent_id.copy_from_slice(&b[..8]);
        parent_id[0] |= 1;
        TraceParent {
            trace_id: a,
            parent_id,
            flags: 1,
        }
    }

    /// The same trace, with `span` as the parent (what a span hands to the work it starts).
    pub fn child(self, span: [u8; 8]) -> TraceParent {
        TraceParent {
            parent_id: span,
            ..self
        }
    }

    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    pub fn parent_id_hex(&self) -> String {
        hex(&self.parent_id)
    }

    pub fn sampled(&self) -> bool {
        self.flags & 1 == 1
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            hex(&self.trace_id),
            hex(&self.parent_id),
            self.flags
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_one_round_trips() {
        let t = TraceParent::fresh();
        assert_eq!(TraceParent::parse(&t.to_string()), Some(t));
        assert!(t.sampled());
        let c = t.child([7; 8]);
        assert_eq!(
            (c.trace_id, c.parent_id_hex()),
            (t.trace_id, "0707070707070707".into())
        );
    }
}
