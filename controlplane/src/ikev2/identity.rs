//! IKE identities (RFC 7296 section 3.5) and the match rules of a FlexVPN
//! profile or keyring (`match identity remote fqdn domain cisco.com`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::codec::{IdPayload, IdType};

/// An IKE identity, as carried in IDi/IDr.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Identity {
    /// ID_FQDN, for example `hub.cisco.com`.
    Fqdn(String),
    /// ID_RFC822_ADDR, for example `spoke1@example.test`.
    Email(String),
    /// ID_IPV4_ADDR.
    Ipv4(Ipv4Addr),
    /// ID_IPV6_ADDR.
    Ipv6(Ipv6Addr),
    /// ID_KEY_ID: opaque octets.
    KeyId(Vec<u8>),
    /// ID_DER_ASN1_DN: the DER bytes of a distinguished name, as received.
    /// [`IdentityMatch::Exact`] compares two DNs attribute by attribute
    /// ([`super::pki::dn_equal`]); `==` compares bytes.
    Dn(Vec<u8>),
    /// Any other ID type (or a name that is not UTF-8), kept as bytes.
    Other {
        /// The ID Type.
        id_type: u8,
        /// Identification Data.
        data: Vec<u8>,
    },
}

impl Identity {
    /// The identity of an address (ID_IPV4_ADDR or ID_IPV6_ADDR).
    #[must_use]
    pub fn ip(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => Self::Ipv4(a),
            IpAddr::V6(a) => Self::Ipv6(a),
        }
    }

    /// The ID payload that carries this identity.
    #[must_use]
    pub fn to_payload(&self) -> IdPayload {
        match self {
            Self::Fqdn(s) => IdPayload::new(IdType::FQDN, s.as_bytes().to_vec()),
            Self::Email(s) => IdPayload::new(IdType::RFC822_ADDR, s.as_bytes().to_vec()),
            Self::Ipv4(a) => IdPayload::ip(IpAddr::V4(*a)),
            Self::Ipv6(a) => IdPayload::ip(IpAddr::V6(*a)),
            Self::KeyId(b) => IdPayload::new(IdType::KEY_ID, b.clone()),
            Self::Dn(b) => IdPayload::new(IdType::DER_ASN1_DN, b.clone()),
            Self::Other { id_type, data } => IdPayload::new(IdType(*id_type), data.clone()),
        }
    }

    /// The identity a received ID payload names.
    #[must_use]
    pub fn from_payload(p: &IdPayload) -> Self {
        let utf8 = || String::from_utf8(p.data.clone()).ok();
        match p.id_type {
            IdType::FQDN => utf8().map_or_else(|| Self::other(p), Self::Fqdn),
            IdType::RFC822_ADDR => utf8().map_or_else(|| Self::other(p), Self::Email),
            IdType::IPV4_ADDR | IdType::IPV6_ADDR => {
                p.as_ip().map_or_else(|| Self::other(p), Self::ip)
            }
            IdType::KEY_ID => Self::KeyId(p.data.clone()),
            IdType::DER_ASN1_DN => Self::Dn(p.data.clone()),
            _ => Self::other(p),
        }
    }

    fn other(p: &IdPayload) -> Self {
        Self::Other {
            id_type: p.id_type.0,
            data: p.data.clone(),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fqdn(s) => write!(f, "fqdn:{s}"),
            Self::Email(s) => write!(f, "email:{s}"),
            Self::Ipv4(a) => write!(f, "ipv4:{a}"),
            Self::Ipv6(a) => write!(f, "ipv6:{a}"),
            Self::KeyId(b) => write!(f, "keyid:{}", hex(b)),
            Self::Dn(b) => match super::pki::dn_to_string(b) {
                Some(t) => write!(f, "dn:{t}"),
                None => write!(f, "dn:{}", hex(b)),
            },
            Self::Other { id_type, data } => write!(f, "id{id_type}:{}", hex(data)),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A rule that an identity matches (a keyring entry or a profile's
/// `match identity remote ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityMatch {
    /// Any identity.
    Any,
    /// Exactly this identity (names compare without regard to ASCII case).
    Exact(Identity),
    /// An FQDN equal to the domain or ending in `.domain`
    /// (`match identity remote fqdn domain cisco.com`).
    FqdnDomain(String),
    /// An email address whose part after `@` is the domain or a subdomain
    /// of it (`match identity remote email domain example.com`).
    EmailDomain(String),
    /// An address identity inside a prefix (`match identity remote address
    /// 10.0.0.0 255.255.255.0`).
    AddressPrefix(IpAddr, u8),
}

fn domain_matches(name: &str, domain: &str) -> bool {
    let name = name.trim_end_matches('.');
    let domain = domain.trim_end_matches('.').trim_start_matches('.');
    if name.eq_ignore_ascii_case(domain) {
        return true;
    }
    // Bytes, not str slices: a name from the network may hold multi-byte
    // characters where a str index would not be a char boundary.
    let (n, d) = (name.as_bytes(), domain.as_bytes());
    n.len() > d.len()
        && n[n.len() - d.len() - 1] == b'.'
        && n[n.len() - d.len()..].eq_ignore_ascii_case(d)
}

impl IdentityMatch {
    /// Whether `id` matches the rule.
    #[must_use]
    pub fn matches(&self, id: &Identity) -> bool {
        match (self, id) {
            (Self::Any, _) => true,
            (Self::Exact(Identity::Fqdn(a)), Identity::Fqdn(b))
            | (Self::Exact(Identity::Email(a)), Identity::Email(b)) => a.eq_ignore_ascii_case(b),
            (Self::Exact(Identity::Dn(a)), Identity::Dn(b)) => super::pki::dn_equal(a, b),
            (Self::Exact(a), b) => a == b,
            (Self::FqdnDomain(d), Identity::Fqdn(n)) => domain_matches(n, d),
            (Self::EmailDomain(d), Identity::Email(e)) => e
                .rsplit_once('@')
                .is_some_and(|(_, host)| domain_matches(host, d)),
            (Self::AddressPrefix(p, len), Identity::Ipv4(a)) => {
                prefix_contains(*p, *len, IpAddr::V4(*a))
            }
            (Self::AddressPrefix(p, len), Identity::Ipv6(a)) => {
                prefix_contains(*p, *len, IpAddr::V6(*a))
            }
            _ => false,
        }
    }
}

/// Whether `addr` is inside `prefix/len` (same family).
#[must_use]
pub fn prefix_contains(prefix: IpAddr, len: u8, addr: IpAddr) -> bool {
    match (prefix, addr) {
        (IpAddr::V4(p), IpAddr::V4(a)) => {
            let len = u32::from(len.min(32));
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(p) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(p), IpAddr::V6(a)) => {
            let len = u32::from(len.min(128));
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            u128::from(p) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_payload_roundtrip() {
        for id in [
            Identity::Fqdn("hub.cisco.com".into()),
            Identity::Email("spoke1@example.test".into()),
            Identity::Ipv4(Ipv4Addr::new(10, 0, 0, 1)),
            Identity::Ipv6("2001:db8::1".parse().unwrap()),
            Identity::KeyId(vec![1, 2, 3]),
            Identity::Dn(vec![0x30, 0x00]),
            Identity::Other {
                id_type: 12,
                data: vec![9],
            },
        ] {
            assert_eq!(Identity::from_payload(&id.to_payload()), id);
        }
        // A name that is not UTF-8 is kept as bytes.
        let p = IdPayload::new(IdType::FQDN, vec![0xff, 0xfe]);
        assert_eq!(
            Identity::from_payload(&p),
            Identity::Other {
                id_type: 2,
                data: vec![0xff, 0xfe]
            }
        );
    }

    #[test]
    fn test_matches() {
        let m = IdentityMatch::FqdnDomain("cisco.com".into());
        assert!(m.matches(&Identity::Fqdn("spoke1.cisco.com".into())));
        assert!(m.matches(&Identity::Fqdn("SPOKE1.Cisco.COM".into())));
        assert!(m.matches(&Identity::Fqdn("cisco.com".into())));
        assert!(!m.matches(&Identity::Fqdn("evilcisco.com".into())));
        // Multi-byte characters where a str index would split one.
        assert!(!m.matches(&Identity::Fqdn("\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}".into())));
        assert!(!IdentityMatch::FqdnDomain("x".into()).matches(&Identity::Fqdn("a\u{e9}".into())));
        assert!(
            !IdentityMatch::EmailDomain("x".into()).matches(&Identity::Email("u@a\u{e9}".into()))
        );
        assert!(!m.matches(&Identity::Email("a@cisco.com".into())));
        let e = IdentityMatch::EmailDomain("example.test".into());
        assert!(e.matches(&Identity::Email("spoke1@example.test".into())));
        assert!(!e.matches(&Identity::Email("spoke1@badexample.test".into())));
        let x = IdentityMatch::Exact(Identity::Fqdn("Hub.cisco.com".into()));
        assert!(x.matches(&Identity::Fqdn("hub.cisco.com".into())));
        let p = IdentityMatch::AddressPrefix("10.0.0.0".parse().unwrap(), 24);
        assert!(p.matches(&Identity::Ipv4(Ipv4Addr::new(10, 0, 0, 110))));
        assert!(!p.matches(&Identity::Ipv4(Ipv4Addr::new(10, 0, 1, 110))));
        assert!(IdentityMatch::Any.matches(&Identity::KeyId(vec![])));
    }

    #[test]
    fn test_dn_match_and_display() {
        // CN=hub as a UTF8String, as a PrintableString, and CN=HUB.
        let utf8 = vec![
            0x30, 0x0e, 0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x03, b'h',
            b'u', b'b',
        ];
        let mut printable = utf8.clone();
        printable[11] = 0x13;
        let mut upper = utf8.clone();
        upper[13..].copy_from_slice(b"HUB");
        let mut other = utf8.clone();
        other[15] = b'x';
        let m = IdentityMatch::Exact(Identity::Dn(utf8.clone()));
        assert!(m.matches(&Identity::Dn(utf8.clone())));
        assert!(m.matches(&Identity::Dn(printable)));
        assert!(m.matches(&Identity::Dn(upper)));
        assert!(!m.matches(&Identity::Dn(other)));
        assert!(!m.matches(&Identity::Dn(vec![0x30, 0x00])));
        assert!(!m.matches(&Identity::Fqdn("hub".into())));
        assert_eq!(Identity::Dn(utf8).to_string(), "dn:CN=hub");
        // Not a DN: shown as hex.
        assert_eq!(Identity::Dn(vec![0xff]).to_string(), "dn:ff");
    }

    proptest::proptest! {
        /// Any name from the network, against any rule: no panic, and an
        /// FQDN matches its own domain.
        #[test]
        fn prop_matches_never_panic(name in ".{0,40}", domain in ".{0,20}") {
            for m in [
                IdentityMatch::FqdnDomain(domain.clone()),
                IdentityMatch::EmailDomain(domain.clone()),
                IdentityMatch::Exact(Identity::Fqdn(domain.clone())),
            ] {
                let _ = m.matches(&Identity::Fqdn(name.clone()));
                let _ = m.matches(&Identity::Email(name.clone()));
            }
            let n = name.trim_end_matches('.').trim_start_matches('.');
            if !n.is_empty() {
                let host = format!("host.{}", n);
                let ok = IdentityMatch::FqdnDomain(n.to_string()).matches(&Identity::Fqdn(host));
                proptest::prop_assert!(ok);
            }
        }
    }
}
