//! IP/UDP packets the control plane sends through the dataplane (IKE), and
//! the addresses and payload of the ones it receives (IKE punts).

use std::net::{IpAddr, SocketAddr};

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn add(sum: &mut u32, b: &[u8]) {
    let mut c = b.chunks_exact(2);
    for w in &mut c {
        *sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = c.remainder() {
        *sum += u32::from(*last) << 8;
    }
}

/// An IPv4 or IPv6 packet carrying one UDP datagram from `src` to `dst`,
/// with both checksums; `None` if the families differ or it is too big.
#[must_use]
pub fn udp(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Option<Vec<u8>> {
    let ulen = u16::try_from(8 + payload.len()).ok()?;
    let mut udp = Vec::with_capacity(8 + payload.len());
    udp.extend_from_slice(&src.port().to_be_bytes());
    udp.extend_from_slice(&dst.port().to_be_bytes());
    udp.extend_from_slice(&ulen.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    // Pseudo-header sum.
    let mut sum = 0u32;
    let mut out = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = u16::try_from(20 + udp.len()).ok()?;
            let mut h = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0];
            h[2..4].copy_from_slice(&total.to_be_bytes());
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            let mut hs = 0;
            add(&mut hs, &h);
            let c = fold(hs);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            add(&mut sum, &s.octets());
            add(&mut sum, &d.octets());
            sum += 17 + u32::from(ulen);
            h
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut h = vec![0x60, 0, 0, 0];
            h.extend_from_slice(&ulen.to_be_bytes());
            h.extend_from_slice(&[17, 64]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            add(&mut sum, &s.octets());
            add(&mut sum, &d.octets());
            sum += 17 + u32::from(ulen);
            h
        }
        _ => return None,
    };
    add(&mut sum, &udp);
    let c = match fold(sum) {
        0 => 0xffff,
        c => c,
    };
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    out.extend_from_slice(&udp);
    Some(out)
}

/// The source, destination and UDP payload of an IPv4 or IPv6 packet
/// holding a UDP datagram (IPv6 without extension headers); `None` for
/// anything else.
#[must_use]
pub fn parse_udp(p: &[u8]) -> Option<(SocketAddr, SocketAddr, &[u8])> {
    let (src, dst, rest) = match p.first()? >> 4 {
        4 => {
            let ihl = usize::from(p[0] & 0x0f) * 4;
            if ihl < 20 || p.len() < ihl || *p.get(9)? != 17 {
                return None;
            }
            let s: [u8; 4] = p.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = p.get(16..20)?.try_into().ok()?;
            (IpAddr::from(s), IpAddr::from(d), &p[ihl..])
        }
        6 => {
            if *p.get(6)? != 17 {
                return None;
            }
            let s: [u8; 16] = p.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = p.get(24..40)?.try_into().ok()?;
            (IpAddr::from(s), IpAddr::from(d), p.get(40..)?)
        }
        _ => return None,
    };
    let sport = u16::from_be_bytes(rest.get(0..2)?.try_into().ok()?);
    let dport = u16::from_be_bytes(rest.get(2..4)?.try_into().ok()?);
    let len = usize::from(u16::from_be_bytes(rest.get(4..6)?.try_into().ok()?));
    if len < 8 {
        return None;
    }
    let payload = rest.get(8..len)?;
    Some((
        SocketAddr::new(src, sport),
        SocketAddr::new(dst, dport),
        payload,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_roundtrip_and_checksums() {
        for (s, d) in [
            ("10.0.0.110:500", "10.0.0.100:500"),
            ("[2001:db8::110]:4500", "[2001:db8::100]:4500"),
        ] {
            let (s, d): (SocketAddr, SocketAddr) = (s.parse().unwrap(), d.parse().unwrap());
            let p = udp(s, d, b"payload!x").unwrap();
            let (s2, d2, pl) = parse_udp(&p).unwrap();
            assert_eq!((s2, d2, pl), (s, d, &b"payload!x"[..]));
            // The UDP checksum verifies: the sum over pseudo-header and
            // datagram is all ones.
            let (hl, src, dst) = if s.is_ipv4() {
                (20, 12..16, 16..20)
            } else {
                (40, 8..24, 24..40)
            };
            let mut sum = 0u32;
            add(&mut sum, &p[src]);
            add(&mut sum, &p[dst]);
            sum += 17 + (p.len() - hl) as u32;
            add(&mut sum, &p[hl..]);
            assert_eq!(fold(sum), 0);
            if s.is_ipv4() {
                let mut h = 0;
                add(&mut h, &p[..20]);
                assert_eq!(fold(h), 0);
            }
        }
        assert!(udp(
            "10.0.0.1:1".parse().unwrap(),
            "[::1]:1".parse().unwrap(),
            b""
        )
        .is_none());
        assert!(parse_udp(&[0x45; 10]).is_none());
        assert!(parse_udp(&[]).is_none());
    }
}
