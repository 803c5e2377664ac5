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

/// Payload bytes per fragment when an IPv4 packet with a header of
/// `header_len` bytes is split to fit `mtu` (RFC 791: fragment offsets
/// count 8-byte units, so every fragment but the last carries a multiple
/// of 8); `None` if no fragment can carry any.
pub fn fragment_payload(mtu: usize, header_len: usize) -> Option<usize> {
    let n = mtu.checked_sub(header_len)? & !7;
    (n >= 8).then_some(n)
}

/// Writes into `out` the fragment of the IPv4 packet `packet` (validated,
/// without options, DF clear) that carries `len` bytes of its payload from
/// `start` (a multiple of 8). The header is the packet's with the total
/// length, the more-fragments flag and the offset set (a packet that is
/// already a fragment keeps its place in the original) and the checksum
/// recomputed. Returns the fragment's length, or `None` if the arguments
/// do not describe a piece of the payload or `out` is too short.
pub fn write_fragment(packet: &[u8], start: usize, len: usize, out: &mut [u8]) -> Option<usize> {
    let p = Ipv4Packet::new_checked(packet).ok()?;
    if p.header_len() != HEADER_LEN || p.dont_frag() || start % 8 != 0 || len == 0 {
        return None;
    }
    let payload = p.total_len() - HEADER_LEN;
    let end = start.checked_add(len)?;
    if end > payload || out.len() < HEADER_LEN + len {
        return None;
    }
    let flags = u16::from_be_bytes([packet[6], packet[7]]);
    let offset = usize::from(flags & 0x1fff) + start / 8;
    let more = end < payload || flags & 0x2000 != 0;
    let offset = u16::try_from(offset).ok().filter(|o| *o <= 0x1fff)?;
    let total = u16::try_from(HEADER_LEN + len).ok()?;
    out[..HEADER_LEN].copy_from_slice(&packet[..HEADER_LEN]);
    out[2..4].copy_from_slice(&total.to_be_bytes());
    let f = offset | if more { 0x2000 } else { 0 };
    out[6..8].copy_from_slice(&f.to_be_bytes());
    out[HEADER_LEN..HEADER_LEN + len]
        .copy_from_slice(&packet[HEADER_LEN + start..HEADER_LEN + end]);
    Ipv4Packet::new_unchecked(&mut out[..HEADER_LEN + len]).fill_checksum();
    Some(HEADER_LEN + len)
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

    fn packet(payload: usize, flags: u16) -> Vec<u8> {
        let mut p = vec![0u8; HEADER_LEN + payload];
        Ipv4Repr {
            src: [10, 0, 0, 1],
            dst: [10, 0, 0, 2],
            protocol: IpProtocol::UDP,
            ttl: 9,
            tos: 0,
            ident: 0x4242,
            dont_frag: false,
            payload_len: payload,
        }
        .emit(&mut Ipv4Packet::new_unchecked(&mut p[..HEADER_LEN]));
        for (i, b) in p[HEADER_LEN..].iter_mut().enumerate() {
            *b = i as u8;
        }
        p[6..8].copy_from_slice(&flags.to_be_bytes());
        Ipv4Packet::new_unchecked(&mut p[..]).fill_checksum();
        p
    }

    /// Splits `p` to fit `mtu` and puts the pieces back together by their
    /// offsets, as a receiver would.
    fn split_and_reassemble(p: &[u8], mtu: usize) -> (Vec<Vec<u8>>, Vec<u8>) {
        let payload = p.len() - HEADER_LEN;
        let chunk = fragment_payload(mtu, HEADER_LEN).unwrap();
        let mut frags = Vec::new();
        let mut start = 0;
        while start < payload {
            let len = chunk.min(payload - start);
            let mut out = vec![0u8; mtu];
            let n = write_fragment(p, start, len, &mut out).unwrap();
            out.truncate(n);
            frags.push(out);
            start += len;
        }
        let base = usize::from(u16::from_be_bytes([p[6], p[7]]) & 0x1fff) * 8;
        let mut whole = vec![0u8; payload];
        for f in &frags {
            let ip = Ipv4Packet::new_checked(&f[..]).unwrap();
            assert!(ip.verify_checksum());
            assert_eq!(ip.ident(), 0x4242);
            assert_eq!(&f[8..10], &p[8..10], "TTL and protocol kept");
            let off = usize::from(u16::from_be_bytes([f[6], f[7]]) & 0x1fff) * 8 - base;
            whole[off..off + f.len() - HEADER_LEN].copy_from_slice(&f[HEADER_LEN..]);
        }
        (frags, whole)
    }

    #[test]
    fn test_fragments_reassemble() {
        for (payload, mtu) in [
            (1480, 1400),
            (1480, 576),
            (8, 28),
            (1000, 1020),
            (9000, 1400),
        ] {
            let p = packet(payload, 0);
            let (frags, whole) = split_and_reassemble(&p, mtu);
            assert_eq!(whole, &p[HEADER_LEN..], "{payload} in {mtu}");
            for (i, f) in frags.iter().enumerate() {
                assert!(f.len() <= mtu);
                let more = u16::from_be_bytes([f[6], f[7]]) & 0x2000 != 0;
                assert_eq!(more, i + 1 < frags.len(), "MF on all but the last");
                if i + 1 < frags.len() {
                    assert_eq!((f.len() - HEADER_LEN) % 8, 0);
                }
            }
        }
    }

    #[test]
    fn test_fragment_of_a_fragment_keeps_its_place() {
        // The middle fragment of something (offset 185 units, MF set).
        let p = packet(1480, 0x2000 | 185);
        let (frags, whole) = split_and_reassemble(&p, 1000);
        assert_eq!(whole, &p[HEADER_LEN..]);
        let last = frags.last().unwrap();
        assert_ne!(
            u16::from_be_bytes([last[6], last[7]]) & 0x2000,
            0,
            "MF kept"
        );
        assert_eq!(u16::from_be_bytes([frags[0][6], frags[0][7]]) & 0x1fff, 185);
    }

    #[test]
    fn test_fragment_refusals() {
        let p = packet(100, 0);
        let mut out = [0u8; 200];
        assert_eq!(
            write_fragment(&p, 3, 8, &mut out),
            None,
            "offset not a multiple of 8"
        );
        assert_eq!(
            write_fragment(&p, 96, 8, &mut out),
            None,
            "past the payload"
        );
        assert_eq!(write_fragment(&p, 0, 0, &mut out), None);
        assert_eq!(
            write_fragment(&p, 0, 100, &mut out[..50]),
            None,
            "out too short"
        );
        let mut df = p.clone();
        df[6] |= 0x40;
        assert_eq!(write_fragment(&df, 0, 8, &mut out), None, "DF set");
        assert_eq!(fragment_payload(27, 20), None);
        assert_eq!(fragment_payload(1400, 20), Some(1376));
        assert_eq!(fragment_payload(10, 20), None);
        // An offset that would not fit the 13-bit field.
        let far = packet(1480, 0x1fff);
        assert_eq!(write_fragment(&far, 8, 8, &mut out), None);
    }
}
