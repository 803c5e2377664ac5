//! Zero-copy views over packet bytes.
//!
//! Each format has a `Packet<T: AsRef<[u8]>>`-style view whose `new_checked`
//! validates every length field once, so that its accessors cannot panic,
//! and where useful a `Repr` that emits the header. Protocol numbers are
//! newtypes that keep unknown values. Nothing here allocates, and nothing
//! panics on any input (the fuzz target `wire` checks that).

use std::fmt;

use crate::counters::DropReason;

pub mod arp;
pub mod checksum;
pub mod esp;
pub mod ethernet;
pub mod gre;
pub mod ipv4;
pub mod ipv6;
pub mod ndp;
pub mod udp;
pub mod udp_encap;

/// Why bytes are not a valid packet of the expected format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than a header or length field says.
    Truncated,
    /// A field holds a value the format forbids.
    Malformed,
    /// A checksum does not verify.
    Checksum,
    /// A version or option this implementation does not handle.
    Unsupported,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Truncated => "truncated packet",
            Self::Malformed => "malformed packet",
            Self::Checksum => "bad checksum",
            Self::Unsupported => "unsupported packet",
        })
    }
}

impl std::error::Error for Error {}

impl From<Error> for DropReason {
    fn from(e: Error) -> Self {
        match e {
            Error::Truncated | Error::Malformed => Self::Malformed,
            Error::Checksum => Self::BadChecksum,
            Error::Unsupported => Self::Unsupported,
        }
    }
}

/// Result of parsing.
pub type Result<T> = core::result::Result<T, Error>;

/// An EtherType (IEEE 802.3), unknown values kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EtherType(pub u16);

impl EtherType {
    /// IPv4.
    pub const IPV4: Self = Self(0x0800);
    /// ARP.
    pub const ARP: Self = Self(0x0806);
    /// IPv6.
    pub const IPV6: Self = Self(0x86dd);
    /// 802.1Q VLAN tag.
    pub const VLAN: Self = Self(0x8100);
    /// 802.1ad service tag (QinQ).
    pub const QINQ: Self = Self(0x88a8);
}

/// An IP protocol / IPv6 next header number, unknown values kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpProtocol(pub u8);

impl IpProtocol {
    /// IPv6 Hop-by-Hop options.
    pub const HOPOPT: Self = Self(0);
    /// ICMP.
    pub const ICMP: Self = Self(1);
    /// IPv4 in IP (ESP next header for an inner IPv4 packet).
    pub const IPIP: Self = Self(4);
    /// TCP.
    pub const TCP: Self = Self(6);
    /// UDP.
    pub const UDP: Self = Self(17);
    /// IPv6 in IP (ESP next header for an inner IPv6 packet).
    pub const IPV6: Self = Self(41);
    /// IPv6 Routing header.
    pub const IPV6_ROUTE: Self = Self(43);
    /// IPv6 Fragment header.
    pub const IPV6_FRAG: Self = Self(44);
    /// GRE.
    pub const GRE: Self = Self(47);
    /// ESP.
    pub const ESP: Self = Self(50);
    /// AH.
    pub const AH: Self = Self(51);
    /// ICMPv6.
    pub const ICMPV6: Self = Self(58);
    /// No next header.
    pub const IPV6_NONXT: Self = Self(59);
    /// IPv6 Destination options.
    pub const IPV6_OPTS: Self = Self(60);
}

/// Runs every parser over `data`: as each format on its own, and chained
/// from Ethernet down (Ethernet, IP, UDP/GRE/ESP, UDP-encapsulated ESP).
/// Each successful parse is emitted again from its `Repr` and parsed back,
/// and must give the same `Repr`. The fuzz target and the corpus replay
/// test call this; it must never panic.
pub fn fuzz_parse_all(data: &[u8]) {
    let _ = arp::ArpRepr::parse(data);
    if let Ok(e) = ethernet::EthernetFrame::new_checked(data) {
        let _ = (e.dst(), e.src(), e.vlan_tags());
        let payload = e.payload();
        match e.ethertype() {
            EtherType::ARP => {
                if let Ok(r) = arp::ArpRepr::parse(payload) {
                    let mut b = [0u8; arp::PACKET_LEN];
                    r.emit(&mut b);
                    assert_eq!(arp::ArpRepr::parse(&b), Ok(r));
                }
            }
            _ => fuzz_ip(payload),
        }
    }
    fuzz_ip(data);
    fuzz_transport(data, None);
    let _ = esp::EspPacket::new_checked(data).map(|p| (p.spi(), p.sequence(), p.payload().len()));
    let _ = udp_encap::classify(data);
}

