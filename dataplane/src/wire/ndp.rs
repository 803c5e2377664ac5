//! IPv6 Neighbor Discovery (RFC 4861): Neighbor Solicitation and
//! Advertisement with their link-layer address options, carried in an IPv6
//! packet without extension headers.

use super::checksum;
use super::{Error, Result};

/// IP protocol number of ICMPv6.
pub const ICMPV6: u8 = 58;
/// ICMPv6 type of a Neighbor Solicitation.
pub const TYPE_NS: u8 = 135;
/// ICMPv6 type of a Neighbor Advertisement.
pub const TYPE_NA: u8 = 136;
/// Option: source link-layer address.
const OPT_SOURCE_LL: u8 = 1;
/// Option: target link-layer address.
const OPT_TARGET_LL: u8 = 2;
/// ICMPv6 header (4) + reserved/flags (4) + target (16).
const MESSAGE_MIN: usize = 24;
/// Bytes of an IPv6 packet carrying one NS or NA with one link-layer option.
pub const PACKET_LEN: usize = 40 + MESSAGE_MIN + 8;

/// What the message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NdKind {
    /// Neighbor Solicitation.
    Solicitation,
    /// Neighbor Advertisement with its flags.
    Advertisement {
        /// R: the sender is a router.
        router: bool,
        /// S: sent in answer to a solicitation.
        solicited: bool,
        /// O: override an existing cache entry.
        override_: bool,
    },
}

/// A Neighbor Solicitation or Advertisement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NdRepr {
    /// NS or NA.
    pub kind: NdKind,
    /// The target address.
    pub target: [u8; 16],
    /// The source (NS) or target (NA) link-layer address option.
    pub lladdr: Option<[u8; 6]>,
}

/// An IPv6 packet's addresses, as NDP needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NdPacket {
    /// IPv6 source.
    pub src: [u8; 16],
    /// IPv6 destination.
    pub dst: [u8; 16],
    /// The message.
    pub repr: NdRepr,
}

/// True for an IPv6 multicast address (ff00::/8).
pub fn is_multicast(a: &[u8; 16]) -> bool {
    a[0] == 0xff
}

/// The solicited-node multicast address of `target` (ff02::1:ffXX:XXXX).
pub fn solicited_node(target: &[u8; 16]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0xff;
    a[1] = 0x02;
    a[11] = 0x01;
    a[12] = 0xff;
    a[13..].copy_from_slice(&target[13..]);
    a
}

/// The Ethernet address an IPv6 multicast address maps to (RFC 2464
/// section 7): 33:33 and the low 32 bits.
pub fn multicast_mac(a: &[u8; 16]) -> [u8; 6] {
    [0x33, 0x33, a[12], a[13], a[14], a[15]]
}

