//! The connect-time SSRF guard.
//!
//! A subscription URL is checked when it is created ([`check_subscription_url`]: its literal
//! address, or every address its host name resolves to then), but a host name can resolve to
//! anything later (DNS rebinding). So every address is checked again where the connection is
//! made: literal addresses before the request ([`check_destination`]), and every resolved
//! address inside the HTTP client's resolver ([`GuardedResolver`]), which drops refused
//! addresses and fails when none is left. Because the client connects only to what the resolver
//! returns, no second lookup can hand it a different answer.
//!
//! Name resolution goes through the [`Resolver`] seam ([`SystemResolver`] by default), so tests
//! can point a name at any address. No error of this module names an address a host name
//! resolved to: the error is shown to the subscriber, who must not learn the inside of the
//! network from it.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use zoom_core::webhook::address::AllowList;

/// Why a destination is refused before any byte is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// The URL does not parse or is not http(s) with a host.
    #[error("destination refused: {0}")]
    BadUrl(String),
    /// The address is loopback, private or otherwise non-public, and not allow-listed. The
    /// message names the host as the subscriber wrote it, never the address a name resolved to.
    #[error("destination refused: {host} is a non-public address not on the allow-list")]
    Forbidden {
        /// The host as written in the URL or given to the resolver.
        host: String,
        /// The refused address (for the operator; not in the message).
        ip: IpAddr,
    },
    /// The host name resolved to no address the rules allow (or to none at all).
    #[error("destination refused: {0}")]
    Resolve(String),
}

/// Checks a URL before a request: http or https with a host, and a literal address (IPv4,
/// IPv6, IPv4-mapped IPv6) only when `allow` does not refuse it. Host names pass here and are
/// checked by [`GuardedResolver`] when resolved.
///
/// # Errors
/// [`GuardError::BadUrl`] or [`GuardError::Forbidden`].
pub fn check_destination(url: &url::Url, allow: &AllowList) -> Result<(), GuardError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(GuardError::BadUrl(format!(
            "scheme `{}` is not http or https",
            url.scheme()
        )));
    }
    let ip = match url.host() {
        None => return Err(GuardError::BadUrl("the URL has no host".into())),
        Some(url::Host::Ipv4(a)) => IpAddr::V4(a),
        Some(url::Host::Ipv6(a)) => IpAddr::V6(a),
        Some(url::Host::Domain(_)) => return Ok(()),
    };
    if allow.refuses(ip) {
        return Err(GuardError::Forbidden {
            host: url.host_str().unwrap_or_default().to_owned(),
            ip,
        });
    }
    Ok(())
}

/// Keeps the addresses `allow` accepts; fails naming the first refused one when none is left.
///
/// # Errors
/// [`GuardError::Forbidden`] when every address is refused, [`GuardError::Resolve`] when there
/// were none.
pub fn filter_addresses(
    host: &str,
    addrs: impl IntoIterator<Item = SocketAddr>,
    allow: &AllowList,
) -> Result<Vec<SocketAddr>, GuardError> {
    let mut kept = Vec::new();
    let mut first_refused = None;
    for a in addrs {
        if allow.refuses(a.ip()) {
            first_refused.get_or_insert(a.ip());
        } else {
            kept.push(a);
        }
    }
    match (kept.is_empty(), first_refused) {
        (false, _) => Ok(kept),
        (true, Some(ip)) => Err(GuardError::Forbidden {
            host: host.to_owned(),
            ip,
        }),
        (true, None) => Err(GuardError::Resolve(format!("{host} resolved to no address"))),
    }
}

/// What a [`Resolver`] returns: the addresses of a host name, or why there are none.
pub type Lookup = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'static>>;

/// Resolves host names: the seam between the SSRF rules and DNS.
///
/// Called at subscribe time and at every connection; may be called concurrently. An `Err` or an
/// empty list means the name has no address now.
pub trait Resolver: Send + Sync + std::fmt::Debug + 'static {
    /// The addresses of `host` (a name, never a literal address).
    fn lookup(&self, host: &str) -> Lookup;
}

/// How long [`SystemResolver`] waits for an answer.
pub const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The system resolver (`getaddrinfo`, through tokio), bounded by [`LOOKUP_TIMEOUT`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn lookup(&self, host: &str) -> Lookup {
        let host = host.to_owned();
        Box::pin(async move {
            // The port is a placeholder: the connector puts the URL's port on each address. A
            // resolver that does not answer (no network, a dead DNS server) must not hold a
            // subscribe call or a delivery for the system's own timeouts (10 s and more): after
            // LOOKUP_TIMEOUT the name has no address now.
            let found = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host.as_str(), 0)))
                .await
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "the name did not resolve in time"))??;
            Ok(found.map(|a| a.ip()).collect())
        })
    }
}

