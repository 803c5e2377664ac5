//! The NHRP core of a hub and two spokes, wired by simulated tunnels on a
//! virtual clock: the source document's sequence (redirect, resolution
//! along the routed path, shortcut built by the egress spoke, reply through
//! it, shortcut route installed), redirect suppression, hold timers, the
//! reverse direction reusing the shortcut, purge on tunnel down, and what
//! must not happen (other network IDs, hop count, garbage).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use controlplane::nhrp::codec::{Packet, PacketType};
use controlplane::nhrp::core::{Event, IfaceConfig, Nhrp, Rib, Route, TunnelId};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A static routing table: (prefix, length, route), longest match wins.
struct Table(Vec<(IpAddr, u8, Route)>);

fn contains(net: IpAddr, len: u8, a: IpAddr) -> bool {
    match (net, a) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(n) & m == u32::from(a) & m
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(n) & m == u128::from(a) & m
        }
        _ => false,
    }
}

impl Rib for Table {
    fn lookup(&self, dst: IpAddr) -> Route {
        self.0
            .iter()
            .filter(|(n, l, _)| contains(*n, *l, dst))
            .max_by_key(|(_, l, _)| *l)
            .map_or(Route::Other, |(_, _, r)| *r)
    }
}

const HUB: usize = 0;
const S1: usize = 1;
const S2: usize = 2;
/// Spokes' Tunnel0; the hub's Virtual-Access1/2 are tunnels 1 and 2.
const T0: TunnelId = 0;

struct World {
    nodes: [Nhrp; 3],
    ribs: [Table; 3],
    /// (node, tunnel) <-> (node, tunnel)
    links: Vec<((usize, TunnelId), (usize, TunnelId))>,
    now: Instant,
    next_tunnel: TunnelId,
    /// Every event that came out, per node, for assertions.
    log: Vec<(usize, Event)>,
    wire: VecDeque<(usize, TunnelId, Vec<u8>)>,
}

fn iface(network_id: u32, nbma: &str, protocol: &str, hub: bool) -> IfaceConfig {
    IfaceConfig {
        network_id,
        redirect: hub.then_some(Duration::from_secs(8)),
        shortcut_template: (!hub).then_some(1),
        holding_time: Duration::from_secs(600),
        nbma: ip(nbma),
        protocol: ip(protocol),
        mtu: 1400,
    }
}

/// The IPv4 address, or its IPv6 counterpart in an IPv6 world (overlay
/// fd00::/8 for 172.16/192.168, underlay 2001:db8:: for 10.0.0.x).
fn addr(v6: bool, s: &str) -> String {
    if !v6 {
        return s.to_string();
    }
    let o: Vec<u8> = s.split('.').map(|x| x.parse().unwrap()).collect();
    match o[0] {
        10 => format!("2001:db8::{}", o[3]),
        172 => format!("fd00:172:{}::{}", o[2], o[3]),
        192 => format!("fd00:192:{}::{}", o[2], o[3]),
        _ => unreachable!(),
    }
}

impl World {
    fn new(spoke2_network: u32) -> Self {
        Self::with_family(spoke2_network, false)
    }

    fn with_family(spoke2_network: u32, v6: bool) -> Self {
        let a = |s: &str| ip(&addr(v6, s));
        // Prefix lengths: /24 -> /48, /16 -> /32, /32 -> /128.
        let l = |n: u8| {
            if !v6 {
                n
            } else {
                match n {
                    24 => 48,
                    16 => 32,
                    32 => 128,
                    x => x,
                }
            }
        };
        let iface =
            |id, nbma: &str, proto: &str, hub| iface(id, &addr(v6, nbma), &addr(v6, proto), hub);
        let mut hub = Nhrp::new();
        hub.set_interface(1, iface(1, "10.0.0.100", "172.16.0.1", true));
        hub.set_interface(2, iface(spoke2_network, "10.0.0.100", "172.16.0.1", true));
        let mut s1 = Nhrp::new();
        s1.set_interface(T0, iface(1, "10.0.0.110", "172.16.0.10", false));
        let mut s2 = Nhrp::new();
        s2.set_interface(T0, iface(1, "10.0.0.120", "172.16.0.20", false));
        let ribs = [
            Table(vec![
                (a("192.168.1.0"), l(24), Route::Tunnel(1)),
                (a("192.168.2.0"), l(24), Route::Tunnel(2)),
                (a("172.16.0.10"), l(32), Route::Tunnel(1)),
                (a("172.16.0.20"), l(32), Route::Tunnel(2)),
            ]),
            Table(vec![
                (a("192.168.0.0"), l(16), Route::Tunnel(T0)),
                (a("172.16.0.0"), l(16), Route::Tunnel(T0)),
                (a("192.168.1.0"), l(24), Route::Local { prefix_len: l(24) }),
                (a("172.16.0.10"), l(32), Route::Local { prefix_len: l(32) }),
            ]),
            Table(vec![
                (a("192.168.0.0"), l(16), Route::Tunnel(T0)),
                (a("172.16.0.0"), l(16), Route::Tunnel(T0)),
                (a("192.168.2.0"), l(24), Route::Local { prefix_len: l(24) }),
                (a("172.16.0.20"), l(32), Route::Local { prefix_len: l(32) }),
            ]),
        ];
        Self {
            nodes: [hub, s1, s2],
            ribs,
            links: vec![((HUB, 1), (S1, T0)), ((HUB, 2), (S2, T0))],
            now: Instant::now(),
            next_tunnel: 10,
            log: Vec::new(),
            wire: VecDeque::new(),
        }
    }

