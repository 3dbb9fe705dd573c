//! Which webhook destinations are refused.
//!
//! A webhook makes the server send requests where a customer says, so a careless server becomes
//! a proxy into its own network (SSRF). Destinations on loopback, private, link-local, CGNAT,
//! multicast, unspecified, broadcast or documentation ranges are refused unless the operator's
//! allow-list names them. The rule runs on literal addresses at subscribe time (here) and on every
//! resolved address at connect time (in the delivery worker, which shares [`is_forbidden`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::DomainError;

/// A CIDR block (`10.0.0.0/8`, `::1/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr/prefix` (a bare address is a /32 or /128).
    ///
    /// # Errors
    /// A message when the address or prefix is malformed.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network: IpAddr = addr.trim().parse().map_err(|_| format!("`{s}` is not a CIDR block"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}` has a bad prefix length"))?,
            None => max,
        };
        Ok(Self { network, prefix })
    }

    /// Whether `ip` is inside the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The operator's list of blocks that may receive webhooks even though they are not public.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<Cidr>);

impl AllowList {
    /// An allow-list of these blocks.
    pub fn new(blocks: Vec<Cidr>) -> Self {
        Self(blocks)
    }

    /// Whether the list names `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// Whether a request to `ip` must be refused: it is not public and not allow-listed.
    pub fn refuses(&self, ip: IpAddr) -> bool {
        is_forbidden(ip) && !self.allows(ip)
    }
}

/// IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is treated as the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Whether `ip` is in a range a webhook must not reach (without an allow-list entry).
pub fn is_forbidden(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(a) => forbidden_v4(a),
        IpAddr::V6(a) => forbidden_v6(a),
    }
}

fn forbidden_v4(a: Ipv4Addr) -> bool {
    let [o0, o1, o2, _] = a.octets();
    a.is_unspecified()
        || a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_multicast()
        || a.is_broadcast()
        || a.is_documentation()
        || o0 == 0 // "this network"
        || (o0 == 100 && (64..128).contains(&o1)) // CGNAT 100.64.0.0/10
        || (o0 == 192 && o1 == 0 && o2 == 0) // IETF protocol assignments
        || (o0 == 198 && (o1 == 18 || o1 == 19)) // benchmarking
        || o0 >= 240 // reserved
}

fn forbidden_v6(a: Ipv6Addr) -> bool {
    let seg = a.segments();
    a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation 2001:db8::/32
        || (seg[0] == 0x0064 && seg[1] == 0xff9b) // NAT64 can reach IPv4 private space
        || seg[..6].iter().all(|s| *s == 0) // deprecated IPv4-compatible ::/96
        || embedded_v4(seg).iter().any(|v4| forbidden_v4(*v4))
}

/// The IPv4 addresses a transition address carries, which its relays would reach: a 6to4
/// address (2002::/16) carries one in bits 16-48; a Teredo address (2001:0::/32) carries its
/// server in bits 32-64 and its client, inverted, in the last 32 bits.
fn embedded_v4(seg: [u16; 8]) -> Vec<Ipv4Addr> {
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match seg {
        [0x2002, a, b, ..] => vec![v4(a, b)],
        [0x2001, 0x0000, a, b, _, _, c, d] => vec![v4(a, b), v4(!c, !d)],
        _ => Vec::new(),
    }
}

/// Validates a subscription URL: absolute `http` or `https`, with a host, no credentials, and no
/// literal address the rules refuse. Host names are checked again, resolved, at connect time.
///
/// # Errors
/// [`DomainError::Invalid`] naming `url`.
pub fn validate_url(raw: &str, allow: &AllowList) -> Result<String, DomainError> {
    let bad = |m: &str| DomainError::invalid("url", m.to_owned());
    if raw.len() > 2048 {
        return Err(bad("must be at most 2048 characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("is not an absolute URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must use http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    let ip = match url.host() {
        None => return Err(bad("must have a host")),
        Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
        Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d == "localhost" || d.ends_with(".localhost") {
                Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
            } else {
                None
            }
        }
    };
    if let Some(ip) = ip
        && allow.refuses(ip)
    {
        return Err(bad("points at a loopback, private or otherwise non-public address"));
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ssrf_table() {
        let refused = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.9",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            // 6to4 of 127.0.0.1 and of 10.0.0.1.
            "2002:7f00:1::1",
            "2002:a00:1::",
            // Teredo with server 8.8.8.8 and client 127.0.0.1 (inverted: 80ff:fffe), and with
            // server 192.168.0.1 and client 8.8.8.8 (inverted: f7f7:f7f7).
            "2001:0:808:808::80ff:fffe",
            "2001:0:c0a8:1::f7f7:f7f7",
        ];
        for ip in refused {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip} should be refused");
        }
        let public = [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            // 6to4 of 8.8.8.8, Teredo with server and client 8.8.8.8.
            "2002:808:808::1",
            "2001:0:808:808::f7f7:f7f7",
        ];
        for ip in public {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip} should be allowed");
        }
    }

    #[test]
    fn allow_list_opens_a_block() {
        let allow = AllowList::new(vec![Cidr::parse("127.0.0.0/8").unwrap(), Cidr::parse("::1").unwrap()]);
        assert!(!allow.refuses("127.0.0.1".parse().unwrap()));
        assert!(!allow.refuses("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!allow.refuses("::1".parse().unwrap()));
        assert!(allow.refuses("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn urls_are_checked() {
        let none = AllowList::default();
        assert!(validate_url("https://example.com/hook", &none).is_ok());
        assert!(validate_url("http://127.0.0.1:9000/", &none).is_err());
        assert!(validate_url("http://localhost/", &none).is_err());
        assert!(validate_url("http://[::1]/", &none).is_err());
        assert!(validate_url("http://[2002:7f00:1::1]/", &none).is_err());
        assert!(validate_url("http://[2001:0:808:808::80ff:fffe]/", &none).is_err());
        assert!(validate_url("ftp://example.com/", &none).is_err());
        assert!(validate_url("https://user:pw@example.com/", &none).is_err());
        assert!(validate_url("not a url", &none).is_err());
        let loopback = AllowList::new(vec![Cidr::parse("127.0.0.1/32").unwrap()]);
        assert!(validate_url("http://127.0.0.1:9000/", &loopback).is_ok());
        assert!(Cidr::parse("10.0.0.0/33").is_err());
    }
}
