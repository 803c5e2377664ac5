//! The main lcore's route bookkeeping: the FIB writer, the routes the
//! configuration asks for, and the host routes that neighbour resolution
//! adds and removes.
//!
//! - Port addresses are `Local` host routes; their subnets are `Glean`
//!   routes (packets to unresolved hosts there go to the main lcore).
//! - Static routes via a port are `Glean`, via `TunnelN` a tunnel, via
//!   `Null0` a blackhole.
//! - Static routes via a gateway are installed (as `Port` with the
//!   gateway's MAC) when the gateway is resolved, and withdrawn when it is
//!   lost; a static neighbour entry resolves it at once.
//! - A resolved neighbour gets a host route (/32 or /128) so its packets
//!   stay on the workers, but only where the FIB would otherwise glean on
//!   that port: a neighbour never overrides a configured route.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use anyhow::{anyhow, Result};
use dataplane::fib::{Fib, FibReader, Ipv4Prefix, Ipv6Prefix, NextHop};

use super::config::{IpPrefix, Plan, Via};

/// Static routes that wait for one gateway.
#[derive(Debug, Clone)]
struct Gateway {
    port: u16,
    ip: IpAddr,
    prefixes: Vec<IpPrefix>,
    /// Static neighbour entry: never lost.
    pinned: bool,
    mac: Option<[u8; 6]>,
}

/// The FIB and what it was built from.
#[derive(Debug)]
pub struct Routes {
    fib: Fib,
    gateways: Vec<Gateway>,
    /// Host routes installed for resolved neighbours.
    learned: HashMap<IpAddr, (u16, [u8; 6])>,
    /// Prefixes the configuration put there (ports, static routes).
    owned: HashSet<(IpAddr, u8)>,
    /// Routes the control plane installed.
    control: HashMap<(IpAddr, u8), (IpPrefix, NextHop)>,
    dirty: bool,
}

/// The (address, length) key of a prefix.
pub fn key(p: IpPrefix) -> (IpAddr, u8) {
    match p {
        IpPrefix::V4(p) => (IpAddr::from(p.addr()), p.len()),
        IpPrefix::V6(p) => (IpAddr::from(p.addr()), p.len()),
    }
}

fn insert(fib: &mut Fib, p: IpPrefix, nh: NextHop) -> Result<()> {
    match p {
        IpPrefix::V4(p) => fib.try_insert_v4(p, nh).map(drop),
        IpPrefix::V6(p) => fib.try_insert_v6(p, nh).map(drop),
    }
    .map_err(|e| anyhow!("route {p}: {e}"))
}

fn remove(fib: &mut Fib, p: IpPrefix) -> Option<NextHop> {
    match p {
        IpPrefix::V4(p) => fib.remove_v4(p),
        IpPrefix::V6(p) => fib.remove_v6(p),
    }
}

fn lookup(fib: &Fib, ip: IpAddr) -> Option<NextHop> {
    match ip {
        IpAddr::V4(a) => fib.lookup_v4(a.octets()),
        IpAddr::V6(a) => fib.lookup_v6(a.octets()),
    }
}