impl NdPacket {
    /// Parses an IPv6 packet holding an NS or NA and applies the validity
    /// checks of RFC 4861 sections 7.1.1 and 7.1.2.
    pub fn parse(ip: &[u8]) -> Result<Self> {
        if ip.len() < 40 {
            return Err(Error::Truncated);
        }
        if ip[0] >> 4 != 6 {
            return Err(Error::Malformed);
        }
        let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
        let msg = ip.get(40..40 + plen).ok_or(Error::Truncated)?;
        if ip[6] != ICMPV6 {
            return Err(Error::Unsupported);
        }
        //= https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
        //# - The IP Hop Limit field has a value of 255, i.e., the packet
        //#   could not possibly have been forwarded by a router.
        if ip[7] != 255 {
            return Err(Error::Malformed);
        }
        let mut src = [0u8; 16];
        src.copy_from_slice(&ip[8..24]);
        let mut dst = [0u8; 16];
        dst.copy_from_slice(&ip[24..40]);
        //# - ICMP length (derived from the IP length) is 24 or more octets.
        if msg.len() < MESSAGE_MIN {
            return Err(Error::Truncated);
        }
        //# - ICMP Checksum is valid.
        let acc = checksum::pseudo_v6(&src, &dst, ICMPV6, msg.len() as u32);
        if checksum::fold(checksum::sum(acc, msg)) != 0xffff {
            return Err(Error::Checksum);
        }
        //# - ICMP Code is 0.
        if msg[1] != 0 {
            return Err(Error::Malformed);
        }
        let mut target = [0u8; 16];
        target.copy_from_slice(&msg[8..24]);
        //# - Target Address is not a multicast address.
        if is_multicast(&target) {
            return Err(Error::Malformed);
        }
        let (kind, wanted) = match msg[0] {
            TYPE_NS => (NdKind::Solicitation, OPT_SOURCE_LL),
            TYPE_NA => (
                NdKind::Advertisement {
                    router: msg[4] & 0x80 != 0,
                    solicited: msg[4] & 0x40 != 0,
                    override_: msg[4] & 0x20 != 0,
                },
                OPT_TARGET_LL,
            ),
            _ => return Err(Error::Unsupported),
        };
        //# - All included options have a length that is greater than zero.
        let mut lladdr = None;
        let mut opts = &msg[MESSAGE_MIN..];
        while !opts.is_empty() {
            let len = 8 * usize::from(*opts.get(1).ok_or(Error::Truncated)?);
            if len == 0 {
                return Err(Error::Malformed);
            }
            let opt = opts.get(..len).ok_or(Error::Truncated)?;
            if opt[0] == wanted && len == 8 {
                let mut mac = [0u8; 6];
                mac.copy_from_slice(&opt[2..8]);
                lladdr = Some(mac);
            }
            opts = &opts[len..];
        }
        let unspecified = src == [0u8; 16];
        match kind {
            NdKind::Solicitation => {
                //= https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
                //# - If the IP source address is the unspecified address, the IP
                //#   destination address is a solicited-node multicast address.
                //# - If the IP source address is the unspecified address, there is no
                //#   source link-layer address option in the message.
                if unspecified && (dst[..13] != solicited_node(&target)[..13] || lladdr.is_some()) {
                    return Err(Error::Malformed);
                }
            }
            NdKind::Advertisement { solicited, .. } => {
                //= https://www.rfc-editor.org/rfc/rfc4861#section-7.1.2
                //# - If the IP Destination Address is a multicast address the
                //#   Solicited flag is zero.
                if is_multicast(&dst) && solicited {
                    return Err(Error::Malformed);
                }
            }
        }
        Ok(Self {
            src,
            dst,
            repr: NdRepr {
                kind,
                target,
                lladdr,
            },
        })
    }

