//! A simulated network for the IKEv2 endpoint: nodes (each an
//! `Endpoint`) joined by in-memory links on a virtual clock, with a
//! seeded fault injector (loss, duplication, delay and reordering), an
//! optional NAT in front of a node, a partition switch, and an
//! independent parse (ipsec-parser) of every datagram sent.
#![allow(dead_code, unreachable_pub, missing_debug_implementations)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use controlplane::ikev2::config::{Config, IpPrefix, PoolConfig};
use controlplane::ikev2::events::{CounterSpiAllocator, Event, RandomSource};
use controlplane::ikev2::{Endpoint, Identity, IdentityMatch, Keyring, Psk};

/// xorshift64*: deterministic randomness for faults and for the nodes'
/// SPIs and nonces.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// True with probability `p` (0..=1).
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

impl RandomSource for Rng {
    fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next_u64().to_be_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

/// Faults applied to every datagram.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    pub drop: f64,
    pub duplicate: f64,
    /// Extra delay up to this many milliseconds (reorders datagrams).
    pub jitter_ms: u64,
}

/// A NAT in front of a node: its private address is rewritten to
/// `public` with a port per (private address, port).
#[derive(Clone, Debug)]
pub struct Nat {
    pub public: IpAddr,
    pub next_port: u16,
    pub map: HashMap<SocketAddr, SocketAddr>,
}

pub struct Node {
    pub name: String,
    pub ep: Endpoint,
    pub ip: IpAddr,
    pub events: Vec<Event>,
    pub nat: Option<Nat>,
}

struct InFlight {
    at: Instant,
    seq: u64,
    to: usize,
    dst: SocketAddr,
    src: SocketAddr,
    payload: Vec<u8>,
}

pub struct Sim {
    pub start: Instant,
    pub now: Instant,
    pub nodes: Vec<Node>,
    pub faults: Faults,
    pub rng: Rng,
    /// Nodes cut off (every datagram from or to them is lost).
    pub partitioned: Vec<usize>,
    flight: Vec<InFlight>,
    seq: u64,
    /// Every datagram sent, for inspection: (from node, UDP payload).
    pub sent: Vec<(usize, SocketAddr, SocketAddr, Vec<u8>)>,
    /// When each of `sent` was sent.
    pub sent_at: Vec<Instant>,
    pub latency: Duration,
}

pub const PSK: &[u8] = b"flexvpn-sim-psk";

/// A hub configuration in the style of the FlexVPN guide.
pub fn hub_config() -> Config {
    let mut c = Config::new(
        Identity::Fqdn("hub.cisco.com".into()),
        Keyring::new().with(IdentityMatch::FqdnDomain("cisco.com".into()), Psk::new(PSK)),
    );
    c.remote_match = vec![IdentityMatch::FqdnDomain("cisco.com".into())];
    c.pool = Some(PoolConfig {
        v4: Some((Ipv4Addr::new(172, 16, 0, 1), Ipv4Addr::new(172, 16, 0, 254))),
        v6: Some((
            "2001:db8:ffff::1".parse().unwrap(),
            "2001:db8:ffff::ffff".parse().unwrap(),
        )),
        dns: vec![
            "172.16.1.53".parse().unwrap(),
            "2001:db8::53".parse().unwrap(),
        ],
        domain: Some("cisco.com".into()),
        routes: vec![
            IpPrefix::new("192.168.0.0".parse().unwrap(), 16),
            IpPrefix::new("172.16.1.1".parse().unwrap(), 32),
            IpPrefix::new("2001:db8:100::".parse().unwrap(), 48),
        ],
    });
    c
}

/// A spoke: asks for addresses and DNS, announces its LAN.
pub fn spoke_config(n: u8) -> Config {
    let mut c = Config::new(
        Identity::Fqdn(format!("spoke{n}.cisco.com")),
        Keyring::new().with(IdentityMatch::FqdnDomain("cisco.com".into()), Psk::new(PSK)),
    );
    c.cp_request.ipv4 = true;
    c.cp_request.ipv6 = true;
    c.cp_request.dns = true;
    c.cp_request.announce = vec![IpPrefix::new(
        IpAddr::V4(Ipv4Addr::new(192, 168, 100 + n, 0)),
        24,
    )];
    c
}