impl Routes {
    /// Builds and publishes the routes of a plan.
    pub fn new(plan: &Plan) -> Result<Self> {
        let mut fib = Fib::new();
        // Attached subnets first, so that static routes and host routes
        // (longer or equal) win.
        for (i, p) in plan.ports.iter().enumerate() {
            let port = i as u16;
            for &(a, len) in &p.v4 {
                let net =
                    Ipv4Prefix::new(a.octets(), len).map_err(|e| anyhow!("{a}/{len}: {e}"))?;
                insert(&mut fib, IpPrefix::V4(net), NextHop::Glean { port })?;
            }
            for &(a, len) in &p.v6 {
                let net =
                    Ipv6Prefix::new(a.octets(), len).map_err(|e| anyhow!("{a}/{len}: {e}"))?;
                insert(&mut fib, IpPrefix::V6(net), NextHop::Glean { port })?;
            }
        }
        let mut gateways: Vec<Gateway> = Vec::new();
        for r in &plan.routes {
            match r.via {
                Via::Attached { port } => insert(&mut fib, r.prefix, NextHop::Glean { port })?,
                Via::Tunnel(id) => insert(&mut fib, r.prefix, NextHop::Tunnel(id))?,
                Via::Blackhole => insert(&mut fib, r.prefix, NextHop::Blackhole)?,
                Via::Gateway { port, ip } => {
                    match gateways.iter_mut().find(|g| g.port == port && g.ip == ip) {
                        Some(g) => g.prefixes.push(r.prefix),
                        None => gateways.push(Gateway {
                            port,
                            ip,
                            prefixes: vec![r.prefix],
                            pinned: false,
                            mac: None,
                        }),
                    }
                }
            }
        }
        // Our addresses.
        for p in &plan.ports {
            for &(a, _) in &p.v4 {
                insert(&mut fib, IpPrefix::host(IpAddr::V4(a)), NextHop::Local)?;
            }
            for &(a, _) in &p.v6 {
                insert(&mut fib, IpPrefix::host(IpAddr::V6(a)), NextHop::Local)?;
            }
        }
        // Static neighbours: host routes, and their gateways' routes.
        for n in &plan.neighbors {
            insert(
                &mut fib,
                IpPrefix::host(n.ip),
                NextHop::Port {
                    port: n.port,
                    mac: n.mac,
                },
            )?;
            for g in gateways
                .iter_mut()
                .filter(|g| g.port == n.port && g.ip == n.ip)
            {
                g.pinned = true;
                g.mac = Some(n.mac);
                for &p in &g.prefixes {
                    insert(
                        &mut fib,
                        p,
                        NextHop::Port {
                            port: n.port,
                            mac: n.mac,
                        },
                    )?;
                }
            }
        }
        fib.publish();
        let mut owned = HashSet::new();
        for p in &plan.ports {
            for &(a, len) in &p.v4 {
                if let Ok(n) = Ipv4Prefix::new(a.octets(), len) {
                    owned.insert(key(IpPrefix::V4(n)));
                }
                owned.insert(key(IpPrefix::host(IpAddr::V4(a))));
            }
            for &(a, len) in &p.v6 {
                if let Ok(n) = Ipv6Prefix::new(a.octets(), len) {
                    owned.insert(key(IpPrefix::V6(n)));
                }
                owned.insert(key(IpPrefix::host(IpAddr::V6(a))));
            }
        }
        for r in &plan.routes {
            owned.insert(key(r.prefix));
        }
        for n in &plan.neighbors {
            owned.insert(key(IpPrefix::host(n.ip)));
        }
        Ok(Self {
            fib,
            gateways,
            learned: HashMap::new(),
            owned,
            control: HashMap::new(),
            dirty: false,
        })
    }

    /// A reader for a worker.
    pub fn reader(&self) -> FibReader {
        self.fib.reader()
    }

    /// The FIB's current (writer-side) answer for `ip`.
    pub fn lookup(&self, ip: IpAddr) -> Option<NextHop> {
        lookup(&self.fib, ip)
    }

