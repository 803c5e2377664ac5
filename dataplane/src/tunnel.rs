//! Tunnels: what an encapsulated packet looks like on the way out, and what
//! an inbound SA's packets must look like once decrypted.
//!
//! A [`Tunnel`] is immutable once published in the tunnel table. Rekeying
//! publishes a new `Tunnel` value carrying the new outbound SA (after the
//! new inbound SA is already in the SA table), so no packet is lost and no
//! reader sees a half-updated tunnel.

use std::net::IpAddr;
use std::sync::Arc;

use crate::buffer::PacketBuf;
use crate::counters::DropReason;
use crate::esp::{self, Sa};
use crate::sa_table::SpiEntry;
use crate::wire::{self, IpProtocol};

/// What the tunnel carries inside ESP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelMode {
    /// GRE (RFC 2784/2890) inside ESP: Cisco's `tunnel mode gre ip`, the
    /// FlexVPN default. Carries IPv4, IPv6 and NHRP.
    Gre {
        /// GRE key (RFC 2890), if configured (`tunnel key`).
        key: Option<u32>,
    },
    /// Plain IPsec tunnel mode (`tunnel mode ipsec ipv4|ipv6`): the inner IP
    /// packet directly in ESP. What strongSwan and other plain IPsec peers
    /// speak.
    Ipsec,
}

/// UDP encapsulation of ESP (RFC 3948), used when a NAT was detected or the
/// peer (e.g. strongSwan with kernel-libipsec) always encapsulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatT {
    /// Our UDP port (normally 4500).
    pub local_port: u16,
    /// The peer's UDP port (4500, or whatever the NAT mapped it to).
    pub remote_port: u16,
}

/// One tunnel: a Cisco `Tunnel` interface, a Virtual-Access cloned from a
/// virtual template, or an NHRP shortcut. A clone shares the outbound SA.
#[derive(Clone, Debug)]
pub struct Tunnel {
    /// Tunnel id, the key in the tunnel table and the FIB's next hop.
    pub id: u32,
    /// Outer source address (ours).
    pub local: IpAddr,
    /// Outer destination address (the peer).
    pub remote: IpAddr,
    /// GRE or plain IPsec.
    pub mode: TunnelMode,
    /// UDP encapsulation, when on.
    pub nat_t: Option<NatT>,
    /// Largest inner packet (IP header included) the tunnel carries.
    pub mtu: u16,
    /// TTL / hop limit of the outer header.
    pub outer_ttl: u8,
    /// NHRP network id (`ip nhrp network-id`), 0 when NHRP is off.
    pub nhrp_network_id: u32,
    /// `ip nhrp redirect` on this interface (a hub): a packet that enters
    /// here and leaves through another tunnel of the same network is
    /// reported to the control plane ([`crate::redirect`]).
    pub redirect: bool,
    /// The SA that protects outgoing packets, once negotiated.
    pub outbound: Option<Arc<Sa>>,
}

/// An inbound SA in the SA table, and the tunnel its packets belong to.
#[derive(Debug)]
pub struct InboundSa {
    /// The SA (key, replay window, counters).
    pub sa: Sa,
    /// The tunnel whose traffic this SA carries.
    pub tunnel: u32,
}

impl SpiEntry for InboundSa {
    #[inline]
    fn spi(&self) -> u32 {
        self.sa.spi()
    }
}

/// Bytes of headroom that [`Tunnel::encapsulate`] needs at most (outer IPv6,
/// UDP, ESP header and IV, GRE with key), not counting the link layer.
pub const MAX_ENCAP_HEADROOM: usize = 40 + 8 + 16 + 8;

/// Which inner protocol a packet is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InnerProto {
    /// IPv4 (GRE type 0x0800, ESP next header 4).
    Ipv4,
    /// IPv6 (GRE type 0x86DD, ESP next header 41).
    Ipv6,
    /// NHRP (GRE type 0x2001; GRE tunnels only).
    Nhrp,
}

impl InnerProto {
    const fn gre_protocol(self) -> u16 {
        match self {
            Self::Ipv4 => wire::gre::PROTO_IPV4,
            Self::Ipv6 => wire::gre::PROTO_IPV6,
            Self::Nhrp => wire::gre::PROTO_NHRP,
        }
    }
}

