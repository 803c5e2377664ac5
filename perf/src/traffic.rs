//! The traffic generator: IPv4 or IPv6 UDP flows of chosen sizes (fixed or
//! IMIX) over chosen numbers of flows and destinations, as cleartext
//! frames or as an ESP stream for one SA (to drive the decrypt path).
//!
//! Deterministic: the same [`Spec`] gives the same packets. Cleartext
//! packets come from [`crate::gen`] (an encoder independent of the
//! dataplane's); ESP streams are sealed with the dataplane's own tunnel code
//! (checked against scapy in the system tests).

use std::net::IpAddr;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use dataplane::buffer::{PacketBuf, VecBuf};
use dataplane::crypto::{Algorithm, Backend};
use dataplane::esp::{Sa, SaConfig};
use dataplane::tunnel::{InnerProto, NatT, Tunnel, TunnelMode, MAX_ENCAP_HEADROOM};

use crate::gen;

/// Packet sizes (IP packet bytes, before any encapsulation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sizes {
    /// Every packet this size (raised to the family's minimum).
    Fixed(usize),
    /// [`gen::IMIX`], interleaved (7 x 64, 4 x 576, 1 x 1420 per 12).
    Imix,
}

impl std::str::FromStr for Sizes {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("imix") {
            return Ok(Self::Imix);
        }
        let n: usize = s.parse().with_context(|| format!("size {s:?}"))?;
        if !(gen::MIN_V4..=9000).contains(&n) {
            bail!("size {n} outside {}..=9000", gen::MIN_V4);
        }
        Ok(Self::Fixed(n))
    }
}

/// Encrypt the stream with this SA, as a peer would send it to us.
#[derive(Clone, Debug)]
pub struct EspSpec {
    /// SPI (the receiver's inbound SPI).
    pub spi: u32,
    /// AEAD.
    pub algorithm: Algorithm,
    /// Key and salt (16/32 + 4 bytes).
    pub key: Vec<u8>,
    /// Extended sequence numbers.
    pub esn: bool,
    /// Outer source (the sending peer).
    pub outer_src: IpAddr,
    /// Outer destination (the receiver).
    pub outer_dst: IpAddr,
    /// GRE (with this key) or plain IPsec tunnel mode.
    pub mode: TunnelMode,
    /// UDP 4500 encapsulation.
    pub nat_t: bool,
    /// First sequence number.
    pub first_seq: u64,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Sizes.
    pub sizes: Sizes,
    /// Distinct flows (source address and port pairs).
    pub flows: u32,
    /// Distinct destination addresses.
    pub destinations: u32,
    /// First source address; flows count up from it (1024 ports per
    /// address). Its family is the stream's family.
    pub src: IpAddr,
    /// First destination address; destinations count up from it.
    pub dst: IpAddr,
    /// Destination UDP port.
    pub dport: u16,
    /// Ethernet destination (the device under test).
    pub dst_mac: [u8; 6],
    /// Ethernet source.
    pub src_mac: [u8; 6],
    /// Encrypt as an ESP stream.
    pub esp: Option<EspSpec>,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            sizes: Sizes::Fixed(64),
            flows: 1,
            destinations: 1,
            src: "10.1.0.1".parse().expect("literal"),
            dst: "10.2.0.1".parse().expect("literal"),
            dport: 9,
            dst_mac: [0x02, 0, 0, 0, 0, 0x01],
            src_mac: [0x02, 0, 0, 0, 0, 0x02],
            esp: None,
        }
    }
}

/// Generates frames from a [`Spec`]; an endless iterator (take what you
/// need).
#[derive(Debug)]
pub struct Generator {
    spec: Spec,
    tunnel: Option<Tunnel>,
    i: u64,
}

fn add(base: IpAddr, n: u32) -> IpAddr {
    match base {
        IpAddr::V4(a) => IpAddr::V4(u32::from(a).wrapping_add(n).into()),
        IpAddr::V6(a) => IpAddr::V6(u128::from(a).wrapping_add(u128::from(n)).into()),
    }
}

impl Generator {
    /// A generator; checks the spec.
    pub fn new(spec: Spec) -> Result<Self> {
        if spec.flows == 0 || spec.destinations == 0 {
            bail!("flows and destinations must be at least 1");
        }
        if spec.src.is_ipv4() != spec.dst.is_ipv4() {
            bail!(
                "source {} and destination {} differ in family",
                spec.src,
                spec.dst
            );
        }
        let tunnel = match &spec.esp {
            None => None,
            Some(e) => {
                if e.outer_src.is_ipv4() != e.outer_dst.is_ipv4() {
                    bail!("outer addresses differ in family");
                }
                let sa = Sa::new(SaConfig {
                    spi: e.spi,
                    algorithm: e.algorithm,
                    backend: Backend::Ring,
                    key: e.key.clone(),
                    esn: e.esn,
                    replay_window: 64,
                })
                .map_err(|err| anyhow::anyhow!("ESP SA: {err}"))?;
                sa.set_next_seq(e.first_seq.max(1));
                Some(Tunnel {
                    id: 1,
                    local: e.outer_src,
                    remote: e.outer_dst,
                    mode: e.mode,
                    nat_t: e.nat_t.then_some(NatT {
                        local_port: 4500,
                        remote_port: 4500,
                    }),
                    mtu: 9000,
                    outer_ttl: 64,
                    nhrp_network_id: 0,
                    redirect: false,
                    outbound: Some(Arc::new(sa)),
                })
            }
        };
        Ok(Self { spec, tunnel, i: 0 })
    }

