//! IPv6 headers (RFC 8200) and a bounded walk of extension headers.

use super::{Error, IpProtocol, Result};

/// Fixed header length.
pub const HEADER_LEN: usize = 40;
/// Most extension headers walked before giving up.
pub const MAX_EXT_HEADERS: usize = 8;

/// A view of an IPv6 packet. After `new_checked`: version 6 and
/// `40 + payload length <= buffer length`.
#[derive(Clone, Copy, Debug)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// A view without checks (for emitting into at least 40 bytes).
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Validates version and payload length against the buffer. Jumbograms
    /// (payload length 0 with a Jumbo option) are not supported: a zero
    /// payload length means an empty payload.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if b[0] >> 4 != 6 {
            return Err(Error::Malformed);
        }
        let plen = usize::from(u16::from_be_bytes([b[4], b[5]]));
        if HEADER_LEN + plen > b.len() {
            return Err(Error::Truncated);
        }
        Ok(Self { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Traffic class.
    pub fn traffic_class(&self) -> u8 {
        let b = self.b();
        (b[0] << 4) | (b[1] >> 4)
    }
    /// Flow label.
    pub fn flow_label(&self) -> u32 {
        let b = self.b();
        u32::from_be_bytes([0, b[1] & 0x0f, b[2], b[3]])
    }
    /// Payload length field.
    pub fn payload_len(&self) -> usize {
        usize::from(u16::from_be_bytes([self.b()[4], self.b()[5]]))
    }
    /// Header plus payload length.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + self.payload_len()
    }
    /// Next header of the fixed header.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol(self.b()[6])
    }
    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.b()[7]
    }
    /// Source address.
    pub fn src_addr(&self) -> [u8; 16] {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.b()[8..24]);
        a
    }
    /// Destination address.
    pub fn dst_addr(&self) -> [u8; 16] {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.b()[24..40]);
        a
    }
    /// Header and payload (without bytes past the payload length).
    pub fn payload_with_header(&self) -> &[u8] {
        &self.b()[..self.total_len()]
    }

    /// Walks the extension headers (Hop-by-Hop, Routing, Fragment,
    /// Destination Options, AH), at most [`MAX_EXT_HEADERS`], each checked
    /// against the payload length. Returns the upper-layer protocol, its
    /// offset from the start of the IPv6 header, and whether a Fragment
    /// header was seen.
    pub fn upper_layer(&self) -> Result<(IpProtocol, usize, bool)> {
        let b = self.payload_with_header();
        let mut nh = self.next_header();
        let mut off = HEADER_LEN;
        let mut frag = false;
        for _ in 0..=MAX_EXT_HEADERS {
            let len = match nh {
                IpProtocol::HOPOPT | IpProtocol::IPV6_ROUTE | IpProtocol::IPV6_OPTS => {
                    // RFC 8200 section 4.3: length in 8-octet units, not
                    // counting the first 8 octets.
                    let l = *b.get(off + 1).ok_or(Error::Truncated)?;
                    (usize::from(l) + 1) * 8
                }
                IpProtocol::IPV6_FRAG => {
                    frag = true;
                    8
                }
                IpProtocol::AH => {
                    // RFC 4302 section 2.2: length in 4-octet units minus 2.
                    let l = *b.get(off + 1).ok_or(Error::Truncated)?;
                    (usize::from(l) + 2) * 4
                }
                _ => return Ok((nh, off, frag)),
            };
            let next = *b.get(off).ok_or(Error::Truncated)?;
            if off + len > b.len() {
                return Err(Error::Truncated);
            }
            nh = IpProtocol(next);
            off += len;
        }
        Err(Error::Unsupported)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// Decrements the hop limit (not below 0); returns the new value.
    pub fn decrement_hop_limit(&mut self) -> u8 {
        let b = self.buffer.as_mut();
        b[7] = b[7].saturating_sub(1);
        b[7]
    }
}

/// A fixed IPv6 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Repr {
    /// Source address.
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Next header.
    pub next_header: IpProtocol,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// Payload length.
    pub payload_len: usize,
}

