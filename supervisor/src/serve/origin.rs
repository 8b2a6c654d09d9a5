//! Who may talk to the server from a browser: the `Host` names a tokenless server answers to
//! (loopback names and addresses, plus `--allow-host`), the server's own origin as a request
//! reached it, and the origins allowed to call it cross-origin (`--allow-origin`). Pure rules,
//! used by the guard middleware ([`super::guard`]).

use std::net::IpAddr;

/// The allow-lists and what the server needs to know about itself.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    /// Extra `Host` names a tokenless server answers to: `NAME` (any port) or `NAME:PORT`,
    /// lowercase.
    pub hosts: Vec<String>,
    /// Origins allowed to call the API cross-origin, normalised (`scheme://host:port`).
    pub origins: Vec<Origin>,
    /// Whether the server speaks HTTPS (the scheme of its own origin).
    pub tls: bool,
}

/// `scheme://host:port`, lowercase, the port made explicit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl Origin {
    /// Parses an `Origin` header value or an `--allow-origin` URL (`scheme://host[:port]`, no
    /// path but an optional trailing `/`); `None` for `null` or anything else.
    pub fn parse(value: &str) -> Option<Origin> {
        let (scheme, rest) = value.trim().split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) {
            return None;
        }
        let (host, port) = split_host(authority)?;
        Some(Origin {
            scheme,
            host,
            port: port.unwrap_or(default),
        })
    }

    /// As it is sent back in `Access-Control-Allow-Origin` (the default port left out).
    pub fn header(&self) -> String {
        let default = if self.scheme == "https" { 443 } else { 80 };
        if self.port == default {
            format!("{}://{}", self.scheme, self.host)
        } else {
            format!("{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

/// `host[:port]` (IPv6 in brackets) split and lowercased; `None` when malformed.
pub fn split_host(authority: &str) -> Option<(String, Option<u16>)> {
    let authority = authority.trim().to_ascii_lowercase();
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{inner}]"), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.clone(), None),
        }
    };
    if host.is_empty()
        || host.contains(|c: char| c.is_whitespace() || c == ':' && !host.starts_with('['))
    {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host, port))
}

/// Whether `host` (no port, lowercase, IPv6 in brackets) names this machine's loopback:
/// `localhost`, an address in 127.0.0.0/8 or `[::1]` (written as an address, not a name that
/// merely looks like one, such as `127.0.0.1.evil.example`).
pub fn is_loopback_name(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback() && !host.starts_with('['),
        Ok(IpAddr::V6(v6)) => host.starts_with('[') && v6.to_canonical().is_loopback(),
        Err(_) => false,
    }
}

impl OriginPolicy {
    /// Normalises the flags' values; a one-line error names a value that is not usable.
    pub fn new(hosts: &[String], origins: &[String], tls: bool) -> Result<Self, String> {
        let mut policy = OriginPolicy {
            tls,
            ..Default::default()
        };
        for h in hosts {
            let (host, port) = split_host(h).ok_or_else(|| {
                format!(
                    "--allow-host {h:?}: expected a host name or address, optionally with :PORT"
                )
            })?;
            policy.hosts.push(match port {
                Some(p) => format!("{host}:{p}"),
                None => host,
            });
        }
        for o in origins {
            let origin = Origin::parse(o).ok_or_else(|| {
                format!("--allow-origin {o:?}: expected http(s)://HOST[:PORT] with no path")
            })?;
            policy.origins.push(origin);
        }
        Ok(policy)
    }

    /// Whether a tokenless server answers a request whose `Host` is `authority`.
    pub fn host_allowed(&self, authority: &str) -> bool {
        let Some((host, port)) = split_host(authority) else {
            return false;
        };
        if is_loopback_name(&host) {
            return true;
        }
        let with_port = port.map(|p| format!("{host}:{p}"));
        self.hosts
            .iter()
            .any(|h| *h == host || Some(h) == with_port.as_ref())
    }

    /// The server's own origin for a request that reached it as `authority`.
    pub fn own_origin(&self, authority: &str) -> Option<Origin> {
        let scheme = if self.tls { "https" } else { "http" };
        let (host, port) = split_host(authority)?;
        Some(Origin {
            scheme: scheme.into(),
            host,
            port: port.unwrap_or(if self.tls { 443 } else { 80 }),
        })
    }

    /// Whether `origin` is on the `--allow-origin` list.
    pub fn origin_allowed(&self, origin: &Origin) -> bool {
        self.origins.contains(origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_lookalikes() {
        let p = OriginPolicy::new(&["stem.internal".into(), "box:9000".into()], &[], false)
            .expect("valid");
        for ok in [
            "localhost",
            "LOCALHOST:8781",
            "127.0.0.2:8781",
            "127.255.0.1",
            "[::1]:80",
            "[::1]",
            "stem.internal:1234",
            "box:9000",
        ] {
            assert!(p.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example:8781",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "box:9001",
            "[::1",
            "",
            "10.0.0.1",
            "::1",
        ] {
            assert!(!p.host_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn origins_normalise_and_compare() {
        let a = Origin::parse("HTTP://LocalHost:8781").expect("origin");
        assert_eq!(a.header(), "http://localhost:8781");
        assert_eq!(
            Origin::parse("https://x.example/").map(|o| o.port),
            Some(443)
        );
        for bad in ["null", "file://x", "http://x/path", "http://", "http://u@x"] {
            assert_eq!(Origin::parse(bad), None, "{bad}");
        }
        let p = OriginPolicy::new(&[], &["http://app.example:3000".into()], false).expect("ok");
        assert!(p.origin_allowed(&Origin::parse("http://app.example:3000").expect("o")));
        assert!(!p.origin_allowed(&Origin::parse("http://app.example:3001").expect("o")));
        assert_eq!(
            p.own_origin("127.0.0.1:8781"),
            Origin::parse("http://127.0.0.1:8781")
        );
        let err = OriginPolicy::new(&[], &["app.example".into()], false).expect_err("bad");
        assert!(err.contains("--allow-origin"), "{err}");
    }
}
