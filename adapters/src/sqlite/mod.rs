//! The sqlite backend (being written).

use crate::connect::{ConnectOptions, Store};
use crate::{AdapterError, Result};
use std::sync::Arc;

pub async fn open(url: &str, _options: &ConnectOptions) -> Result<Arc<dyn Store>> {
    Err(AdapterError::config(format!(
        "{url}: the sqlite backend is not available yet"
    )))
}
