//! What travels with an mbuf between lcores.
//!
//! An `rte_ring` carries mbuf pointers only, but a punted packet needs its
//! reason (ARP, ND, IKE, NHRP with a tunnel id, or a neighbour to resolve
//! with its port and address) and a frame the main lcore hands back to a
//! worker needs its egress port. That metadata is written in front of the
//! packet, in the mbuf's headroom, as a fixed [`META_LEN`]-byte header, and
//! removed by the receiving lcore. It is never transmitted.
//!
//! Why in-band rather than in an mbuf field: it needs no dynamic mbuf
//! field registration and no `unsafe`, it works on any
//! [`PacketBuf`] (so it is unit-tested on `VecBuf`), and the headroom is
//! there anyway: a received frame has the full 128 bytes, and an encrypted
//! packet still has at least 56 after its outer headers (128 + 14 - 72 at
//! most for outer IPv6, UDP, ESP and GRE with a key).
//!
//! ```text
//! | kind (1) | family (1) | port (2, BE) | tunnel (4, BE) | address (16) |
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dataplane::buffer::PacketBuf;
use dataplane::pipeline::Punt;

/// Bytes of the header.
pub const META_LEN: usize = 24;

const KIND_ARP: u8 = 1;
const KIND_ND: u8 = 2;
const KIND_IKE: u8 = 3;
const KIND_NHRP: u8 = 4;
const KIND_RESOLVE: u8 = 5;
const KIND_REDIRECT: u8 = 6;
const KIND_TX: u8 = 16;

/// The metadata of one mbuf in flight between lcores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meta {
    /// Worker to main lcore: a punted packet that arrived on `rx_port`.
    Punt {
        /// The port it was received on.
        rx_port: u16,
        /// Why, as the pipeline said.
        punt: Punt,
    },
    /// Main lcore to worker: a complete frame to send on `port`.
    Tx {
        /// Egress port.
        port: u16,
    },
}

/// Writes `meta` in front of the packet. False (buffer unchanged) when the
/// headroom is too small.
#[inline]
pub fn push<B: PacketBuf>(buf: &mut B, meta: Meta) -> bool {
    if !buf.prepend(META_LEN) {
        return false;
    }
    let mut h = [0u8; META_LEN];
    let (kind, port, tunnel, ip) = match meta {
        Meta::Tx { port } => (KIND_TX, port, 0, None),
        Meta::Punt { rx_port, punt } => match punt {
            Punt::Arp => (KIND_ARP, rx_port, 0, None),
            Punt::NeighborDiscovery => (KIND_ND, rx_port, 0, None),
            Punt::Ike => (KIND_IKE, rx_port, 0, None),
            Punt::Nhrp { tunnel } => (KIND_NHRP, rx_port, tunnel, None),
            Punt::Redirect { ingress, egress } => {
                h[8..12].copy_from_slice(&egress.to_be_bytes());
                (KIND_REDIRECT, rx_port, ingress, None)
            }
            // The egress port is in the punt; keep the ingress port too.
            Punt::Resolve { port, next_hop } => {
                (KIND_RESOLVE, rx_port, u32::from(port), Some(next_hop))
            }
        },
    };
    h[0] = kind;
    h[2..4].copy_from_slice(&port.to_be_bytes());
    h[4..8].copy_from_slice(&tunnel.to_be_bytes());
    match ip {
        None => {}
        Some(IpAddr::V4(a)) => {
            h[1] = 4;
            h[8..12].copy_from_slice(&a.octets());
        }
        Some(IpAddr::V6(a)) => {
            h[1] = 6;
            h[8..24].copy_from_slice(&a.octets());
        }
    }
    buf.data_mut()[..META_LEN].copy_from_slice(&h);
    true
}

/// Reads and removes the header. `None` (buffer unchanged) if there is no
/// valid header, which would be a bug of the sending lcore: the caller
/// counts and frees the buffer.
#[inline]
pub fn pop<B: PacketBuf>(buf: &mut B) -> Option<Meta> {
    let h: [u8; META_LEN] = buf.data().get(..META_LEN)?.try_into().ok()?;
    let port = u16::from_be_bytes([h[2], h[3]]);
    let word = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
    let ip = match h[1] {
        0 => None,
        4 => Some(IpAddr::V4(Ipv4Addr::new(h[8], h[9], h[10], h[11]))),
        6 => {
            let a: [u8; 16] = h[8..24].try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => return None,
    };
    let punt = |punt| {
        Some(Meta::Punt {
            rx_port: port,
            punt,
        })
    };
    let meta = match (h[0], ip) {
        (KIND_TX, None) => Some(Meta::Tx { port }),
        (KIND_ARP, None) => punt(Punt::Arp),
        (KIND_ND, None) => punt(Punt::NeighborDiscovery),
        (KIND_IKE, None) => punt(Punt::Ike),
        (KIND_NHRP, None) => punt(Punt::Nhrp { tunnel: word }),
        (KIND_REDIRECT, None) => punt(Punt::Redirect {
            ingress: word,
            egress: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
        }),
        (KIND_RESOLVE, Some(next_hop)) => punt(Punt::Resolve {
            port: u16::try_from(word).ok()?,
            next_hop,
        }),
        _ => None,
    }?;
    buf.adj(META_LEN).then_some(meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataplane::buffer::VecBuf;

    #[test]
    fn test_round_trip_every_kind() {
        let metas = [
            Meta::Tx { port: 7 },
            Meta::Punt {
                rx_port: 1,
                punt: Punt::Arp,
            },
            Meta::Punt {
                rx_port: 2,
                punt: Punt::NeighborDiscovery,
            },
            Meta::Punt {
                rx_port: 3,
                punt: Punt::Ike,
            },
            Meta::Punt {
                rx_port: 0,
                punt: Punt::Nhrp {
                    tunnel: 0xdead_beef,
                },
            },
            Meta::Punt {
                rx_port: 5,
                punt: Punt::Redirect {
                    ingress: 7,
                    egress: 0x1_2345,
                },
            },
            Meta::Punt {
                rx_port: 4,
                punt: Punt::Resolve {
                    port: 4095,
                    next_hop: "192.0.2.7".parse().unwrap(),
                },
            },
            Meta::Punt {
                rx_port: 0,
                punt: Punt::Resolve {
                    port: 1,
                    next_hop: "2001:db8::1:2".parse().unwrap(),
                },
            },
        ];
        for m in metas {
            let payload = [0xab; 40];
            let mut b = VecBuf::new(&payload);
            let room = b.headroom();
            assert!(push(&mut b, m));
            assert_eq!(b.len(), payload.len() + META_LEN);
            assert_eq!(pop(&mut b), Some(m));
            assert_eq!(b.data(), &payload[..]);
            assert_eq!(b.headroom(), room);
        }
    }

    #[test]
    fn test_no_headroom() {
        let mut b = VecBuf::from_slice(&[1, 2, 3], META_LEN - 1, 0);
        assert!(!push(&mut b, Meta::Tx { port: 0 }));
        assert_eq!(b.data(), &[1, 2, 3]);
    }

    #[test]
    fn test_garbage_is_refused() {
        for bytes in [vec![], vec![0u8; 10], vec![99u8; 30], {
            let mut v = vec![0u8; 30];
            v[0] = KIND_RESOLVE; // no address
            v
        }] {
            let mut b = VecBuf::new(&bytes);
            assert_eq!(pop(&mut b), None);
            assert_eq!(b.data(), &bytes[..]);
        }
    }
}