fn fuzz_ip(data: &[u8]) {
    if let Ok(p) = ndp::NdPacket::parse(data) {
        let mut b = [0u8; ndp::PACKET_LEN];
        let n = p.emit(&mut b).expect("room for one option");
        assert_eq!(ndp::NdPacket::parse(&b[..n]), Ok(p));
    }
    if let Ok(p) = ipv4::Ipv4Packet::new_checked(data) {
        let _ = (
            p.verify_checksum(),
            p.options().len(),
            p.is_fragment(),
            p.ident(),
        );
        let r = ipv4::Ipv4Repr::parse(&p);
        let mut b = [0u8; ipv4::HEADER_LEN];
        r.emit(&mut ipv4::Ipv4Packet::new_unchecked(&mut b[..]));
        let back = ipv4::Ipv4Packet::new_unchecked(&b[..]);
        assert!(back.verify_checksum());
        assert_eq!(ipv4::Ipv4Repr::parse(&back), r);
        fuzz_transport(p.payload(), Some((p.protocol(), true)));
        let mut copy = [0u8; 128];
        let n = p.header_len().min(copy.len());
        copy[..n].copy_from_slice(&data[..n]);
        if let Ok(mut q) = ipv4::Ipv4Packet::new_checked(&mut copy[..]) {
            let ok = q.verify_checksum();
            if q.ttl() > 0 {
                q.decrement_ttl();
                assert_eq!(
                    q.verify_checksum(),
                    ok,
                    "incremental update keeps the checksum"
                );
            }
        }
    }
    if let Ok(p) = ipv6::Ipv6Packet::new_checked(data) {
        let r = ipv6::Ipv6Repr::parse(&p);
        let mut b = [0u8; ipv6::HEADER_LEN];
        r.emit(&mut ipv6::Ipv6Packet::new_unchecked(&mut b[..]));
        assert_eq!(
            ipv6::Ipv6Repr::parse(&ipv6::Ipv6Packet::new_unchecked(&b[..])),
            r
        );
        if let Ok((proto, off, _frag)) = p.upper_layer() {
            if let Some(rest) = p.payload_with_header().get(off..) {
                fuzz_transport(rest, Some((proto, false)));
            }
        }
    }
}

fn fuzz_transport(data: &[u8], proto: Option<(IpProtocol, bool)>) {
    if let Ok(u) = udp::UdpPacket::new_checked(data) {
        let r = udp::UdpRepr::parse(&u);
        let mut b = [0u8; udp::HEADER_LEN];
        r.emit_header(&mut udp::UdpPacket::new_unchecked(&mut b[..]));
        assert_eq!(
            udp::UdpRepr::parse(&udp::UdpPacket::new_unchecked(&b[..])),
            r
        );
        if u.dst_port() == udp_encap::NAT_T_PORT {
            if let Ok(udp_encap::UdpEncap::Esp) = udp_encap::classify(u.payload()) {
                let _ = esp::EspPacket::new_checked(u.payload()).map(|e| e.spi());
            }
        }
    }
    if proto.is_none() || proto.map(|p| p.0) == Some(IpProtocol::GRE) {
        if let Ok(g) = gre::GrePacket::new_checked(data) {
            let _ = (g.verify_checksum(), g.sequence(), g.payload().len());
            let r = gre::GreRepr::parse(&g);
            let mut b = [0u8; 16];
            let n = r.header_len();
            r.emit(&mut gre::GrePacket::new_unchecked(&mut b[..n]));
            assert_eq!(
                gre::GreRepr::parse(&gre::GrePacket::new_unchecked(&b[..n])),
                r
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..200)) {
            fuzz_parse_all(&data);
        }

        #[test]
        fn mutated_valid_frames_never_panic(i in 0usize..100, b in any::<u8>(), cut in 0usize..100) {
            // A valid Ethernet/IPv4/UDP/4500/ESP frame, one byte changed, cut.
            let mut f = hex::decode(concat!(
                "0200000000010200000000020800",
                "4500003c00000000401100000a0000010a000002",
                "119411940028000011223344000000010102030405060708",
                "00112233445566778899aabbccddeeff")).unwrap();
            let csum = checksum::checksum(&f[14..34]);
            f[24..26].copy_from_slice(&csum.to_be_bytes());
            let n = f.len();
            f[i % n] ^= b;
            f.truncate(n - cut % n);
            fuzz_parse_all(&f);
        }
    }
}