/// Checks a subscription URL when it is created or changed: a literal address as
/// [`check_destination`] does, and a host name by resolving it now and refusing it when any
/// answer is non-public and not allow-listed. A name that does not resolve now is let through:
/// it is checked again, resolved, at every connection.
///
/// # Errors
/// [`GuardError::BadUrl`] or [`GuardError::Forbidden`] (naming the host, not the address).
pub async fn check_subscription_url(
    url: &url::Url,
    allow: &AllowList,
    resolver: &dyn Resolver,
) -> Result<(), GuardError> {
    check_destination(url, allow)?;
    let Some(url::Host::Domain(host)) = url.host() else {
        return Ok(());
    };
    let Ok(found) = resolver.lookup(host).await else {
        return Ok(());
    };
    match found.into_iter().find(|ip| allow.refuses(*ip)) {
        Some(ip) => Err(GuardError::Forbidden {
            host: host.to_owned(),
            ip,
        }),
        None => Ok(()),
    }
}

/// A DNS resolver for the HTTP client that resolves through a [`Resolver`] and passes only
/// addresses the allow-list accepts.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    allow: Arc<AllowList>,
    resolver: Arc<dyn Resolver>,
}

impl GuardedResolver {
    /// A resolver enforcing `allow` over the system resolver.
    pub fn new(allow: AllowList) -> Self {
        Self::with(allow, Arc::new(SystemResolver))
    }

    /// A resolver enforcing `allow` over `resolver`.
    pub fn with(allow: AllowList, resolver: Arc<dyn Resolver>) -> Self {
        Self {
            allow: Arc::new(allow),
            resolver,
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = Arc::clone(&self.allow);
        let host = name.as_str().to_owned();
        let lookup = self.resolver.lookup(&host);
        Box::pin(async move {
            let found = lookup
                .await
                .map_err(|e| GuardError::Resolve(format!("cannot resolve {host}: {e}")))?;
            let kept = filter_addresses(&host, found.into_iter().map(|ip| SocketAddr::new(ip, 0)), &allow)?;
            let addrs: Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zoom_core::webhook::address::Cidr;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).expect("url")
    }

    fn loopback() -> AllowList {
        AllowList::new(vec![
            Cidr::parse("127.0.0.0/8").expect("cidr"),
            Cidr::parse("::1").expect("cidr"),
        ])
    }

    #[test]
    fn literal_addresses_are_checked() {
        let none = AllowList::default();
        for refused in [
            "http://127.0.0.1:1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:10.0.0.1]/",
            "https://10.0.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://2130706433/", // 127.0.0.1 written as an integer
            "http://0x7f.1/",     // and in hex
        ] {
            assert!(
                matches!(
                    check_destination(&url(refused), &none),
                    Err(GuardError::Forbidden { .. })
                ),
                "{refused}"
            );
        }
        for allowed in [
            "https://8.8.8.8/",
            "http://[2606:4700:4700::1111]/",
            "https://example.com/",
        ] {
            assert_eq!(check_destination(&url(allowed), &none), Ok(()), "{allowed}");
        }
        assert_eq!(check_destination(&url("http://127.0.0.1:1/"), &loopback()), Ok(()));
        assert_eq!(
            check_destination(&url("http://[::ffff:127.0.0.1]/"), &loopback()),
            Ok(())
        );
        assert!(matches!(
            check_destination(&url("ftp://example.com/"), &none),
            Err(GuardError::BadUrl(_))
        ));
    }

    #[test]
    fn resolved_addresses_are_filtered() {
        let none = AllowList::default();
        let a = |s: &str| s.parse::<SocketAddr>().expect("addr");
        // A rebinding answer mixing a public and a private address keeps only the public one.
        assert_eq!(
            filter_addresses("evil.test", [a("10.0.0.1:0"), a("8.8.8.8:0")], &none),
            Ok(vec![a("8.8.8.8:0")])
        );
        assert_eq!(
            filter_addresses("evil.test", [a("127.0.0.1:0"), a("[::ffff:192.168.0.1]:0")], &none),
            Err(GuardError::Forbidden {
                host: "evil.test".into(),
                ip: "127.0.0.1".parse().expect("ip")
            })
        );
        assert!(matches!(
            filter_addresses("empty.test", [], &none),
            Err(GuardError::Resolve(_))
        ));
        assert_eq!(
            filter_addresses("localhost", [a("127.0.0.1:0")], &loopback()),
            Ok(vec![a("127.0.0.1:0")])
        );
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_to_loopback() {
        let resolver = GuardedResolver::new(AllowList::default());
        let name: Name = "localhost".parse().expect("name");
        let err = match resolver.resolve(name).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("non-public"), "{err}");
        let resolver = GuardedResolver::new(loopback());
        let name: Name = "localhost".parse().expect("name");
        let addrs: Vec<SocketAddr> = resolver.resolve(name).await.expect("allowed").collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }
}
