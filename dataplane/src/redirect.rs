//! The hub's NHRP redirect trigger, rate-limited in the dataplane.
//!
//! A packet that enters on a tunnel and leaves on another tunnel of the
//! same NHRP network (`ip nhrp network-id`, with `ip nhrp redirect` on the
//! ingress) is forwarded as usual, and the control plane is told once per
//! source and destination per interval, so that a flow of a million packets
//! per second costs the control plane a trigger per interval, not a punt
//! per packet. The control plane's NHRP core applies the operator's
//! `ip nhrp redirect timeout` on top.
//!
//! [`RedirectLimiter`] is a direct-mapped table of recent (source,
//! destination) pairs with the time each was last reported: fixed memory,
//! one hash and one compare per check, no allocation. A collision evicts
//! the older pair, which can only cause an extra trigger, never a lost one
//! for a pair that was not reported within the interval.

use std::net::IpAddr;

/// Whether a forwarded packet should trigger a redirect: both tunnels are
/// in one NHRP network (non-zero) and the ingress one redirects.
#[inline]
#[must_use]
pub fn qualifies(ingress_network: u32, ingress_redirects: bool, egress_network: u32) -> bool {
    ingress_redirects && ingress_network != 0 && ingress_network == egress_network
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Slot {
    /// 0: empty.
    key: u64,
    src: u128,
    dst: u128,
    last: u64,
}

/// Suppresses repeated triggers for one pair within an interval.
#[derive(Clone, Debug)]
pub struct RedirectLimiter {
    slots: Box<[Slot]>,
    mask: usize,
    interval: u64,
    /// Triggers allowed.
    pub allowed: u64,
    /// Triggers suppressed.
    pub suppressed: u64,
}

fn bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(v)) | (1u128 << 127),
        IpAddr::V6(v) => u128::from(v),
    }
}

/// A 64-bit mix of the pair (never 0).
fn hash(src: u128, dst: u128) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    for w in [
        src as u64,
        (src >> 64) as u64,
        dst as u64,
        (dst >> 64) as u64,
    ] {
        h = (h ^ w).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
    }
    h | 1
}

impl RedirectLimiter {
    /// A table of `slots` entries (rounded up to a power of two, at least
    /// 16) suppressing repeats within `interval` ticks (the caller's clock:
    /// TSC cycles or nanoseconds).
    #[must_use]
    pub fn new(slots: usize, interval: u64) -> Self {
        let n = slots.max(16).next_power_of_two();
        Self {
            slots: vec![Slot::default(); n].into_boxed_slice(),
            mask: n - 1,
            interval,
            allowed: 0,
            suppressed: 0,
        }
    }

    /// Whether to report the pair at time `now`; records it when so.
    #[inline]
    pub fn check(&mut self, src: IpAddr, dst: IpAddr, now: u64) -> bool {
        let (s, d) = (bits(src), bits(dst));
        let key = hash(s, d);
        // `mask` keeps the index inside the table.
        let i = (key as usize) & self.mask;
        let slot = &mut self.slots[i];
        if slot.key == key
            && slot.src == s
            && slot.dst == d
            && now.wrapping_sub(slot.last) < self.interval
        {
            self.suppressed += 1;
            return false;
        }
        *slot = Slot {
            key,
            src: s,
            dst: d,
            last: now,
        };
        self.allowed += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn test_qualifies() {
        assert!(qualifies(1, true, 1));
        assert!(!qualifies(1, false, 1));
        assert!(!qualifies(1, true, 2));
        assert!(!qualifies(0, true, 0));
    }

    #[test]
    fn test_suppression_per_pair() {
        let mut l = RedirectLimiter::new(64, 100);
        let (a, b, c) = (ip("192.168.1.1"), ip("192.168.2.1"), ip("192.168.3.1"));
        assert!(l.check(a, b, 0));
        assert!(!l.check(a, b, 50));
        assert!(!l.check(a, b, 99));
        // Another pair, and the reverse direction, are their own.
        assert!(l.check(a, c, 60));
        assert!(l.check(b, a, 60));
        // After the interval, again.
        assert!(l.check(a, b, 100));
        assert!(!l.check(a, b, 150));
        assert_eq!((l.allowed, l.suppressed), (4, 3));
        // IPv4 and the IPv6 address with the same low bits differ.
        assert!(l.check(ip("::c0a8:101"), ip("::c0a8:201"), 150));
    }

    #[test]
    fn test_collisions_never_suppress_a_new_pair() {
        // A tiny table and many pairs: a pair not reported within the
        // interval is always reported.
        let mut l = RedirectLimiter::new(16, 1_000_000);
        let mut seen = std::collections::HashSet::new();
        for i in 0..2000u32 {
            let src = IpAddr::from((0x0a00_0000 + i % 300).to_be_bytes());
            let dst = IpAddr::from((0x0b00_0000 + i % 7).to_be_bytes());
            let first = seen.insert((src, dst));
            let r = l.check(src, dst, u64::from(i));
            if first {
                assert!(r, "{src} -> {dst} never reported yet");
            }
        }
    }

    #[test]
    fn test_clock_wrap() {
        let mut l = RedirectLimiter::new(16, 100);
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        assert!(l.check(a, b, u64::MAX - 10));
        assert!(!l.check(a, b, 20));
        assert!(l.check(a, b, 95));
    }
}