impl Ipv6Repr {
    /// The fixed header fields of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(p: &Ipv6Packet<T>) -> Self {
        Self {
            src: p.src_addr(),
            dst: p.dst_addr(),
            next_header: p.next_header(),
            hop_limit: p.hop_limit(),
            traffic_class: p.traffic_class(),
            flow_label: p.flow_label(),
            payload_len: p.payload_len(),
        }
    }

    /// Writes the 40-byte header (payload length clamped to 65535).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Ipv6Packet<T>) {
        let b = p.buffer.as_mut();
        let fl = self.flow_label & 0x000f_ffff;
        b[0] = 0x60 | (self.traffic_class >> 4);
        b[1] = (self.traffic_class << 4) | (fl >> 16) as u8;
        b[2..4].copy_from_slice(&(fl as u16).to_be_bytes());
        b[4..6]
            .copy_from_slice(&(self.payload_len.min(usize::from(u16::MAX)) as u16).to_be_bytes());
        b[6] = self.next_header.0;
        b[7] = self.hop_limit;
        b[8..24].copy_from_slice(&self.src);
        b[24..40].copy_from_slice(&self.dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(next: u8, ext: &[u8], upper: &[u8]) -> Vec<u8> {
        let r = Ipv6Repr {
            src: [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            dst: [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            next_header: IpProtocol(next),
            hop_limit: 64,
            traffic_class: 0xa5,
            flow_label: 0x12345,
            payload_len: ext.len() + upper.len(),
        };
        let mut b = vec![0u8; 40];
        r.emit(&mut Ipv6Packet::new_unchecked(&mut b[..]));
        b.extend_from_slice(ext);
        b.extend_from_slice(upper);
        b
    }

    #[test]
    fn test_emit_parse() {
        let p = packet(17, &[], &[0; 8]);
        let v = Ipv6Packet::new_checked(&p[..]).unwrap();
        let r = Ipv6Repr::parse(&v);
        assert_eq!(
            (r.traffic_class, r.flow_label, r.payload_len),
            (0xa5, 0x12345, 8)
        );
        assert_eq!(v.upper_layer(), Ok((IpProtocol::UDP, 40, false)));
    }

    #[test]
    fn test_extension_headers() {
        // Hop-by-hop (8 bytes) -> Fragment (8) -> Destination options (16) -> UDP
        let mut ext = vec![44, 0, 0, 0, 0, 0, 0, 0];
        ext.extend_from_slice(&[60, 0, 0, 1, 0, 0, 0, 0]);
        ext.extend_from_slice(&[17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let p = packet(0, &ext, &[0; 8]);
        let v = Ipv6Packet::new_checked(&p[..]).unwrap();
        assert_eq!(v.upper_layer(), Ok((IpProtocol::UDP, 40 + 32, true)));
        // An extension header whose length runs past the payload.
        let p = packet(60, &[17, 9, 0, 0, 0, 0, 0, 0], &[]);
        assert_eq!(
            Ipv6Packet::new_checked(&p[..]).unwrap().upper_layer(),
            Err(Error::Truncated)
        );
        // A chain of 9 destination-options headers.
        let mut ext = Vec::new();
        for _ in 0..9 {
            ext.extend_from_slice(&[60, 0, 0, 0, 0, 0, 0, 0]);
        }
        let p = packet(60, &ext, &[]);
        assert_eq!(
            Ipv6Packet::new_checked(&p[..]).unwrap().upper_layer(),
            Err(Error::Unsupported)
        );
    }

    #[test]
    fn test_check_len() {
        let p = packet(17, &[], &[0; 8]);
        for n in 0..p.len() {
            assert!(Ipv6Packet::new_checked(&p[..n]).is_err(), "{n}");
        }
        let mut bad = p.clone();
        bad[0] = 0x45;
        assert_eq!(
            Ipv6Packet::new_checked(&bad[..]).err(),
            Some(Error::Malformed)
        );
    }
}