    /// Writes the whole IPv6 packet (hop limit 255, checksum filled in) into
    /// `out`, which must hold [`PACKET_LEN`] bytes (fewer when there is no
    /// link-layer option); returns the length written.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize> {
        let msg_len = MESSAGE_MIN + if self.repr.lladdr.is_some() { 8 } else { 0 };
        let b = out.get_mut(..40 + msg_len).ok_or(Error::Truncated)?;
        b.fill(0);
        b[0] = 0x60;
        b[4..6].copy_from_slice(&(msg_len as u16).to_be_bytes());
        b[6] = ICMPV6;
        b[7] = 255;
        b[8..24].copy_from_slice(&self.src);
        b[24..40].copy_from_slice(&self.dst);
        let m = &mut b[40..];
        let opt_type = match self.repr.kind {
            NdKind::Solicitation => {
                m[0] = TYPE_NS;
                OPT_SOURCE_LL
            }
            NdKind::Advertisement {
                router,
                solicited,
                override_,
            } => {
                m[0] = TYPE_NA;
                m[4] = u8::from(router) << 7 | u8::from(solicited) << 6 | u8::from(override_) << 5;
                OPT_TARGET_LL
            }
        };
        m[8..24].copy_from_slice(&self.repr.target);
        if let Some(mac) = self.repr.lladdr {
            m[24] = opt_type;
            m[25] = 1;
            m[26..32].copy_from_slice(&mac);
        }
        let acc = checksum::pseudo_v6(&self.src, &self.dst, ICMPV6, msg_len as u32);
        let c = checksum::fold(checksum::sum(acc, m));
        m[2..4].copy_from_slice(&(!c).to_be_bytes());
        Ok(40 + msg_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> [u8; 16] {
        s.parse::<std::net::Ipv6Addr>().unwrap().octets()
    }

    /// A Neighbor Solicitation as Linux sends it (fe80::1 asking for
    /// fe80::2), written out by hand from RFC 4861 section 4.3.
    const NS: &str = "6000000000203aff fe800000000000000000000000000001 \
                      ff0200000000000000000001ff000002 \
                      8700 CSUM 00000000 fe800000000000000000000000000002 \
                      0101 020000000001";

    fn ns_bytes() -> Vec<u8> {
        let mut b = hex::decode(NS.replace("CSUM", "0000").replace(' ', "")).unwrap();
        let acc = checksum::pseudo_v6(
            b[8..24].try_into().unwrap(),
            b[24..40].try_into().unwrap(),
            ICMPV6,
            32,
        );
        let c = !checksum::fold(checksum::sum(acc, &b[40..]));
        b[42..44].copy_from_slice(&c.to_be_bytes());
        b
    }

    #[test]
    fn test_parse_emit() {
        let b = ns_bytes();
        let p = NdPacket::parse(&b).unwrap();
        assert_eq!(p.repr.kind, NdKind::Solicitation);
        assert_eq!(p.repr.target, addr("fe80::2"));
        assert_eq!(p.repr.lladdr, Some([2, 0, 0, 0, 0, 1]));
        assert_eq!(p.dst, solicited_node(&addr("fe80::2")));
        let mut out = [0u8; PACKET_LEN];
        let n = p.emit(&mut out).unwrap();
        assert_eq!(&out[..n], &b[..]);

        let na = NdPacket {
            src: addr("fe80::2"),
            dst: addr("fe80::1"),
            repr: NdRepr {
                kind: NdKind::Advertisement {
                    router: true,
                    solicited: true,
                    override_: true,
                },
                target: addr("fe80::2"),
                lladdr: Some([2, 0, 0, 0, 0, 2]),
            },
        };
        let n = na.emit(&mut out).unwrap();
        assert_eq!(out[40 + 4], 0xe0);
        assert_eq!(NdPacket::parse(&out[..n]).unwrap(), na);
    }

    #[test]
    fn test_check_len_and_rules() {
        let good = ns_bytes();
        for n in 0..good.len() {
            assert!(NdPacket::parse(&good[..n]).is_err(), "cut at {n}");
        }
        // Any flipped byte of the message breaks the checksum or a rule.
        for i in 40..good.len() {
            let mut b = good.clone();
            b[i] ^= 0x01;
            assert!(NdPacket::parse(&b).is_err(), "byte {i}");
        }
        // Forwarded (hop limit 254).
        let mut b = good.clone();
        b[7] = 254;
        assert_eq!(NdPacket::parse(&b), Err(Error::Malformed));
        // A zero-length option.
        let mut b = good.clone();
        b[40 + 25] = 0;
        b[42..44].fill(0);
        let acc = checksum::pseudo_v6(
            b[8..24].try_into().unwrap(),
            b[24..40].try_into().unwrap(),
            ICMPV6,
            32,
        );
        let c = !checksum::fold(checksum::sum(acc, &b[40..]));
        b[42..44].copy_from_slice(&c.to_be_bytes());
        assert_eq!(NdPacket::parse(&b), Err(Error::Malformed));
        // Solicited NA to a multicast address.
        let na = NdPacket {
            src: addr("fe80::2"),
            dst: addr("ff02::1"),
            repr: NdRepr {
                kind: NdKind::Advertisement {
                    router: false,
                    solicited: true,
                    override_: true,
                },
                target: addr("fe80::2"),
                lladdr: None,
            },
        };
        let mut out = [0u8; PACKET_LEN];
        let n = na.emit(&mut out).unwrap();
        assert_eq!(NdPacket::parse(&out[..n]), Err(Error::Malformed));
        // DAD probe (unspecified source) with a link-layer option.
        let dad = NdPacket {
            src: [0; 16],
            dst: solicited_node(&addr("fe80::2")),
            repr: NdRepr {
                kind: NdKind::Solicitation,
                target: addr("fe80::2"),
                lladdr: Some([2; 6]),
            },
        };
        let n = dad.emit(&mut out).unwrap();
        assert_eq!(NdPacket::parse(&out[..n]), Err(Error::Malformed));
    }

    #[test]
    fn test_multicast_mapping() {
        let t = addr("2001:db8::12:3456");
        assert_eq!(solicited_node(&t), addr("ff02::1:ff12:3456"));
        assert_eq!(
            multicast_mac(&solicited_node(&t)),
            [0x33, 0x33, 0xff, 0x12, 0x34, 0x56]
        );
    }
}