impl Sim {
    pub fn new(seed: u64) -> Self {
        let start = Instant::now();
        Self {
            start,
            now: start,
            nodes: Vec::new(),
            faults: Faults::default(),
            rng: Rng::new(seed),
            partitioned: Vec::new(),
            flight: Vec::new(),
            seq: 0,
            sent: Vec::new(),
            sent_at: Vec::new(),
            latency: Duration::from_millis(5),
        }
    }

    /// Adds a node with an address; returns its index.
    pub fn add(&mut self, name: &str, ip: &str, config: Config) -> usize {
        let seed = self.rng.next_u64();
        let ep = Endpoint::with_rng(
            config,
            Box::new(CounterSpiAllocator::new(
                0x1000 * (self.nodes.len() as u32 + 1),
            )),
            Box::new(Rng::new(seed)),
        )
        .expect("valid config");
        self.nodes.push(Node {
            name: name.into(),
            ep,
            ip: ip.parse().unwrap(),
            events: Vec::new(),
            nat: None,
        });
        self.nodes.len() - 1
    }

    pub fn put_behind_nat(&mut self, node: usize, public: &str) {
        self.nodes[node].nat = Some(Nat {
            public: public.parse().unwrap(),
            next_port: 30000,
            map: HashMap::new(),
        });
    }

    pub fn addr(&self, node: usize, port: u16) -> SocketAddr {
        SocketAddr::new(self.nodes[node].ip, port)
    }

    /// Drains every node's transmits into the network.
    fn collect(&mut self) {
        for i in 0..self.nodes.len() {
            while let Some(t) = self.nodes[i].ep.poll_transmit() {
                check_with_ipsec_parser(&t.payload, t.local.port());
                self.sent.push((i, t.local, t.remote, t.payload.clone()));
                self.sent_at.push(self.now);
                assert_eq!(
                    t.local.ip(),
                    self.nodes[i].ip,
                    "{} sends from a foreign address",
                    self.nodes[i].name
                );
                // NAT on the way out.
                let mut src = t.local;
                if let Some(nat) = &mut self.nodes[i].nat {
                    let public = nat.public;
                    let next = &mut nat.next_port;
                    src = *nat.map.entry(t.local).or_insert_with(|| {
                        *next += 1;
                        SocketAddr::new(public, *next)
                    });
                }
                // Route by destination (a NAT's public address leads to
                // the node behind it).
                let dst = t.remote;
                let Some((to, dst)) = self.route(dst) else {
                    continue;
                };
                if self.partitioned.contains(&i) || self.partitioned.contains(&to) {
                    continue;
                }
                let copies = if self.rng.chance(self.faults.duplicate) {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    if self.rng.chance(self.faults.drop) {
                        continue;
                    }
                    let delay = self.latency
                        + Duration::from_millis(self.rng.below(self.faults.jitter_ms + 1));
                    self.seq += 1;
                    self.flight.push(InFlight {
                        at: self.now + delay,
                        seq: self.seq,
                        to,
                        dst,
                        src,
                        payload: t.payload.clone(),
                    });
                }
            }
            while let Some(e) = self.nodes[i].ep.poll_event() {
                self.nodes[i].events.push(e);
            }
        }
    }