    fn peer(&self, node: usize, tunnel: TunnelId) -> Option<(usize, TunnelId)> {
        self.links.iter().find_map(|&(a, b)| {
            if a == (node, tunnel) {
                Some(b)
            } else if b == (node, tunnel) {
                Some(a)
            } else {
                None
            }
        })
    }

    /// Moves events and packets until nothing is left (bounded).
    fn settle(&mut self) {
        for _ in 0..1000 {
            let mut progressed = false;
            for n in 0..3 {
                while let Some(ev) = self.nodes[n].poll_event() {
                    progressed = true;
                    self.log.push((n, ev.clone()));
                    match ev {
                        Event::Send { tunnel, packet } => self.wire.push_back((n, tunnel, packet)),
                        Event::CreateShortcut {
                            token, peer_nbma, ..
                        } => {
                            // The glue: a Virtual-Access on both ends, IKE up.
                            let peer = match peer_nbma.to_string().as_str() {
                                "10.0.0.110" | "2001:db8::110" => S1,
                                "10.0.0.120" | "2001:db8::120" => S2,
                                other => panic!("unknown NBMA {other}"),
                            };
                            let t = self.next_tunnel;
                            self.next_tunnel += 1;
                            self.links.push(((n, t), (peer, t)));
                            self.nodes[n].shortcut_up(self.now, token, t);
                        }
                        Event::InstallShortcut { .. } | Event::RemoveShortcut { .. } => {}
                    }
                }
            }
            while let Some((from, tunnel, packet)) = self.wire.pop_front() {
                progressed = true;
                if let Some((to, t)) = self.peer(from, tunnel) {
                    let now = self.now;
                    self.nodes[to].handle_packet(now, t, &packet, &self.ribs[to]);
                }
            }
            if !progressed {
                return;
            }
        }
        panic!("the simulation does not settle");
    }

    /// Advances the clock, running every node's timers on the way.
    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next = (0..3).filter_map(|n| self.nodes[n].poll_timeout()).min();
            match next {
                Some(t) if t <= end => {
                    self.now = t;
                    for n in 0..3 {
                        self.nodes[n].handle_timeout(t);
                    }
                    self.settle();
                }
                _ => break,
            }
        }
        self.now = end;
    }

    /// host `src` sends to `dst` through the hub (ingress, egress tunnels).
    fn through_hub(&mut self, ingress: TunnelId, egress: TunnelId, src: &str, dst: &str) {
        let p = match (ip(src), ip(dst)) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut p = vec![0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0];
                p.extend_from_slice(&s.octets());
                p.extend_from_slice(&d.octets());
                p
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let mut p = vec![0x60, 0, 0, 0, 0, 0, 17, 64];
                p.extend_from_slice(&s.octets());
                p.extend_from_slice(&d.octets());
                p
            }
            _ => unreachable!(),
        };
        let now = self.now;
        self.nodes[HUB].redirect_trigger(now, ingress, egress, &p);
        self.settle();
    }

    fn sent_types(&self, node: usize) -> Vec<PacketType> {
        self.log
            .iter()
            .filter(|(n, _)| *n == node)
            .filter_map(|(_, e)| match e {
                Event::Send { packet, .. } => Some(Packet::parse(packet).unwrap().packet_type),
                _ => None,
            })
            .collect()
    }

    fn installs(&self, node: usize) -> Vec<(IpAddr, u8, TunnelId)> {
        self.log
            .iter()
            .filter(|(n, _)| *n == node)
            .filter_map(|(_, e)| match e {
                Event::InstallShortcut {
                    prefix,
                    prefix_len,
                    tunnel,
                    ..
                } => Some((*prefix, *prefix_len, *tunnel)),
                _ => None,
            })
            .collect()
    }

    fn removes(&self, node: usize) -> usize {
        self.log
            .iter()
            .filter(|(n, e)| *n == node && matches!(e, Event::RemoveShortcut { .. }))
            .count()
    }
}

