//! The routing information base of a node: candidate routes by prefix from
//! every source, the best one per prefix, and the changes to push to the
//! dataplane's FIB.
//!
//! For one prefix, the candidate with the lowest [`Source`] wins
//! (connected and our own addresses, then static routes, then NHRP
//! shortcuts, then routes IKEv2 learned); between prefixes, the longest
//! match wins as in any FIB. An NHRP shortcut for the same prefix as a
//! route through the hub therefore overrides it (IOS's next-hop override),
//! and removing the shortcut brings the hub route back.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use crate::ikev2::config::IpPrefix;
use crate::nhrp::core::{masked, Rib as NhrpRib, Route as NhrpRoute, TunnelId};

/// Where a route leads.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// An address of ours: deliver locally.
    Local,
    /// A subnet attached to an interface (neighbours resolved by ARP/ND).
    Connected {
        /// Interface name.
        iface: String,
    },
    /// Through a gateway on an interface.
    Gateway {
        /// Interface name, if given.
        iface: Option<String>,
        /// Next hop.
        via: IpAddr,
    },
    /// Into a tunnel.
    Tunnel(TunnelId),
}

/// Who put a route there; lower wins for the same prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Our own address (a /32 or /128).
    Local,
    /// An interface's subnet.
    Connected,
    /// `ip route`.
    Static,
    /// An NHRP shortcut (next-hop override).
    Nhrp,
    /// Learned from IKEv2 (pushed, accepted, or assigned).
    Ike,
}

/// A FIB change for the dataplane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FibChange {
    /// Install or replace the route of a prefix.
    Set(IpPrefix, Target),
    /// Remove the route of a prefix.
    Delete(IpPrefix),
}

fn key(p: IpPrefix) -> (IpAddr, u8) {
    (masked(p.addr, p.len), p.len)
}

/// The RIB.
#[derive(Debug, Default)]
pub struct Rib {
    routes: BTreeMap<(IpAddr, u8), Vec<(Source, Target)>>,
    changes: VecDeque<FibChange>,
}

impl Rib {
    /// Empty.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn best(v: &[(Source, Target)]) -> Option<&Target> {
        v.iter().min_by(|a, b| a.0.cmp(&b.0)).map(|(_, t)| t)
    }

    fn update(&mut self, k: (IpAddr, u8), f: impl FnOnce(&mut Vec<(Source, Target)>)) {
        let entry = self.routes.entry(k).or_default();
        let before = Self::best(entry).cloned();
        f(entry);
        let after = Self::best(entry).cloned();
        if entry.is_empty() {
            self.routes.remove(&k);
        }
        let prefix = IpPrefix::new(k.0, k.1);
        match (before, after) {
            (b, Some(a)) if b.as_ref() != Some(&a) => {
                self.changes.push_back(FibChange::Set(prefix, a))
            }
            (Some(_), None) => self.changes.push_back(FibChange::Delete(prefix)),
            _ => {}
        }
    }

    /// Adds a candidate (no duplicate of the same source and target).
    pub fn add(&mut self, prefix: IpPrefix, source: Source, target: Target) {
        self.update(key(prefix), |v| {
            if !v.iter().any(|(s, t)| *s == source && *t == target) {
                v.push((source, target));
            }
        });
    }

    /// Removes a candidate.
    pub fn remove(&mut self, prefix: IpPrefix, source: Source, target: &Target) {
        let k = key(prefix);
        if !self.routes.contains_key(&k) {
            return;
        }
        self.update(k, |v| v.retain(|(s, t)| !(*s == source && t == target)));
    }

    /// Removes every candidate that leads into `tunnel`.
    pub fn remove_tunnel(&mut self, tunnel: TunnelId) {
        let keys: Vec<_> = self
            .routes
            .iter()
            .filter(|(_, v)| v.iter().any(|(_, t)| *t == Target::Tunnel(tunnel)))
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            self.update(k, |v| v.retain(|(_, t)| *t != Target::Tunnel(tunnel)));
        }
    }

    /// The next change for the FIB.
    pub fn poll_change(&mut self) -> Option<FibChange> {
        self.changes.pop_front()
    }

    /// Longest-prefix match: the prefix and its best route.
    #[must_use]
    pub fn lookup(&self, dst: IpAddr) -> Option<(IpPrefix, &Target)> {
        let max = if dst.is_ipv4() { 32 } else { 128 };
        (0..=max).rev().find_map(|len| {
            let k = (masked(dst, len), len);
            self.routes
                .get(&k)
                .and_then(|v| Self::best(v))
                .map(|t| (IpPrefix::new(k.0, len), t))
        })
    }

    /// Every best route, for `show ip route`.
    pub fn entries(&self) -> impl Iterator<Item = (IpPrefix, Source, &Target)> + '_ {
        self.routes.iter().filter_map(|(k, v)| {
            v.iter()
                .min_by(|a, b| a.0.cmp(&b.0))
                .map(|(s, t)| (IpPrefix::new(k.0, k.1), *s, t))
        })
    }
}

impl NhrpRib for Rib {
    fn lookup(&self, dst: IpAddr) -> NhrpRoute {
        match Self::lookup(self, dst) {
            Some((_, Target::Tunnel(t))) => NhrpRoute::Tunnel(*t),
            Some((p, Target::Connected { .. } | Target::Local)) => {
                NhrpRoute::Local { prefix_len: p.len }
            }
            _ => NhrpRoute::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, len: u8) -> IpPrefix {
        IpPrefix::new(s.parse().unwrap(), len)
    }

    #[test]
    fn test_best_and_changes() {
        let mut r = Rib::new();
        r.add(p("0.0.0.0", 0), Source::Ike, Target::Tunnel(0));
        assert_eq!(
            r.poll_change(),
            Some(FibChange::Set(p("0.0.0.0", 0), Target::Tunnel(0)))
        );
        r.add(p("192.168.2.0", 24), Source::Ike, Target::Tunnel(0));
        r.add(p("192.168.2.7", 24), Source::Nhrp, Target::Tunnel(5));
        assert_eq!(
            r.poll_change(),
            Some(FibChange::Set(p("192.168.2.0", 24), Target::Tunnel(0)))
        );
        assert_eq!(
            r.poll_change(),
            Some(FibChange::Set(p("192.168.2.0", 24), Target::Tunnel(5)))
        );
        assert_eq!(r.poll_change(), None);
        assert_eq!(
            NhrpRib::lookup(&r, "192.168.2.9".parse().unwrap()),
            NhrpRoute::Tunnel(5)
        );
        r.remove_tunnel(5);
        assert_eq!(
            r.poll_change(),
            Some(FibChange::Set(p("192.168.2.0", 24), Target::Tunnel(0)))
        );
        r.remove(p("192.168.2.0", 24), Source::Ike, &Target::Tunnel(0));
        assert_eq!(
            r.poll_change(),
            Some(FibChange::Delete(p("192.168.2.0", 24)))
        );
        // A removal of something absent changes nothing.
        r.remove(p("10.0.0.0", 8), Source::Static, &Target::Local);
        assert_eq!(r.poll_change(), None);
        assert_eq!(
            NhrpRib::lookup(&r, "192.168.2.9".parse().unwrap()),
            NhrpRoute::Tunnel(0)
        );
        r.add(
            p("192.168.1.0", 24),
            Source::Connected,
            Target::Connected {
                iface: "Ethernet1/0".into(),
            },
        );
        assert_eq!(
            NhrpRib::lookup(&r, "192.168.1.9".parse().unwrap()),
            NhrpRoute::Local { prefix_len: 24 }
        );
        assert_eq!(r.entries().count(), 2);
    }
}
