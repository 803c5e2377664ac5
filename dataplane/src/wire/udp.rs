//! UDP headers (RFC 768).

use super::checksum;
use super::{Error, IpProtocol, Result};

/// Header length.
pub const HEADER_LEN: usize = 8;

/// A view of a UDP datagram. After `new_checked`: `8 <= length field <=
/// buffer length`.
#[derive(Clone, Copy, Debug)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// A view without checks (for emitting into at least 8 bytes).
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Validates the length field against the buffer.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = usize::from(u16::from_be_bytes([b[4], b[5]]));
        if len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len > b.len() {
            return Err(Error::Truncated);
        }
        Ok(Self { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    /// Source port.
    pub fn src_port(&self) -> u16 {
        u16::from_be_bytes([self.b()[0], self.b()[1]])
    }
    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        u16::from_be_bytes([self.b()[2], self.b()[3]])
    }
    /// Length field (header included).
    pub fn len(&self) -> usize {
        usize::from(u16::from_be_bytes([self.b()[4], self.b()[5]]))
    }
    /// True if the datagram has no payload.
    pub fn is_empty(&self) -> bool {
        self.len() == HEADER_LEN
    }
    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.b()[6], self.b()[7]])
    }
    /// The payload, as long as the length field says.
    pub fn payload(&self) -> &[u8] {
        &self.b()[HEADER_LEN..self.len()]
    }
    /// Verifies the checksum over IPv4 (a zero checksum means none).
    pub fn verify_checksum_v4(&self, src: &[u8; 4], dst: &[u8; 4]) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let d = &self.b()[..self.len()];
        checksum::fold(checksum::sum(
            checksum::pseudo_v4(src, dst, IpProtocol::UDP.0, d.len() as u32),
            d,
        )) == 0xffff
    }
    /// Verifies the checksum over IPv6 (mandatory there: zero fails).
    pub fn verify_checksum_v6(&self, src: &[u8; 16], dst: &[u8; 16]) -> bool {
        if self.checksum() == 0 {
            return false;
        }
        let d = &self.b()[..self.len()];
        checksum::fold(checksum::sum(
            checksum::pseudo_v6(src, dst, IpProtocol::UDP.0, d.len() as u32),
            d,
        )) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Sets the checksum field.
    pub fn set_checksum(&mut self, c: u16) {
        self.buffer.as_mut()[6..8].copy_from_slice(&c.to_be_bytes());
    }

    fn fill(&mut self, pseudo: u64) {
        self.set_checksum(0);
        let len = self.len().min(self.b().len());
        let c = !checksum::fold(checksum::sum(pseudo, &self.b()[..len]));
        // RFC 768: a computed zero is sent as all ones.
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }

    /// Computes the checksum over an IPv4 pseudo-header.
    pub fn fill_checksum_v4(&mut self, src: &[u8; 4], dst: &[u8; 4]) {
        let len = self.len() as u32;
        self.fill(checksum::pseudo_v4(src, dst, IpProtocol::UDP.0, len));
    }

    /// Computes the checksum over an IPv6 pseudo-header.
    pub fn fill_checksum_v6(&mut self, src: &[u8; 16], dst: &[u8; 16]) {
        let len = self.len() as u32;
        self.fill(checksum::pseudo_v6(src, dst, IpProtocol::UDP.0, len));
    }
}

/// A UDP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length.
    pub payload_len: usize,
}

impl UdpRepr {
    /// The header of a checked datagram.
    pub fn parse<T: AsRef<[u8]>>(p: &UdpPacket<T>) -> Self {
        Self {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            payload_len: p.len() - HEADER_LEN,
        }
    }

    /// Writes the header with a zero checksum (fill it afterwards over the
    /// payload with `fill_checksum_v4/v6`, or leave 0 over IPv4).
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut UdpPacket<T>) {
        let b = p.buffer.as_mut();
        let len = (self.payload_len + HEADER_LEN).min(usize::from(u16::MAX)) as u16;
        b[0..2].copy_from_slice(&self.src_port.to_be_bytes());
        b[2..4].copy_from_slice(&self.dst_port.to_be_bytes());
        b[4..6].copy_from_slice(&len.to_be_bytes());
        b[6..8].copy_from_slice(&[0, 0]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_emit_checksums() {
        let mut b = [0u8; 12];
        b[8..].copy_from_slice(b"abcd");
        let r = UdpRepr {
            src_port: 4500,
            dst_port: 4500,
            payload_len: 4,
        };
        r.emit_header(&mut UdpPacket::new_unchecked(&mut b[..]));
        let mut p = UdpPacket::new_checked(&mut b[..]).unwrap();
        assert_eq!(UdpRepr::parse(&p), r);
        p.fill_checksum_v4(&[10, 0, 0, 1], &[10, 0, 0, 2]);
        assert!(p.verify_checksum_v4(&[10, 0, 0, 1], &[10, 0, 0, 2]));
        assert!(!p.verify_checksum_v4(&[10, 0, 0, 1], &[10, 0, 0, 3]));
        let (s, d) = ([1u8; 16], [2u8; 16]);
        p.fill_checksum_v6(&s, &d);
        assert!(p.verify_checksum_v6(&s, &d));
        p.set_checksum(0);
        assert!(!p.verify_checksum_v6(&s, &d), "zero is invalid over IPv6");
        assert!(
            p.verify_checksum_v4(&[10, 0, 0, 1], &[10, 0, 0, 2]),
            "zero means none over IPv4"
        );
    }

    #[test]
    fn test_check_len() {
        let b = hex::decode("1194119400100000aabbccddeeff0011").unwrap();
        for n in 0..b.len() {
            assert!(UdpPacket::new_checked(&b[..n]).is_err(), "{n}");
        }
        let mut short = b.clone();
        short[5] = 7;
        assert_eq!(
            UdpPacket::new_checked(&short[..]).err(),
            Some(Error::Malformed)
        );
        let p = UdpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload().len(), 8);
    }
}