#[test]
fn spoke_to_spoke_shortcut() {
    let mut w = World::new(1);
    w.through_hub(1, 2, "192.168.1.5", "192.168.2.7");
    // Hub: a Traffic Indication to spoke 1, then it forwards the request.
    assert_eq!(
        w.sent_types(HUB),
        [
            PacketType::TRAFFIC_INDICATION,
            PacketType::RESOLUTION_REQUEST
        ]
    );
    assert_eq!(w.nodes[HUB].counters().requests_forwarded, 1);
    // Spoke 1 asked; spoke 2 built the shortcut and answered through it.
    assert_eq!(w.sent_types(S1), [PacketType::RESOLUTION_REQUEST]);
    assert_eq!(w.sent_types(S2), [PacketType::RESOLUTION_REPLY]);
    let shortcut = 10;
    assert!(w.log.iter().any(|(n, e)| *n == S2
        && matches!(e, Event::CreateShortcut { peer_nbma, template: 1, .. } if *peer_nbma == ip("10.0.0.110"))));
    // The reply came on the shortcut, not through the hub.
    assert!(w
        .log
        .iter()
        .any(|(n, e)| *n == S2 && matches!(e, Event::Send { tunnel, .. } if *tunnel == shortcut)));
    // Spoke 1 routes 192.168.2.0/24 (and spoke 2's tunnel address) over it.
    assert_eq!(
        w.installs(S1),
        [
            (ip("192.168.2.0"), 24, shortcut),
            (ip("172.16.0.20"), 32, shortcut)
        ]
    );
    // Spoke 2 cached spoke 1's tunnel address on the shortcut.
    assert_eq!(w.installs(S2), [(ip("172.16.0.10"), 32, shortcut)]);
    let entry = w.nodes[S1]
        .cache()
        .find(|e| e.prefix_len == 24)
        .unwrap()
        .clone();
    assert_eq!(entry.nbma, ip("10.0.0.120"));
    assert_eq!(entry.next_hop, ip("172.16.0.20"));

    // More packets across the hub in the next seconds: no new redirect.
    w.through_hub(1, 2, "192.168.1.5", "192.168.2.7");
    assert_eq!(w.nodes[HUB].counters().redirects_suppressed, 1);
    assert_eq!(w.nodes[HUB].counters().redirects_sent, 1);

    // The other direction: the hub redirects spoke 2, whose request reaches
    // spoke 1, which answers through the existing shortcut.
    w.through_hub(2, 1, "192.168.2.7", "192.168.1.5");
    assert_eq!(w.next_tunnel, 11, "no second shortcut tunnel");
    assert!(w.installs(S2).contains(&(ip("192.168.1.0"), 24, shortcut)));

    // Hold timers: everything expires after the holding time unless
    // refreshed.
    w.advance(Duration::from_secs(601));
    assert!(w.nodes[S1].cache().next().is_none());
    assert!(w.nodes[S2].cache().next().is_none());
    assert_eq!(w.removes(S1), 2);
}

#[test]
fn redirect_suppression_expires() {
    let mut w = World::new(1);
    w.through_hub(1, 2, "192.168.1.5", "192.168.2.7");
    w.through_hub(1, 2, "192.168.1.5", "192.168.2.7");
    assert_eq!(w.nodes[HUB].counters().redirects_sent, 1);
    // Another pair is not suppressed.
    w.through_hub(1, 2, "192.168.1.6", "192.168.2.7");
    assert_eq!(w.nodes[HUB].counters().redirects_sent, 2);
    w.advance(Duration::from_secs(9));
    w.through_hub(1, 2, "192.168.1.5", "192.168.2.7");
    assert_eq!(w.nodes[HUB].counters().redirects_sent, 3);
}