    /// Gateways that static routes wait for and that are not resolved:
    /// (port, address), to hand to `Neighbors::want`.
    pub fn unresolved_gateways(&self) -> impl Iterator<Item = (u16, IpAddr)> + '_ {
        self.gateways
            .iter()
            .filter(|g| g.mac.is_none())
            .map(|g| (g.port, g.ip))
    }

    /// A neighbour answered. Returns the number of routes installed or
    /// changed (publish to make them visible).
    pub fn resolved(&mut self, port: u16, ip: IpAddr, mac: [u8; 6]) -> usize {
        let nh = NextHop::Port { port, mac };
        let mut changed = 0;
        for g in self
            .gateways
            .iter_mut()
            .filter(|g| g.port == port && g.ip == ip && !g.pinned)
        {
            g.mac = Some(mac);
            for &p in &g.prefixes {
                if insert(&mut self.fib, p, nh).is_ok() {
                    changed += 1;
                }
            }
        }
        let ours = self.learned.get(&ip).is_some_and(|&(p, _)| p == port);
        let gleans_here = lookup(&self.fib, ip) == Some(NextHop::Glean { port });
        if (ours || gleans_here) && insert(&mut self.fib, IpPrefix::host(ip), nh).is_ok() {
            self.learned.insert(ip, (port, mac));
            changed += 1;
        }
        self.dirty |= changed > 0;
        changed
    }

    /// A neighbour stopped answering: its host route and the routes through
    /// it go. Returns the number of routes removed.
    pub fn lost(&mut self, port: u16, ip: IpAddr) -> usize {
        let mut removed = 0;
        if self.learned.get(&ip).is_some_and(|&(p, _)| p == port) {
            self.learned.remove(&ip);
            if remove(&mut self.fib, IpPrefix::host(ip)).is_some() {
                removed += 1;
            }
        }
        for g in self
            .gateways
            .iter_mut()
            .filter(|g| g.port == port && g.ip == ip && !g.pinned)
        {
            g.mac = None;
            for &p in &g.prefixes {
                if remove(&mut self.fib, p).is_some() {
                    removed += 1;
                }
            }
        }
        self.dirty |= removed > 0;
        removed
    }

    /// Installs or replaces a route of the control plane (into a tunnel, to
    /// us, or dropped). Publish to make it visible.
    ///
    /// # Errors
    ///
    /// The prefix belongs to the configuration (a port's address or
    /// subnet, a static route) or to a resolved neighbour: the control
    /// plane does not override those.
    pub fn set_control(&mut self, p: IpPrefix, nh: NextHop) -> Result<()> {
        let k = key(p);
        if self.owned.contains(&k) {
            return Err(anyhow!("route {p}: the dataplane's configuration owns it"));
        }
        if k.1 == if k.0.is_ipv4() { 32 } else { 128 } && self.learned.contains_key(&k.0) {
            return Err(anyhow!("route {p}: a resolved neighbour's host route"));
        }
        insert(&mut self.fib, p, nh)?;
        self.control.insert(k, (p, nh));
        self.dirty = true;
        Ok(())
    }

    /// Removes a route of the control plane; false if it has none there.
    pub fn delete_control(&mut self, p: IpPrefix) -> bool {
        if self.control.remove(&key(p)).is_none() {
            return false;
        }
        remove(&mut self.fib, p);
        self.dirty = true;
        true
    }

    /// Removes every control-plane route into `tunnel`; how many.
    pub fn delete_control_into(&mut self, tunnel: u32) -> usize {
        let gone: Vec<IpPrefix> = self
            .control
            .values()
            .filter(|(_, nh)| *nh == NextHop::Tunnel(tunnel))
            .map(|(p, _)| *p)
            .collect();
        for p in &gone {
            self.delete_control(*p);
        }
        gone.len()
    }

    /// The control plane's routes.
    pub fn control_routes(&self) -> impl Iterator<Item = (IpPrefix, NextHop)> + '_ {
        self.control.values().copied()
    }

    /// Makes the changes visible to the workers.
    pub fn publish(&mut self) {
        if self.dirty {
            self.fib.publish();
            self.dirty = false;
        }
    }

    /// Routes in the FIB (IPv4, IPv6).
    pub fn len(&self) -> (usize, usize) {
        (self.fib.len_v4(), self.fib.len_v6())
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::Config;
    use super::*;

    const CFG: &str = r#"
[[ports]]
name = "lan"
device = "net_null0"
ipv4 = ["192.168.1.1/24"]
ipv6 = ["2001:db8:1::1/64"]

[[ports]]
name = "wan"
device = "net_null1"
ipv4 = ["203.0.113.1/24"]

[[neighbors]]
port = "wan"
ip = "203.0.113.2"
mac = "02:00:00:00:00:21"

[[routes]]
prefix = "0.0.0.0/0"
via = "203.0.113.254"

[[routes]]
prefix = "198.51.100.0/24"
via = "203.0.113.2"

[[routes]]
prefix = "192.168.1.128/25"
via = "Tunnel3"

[[routes]]
prefix = "10.0.0.0/8"
via = "Null0"

[[tunnels]]
id = 3
local = "203.0.113.1"
remote = "203.0.113.2"
mode = "ipsec"
"#;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn routes() -> Routes {
        Routes::new(&Config::parse(CFG).unwrap().plan().unwrap()).unwrap()
    }

    const GW_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x99];

    #[test]
    fn test_initial_routes() {
        let r = routes();
        let rd = r.reader();
        let snap = rd.snapshot();
        let v4 = |s: &str| match ip(s) {
            IpAddr::V4(a) => snap.lookup_v4(a.octets()),
            IpAddr::V6(_) => unreachable!(),
        };
        assert_eq!(v4("192.168.1.1"), Some(NextHop::Local));
        assert_eq!(v4("192.168.1.7"), Some(NextHop::Glean { port: 0 }));
        assert_eq!(v4("192.168.1.200"), Some(NextHop::Tunnel(3)));
        assert_eq!(v4("10.1.2.3"), Some(NextHop::Blackhole));
        let peer = Some(NextHop::Port {
            port: 1,
            mac: [2, 0, 0, 0, 0, 0x21],
        });
        assert_eq!(v4("203.0.113.2"), peer);
        // Via a static neighbour: installed at once.
        assert_eq!(v4("198.51.100.9"), peer);
        // Via an unresolved gateway: not yet.
        assert_eq!(v4("8.8.8.8"), None);
        assert_eq!(v4("203.0.113.77"), Some(NextHop::Glean { port: 1 }));
        let v6: std::net::Ipv6Addr = "2001:db8:1::1".parse().unwrap();
        assert_eq!(snap.lookup_v6(v6.octets()), Some(NextHop::Local));
        let gws: Vec<_> = r.unresolved_gateways().collect();
        assert_eq!(gws, vec![(1, ip("203.0.113.254"))]);
    }

    #[test]
    fn test_gateway_resolved_then_lost() {
        let mut r = routes();
        let rd = r.reader();
        assert_eq!(r.resolved(1, ip("203.0.113.254"), GW_MAC), 2);
        // Not visible before publish.
        assert_eq!(rd.snapshot().lookup_v4([8, 8, 8, 8]), None);
        r.publish();
        let nh = Some(NextHop::Port {
            port: 1,
            mac: GW_MAC,
        });
        assert_eq!(rd.snapshot().lookup_v4([8, 8, 8, 8]), nh);
        assert_eq!(rd.snapshot().lookup_v4([203, 0, 113, 254]), nh);
        assert_eq!(r.unresolved_gateways().count(), 0);
        assert_eq!(r.lost(1, ip("203.0.113.254")), 2);
        r.publish();
        assert_eq!(rd.snapshot().lookup_v4([8, 8, 8, 8]), None);
        assert_eq!(
            rd.snapshot().lookup_v4([203, 0, 113, 254]),
            Some(NextHop::Glean { port: 1 })
        );
        assert_eq!(r.unresolved_gateways().count(), 1);
    }

    #[test]
    fn test_host_routes_only_where_gleaning() {
        let mut r = routes();
        // A LAN host: host route.
        assert_eq!(r.resolved(0, ip("192.168.1.7"), GW_MAC), 1);
        assert_eq!(
            r.lookup(ip("192.168.1.7")),
            Some(NextHop::Port {
                port: 0,
                mac: GW_MAC
            })
        );
        // Its MAC changes: updated.
        assert_eq!(r.resolved(0, ip("192.168.1.7"), [2, 0, 0, 0, 0, 1]), 1);
        // Inside the tunnel's /25: the configured route stays.
        assert_eq!(r.resolved(0, ip("192.168.1.200"), GW_MAC), 0);
        assert_eq!(r.lookup(ip("192.168.1.200")), Some(NextHop::Tunnel(3)));
        // The static neighbour is not overridden.
        assert_eq!(r.resolved(1, ip("203.0.113.2"), GW_MAC), 0);
        // Answer on the wrong port: nothing.
        assert_eq!(r.resolved(1, ip("192.168.1.8"), GW_MAC), 0);
        // IPv6 too.
        assert_eq!(r.resolved(0, ip("2001:db8:1::9"), GW_MAC), 1);
        // Lost: the host route goes, gleaning again.
        assert_eq!(r.lost(0, ip("192.168.1.7")), 1);
        assert_eq!(
            r.lookup(ip("192.168.1.7")),
            Some(NextHop::Glean { port: 0 })
        );
        assert_eq!(r.lost(0, ip("192.168.1.7")), 0);
        assert_eq!(r.lost(1, ip("203.0.113.2")), 0, "static entries stay");
    }
}