    /// The cleartext IP packet number `i` (what the ESP stream carries).
    pub fn inner(&self, i: u64) -> Vec<u8> {
        let s = &self.spec;
        let size = match s.sizes {
            Sizes::Fixed(n) => n,
            // 5 is prime to 12: every size appears in each window of 12,
            // spread out.
            Sizes::Imix => gen::IMIX[(i as usize * 5) % gen::IMIX.len()],
        };
        let flow = (i % u64::from(s.flows)) as u32;
        let dst = (i % u64::from(s.destinations)) as u32;
        gen::udp_packet(
            add(s.src, flow / 1024),
            add(s.dst, dst),
            1024 + (flow % 1024) as u16,
            s.dport,
            size,
            i as u8,
        )
    }

    /// The next Ethernet frame.
    pub fn next_frame(&mut self) -> Result<Vec<u8>> {
        let inner = self.inner(self.i);
        self.i += 1;
        let ip = match &self.tunnel {
            None => inner,
            Some(t) => {
                let proto = if inner[0] >> 4 == 6 {
                    InnerProto::Ipv6
                } else {
                    InnerProto::Ipv4
                };
                let mut b = VecBuf::from_slice(&inner, MAX_ENCAP_HEADROOM + 32, 64);
                t.encapsulate(&mut b, proto)
                    .map_err(|r| anyhow::anyhow!("encapsulation failed: {}", r.name()))?;
                b.data().to_vec()
            }
        };
        Ok(gen::ethernet(self.spec.dst_mac, self.spec.src_mac, &ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataplane::esp;
    use dataplane::wire::ipv4::Ipv4Packet;
    use std::collections::HashSet;

    #[test]
    fn flows_destinations_and_imix() {
        let g = Generator::new(Spec {
            sizes: Sizes::Imix,
            flows: 2000,
            destinations: 7,
            ..Spec::default()
        })
        .unwrap();
        let pkts: Vec<Vec<u8>> = (0..12_000).map(|i| g.inner(i)).collect();
        let mut sizes = [0usize; 3];
        let mut flows = HashSet::new();
        let mut dsts = HashSet::new();
        for p in &pkts {
            let ip = Ipv4Packet::new_checked(&p[..]).unwrap();
            assert!(ip.verify_checksum());
            match p.len() {
                64 => sizes[0] += 1,
                576 => sizes[1] += 1,
                1420 => sizes[2] += 1,
                n => panic!("size {n}"),
            }
            flows.insert((ip.src_addr(), u16::from_be_bytes([p[20], p[21]])));
            dsts.insert(ip.dst_addr());
        }
        assert_eq!(sizes, [7000, 4000, 1000]);
        assert_eq!(flows.len(), 2000);
        assert_eq!(dsts.len(), 7);
        // Deterministic.
        assert_eq!(g.inner(4321), pkts[4321]);
    }

    #[test]
    fn esp_stream_opens_with_the_receivers_sa() {
        let key: Vec<u8> = (1..=20).collect();
        for (v6, mode, nat_t) in [
            (false, TunnelMode::Ipsec, false),
            (true, TunnelMode::Gre { key: Some(5) }, true),
        ] {
            let (src, dst, o_src, o_dst) = if v6 {
                (
                    "2001:db8:1::1",
                    "2001:db8:2::1",
                    "2001:db8::2",
                    "2001:db8::1",
                )
            } else {
                ("10.1.0.1", "10.2.0.1", "192.0.2.2", "192.0.2.1")
            };
            let spec = Spec {
                src: src.parse().unwrap(),
                dst: dst.parse().unwrap(),
                sizes: Sizes::Fixed(200),
                flows: 3,
                esp: Some(EspSpec {
                    spi: 0x1234,
                    algorithm: Algorithm::AesGcm128,
                    key: key.clone(),
                    esn: true,
                    outer_src: o_src.parse().unwrap(),
                    outer_dst: o_dst.parse().unwrap(),
                    mode,
                    nat_t,
                    first_seq: (1 << 32) - 2,
                }),
                ..Spec::default()
            };
            let mut g = Generator::new(spec).unwrap();
            let rx = Sa::new(SaConfig {
                spi: 0x1234,
                algorithm: Algorithm::AesGcm128,
                backend: Backend::RustCrypto,
                key: key.clone(),
                esn: true,
                replay_window: 64,
            })
            .unwrap();
            for i in 0..5 {
                let f = g.next_frame().unwrap();
                // Ethernet, outer IP, optional UDP, then ESP.
                let ip_len = if v6 { 40 } else { 20 };
                let off = 14 + ip_len + if nat_t { 8 } else { 0 };
                assert_eq!(esp::peek_spi(&f[off..]), Some(0x1234));
                let mut b = VecBuf::new(&f[off..]);
                let opened = esp::open(&rx, &mut b).unwrap();
                let inner = g.inner(i);
                let payload = b.data();
                // GRE adds its 4-byte header plus the 4-byte key.
                let skip = if matches!(mode, TunnelMode::Gre { .. }) {
                    8
                } else {
                    0
                };
                assert_eq!(&payload[skip..], &inner[..], "packet {i}");
                let _ = opened;
            }
        }
    }
}