    fn route(&self, dst: SocketAddr) -> Option<(usize, SocketAddr)> {
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(nat) = &n.nat {
                if nat.public == dst.ip() {
                    let private = nat.map.iter().find(|(_, p)| **p == dst).map(|(k, _)| *k)?;
                    return Some((i, private));
                }
            }
            if n.ip == dst.ip() {
                return Some((i, dst));
            }
        }
        None
    }

    /// Runs one step: delivers what is due or fires the next timer.
    /// Returns false when nothing is left to do.
    pub fn step(&mut self) -> bool {
        self.collect();
        let next_packet = self.flight.iter().map(|f| (f.at, f.seq)).min();
        let next_timer = self.nodes.iter().filter_map(|n| n.ep.poll_timeout()).min();
        let t = match (next_packet.map(|p| p.0), next_timer) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return false,
        };
        if t > self.now {
            self.now = t;
        }
        if let Some((at, seq)) = next_packet {
            if at <= self.now {
                let pos = self.flight.iter().position(|f| f.seq == seq).unwrap();
                let f = self.flight.swap_remove(pos);
                let now = self.now;
                self.nodes[f.to]
                    .ep
                    .handle_datagram(now, f.dst, f.src, &f.payload);
                self.collect();
                return true;
            }
        }
        let now = self.now;
        for n in &mut self.nodes {
            if n.ep.poll_timeout().is_some_and(|t| t <= now) {
                n.ep.handle_timeout(now);
            }
        }
        self.collect();
        true
    }

    /// Runs until `cond` holds or `limit` of virtual time passes.
    pub fn run_until(&mut self, limit: Duration, mut cond: impl FnMut(&Self) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            self.collect();
            if cond(self) {
                return true;
            }
            if self.now > end {
                return false;
            }
            let next_packet = self.flight.iter().map(|f| f.at).min();
            let next_timer = self.nodes.iter().filter_map(|n| n.ep.poll_timeout()).min();
            let next = [next_packet, next_timer].into_iter().flatten().min();
            match next {
                Some(t) if t <= end => {
                    self.step();
                }
                _ => {
                    self.now = end + Duration::from_millis(1);
                    let now = self.now;
                    for n in &mut self.nodes {
                        n.ep.handle_timeout(now);
                    }
                }
            }
        }
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let _ = self.run_until(d, |_| false);
    }

    pub fn events(&self, node: usize) -> &[Event] {
        &self.nodes[node].events
    }

    pub fn count(&self, node: usize, f: impl Fn(&Event) -> bool) -> usize {
        self.nodes[node].events.iter().filter(|e| f(e)).count()
    }

    pub fn tunnel_up(&self, node: usize) -> usize {
        self.count(node, |e| matches!(e, Event::TunnelUp(_)))
    }

    pub fn tunnel_down(&self, node: usize) -> usize {
        self.count(node, |e| matches!(e, Event::TunnelDown { .. }))
    }
}

/// Every datagram must parse with ipsec-parser, an independent IKEv2
/// parser, with the same header.
pub fn check_with_ipsec_parser(payload: &[u8], local_port: u16) {
    let ike = if local_port == 4500 {
        assert_eq!(&payload[..4], &[0, 0, 0, 0], "non-ESP marker");
        &payload[4..]
    } else {
        payload
    };
    let (rest, (hdr, payloads)) =
        ipsec_parser::parse_ikev2_message(ike).unwrap_or_else(|e| panic!("ipsec-parser: {e:?}"));
    assert!(rest.is_empty());
    assert_eq!(hdr.length as usize, ike.len());
    assert_eq!((hdr.maj_ver, hdr.min_ver), (2, 0));
    let ours = controlplane::ikev2::codec::Message::parse(ike).expect("our own parser");
    assert_eq!(hdr.init_spi, ours.header.spi_i);
    assert_eq!(hdr.resp_spi, ours.header.spi_r);
    assert_eq!(hdr.msg_id, ours.header.message_id);
    assert_eq!(hdr.flags, ours.header.flags());
    assert_eq!(hdr.exch_type.0, ours.header.exchange_type.0);
    let payloads = payloads.unwrap_or_else(|e| panic!("ipsec-parser payloads: {e:?}"));
    assert_eq!(payloads.len() - 1, ours.payloads.len());
}

/// Installed Child SAs of a node's events: (inbound, outbound) minus the
/// removed ones.
pub fn live_children(events: &[Event]) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> = Vec::new();
    for e in events {
        match e {
            Event::ChildSaInstalled(c) => v.push((c.inbound_spi, c.outbound_spi)),
            Event::ChildSaRemoved { inbound_spi, .. } => v.retain(|(i, _)| i != inbound_spi),
            _ => {}
        }
    }
    v.sort_unstable();
    v
}

/// Whether two nodes' Child SAs pair up (each one's inbound is the other's
/// outbound, keys included).
pub fn children_consistent(a: &[Event], b: &[Event]) -> bool {
    let la = live_children(a);
    let lb = live_children(b);
    let mut mirrored: Vec<(u32, u32)> = lb.iter().map(|(i, o)| (*o, *i)).collect();
    mirrored.sort_unstable();
    la == mirrored
}

/// Checks that each installed SA's inbound key equals the peer's outbound
/// key for the same SPI.
pub fn keys_match(a: &[Event], b: &[Event]) {
    let mut ka = HashMap::new();
    for e in a {
        if let Event::ChildSaInstalled(c) = e {
            ka.insert(c.inbound_spi, c.inbound_key.as_bytes().to_vec());
        }
    }
    for e in b {
        if let Event::ChildSaInstalled(c) = e {
            if let Some(k) = ka.get(&c.outbound_spi) {
                assert_eq!(
                    k,
                    c.outbound_key.as_bytes(),
                    "keys of SPI {:#x}",
                    c.outbound_spi
                );
            }
        }
    }
}