#[test]
fn shortcut_purged_when_its_tunnel_goes_down() {
    let mut w = World::new(1);
    w.through_hub(1, 2, "192.168.1.5", "192.168.2.7");
    assert_eq!(w.installs(S1).len(), 2);
    w.nodes[S1].tunnel_down(10);
    w.settle();
    assert_eq!(w.removes(S1), 2);
    assert!(w.nodes[S1].cache().next().is_none());
    // Traffic falls back to the hub, which redirects again after its
    // timeout, and the shortcut is built anew.
    w.advance(Duration::from_secs(9));
    w.through_hub(1, 2, "192.168.1.5", "192.168.2.7");
    assert_eq!(w.installs(S1).len(), 4);
}

#[test]
fn no_redirect_across_network_ids() {
    let mut w = World::new(2);
    w.through_hub(1, 2, "192.168.1.5", "192.168.2.7");
    assert!(w.sent_types(HUB).is_empty());
    assert_eq!(w.nodes[HUB].counters().redirects_sent, 0);
}

#[test]
fn unanswered_resolution_gives_up() {
    let mut w = World::new(1);
    // Spoke 2 gone: the hub forwards into a dead link.
    w.links.retain(|l| l.1 != (S2, T0));
    w.through_hub(1, 2, "192.168.1.5", "192.168.2.7");
    w.advance(Duration::from_secs(30));
    assert_eq!(w.nodes[S1].counters().requests_sent, 3);
    assert!(w.nodes[S1].poll_timeout().is_none());
    assert!(w.installs(S1).is_empty());
}

#[test]
fn garbage_and_hop_count() {
    let mut w = World::new(1);
    let now = w.now;
    let World { nodes, ribs, .. } = &mut w;
    nodes[HUB].handle_packet(now, 1, &[0u8; 3], &ribs[HUB]);
    nodes[HUB].handle_packet(now, 1, &[0xffu8; 60], &ribs[HUB]);
    assert_eq!(nodes[HUB].counters().malformed, 2);
    // A request with hop count 1 is not forwarded.
    w.through_hub(1, 2, "192.168.1.5", "192.168.2.7");
    let req = w
        .log
        .iter()
        .find_map(|(n, e)| match e {
            Event::Send { packet, .. } if *n == S1 => Some(packet.clone()),
            _ => None,
        })
        .unwrap();
    let mut p = Packet::parse(&req).unwrap();
    p.hop_count = 1;
    let bytes = p.emit().unwrap();
    let before = w.nodes[HUB].counters().requests_forwarded;
    let now = w.now;
    let World { nodes, ribs, .. } = &mut w;
    nodes[HUB].handle_packet(now, 1, &bytes, &ribs[HUB]);
    assert_eq!(nodes[HUB].counters().requests_forwarded, before);
    // A reply nobody asked for is dropped.
    let before = w.nodes[S1].counters().dropped;
    let mut r = p.clone();
    r.packet_type = PacketType::RESOLUTION_REPLY;
    let now = w.now;
    let World { nodes, ribs, .. } = &mut w;
    nodes[S1].handle_packet(now, 99, &r.emit().unwrap(), &ribs[S1]);
    assert_eq!(nodes[S1].counters().dropped, before + 1);
}

#[test]
fn ipv6_overlay_over_ipv6_underlay() {
    let mut w = World::with_family(1, true);
    let (src, dst) = (addr(true, "192.168.1.5"), addr(true, "192.168.2.7"));
    w.through_hub(1, 2, &src, &dst);
    assert_eq!(
        w.sent_types(HUB),
        [
            PacketType::TRAFFIC_INDICATION,
            PacketType::RESOLUTION_REQUEST
        ]
    );
    assert_eq!(
        w.installs(S1),
        [
            (ip("fd00:192:2::"), 48, 10),
            (ip(&addr(true, "172.16.0.20")), 128, 10)
        ]
    );
    let e = w.nodes[S1]
        .cache()
        .find(|e| e.prefix_len == 48)
        .unwrap()
        .clone();
    assert_eq!(e.nbma, ip("2001:db8::120"));
    // The packets carried IPv6 NBMA addresses (AFN 2) and protocol type
    // 0x86dd.
    let sent = w
        .log
        .iter()
        .find_map(|(n, e)| match e {
            Event::Send { packet, .. } if *n == S1 => Some(Packet::parse(packet).unwrap()),
            _ => None,
        })
        .unwrap();
    assert_eq!((sent.afn, sent.protocol_type), (2, 0x86dd));
}
