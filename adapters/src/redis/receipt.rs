//! Receipts: what a delivery carries so that ack, extend, release and dead-letter find the
//! entry and can tell whether its lease is still held. A receipt is
//! `{band}|{entry id}|{delivery count}|{consumer}`; the lease is held while the entry is pending
//! for that consumer with that delivery count (a takeover, even by the same consumer, counts a
//! new delivery, so an old receipt stops working).

use crate::{AdapterError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub band: u8,
    pub id: String,
    pub deliveries: u32,
    pub consumer: String,
}

impl Receipt {
    pub fn encode(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.band, self.id, self.deliveries, self.consumer
        )
    }

    pub fn parse(receipt: &str) -> Result<Self> {
        let bad = || AdapterError::permanent(format!("not a redis receipt: {receipt:?}"));
        let mut parts = receipt.splitn(4, '|');
        let band = parts.next().and_then(|b| b.parse().ok()).ok_or_else(bad)?;
        let id = parts.next().filter(|s| !s.is_empty()).ok_or_else(bad)?;
        let deliveries = parts.next().and_then(|d| d.parse().ok()).ok_or_else(bad)?;
        let consumer = parts.next().ok_or_else(bad)?;
        Ok(Receipt {
            band,
            id: id.to_string(),
            deliveries,
            consumer: consumer.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_keeps_a_consumer_with_separators() {
        let r = Receipt {
            band: 7,
            id: "1-0".into(),
            deliveries: 2,
            consumer: "host|1".into(),
        };
        assert_eq!(Receipt::parse(&r.encode()).unwrap(), r);
        assert!(Receipt::parse("x|1-0|1|c").is_err());
    }
}
