//! ARP (RFC 826) for Ethernet and IPv4 only.

use super::{Error, Result};

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;

/// ARP operation, unknown values kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpOp(pub u16);

impl ArpOp {
    /// Request.
    pub const REQUEST: Self = Self(1);
    /// Reply.
    pub const REPLY: Self = Self(2);
}

/// An Ethernet/IPv4 ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpRepr {
    /// Operation.
    pub operation: ArpOp,
    /// Sender MAC.
    pub source_hw: [u8; 6],
    /// Sender IPv4 address.
    pub source_ip: [u8; 4],
    /// Target MAC.
    pub target_hw: [u8; 6],
    /// Target IPv4 address.
    pub target_ip: [u8; 4],
}

impl ArpRepr {
    /// Parses an ARP packet (the Ethernet payload). Other hardware or
    /// protocol types are `Unsupported`.
    pub fn parse(b: &[u8]) -> Result<Self> {
        let b = b.get(..PACKET_LEN).ok_or(Error::Truncated)?;
        if b[0..2] != [0, 1] || b[2..4] != [0x08, 0x00] || b[4] != 6 || b[5] != 4 {
            return Err(Error::Unsupported);
        }
        let mac = |o: usize| [b[o], b[o + 1], b[o + 2], b[o + 3], b[o + 4], b[o + 5]];
        let ip = |o: usize| [b[o], b[o + 1], b[o + 2], b[o + 3]];
        Ok(Self {
            operation: ArpOp(u16::from_be_bytes([b[6], b[7]])),
            source_hw: mac(8),
            source_ip: ip(14),
            target_hw: mac(18),
            target_ip: ip(24),
        })
    }

    /// Writes the packet into `b` (exactly [`PACKET_LEN`] bytes).
    pub fn emit(&self, b: &mut [u8; PACKET_LEN]) {
        b[0..6].copy_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
        b[6..8].copy_from_slice(&self.operation.0.to_be_bytes());
        b[8..14].copy_from_slice(&self.source_hw);
        b[14..18].copy_from_slice(&self.source_ip);
        b[18..24].copy_from_slice(&self.target_hw);
        b[24..28].copy_from_slice(&self.target_ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_emit() {
        // A request for 10.0.0.2 from 10.0.0.1 (02:..:01).
        let b = hex::decode(
            "0001080006040001020000000001 0a000001 000000000000 0a000002".replace(' ', ""),
        )
        .unwrap();
        let r = ArpRepr::parse(&b).unwrap();
        assert_eq!(r.operation, ArpOp::REQUEST);
        assert_eq!(r.target_ip, [10, 0, 0, 2]);
        let mut out = [0u8; PACKET_LEN];
        r.emit(&mut out);
        assert_eq!(&out[..], &b[..]);
        for n in 0..b.len() {
            assert_eq!(ArpRepr::parse(&b[..n]), Err(Error::Truncated));
        }
        let mut v6 = b.clone();
        v6[3] = 0xdd;
        assert_eq!(ArpRepr::parse(&v6), Err(Error::Unsupported));
    }
}
