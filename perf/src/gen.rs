//! Packet builders for benchmarks and tests: IPv4/IPv6 UDP packets of an
//! exact size, optionally in an Ethernet frame, and the IMIX size mix.
//!
//! Written directly from the header layouts (RFC 791, RFC 8200, RFC 768),
//! not with the dataplane's `wire` module, so that tests built on these
//! packets check the dataplane against an independent encoder.

use std::net::IpAddr;

/// Smallest IPv4 UDP packet (header only).
pub const MIN_V4: usize = 20 + 8;
/// Smallest IPv6 UDP packet (header only).
pub const MIN_V6: usize = 40 + 8;

/// The simple IMIX, as IP packet sizes: 7 x 64, 4 x 576, 1 x 1420 bytes
/// (1420 rather than 1500 so that ESP in IPv4 still fits a 1500-byte MTU).
pub const IMIX: [usize; 12] = [64, 64, 64, 64, 64, 64, 64, 576, 576, 576, 576, 1420];

/// RFC 1071 checksum over `data` starting from a partial sum.
pub fn checksum(mut sum: u32, data: &[u8]) -> u16 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        sum += u32::from(*b) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn sum_words(data: &[u8]) -> u32 {
    data.chunks(2)
        .map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0)))
        .sum()
}

/// A UDP packet of exactly `size` bytes (IP header included) from `src` to
/// `dst`, ports `sport` -> `dport`, payload bytes filled with `fill`
/// (pattern: fill, fill+1, ...). Both addresses must be of one family;
/// `size` is raised to the minimum for that family.
pub fn udp_packet(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    size: usize,
    fill: u8,
) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let size = size.max(MIN_V4);
            let mut p = vec![0u8; size];
            p[0] = 0x45;
            p[2..4].copy_from_slice(&(size as u16).to_be_bytes());
            p[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
            p[8] = 64;
            p[9] = 17;
            p[12..16].copy_from_slice(&s.octets());
            p[16..20].copy_from_slice(&d.octets());
            let c = checksum(0, &p[..20]);
            p[10..12].copy_from_slice(&c.to_be_bytes());
            fill_udp(&mut p, 20, sport, dport, fill);
            let pseudo = sum_words(&s.octets()) + sum_words(&d.octets()) + 17 + (size as u32 - 20);
            let c = udp_csum(checksum(pseudo, &p[20..]));
            p[26..28].copy_from_slice(&c.to_be_bytes());
            p
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let size = size.max(MIN_V6);
            let mut p = vec![0u8; size];
            p[0] = 0x60;
            p[4..6].copy_from_slice(&((size - 40) as u16).to_be_bytes());
            p[6] = 17;
            p[7] = 64;
            p[8..24].copy_from_slice(&s.octets());
            p[24..40].copy_from_slice(&d.octets());
            fill_udp(&mut p, 40, sport, dport, fill);
            let pseudo = sum_words(&s.octets()) + sum_words(&d.octets()) + 17 + (size as u32 - 40);
            let c = udp_csum(checksum(pseudo, &p[40..]));
            p[46..48].copy_from_slice(&c.to_be_bytes());
            p
        }
        _ => panic!("udp_packet: mixed address families"),
    }
}

fn udp_csum(c: u16) -> u16 {
    // RFC 768: a computed zero is sent as all ones.
    if c == 0 {
        0xffff
    } else {
        c
    }
}

fn fill_udp(p: &mut [u8], off: usize, sport: u16, dport: u16, fill: u8) {
    let len = (p.len() - off) as u16;
    p[off..off + 2].copy_from_slice(&sport.to_be_bytes());
    p[off + 2..off + 4].copy_from_slice(&dport.to_be_bytes());
    p[off + 4..off + 6].copy_from_slice(&len.to_be_bytes());
    for (i, b) in p[off + 8..].iter_mut().enumerate() {
        *b = fill.wrapping_add(i as u8);
    }
}

/// Wraps an IP packet in an Ethernet II header.
pub fn ethernet(dst: [u8; 6], src: [u8; 6], ip: &[u8]) -> Vec<u8> {
    let ethertype: u16 = if ip.first().map(|b| b >> 4) == Some(6) {
        0x86dd
    } else {
        0x0800
    };
    let mut f = Vec::with_capacity(14 + ip.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(ip);
    f
}

/// The same IP packet after one router hop: TTL / hop limit minus one, IPv4
/// header checksum recomputed from scratch.
pub fn after_hop(ip: &[u8]) -> Vec<u8> {
    let mut p = ip.to_vec();
    if p[0] >> 4 == 4 {
        let ihl = usize::from(p[0] & 0x0f) * 4;
        p[8] -= 1;
        p[10] = 0;
        p[11] = 0;
        let c = checksum(0, &p[..ihl]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
    } else {
        p[7] -= 1;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_sizes_and_checksums() {
        let v4 = udp_packet(
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            1,
            2,
            64,
            0,
        );
        assert_eq!(v4.len(), 64);
        assert_eq!(checksum(0, &v4[..20]), 0, "IPv4 header checksum verifies");
        let v6 = udp_packet(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
            1,
            2,
            10,
            0,
        );
        assert_eq!(v6.len(), MIN_V6);
        let hop = after_hop(&v4);
        assert_eq!(hop[8], 63);
        assert_eq!(checksum(0, &hop[..20]), 0);
        assert_eq!(IMIX.iter().sum::<usize>(), 7 * 64 + 4 * 576 + 1420);
    }
}