impl Tunnel {
    /// Bytes this tunnel puts inside ESP in front of the inner packet (the
    /// GRE header, or nothing in IPsec mode).
    pub const fn inner_overhead(&self) -> usize {
        match self.mode {
            TunnelMode::Gre { key } => wire::gre::GreRepr {
                protocol: 0,
                key,
                sequence: None,
                checksum: false,
            }
            .header_len(),
            TunnelMode::Ipsec => 0,
        }
    }

    /// Encapsulates `buf` (which holds an inner IP packet, or an NHRP packet)
    /// into this tunnel: GRE if the tunnel is in GRE mode, ESP with the
    /// outbound SA, UDP when NAT-T is on, and the outer IP header. On return
    /// `buf` holds the outer IP packet. Returns the ESP sequence number used.
    ///
    /// On error `buf` may hold a partly built packet: the caller drops it.
    /// A burst of packets to one tunnel should instead reserve its sequence
    /// numbers at once ([`Sa::reserve_seq`]) and call
    /// [`Tunnel::encapsulate_with_seq`], as the pipeline does.
    pub fn encapsulate<B: PacketBuf>(
        &self,
        buf: &mut B,
        inner: InnerProto,
    ) -> Result<u64, DropReason> {
        let sa = self.outbound.as_deref().ok_or(DropReason::NoOutboundSa)?;
        // Refuse what would fail anyway before spending a sequence number.
        self.precheck(buf)?;
        let seq = sa.reserve_seq(1)?.first;
        self.encapsulate_with_seq(buf, inner, seq)?;
        Ok(seq)
    }

    fn precheck<B: PacketBuf>(&self, buf: &B) -> Result<(), DropReason> {
        if buf.len() > usize::from(self.mtu) {
            return Err(DropReason::TooBig);
        }
        Ok(())
    }

    /// [`Tunnel::encapsulate`] with a sequence number already reserved on
    /// the tunnel's outbound SA (each reserved number used at most once).
    pub fn encapsulate_with_seq<B: PacketBuf>(
        &self,
        buf: &mut B,
        inner: InnerProto,
        seq: u64,
    ) -> Result<(), DropReason> {
        let sa = self.outbound.as_deref().ok_or(DropReason::NoOutboundSa)?;
        self.precheck(buf)?;
        // Traffic class of the inner packet, copied to the outer header
        // (RFC 4301 section 5.1.2.1: DSCP copied; ECN per RFC 6040 normal
        // mode: copied).
        let tos = inner_tos(buf.data(), inner);
        let next_header = match (self.mode, inner) {
            (TunnelMode::Gre { key }, _) => {
                let repr = wire::gre::GreRepr {
                    protocol: inner.gre_protocol(),
                    key,
                    sequence: None,
                    checksum: false,
                };
                let len = repr.header_len();
                if !buf.prepend(len) {
                    return Err(DropReason::NoRoom);
                }
                repr.emit(&mut wire::gre::GrePacket::new_unchecked(
                    &mut buf.data_mut()[..len],
                ));
                IpProtocol::GRE
            }
            (TunnelMode::Ipsec, InnerProto::Ipv4) => IpProtocol::IPIP,
            (TunnelMode::Ipsec, InnerProto::Ipv6) => IpProtocol::IPV6,
            (TunnelMode::Ipsec, InnerProto::Nhrp) => return Err(DropReason::Unsupported),
        };
        esp::seal_reserved(sa, buf, next_header.0, seq)?;

        let mut outer_proto = IpProtocol::ESP;
        if let Some(nat) = self.nat_t {
            let payload_len = buf.len();
            if !buf.prepend(wire::udp::HEADER_LEN) {
                return Err(DropReason::NoRoom);
            }
            let repr = wire::udp::UdpRepr {
                src_port: nat.local_port,
                dst_port: nat.remote_port,
                payload_len,
            };
            let mut udp = wire::udp::UdpPacket::new_unchecked(buf.data_mut());
            repr.emit_header(&mut udp);
            // RFC 3948 section 2.1: the UDP checksum SHOULD be zero over
            // IPv4; over IPv6 a checksum is required (RFC 8200 section 8.1).
            match (self.local, self.remote) {
                (IpAddr::V6(src), IpAddr::V6(dst)) => {
                    udp.fill_checksum_v6(&src.octets(), &dst.octets())
                }
                _ => udp.set_checksum(0),
            }
            outer_proto = IpProtocol::UDP;
        }
        self.prepend_outer_ip(buf, outer_proto, tos)
    }

