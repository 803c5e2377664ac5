//! IPv4 headers (RFC 791), options included.

use super::checksum;
use super::{Error, IpProtocol, Result};

/// Header length without options.
pub const HEADER_LEN: usize = 20;

/// A view of an IPv4 packet. After `new_checked`: version 4, `IHL >= 5`,
/// `IHL*4 <= total length <= buffer length`.
#[derive(Clone, Copy, Debug)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// A view without checks (for emitting into a buffer of at least
    /// [`HEADER_LEN`] bytes).
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Validates version, header length and total length against the
    /// buffer. The buffer may be longer than the packet (Ethernet padding).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if b[0] >> 4 != 4 {
            return Err(Error::Malformed);
        }
        let ihl = usize::from(b[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([b[2], b[3]]));
        //= https://www.rfc-editor.org/rfc/rfc791#section-3.1
        //# the minimum value for a correct header is 5.
        if ihl < HEADER_LEN || total < ihl {
            return Err(Error::Malformed);
        }
        if total > b.len() {
            return Err(Error::Truncated);
        }
        Ok(Self { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Header length in bytes (IHL * 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[0] & 0x0f) * 4
    }
    /// DSCP and ECN byte.
    pub fn tos(&self) -> u8 {
        self.b()[1]
    }
    /// Total length field.
    pub fn total_len(&self) -> usize {
        usize::from(u16::from_be_bytes([self.b()[2], self.b()[3]]))
    }
    /// Identification.
    pub fn ident(&self) -> u16 {
        u16::from_be_bytes([self.b()[4], self.b()[5]])
    }
    /// Don't Fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.b()[6] & 0x40 != 0
    }
    /// True for a fragment (More Fragments set or a non-zero offset).
    pub fn is_fragment(&self) -> bool {
        u16::from_be_bytes([self.b()[6], self.b()[7]]) & 0x3fff != 0
    }
    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.b()[8]
    }
    /// Protocol of the payload.
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol(self.b()[9])
    }
    /// Header checksum field.
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.b()[10], self.b()[11]])
    }
    /// Source address.
    pub fn src_addr(&self) -> [u8; 4] {
        let b = self.b();
        [b[12], b[13], b[14], b[15]]
    }
    /// Destination address.
    pub fn dst_addr(&self) -> [u8; 4] {
        let b = self.b();
        [b[16], b[17], b[18], b[19]]
    }
    /// The options bytes (may be empty).
    pub fn options(&self) -> &[u8] {
        &self.b()[HEADER_LEN..self.header_len()]
    }
    /// True if the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(&self.b()[..self.header_len()]) == 0
    }
    /// The payload, as long as the total length says.
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len()..self.total_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Decrements the TTL (not below 0), updating the checksum
    /// incrementally (RFC 1624). Returns the new TTL.
    pub fn decrement_ttl(&mut self) -> u8 {
        let b = self.buffer.as_mut();
        let old = u16::from_be_bytes([b[8], b[9]]);
        b[8] = b[8].saturating_sub(1);
        let new = u16::from_be_bytes([b[8], b[9]]);
        let c = checksum::update_u16(u16::from_be_bytes([b[10], b[11]]), old, new);
        b[10..12].copy_from_slice(&c.to_be_bytes());
        b[8]
    }

    /// Recomputes the header checksum.
    pub fn fill_checksum(&mut self) {
        let hl = self.header_len();
        let b = self.buffer.as_mut();
        b[10] = 0;
        b[11] = 0;
        let c = checksum::checksum(&b[..hl]);
        b[10..12].copy_from_slice(&c.to_be_bytes());
    }
}

