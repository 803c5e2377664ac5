//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).

/// Sums `data` as big-endian 16-bit words into a 64-bit accumulator (an odd
/// last byte is padded with zero). Fold with [`fold`].
#[inline]
pub fn sum(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        // Adding 32-bit halves keeps carries in the upper bits.
        acc += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        acc += u64::from(u32::from_be_bytes([c[4], c[5], c[6], c[7]]));
    }
    let mut rest = chunks.remainder().chunks_exact(2);
    for c in &mut rest {
        acc += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = rest.remainder() {
        acc += u64::from(*b) << 8;
    }
    acc
}

/// Folds an accumulator to 16 bits (one's complement sum, not inverted).
#[inline]
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The checksum of `data`: the inverted one's complement sum.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(0, data))
}

/// Pseudo-header sum for IPv4 (RFC 768).
#[inline]
pub fn pseudo_v4(src: &[u8; 4], dst: &[u8; 4], protocol: u8, len: u32) -> u64 {
    sum(sum(0, src), dst) + u64::from(protocol) + u64::from(len)
}

/// Pseudo-header sum for IPv6 (RFC 8200 section 8.1).
#[inline]
pub fn pseudo_v6(src: &[u8; 16], dst: &[u8; 16], next_header: u8, len: u32) -> u64 {
    sum(sum(0, src), dst) + u64::from(next_header) + u64::from(len)
}

/// RFC 1624 equation 3: the new checksum after a 16-bit word of the
/// covered data changed from `old` to `new`.
#[inline]
pub fn update_u16(csum: u16, old: u16, new: u16) -> u16 {
    // HC' = ~(~HC + ~m + m')
    let acc = u64::from(!csum) + u64::from(!old) + u64::from(new);
    !fold(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_rfc1071_example() {
        // RFC 1071 section 3 example bytes: sum 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(0, &data)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
        assert_eq!(fold(sum(0, &[0xab])), 0xab00);
    }

    #[test]
    fn test_known_ipv4_header() {
        let mut h = hex::decode("45000073000040004011b861c0a80001c0a800c7").unwrap();
        assert_eq!(checksum(&h), 0);
        h[10] = 0;
        h[11] = 0;
        assert_eq!(checksum(&h), 0xb861);
    }

    #[test]
    fn test_incremental_matches_full() {
        let mut h = hex::decode("45000073000040004011b861c0a80001c0a800c7").unwrap();
        for _ in 0..64 {
            let old = u16::from_be_bytes([h[8], h[9]]);
            h[8] -= 1;
            let new = u16::from_be_bytes([h[8], h[9]]);
            let c = update_u16(u16::from_be_bytes([h[10], h[11]]), old, new);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            assert_eq!(checksum(&h), 0);
        }
    }
}