    /// Checks a decrypted packet against this tunnel and removes the GRE
    /// header if there is one. `buf` holds the ESP payload (what
    /// [`esp::open`] left); `next_header` is its ESP next header. On success
    /// `buf` holds the inner IP or NHRP packet.
    pub fn decapsulate<B: PacketBuf>(
        &self,
        buf: &mut B,
        next_header: u8,
    ) -> Result<InnerProto, DropReason> {
        match self.mode {
            TunnelMode::Gre { key } => {
                if next_header != IpProtocol::GRE.0 {
                    return Err(DropReason::TunnelMismatch);
                }
                let (protocol, hlen) = {
                    let gre = wire::gre::GrePacket::new_checked(buf.data())?;
                    // RFC 2890 section 2.1: a packet whose key does not
                    // match the tunnel's is not for this tunnel.
                    if gre.key() != key {
                        return Err(DropReason::TunnelMismatch);
                    }
                    (gre.protocol_type(), gre.header_len())
                };
                let inner = match protocol {
                    wire::gre::PROTO_IPV4 => InnerProto::Ipv4,
                    wire::gre::PROTO_IPV6 => InnerProto::Ipv6,
                    wire::gre::PROTO_NHRP => InnerProto::Nhrp,
                    _ => return Err(DropReason::BadNextHeader),
                };
                buf.adj(hlen);
                Ok(inner)
            }
            TunnelMode::Ipsec => match IpProtocol(next_header) {
                IpProtocol::IPIP => Ok(InnerProto::Ipv4),
                IpProtocol::IPV6 => Ok(InnerProto::Ipv6),
                IpProtocol::GRE => Err(DropReason::TunnelMismatch),
                _ => Err(DropReason::BadNextHeader),
            },
        }
    }

    fn prepend_outer_ip<B: PacketBuf>(
        &self,
        buf: &mut B,
        protocol: IpProtocol,
        tos: u8,
    ) -> Result<(), DropReason> {
        let payload_len = buf.len();
        match (self.local, self.remote) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let total = payload_len + wire::ipv4::HEADER_LEN;
                if total > usize::from(u16::MAX) {
                    return Err(DropReason::TooBig);
                }
                if !buf.prepend(wire::ipv4::HEADER_LEN) {
                    return Err(DropReason::NoRoom);
                }
                let repr = wire::ipv4::Ipv4Repr {
                    src: src.octets(),
                    dst: dst.octets(),
                    protocol,
                    ttl: self.outer_ttl,
                    tos,
                    ident: 0,
                    dont_frag: true,
                    payload_len,
                };
                repr.emit(&mut wire::ipv4::Ipv4Packet::new_unchecked(
                    &mut buf.data_mut()[..wire::ipv4::HEADER_LEN],
                ));
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                if payload_len > usize::from(u16::MAX) {
                    return Err(DropReason::TooBig);
                }
                if !buf.prepend(wire::ipv6::HEADER_LEN) {
                    return Err(DropReason::NoRoom);
                }
                let repr = wire::ipv6::Ipv6Repr {
                    src: src.octets(),
                    dst: dst.octets(),
                    next_header: protocol,
                    hop_limit: self.outer_ttl,
                    traffic_class: tos,
                    flow_label: 0,
                    payload_len,
                };
                repr.emit(&mut wire::ipv6::Ipv6Packet::new_unchecked(
                    &mut buf.data_mut()[..wire::ipv6::HEADER_LEN],
                ));
            }
            // A tunnel's two ends are of one family; the control plane
            // never builds another, but a bad command must not panic us.
            _ => return Err(DropReason::Unsupported),
        }
        Ok(())
    }
}

/// The DSCP+ECN byte of an inner IP packet (0 for NHRP or garbage).
#[inline]
fn inner_tos(data: &[u8], inner: InnerProto) -> u8 {
    match inner {
        InnerProto::Ipv4 => data.get(1).copied().unwrap_or(0),
        InnerProto::Ipv6 => match (data.first(), data.get(1)) {
            (Some(&a), Some(&b)) => (a << 4) | (b >> 4),
            _ => 0,
        },
        InnerProto::Nhrp => 0,
    }
}