/// An IPv4 header without options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// Payload protocol.
    pub protocol: IpProtocol,
    /// Time to live.
    pub ttl: u8,
    /// DSCP and ECN.
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_frag: bool,
    /// Payload length (total length minus the header).
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// The header fields of a checked packet (options are not kept).
    pub fn parse<T: AsRef<[u8]>>(p: &Ipv4Packet<T>) -> Self {
        Self {
            src: p.src_addr(),
            dst: p.dst_addr(),
            protocol: p.protocol(),
            ttl: p.ttl(),
            tos: p.tos(),
            ident: p.ident(),
            dont_frag: p.dont_frag(),
            payload_len: p.total_len() - p.header_len(),
        }
    }

    /// Writes a 20-byte header with its checksum. `payload_len` must be at
    /// most 65515 (the caller checks; larger values are clamped).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Ipv4Packet<T>) {
        let total = (self.payload_len + HEADER_LEN).min(usize::from(u16::MAX)) as u16;
        let b = p.buffer.as_mut();
        b[0] = 0x45;
        b[1] = self.tos;
        b[2..4].copy_from_slice(&total.to_be_bytes());
        b[4..6].copy_from_slice(&self.ident.to_be_bytes());
        b[6..8].copy_from_slice(&(if self.dont_frag { 0x4000u16 } else { 0 }).to_be_bytes());
        b[8] = self.ttl;
        b[9] = self.protocol.0;
        b[10] = 0;
        b[11] = 0;
        b[12..16].copy_from_slice(&self.src);
        b[16..20].copy_from_slice(&self.dst);
        let c = checksum::checksum(&b[..HEADER_LEN]);
        b[10..12].copy_from_slice(&c.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A UDP packet with a 4-byte option (router alert) and 4 payload bytes.
    fn with_options() -> Vec<u8> {
        let mut p =
            hex::decode("4600001c1234400040110000c0a80001c0a800029404000001020304").unwrap();
        Ipv4Packet::new_unchecked(&mut p[..]).fill_checksum();
        p
    }

    #[test]
    fn test_parse() {
        let p = with_options();
        let v = Ipv4Packet::new_checked(&p[..]).unwrap();
        assert!(v.verify_checksum());
        assert_eq!(v.header_len(), 24);
        assert_eq!(v.options(), &[0x94, 4, 0, 0]);
        assert_eq!(v.payload(), &[1, 2, 3, 4]);
        assert_eq!(v.protocol(), IpProtocol::UDP);
        assert!(v.dont_frag() && !v.is_fragment());
    }

    #[test]
    fn test_emit_roundtrip() {
        let r = Ipv4Repr {
            src: [10, 0, 0, 1],
            dst: [10, 0, 0, 2],
            protocol: IpProtocol::ESP,
            ttl: 64,
            tos: 0xb8,
            ident: 7,
            dont_frag: true,
            payload_len: 100,
        };
        let mut b = [0u8; 120];
        r.emit(&mut Ipv4Packet::new_unchecked(&mut b[..]));
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(Ipv4Repr::parse(&p), r);
    }

    #[test]
    fn test_check_len_and_lies() {
        let p = with_options();
        for n in 0..p.len() {
            assert!(Ipv4Packet::new_checked(&p[..n]).is_err(), "{n}");
        }
        let mut bad = p.clone();
        bad[0] = 0x44; // IHL 4
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).err(),
            Some(Error::Malformed)
        );
        let mut bad = p.clone();
        bad[0] = 0x4f; // IHL 15 = 60 bytes > total length
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).err(),
            Some(Error::Malformed)
        );
        let mut bad = p.clone();
        bad[3] = 0xff; // total length beyond the buffer
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).err(),
            Some(Error::Truncated)
        );
        let mut bad = p.clone();
        bad[0] = 0x65;
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).err(),
            Some(Error::Malformed)
        );
        let mut bad = p.clone();
        bad[15] ^= 1;
        assert!(!Ipv4Packet::new_checked(&bad[..]).unwrap().verify_checksum());
        // Ethernet padding after the packet is allowed and ignored.
        let mut padded = p.clone();
        padded.extend_from_slice(&[0; 10]);
        assert_eq!(
            Ipv4Packet::new_checked(&padded[..]).unwrap().payload(),
            &[1, 2, 3, 4]
        );
    }

    #[test]
    fn test_decrement_ttl() {
        let mut p = with_options();
        let mut v = Ipv4Packet::new_checked(&mut p[..]).unwrap();
        assert_eq!(v.decrement_ttl(), 63);
        assert!(v.verify_checksum());
    }
}
