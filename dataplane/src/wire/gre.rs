//! GRE headers (RFC 2784, with the key and sequence extensions of RFC 2890).

use super::checksum;
use super::{Error, Result};

/// GRE protocol type: IPv4.
pub const PROTO_IPV4: u16 = 0x0800;
/// GRE protocol type: IPv6.
pub const PROTO_IPV6: u16 = 0x86dd;
/// GRE protocol type: NHRP (Cisco, RFC 2332 over GRE).
pub const PROTO_NHRP: u16 = 0x2001;

const FLAG_C: u16 = 0x8000;
const FLAG_K: u16 = 0x2000;
const FLAG_S: u16 = 0x1000;
/// Reserved0 bits 1 and 4-12 (RFC 2784 section 2.3, with K and S now
/// defined by RFC 2890).
const RESERVED0: u16 = 0x4fff & !0x0007;
const VERSION: u16 = 0x0007;

/// A view of a GRE packet.
#[derive(Clone, Copy, Debug)]
pub struct GrePacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> GrePacket<T> {
    /// A view without checks (for emitting).
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Checks version 0, the reserved bits and that the optional fields fit.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < 4 {
            return Err(Error::Truncated);
        }
        let flags = u16::from_be_bytes([b[0], b[1]]);
        //= https://www.rfc-editor.org/rfc/rfc2784#section-2.3.1
        //# The Version Number field MUST contain the value zero.
        if flags & VERSION != 0 {
            return Err(Error::Unsupported);
        }
        //= https://www.rfc-editor.org/rfc/rfc2784#section-2.3
        //# A receiver MUST discard a packet where any of bits 1-5 are
        //# non-zero, unless that receiver implements RFC 1701.
        // Bits 2 (K) and 3 (S) are defined by RFC 2890; bits 1, 4 and 5
        // (routing, strict source route, recursion) and the rest are not.
        if flags & RESERVED0 != 0 {
            return Err(Error::Unsupported);
        }
        let len = b.len();
        let p = Self { buffer };
        if p.header_len() > len {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    fn flags(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Header length with the optional fields.
    pub fn header_len(&self) -> usize {
        let f = self.flags();
        4 + if f & FLAG_C != 0 { 4 } else { 0 }
            + if f & FLAG_K != 0 { 4 } else { 0 }
            + if f & FLAG_S != 0 { 4 } else { 0 }
    }

    /// Protocol type of the payload.
    pub fn protocol_type(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[2], b[3]])
    }

    fn field(&self, present: bool, index: usize) -> Option<u32> {
        if !present {
            return None;
        }
        let b = self.buffer.as_ref();
        let o = 4 + 4 * index;
        Some(u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]))
    }

    /// True if the checksum field is present.
    pub fn has_checksum(&self) -> bool {
        self.flags() & FLAG_C != 0
    }

    /// The key (RFC 2890), if present.
    pub fn key(&self) -> Option<u32> {
        let f = self.flags();
        self.field(f & FLAG_K != 0, usize::from(f & FLAG_C != 0))
    }

    /// The sequence number (RFC 2890), if present.
    pub fn sequence(&self) -> Option<u32> {
        let f = self.flags();
        self.field(
            f & FLAG_S != 0,
            usize::from(f & FLAG_C != 0) + usize::from(f & FLAG_K != 0),
        )
    }

    /// True if there is no checksum or it verifies (over header and
    /// payload, RFC 2784 section 2.5).
    pub fn verify_checksum(&self) -> bool {
        !self.has_checksum() || checksum::checksum(self.buffer.as_ref()) == 0
    }

    /// The payload after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> GrePacket<T> {
    /// Computes the checksum over the whole buffer (header and payload),
    /// if the C bit is set.
    pub fn fill_checksum(&mut self) {
        if !self.has_checksum() {
            return;
        }
        let b = self.buffer.as_mut();
        b[4..6].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(b);
        b[4..6].copy_from_slice(&c.to_be_bytes());
    }
}

/// A GRE header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GreRepr {
    /// Protocol type of the payload.
    pub protocol: u16,
    /// Key, if any.
    pub key: Option<u32>,
    /// Sequence number, if any.
    pub sequence: Option<u32>,
    /// Whether a checksum field is present.
    pub checksum: bool,
}

impl GreRepr {
    /// The header of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(p: &GrePacket<T>) -> Self {
        Self {
            protocol: p.protocol_type(),
            key: p.key(),
            sequence: p.sequence(),
            checksum: p.has_checksum(),
        }
    }

    /// Header length.
    pub const fn header_len(&self) -> usize {
        4 + if self.checksum { 4 } else { 0 }
            + if self.key.is_some() { 4 } else { 0 }
            + if self.sequence.is_some() { 4 } else { 0 }
    }

    /// Writes the header into the first `header_len()` bytes; the checksum
    /// field is zero (call `fill_checksum` once the payload is in place).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut GrePacket<T>) {
        let b = p.buffer.as_mut();
        let mut flags = 0u16;
        let mut o = 4;
        if self.checksum {
            flags |= FLAG_C;
            b[o..o + 4].copy_from_slice(&[0; 4]);
            o += 4;
        }
        if let Some(k) = self.key {
            flags |= FLAG_K;
            b[o..o + 4].copy_from_slice(&k.to_be_bytes());
            o += 4;
        }
        if let Some(s) = self.sequence {
            flags |= FLAG_S;
            b[o..o + 4].copy_from_slice(&s.to_be_bytes());
        }
        b[0..2].copy_from_slice(&flags.to_be_bytes());
        b[2..4].copy_from_slice(&self.protocol.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_emit_parse_all_flag_combinations() {
        for c in [false, true] {
            for key in [None, Some(0xdead_beef)] {
                for sequence in [None, Some(7)] {
                    let r = GreRepr {
                        protocol: PROTO_NHRP,
                        key,
                        sequence,
                        checksum: c,
                    };
                    let mut b = vec![0u8; r.header_len() + 5];
                    b[r.header_len()..].copy_from_slice(b"hello");
                    r.emit(&mut GrePacket::new_unchecked(&mut b[..]));
                    GrePacket::new_unchecked(&mut b[..]).fill_checksum();
                    let p = GrePacket::new_checked(&b[..]).unwrap();
                    assert_eq!(GreRepr::parse(&p), r);
                    assert!(p.verify_checksum());
                    assert_eq!(p.payload(), b"hello");
                    for n in 0..r.header_len() {
                        assert!(GrePacket::new_checked(&b[..n]).is_err());
                    }
                    if c {
                        let mut bad = b.clone();
                        bad[r.header_len()] ^= 1;
                        assert!(!GrePacket::new_checked(&bad[..]).unwrap().verify_checksum());
                    }
                }
            }
        }
    }

    #[test]
    fn test_known_bytes() {
        // Key 42, IPv4 payload follows.
        let b = hex::decode("200008000000002a45").unwrap();
        let p = GrePacket::new_checked(&b[..]).unwrap();
        assert_eq!(
            (p.key(), p.protocol_type(), p.header_len()),
            (Some(42), PROTO_IPV4, 8)
        );
    }

    #[test]
    fn test_version_and_reserved_bits() {
        assert_eq!(
            GrePacket::new_checked(&[0, 1, 8, 0][..]).err(),
            Some(Error::Unsupported)
        );
        // Routing present bit (RFC 1701) set.
        assert_eq!(
            GrePacket::new_checked(&[0x40, 0, 8, 0][..]).err(),
            Some(Error::Unsupported)
        );
        assert_eq!(
            GrePacket::new_checked(&[0x08, 0, 8, 0][..]).err(),
            Some(Error::Unsupported)
        );
    }
}
