//! Address pools of a responder (`ip local pool flex-pool 172.16.0.1
//! 172.16.0.254`): O(1) allocation and release, each address to one IKE
//! SA at a time.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A range of addresses as integers, handing out the lowest never-used
/// offset first and reusing released ones (oldest release first).
#[derive(Clone, Debug)]
struct RangePool {
    start: u128,
    size: u128,
    next: u128,
    free: std::collections::VecDeque<u128>,
    used: HashSet<u128>,
}

impl RangePool {
    fn new(start: u128, end: u128) -> Self {
        Self {
            start,
            size: end - start + 1,
            next: 0,
            free: std::collections::VecDeque::new(),
            used: HashSet::new(),
        }
    }

    fn allocate(&mut self) -> Option<u128> {
        let off = if let Some(o) = self.free.pop_front() {
            o
        } else if self.next < self.size {
            self.next += 1;
            self.next - 1
        } else {
            return None;
        };
        self.used.insert(off);
        Some(self.start + off)
    }

    fn release(&mut self, addr: u128) -> bool {
        let Some(off) = addr.checked_sub(self.start).filter(|o| *o < self.size) else {
            return false;
        };
        if self.used.remove(&off) {
            self.free.push_back(off);
            true
        } else {
            false
        }
    }

    fn in_use(&self) -> usize {
        self.used.len()
    }
}

/// The IPv4 and IPv6 pools of a responder.
#[derive(Clone, Debug, Default)]
pub struct AddressPools {
    v4: Option<RangePool>,
    v6: Option<RangePool>,
}

impl AddressPools {
    /// Pools over the given inclusive ranges.
    #[must_use]
    pub fn new(v4: Option<(Ipv4Addr, Ipv4Addr)>, v6: Option<(Ipv6Addr, Ipv6Addr)>) -> Self {
        Self {
            v4: v4.map(|(a, b)| RangePool::new(u32::from(a).into(), u32::from(b).into())),
            v6: v6.map(|(a, b)| RangePool::new(u128::from(a), u128::from(b))),
        }
    }

    /// An IPv4 address, if the pool has one left.
    pub fn allocate_v4(&mut self) -> Option<Ipv4Addr> {
        let a = self.v4.as_mut()?.allocate()?;
        u32::try_from(a).ok().map(Ipv4Addr::from)
    }

    /// An IPv6 address, if the pool has one left.
    pub fn allocate_v6(&mut self) -> Option<Ipv6Addr> {
        self.v6.as_mut()?.allocate().map(Ipv6Addr::from)
    }

    /// Gives an address back; false if it was not allocated.
    pub fn release(&mut self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => self
                .v4
                .as_mut()
                .is_some_and(|p| p.release(u32::from(a).into())),
            IpAddr::V6(a) => self.v6.as_mut().is_some_and(|p| p.release(u128::from(a))),
        }
    }

    /// Addresses handed out and not released.
    #[must_use]
    pub fn in_use(&self) -> usize {
        self.v4.as_ref().map_or(0, RangePool::in_use)
            + self.v6.as_ref().map_or(0, RangePool::in_use)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_allocate_release() {
        let mut p = AddressPools::new(
            Some((Ipv4Addr::new(172, 16, 0, 1), Ipv4Addr::new(172, 16, 0, 3))),
            Some((
                "2001:db8::1".parse().unwrap(),
                "2001:db8::2".parse().unwrap(),
            )),
        );
        let a: Vec<_> = (0..4).map(|_| p.allocate_v4()).collect();
        assert_eq!(
            a,
            [
                Some(Ipv4Addr::new(172, 16, 0, 1)),
                Some(Ipv4Addr::new(172, 16, 0, 2)),
                Some(Ipv4Addr::new(172, 16, 0, 3)),
                None
            ]
        );
        assert!(p.release(IpAddr::V4(Ipv4Addr::new(172, 16, 0, 2))));
        assert!(!p.release(IpAddr::V4(Ipv4Addr::new(172, 16, 0, 2))));
        assert!(!p.release(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
        assert_eq!(p.allocate_v4(), Some(Ipv4Addr::new(172, 16, 0, 2)));
        assert_eq!(p.allocate_v6(), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(p.in_use(), 4);
        let mut none = AddressPools::default();
        assert_eq!(none.allocate_v4(), None);
    }
}
