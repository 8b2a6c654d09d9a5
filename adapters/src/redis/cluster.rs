//! Redis Cluster URLs and clients: `redis+cluster://[user:password@]host:port[,host:port...][/0]`
//! names seed nodes of one cluster (the client discovers the rest); `rediss+cluster://` is the
//! same over TLS with the `rediss://` settings ([`super::tls`]). A malformed URL is refused with
//! one line naming what is wrong.

use super::tls;
use crate::{AdapterError, Result};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use std::time::Duration;

/// The schemes of a cluster URL.
pub fn is_cluster_url(url: &str) -> bool {
    url.starts_with("redis+cluster://") || url.starts_with("rediss+cluster://")
}

/// A cluster URL taken apart: one `redis://` (or `rediss://`) URL per seed node.
#[derive(Debug, PartialEq, Eq)]
pub struct Seeds {
    pub nodes: Vec<String>,
    pub tls: bool,
}

/// Parses a cluster URL into its seed nodes.
pub fn parse(url: &str) -> Result<Seeds> {
    let bad = |what: &str| {
        AdapterError::config(format!(
            "invalid redis cluster URL {}: {what} (expected \
             redis+cluster://[user:password@]host:port[,host:port...])",
            crate::redact(url)
        ))
    };
    let (tls, rest) = if let Some(rest) = url.strip_prefix("rediss+cluster://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("redis+cluster://") {
        (false, rest)
    } else {
        return Err(bad(
            "the scheme is not redis+cluster:// or rediss+cluster://",
        ));
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    if let Some(f) = fragment.filter(|f| *f != "insecure") {
        return Err(bad(&format!(
            "unknown fragment #{f} (only #insecure is known)"
        )));
    }
    if rest.contains('?') {
        return Err(bad("query parameters are not supported"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    if !matches!(path, "" | "0") {
        return Err(bad(&format!(
            "database {path:?}: a Redis Cluster has only database 0"
        )));
    }
    let (creds, hosts) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    if hosts.is_empty() {
        return Err(bad("no seed node"));
    }
    let scheme = if tls { "rediss" } else { "redis" };
    let mut nodes = Vec::new();
    for host in hosts.split(',') {
        let Some((name, port)) = host.rsplit_once(':') else {
            return Err(bad(&format!("seed node {host:?} has no :port")));
        };
        if name.is_empty() || name.contains(['/', ' ']) {
            return Err(bad(&format!("seed node {host:?} has no host name")));
        }
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(bad(&format!("seed node {host:?}: {port:?} is not a port")));
        }
        let creds = creds.map(|c| format!("{c}@")).unwrap_or_default();
        let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
        nodes.push(format!("{scheme}://{creds}{name}:{port}/0{fragment}"));
    }
    Ok(Seeds { nodes, tls })
}

/// A cluster client for `url` with the TLS settings read with `var`, and their summary.
pub fn client(
    url: &str,
    connect_timeout: Duration,
    var: impl Fn(&str) -> Option<String>,
) -> Result<(ClusterClient, String)> {
    let seeds = parse(url)?;
    let settings = tls::settings(seeds.tls, url, var)?;
    let insecure = settings.as_ref().is_some_and(|s| s.insecure);
    let nodes: Vec<String> = seeds
        .nodes
        .into_iter()
        .map(|n| match insecure && !n.contains('#') {
            true => format!("{n}#insecure"),
            false => n,
        })
        .collect();
    let mut builder = ClusterClientBuilder::new(nodes).connection_timeout(connect_timeout);
    let mut summary = "TLS off".to_string();
    if let Some(settings) = settings {
        if insecure {
            builder = builder.tls(redis::TlsMode::Insecure);
        }
        if let Some(certificates) = settings.certificates {
            builder = builder.certs(certificates);
        }
        summary = settings.summary;
    }
    let client = builder.build().map_err(|e| {
        AdapterError::config(format!(
            "invalid redis cluster URL {}: {e}",
            crate::redact(url)
        ))
    })?;
    Ok((client, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_keep_credentials_and_tls() {
        let s = parse("redis+cluster://127.0.0.1:7000,127.0.0.1:7001").unwrap();
        assert_eq!(
            s.nodes,
            ["redis://127.0.0.1:7000/0", "redis://127.0.0.1:7001/0"]
        );
        let s = parse("rediss+cluster://u:p@a:1,b:2/0#insecure").unwrap();
        assert!(s.tls);
        assert_eq!(s.nodes[1], "rediss://u:p@b:2/0#insecure");
    }

    #[test]
    fn malformed_urls_say_what_is_wrong() {
        for (url, what) in [
            ("redis+cluster://", "no seed node"),
            ("redis+cluster://a:1,b", "seed node \"b\" has no :port"),
            ("redis+cluster://a:x", "\"x\" is not a port"),
            ("redis+cluster://:1", "has no host name"),
            ("redis+cluster://a:1/3", "only database 0"),
            ("redis+cluster://a:1?x=1", "query parameters"),
            ("redis+cluster://a:1#tls", "unknown fragment"),
            ("redis+cluster://:secret@a:1/2", "only database 0"),
        ] {
            let err = parse(url).unwrap_err().message;
            assert!(err.contains(what), "{url}: {err}");
            assert!(!err.contains("secret"), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
