//! Neighbour resolution: ARP (RFC 826) for IPv4 and Neighbor Discovery
//! (RFC 4861) for IPv6, as a sans-IO state machine for the main lcore.
//!
//! Workers never resolve anything. A route to an attached subnet is a
//! [`NextHop::Glean`](crate::fib::NextHop::Glean): a packet that hits it is
//! punted ([`Punt::Resolve`](crate::pipeline::Punt::Resolve)) and handed to
//! [`Neighbors::resolve`], which queues it (a few per neighbour), sends
//! requests with retries, and on an answer releases the queue
//! ([`Output::Send`]) and reports [`Output::Resolved`], on which the owner
//! installs a host route with the MAC so later packets stay on the worker.
//! Entries are refreshed by unicast probes when their reachable time runs
//! out and reported [`Output::Lost`] when probes go unanswered.
//!
//! ARP and ND frames punted by the workers go to
//! [`Neighbors::handle_frame`], which answers requests for our addresses
//! and learns from what it sees, following RFC 826's merge rule (update
//! what is known; create only from requests addressed to us).
//!
//! No I/O and no clock: `now` comes from the caller, frames and events are
//! collected with [`Neighbors::poll_output`], and
//! [`Neighbors::poll_timeout`] says when to call
//! [`Neighbors::handle_timeout`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use crate::wire::arp::{self, ArpOp, ArpRepr};
use crate::wire::ethernet::{EthernetFrame, EthernetRepr};
use crate::wire::ndp::{self, NdKind, NdPacket, NdRepr};
use crate::wire::EtherType;

/// Shortest Ethernet frame (without FCS); shorter frames are padded.
const MIN_FRAME: usize = 60;
const BROADCAST: [u8; 6] = [0xff; 6];

/// Timers and limits.
#[derive(Clone, Debug)]
pub struct Config {
    /// Time between requests while resolving or probing (RFC 4861
    /// RETRANS_TIMER: 1 s).
    pub retransmit: Duration,
    /// Requests sent before giving up (RFC 4861 MAX_MULTICAST_SOLICIT and
    /// MAX_UNICAST_SOLICIT: 3).
    pub max_probes: u32,
    /// How long an answer is trusted before it is probed again.
    pub reachable: Duration,
    /// Packets held per unresolved neighbour (older ones are dropped first).
    pub queue_per_entry: usize,
    /// Neighbours at most (resolved and resolving), per appliance.
    pub max_entries: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            retransmit: Duration::from_secs(1),
            max_probes: 3,
            reachable: Duration::from_secs(300),
            queue_per_entry: 8,
            max_entries: 65_536,
        }
    }
}

/// A port's link-layer address and the IP addresses we own on it.
#[derive(Clone, Debug, Default)]
pub struct PortAddrs {
    /// The port's MAC address.
    pub mac: [u8; 6],
    /// IPv4 addresses with their prefix lengths.
    pub v4: Vec<(Ipv4Addr, u8)>,
    /// IPv6 addresses with their prefix lengths. The link-local address
    /// derived from the MAC (EUI-64) is always ours too.
    pub v6: Vec<(Ipv6Addr, u8)>,
}

impl PortAddrs {
    /// The link-local address derived from the MAC (RFC 4291 appendix A).
    pub fn link_local(&self) -> Ipv6Addr {
        let m = self.mac;
        Ipv6Addr::from([
            0xfe,
            0x80,
            0,
            0,
            0,
            0,
            0,
            0,
            m[0] ^ 0x02,
            m[1],
            m[2],
            0xff,
            0xfe,
            m[3],
            m[4],
            m[5],
        ])
    }

    fn owns_v4(&self, a: Ipv4Addr) -> bool {
        self.v4.iter().any(|(o, _)| *o == a)
    }

    fn owns_v6(&self, a: Ipv6Addr) -> bool {
        a == self.link_local() || self.v6.iter().any(|(o, _)| *o == a)
    }

    /// Our IPv4 address to speak from toward `to`: one in the same subnet,
    /// else the first.
    fn source_v4(&self, to: Ipv4Addr) -> Option<Ipv4Addr> {
        let net = |a: Ipv4Addr, len: u8| {
            u32::from(a) & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
        };
        self.v4
            .iter()
            .find(|(o, len)| net(*o, *len) == net(to, *len))
            .or(self.v4.first())
            .map(|(o, _)| *o)
    }

    /// Our IPv6 address to speak from toward `to`: link-local for
    /// link-local targets, else one in the same subnet, else link-local.
    fn source_v6(&self, to: Ipv6Addr) -> Ipv6Addr {
        if to.segments()[0] & 0xffc0 == 0xfe80 {
            return self.link_local();
        }
        let net = |a: Ipv6Addr, len: u8| {
            u128::from(a) & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
        };
        self.v6
            .iter()
            .find(|(o, len)| net(*o, *len) == net(to, *len))
            .map_or_else(|| self.link_local(), |(o, _)| *o)
    }
}

/// What the owner must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Output<P> {
    /// Send this Ethernet frame on the port.
    Transmit {
        /// Port.
        port: u16,
        /// A complete frame.
        frame: Vec<u8>,
    },
    /// A neighbour's MAC became known or changed: install or update its
    /// host route (and routes through it).
    Resolved {
        /// Port.
        port: u16,
        /// The neighbour.
        ip: IpAddr,
        /// Its MAC.
        mac: [u8; 6],
    },
    /// A resolved neighbour stopped answering: remove its host route.
    Lost {
        /// Port.
        port: u16,
        /// The neighbour.
        ip: IpAddr,
    },
    /// A packet held for resolution can go now, to this MAC.
    Send {
        /// Port.
        port: u16,
        /// Destination MAC.
        mac: [u8; 6],
        /// The packet as it was handed to [`Neighbors::resolve`].
        packet: P,
    },
    /// A held packet is dropped.
    Drop {
        /// The packet.
        packet: P,
        /// Why.
        reason: DropCause,
    },
}

/// Why a held packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropCause {
    /// The neighbour never answered.
    Unresolved,
    /// Too many packets were waiting for this neighbour.
    QueueFull,
    /// Too many neighbours are known or being resolved.
    TableFull,
    /// The port is unknown or has no address of that family to ask from.
    NoSource,
}

/// Counters of the neighbour machinery.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// ARP requests sent (resolution and probes).
    pub arp_requests: u64,
    /// ARP replies sent for our addresses.
    pub arp_replies: u64,
    /// Neighbor Solicitations sent.
    pub ns_sent: u64,
    /// Neighbor Advertisements sent for our addresses.
    pub na_sent: u64,
    /// Neighbours resolved or changed.
    pub resolved: u64,
    /// Neighbours given up on (never answered, or stopped answering).
    pub failed: u64,
    /// Held packets dropped, all causes.
    pub held_dropped: u64,
    /// Punted frames that did not parse or broke a rule.
    pub bad_frames: u64,
    /// Frames claiming one of our own addresses from another MAC.
    pub conflicts: u64,
}

#[derive(Debug)]
enum State {
    /// Asking; no answer yet.
    Incomplete { sent: u32, next: Instant },
    /// Answered; trusted until `until`.
    Reachable { mac: [u8; 6], until: Instant },
    /// Trust ran out; asking the known MAC again.
    Probe {
        mac: [u8; 6],
        sent: u32,
        next: Instant,
    },
}

impl State {
    fn deadline(&self) -> Instant {
        match *self {
            Self::Incomplete { next, .. } | Self::Probe { next, .. } => next,
            Self::Reachable { until, .. } => until,
        }
    }
}

#[derive(Debug)]
struct Entry<P> {
    state: State,
    held: VecDeque<P>,
}

type Key = (u16, IpAddr);

/// The neighbour table of an appliance.
#[derive(Debug)]
pub struct Neighbors<P> {
    cfg: Config,
    ports: Vec<PortAddrs>,
    entries: HashMap<Key, Entry<P>>,
    /// Deadlines, lazily invalidated: an item counts only if it equals its
    /// entry's current deadline.
    timers: BinaryHeap<Reverse<(Instant, u16, IpAddr)>>,
    out: VecDeque<Output<P>>,
    counters: Counters,
}

impl<P> Neighbors<P> {
    /// A table for these ports (indexed by port number).
    pub fn new(cfg: Config, ports: Vec<PortAddrs>) -> Self {
        Self {
            cfg,
            ports,
            entries: HashMap::new(),
            timers: BinaryHeap::new(),
            out: VecDeque::new(),
            counters: Counters::default(),
        }
    }

    /// Counters so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Neighbours known or being resolved.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no neighbour is known or being resolved.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The MAC of a resolved neighbour.
    pub fn lookup(&self, port: u16, ip: IpAddr) -> Option<[u8; 6]> {
        match self.entries.get(&(port, ip))?.state {
            State::Reachable { mac, .. } | State::Probe { mac, .. } => Some(mac),
            State::Incomplete { .. } => None,
        }
    }

    /// The next thing to do, if any.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output<P>> {
        self.out.pop_front()
    }

    /// When [`Neighbors::handle_timeout`] should run next.
    #[must_use]
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, port, ip))) = self.timers.peek().copied() {
            match self.entries.get(&(port, ip)) {
                Some(e) if e.state.deadline() == at => return Some(at),
                _ => {
                    self.timers.pop();
                }
            }
        }
        None
    }

    /// Sends `packet` to `ip` on `port` once its MAC is known: at once if it
    /// is, else after resolution (or drops it, reported as
    /// [`Output::Drop`]).
    pub fn resolve(&mut self, now: Instant, port: u16, ip: IpAddr, packet: P) {
        self.start(now, port, ip, Some(packet));
    }

    /// Resolves `ip` on `port` without a packet (a gateway that routes
    /// point to), and keeps it refreshed.
    pub fn want(&mut self, now: Instant, port: u16, ip: IpAddr) {
        self.start(now, port, ip, None);
    }

    fn start(&mut self, now: Instant, port: u16, ip: IpAddr, packet: Option<P>) {
        let key = (port, ip);
        if let Some(e) = self.entries.get_mut(&key) {
            let Some(packet) = packet else { return };
            match e.state {
                State::Reachable { mac, .. } | State::Probe { mac, .. } => {
                    self.out.push_back(Output::Send { port, mac, packet });
                }
                State::Incomplete { .. } => {
                    if e.held.len() >= self.cfg.queue_per_entry.max(1) {
                        if let Some(old) = e.held.pop_front() {
                            self.counters.held_dropped += 1;
                            self.out.push_back(Output::Drop {
                                packet: old,
                                reason: DropCause::QueueFull,
                            });
                        }
                    }
                    e.held.push_back(packet);
                }
            }
            return;
        }
        let refuse = |this: &mut Self, packet: Option<P>, reason| {
            if let Some(packet) = packet {
                this.counters.held_dropped += 1;
                this.out.push_back(Output::Drop { packet, reason });
            }
        };
        if self.entries.len() >= self.cfg.max_entries {
            return refuse(self, packet, DropCause::TableFull);
        }
        if !self.send_request(port, ip, None) {
            return refuse(self, packet, DropCause::NoSource);
        }
        let next = now + self.cfg.retransmit;
        let mut held = VecDeque::new();
        held.extend(packet);
        self.entries.insert(
            key,
            Entry {
                state: State::Incomplete { sent: 1, next },
                held,
            },
        );
        self.timers.push(Reverse((next, port, ip)));
    }

    /// Runs the timers that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, port, ip))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let key = (port, ip);
            let Some(e) = self.entries.get_mut(&key) else {
                continue;
            };
            if e.state.deadline() != at {
                continue;
            }
            let max = self.cfg.max_probes.max(1);
            let (unicast, gave_up) = match &mut e.state {
                State::Incomplete { sent, next } => {
                    if *sent >= max {
                        (None, true)
                    } else {
                        *sent += 1;
                        *next = now + self.cfg.retransmit;
                        (None, false)
                    }
                }
                State::Probe { mac, sent, next } => {
                    if *sent >= max {
                        (None, true)
                    } else {
                        *sent += 1;
                        *next = now + self.cfg.retransmit;
                        (Some(*mac), false)
                    }
                }
                State::Reachable { mac, .. } => {
                    let mac = *mac;
                    e.state = State::Probe {
                        mac,
                        sent: 1,
                        next: now + self.cfg.retransmit,
                    };
                    (Some(mac), false)
                }
            };
            if gave_up {
                self.give_up(key);
                continue;
            }
            let next = e.state.deadline();
            self.timers.push(Reverse((next, port, ip)));
            self.send_request(port, ip, unicast);
        }
    }

    fn give_up(&mut self, key: Key) {
        let Some(e) = self.entries.remove(&key) else {
            return;
        };
        self.counters.failed += 1;
        if matches!(e.state, State::Probe { .. }) {
            self.out.push_back(Output::Lost {
                port: key.0,
                ip: key.1,
            });
        }
        for packet in e.held {
            self.counters.held_dropped += 1;
            self.out.push_back(Output::Drop {
                packet,
                reason: DropCause::Unresolved,
            });
        }
    }

    /// Records an answer: `mac` for `ip` on `port`. Creates the entry only
    /// when `create` (the frame was addressed to us).
    fn learn(&mut self, now: Instant, port: u16, ip: IpAddr, mac: [u8; 6], create: bool) {
        let key = (port, ip);
        let until = now + self.cfg.reachable;
        let room = self.entries.len() < self.cfg.max_entries;
        let changed = match self.entries.get_mut(&key) {
            Some(e) => {
                let changed = match e.state {
                    State::Reachable { mac: old, .. } | State::Probe { mac: old, .. } => old != mac,
                    State::Incomplete { .. } => true,
                };
                e.state = State::Reachable { mac, until };
                for packet in e.held.drain(..) {
                    self.out.push_back(Output::Send { port, mac, packet });
                }
                changed
            }
            None if create && room => {
                self.entries.insert(
                    key,
                    Entry {
                        state: State::Reachable { mac, until },
                        held: VecDeque::new(),
                    },
                );
                true
            }
            None => return,
        };
        self.timers.push(Reverse((until, port, ip)));
        if changed {
            self.counters.resolved += 1;
            self.out.push_back(Output::Resolved { port, ip, mac });
        }
    }

    /// Handles an ARP or ND frame (a whole Ethernet frame) received on
    /// `port`. Anything else, or anything malformed, is counted and ignored.
    pub fn handle_frame(&mut self, now: Instant, port: u16, frame: &[u8]) {
        if usize::from(port) >= self.ports.len() {
            self.counters.bad_frames += 1;
            return;
        }
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            self.counters.bad_frames += 1;
            return;
        };
        let ok = match eth.ethertype() {
            EtherType::ARP => ArpRepr::parse(eth.payload())
                .map(|arp| self.handle_arp(now, port, eth.src(), arp))
                .is_ok(),
            EtherType::IPV6 => NdPacket::parse(eth.payload())
                .map(|nd| self.handle_nd(now, port, eth.src(), nd))
                .is_ok(),
            _ => false,
        };
        if !ok {
            self.counters.bad_frames += 1;
        }
    }

    fn handle_arp(&mut self, now: Instant, port: u16, eth_src: [u8; 6], arp: ArpRepr) {
        let addrs = &self.ports[usize::from(port)];
        let sender = Ipv4Addr::from(arp.source_ip);
        let target = Ipv4Addr::from(arp.target_ip);
        let for_us = addrs.owns_v4(target);
        let our_mac = addrs.mac;
        if addrs.owns_v4(sender) {
            if arp.source_hw != our_mac {
                self.counters.conflicts += 1;
            }
            return;
        }
        let usable = !is_multicast_mac(&arp.source_hw) && !sender.is_unspecified();
        if usable {
            //= https://www.rfc-editor.org/rfc/rfc826
            //# If the pair <protocol type, sender protocol address> is
            //# already in my translation table, update the sender
            //# hardware address field of the entry with the new
            //# information in the packet and set Merge_flag to true.
            //# ...
            //# If Merge_flag is false, add the triplet <protocol type,
            //# sender protocol address, sender hardware address> to
            //# the translation table.
            // Created only from requests: an unsolicited reply could fill
            // the table (Linux's arp_accept=0 behaves the same).
            let create = for_us && arp.operation == ArpOp::REQUEST;
            self.learn(now, port, IpAddr::V4(sender), arp.source_hw, create);
        }
        if for_us && arp.operation == ArpOp::REQUEST && !is_multicast_mac(&arp.source_hw) {
            let reply = ArpRepr {
                operation: ArpOp::REPLY,
                source_hw: our_mac,
                source_ip: arp.target_ip,
                target_hw: arp.source_hw,
                target_ip: arp.source_ip,
            };
            let dst = if is_multicast_mac(&eth_src) {
                arp.source_hw
            } else {
                eth_src
            };
            self.counters.arp_replies += 1;
            self.transmit_arp(port, dst, reply);
        }
    }

    fn handle_nd(&mut self, now: Instant, port: u16, eth_src: [u8; 6], nd: NdPacket) {
        let addrs = &self.ports[usize::from(port)];
        let target = Ipv6Addr::from(nd.repr.target);
        let src = Ipv6Addr::from(nd.src);
        let our_mac = addrs.mac;
        match nd.repr.kind {
            NdKind::Solicitation => {
                if !addrs.owns_v6(target) {
                    return;
                }
                let (dst, dst_mac, solicited) = if src.is_unspecified() {
                    //= https://www.rfc-editor.org/rfc/rfc4861#section-7.2.4
                    //# If the source of the solicitation is the unspecified address, the
                    //# node MUST set the Solicited flag to zero and multicast the
                    //# advertisement to the all-nodes address.
                    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1).octets();
                    (all_nodes, ndp::multicast_mac(&all_nodes), false)
                } else {
                    let mac = nd.repr.lladdr.unwrap_or(eth_src);
                    if let Some(ll) = nd.repr.lladdr {
                        //= https://www.rfc-editor.org/rfc/rfc4861#section-7.2.3
                        //# If the Source Address is not the unspecified
                        //# address and, on link layers that have addresses, the solicitation
                        //# includes a Source Link-Layer Address option, then the recipient
                        //# SHOULD create or update the Neighbor Cache entry for the IP Source
                        //# Address of the solicitation.
                        if !is_multicast_mac(&ll) {
                            self.learn(now, port, IpAddr::V6(src), ll, true);
                        }
                    }
                    (nd.src, mac, true)
                };
                if is_multicast_mac(&dst_mac) && solicited {
                    return;
                }
                let na = NdPacket {
                    src: target.octets(),
                    dst,
                    repr: NdRepr {
                        kind: NdKind::Advertisement {
                            router: true,
                            solicited,
                            override_: true,
                        },
                        target: target.octets(),
                        lladdr: Some(our_mac),
                    },
                };
                self.counters.na_sent += 1;
                self.transmit_nd(port, dst_mac, na);
            }
            NdKind::Advertisement { .. } => {
                if addrs.owns_v6(target) {
                    if nd.repr.lladdr.is_some_and(|m| m != our_mac) {
                        self.counters.conflicts += 1;
                    }
                    return;
                }
                let mac = nd.repr.lladdr.unwrap_or(eth_src);
                if !is_multicast_mac(&mac) {
                    //= https://www.rfc-editor.org/rfc/rfc4861#section-7.2.5
                    //# If no entry exists, the advertisement SHOULD be silently discarded.
                    self.learn(now, port, IpAddr::V6(target), mac, false);
                }
            }
        }
    }

    /// Sends a request for `ip`: broadcast (ARP) or solicited-node
    /// multicast (ND), or unicast to `known` when probing. False when the
    /// port has no address to ask from.
    fn send_request(&mut self, port: u16, ip: IpAddr, known: Option<[u8; 6]>) -> bool {
        let Some(addrs) = self.ports.get(usize::from(port)) else {
            return false;
        };
        let our_mac = addrs.mac;
        match ip {
            IpAddr::V4(target) => {
                let Some(source) = addrs.source_v4(target) else {
                    return false;
                };
                let req = ArpRepr {
                    operation: ArpOp::REQUEST,
                    source_hw: our_mac,
                    source_ip: source.octets(),
                    target_hw: [0; 6],
                    target_ip: target.octets(),
                };
                self.counters.arp_requests += 1;
                self.transmit_arp(port, known.unwrap_or(BROADCAST), req);
            }
            IpAddr::V6(target) => {
                let source = addrs.source_v6(target);
                let (dst, dst_mac) = match known {
                    Some(mac) => (target.octets(), mac),
                    None => {
                        let group = ndp::solicited_node(&target.octets());
                        (group, ndp::multicast_mac(&group))
                    }
                };
                let ns = NdPacket {
                    src: source.octets(),
                    dst,
                    repr: NdRepr {
                        kind: NdKind::Solicitation,
                        target: target.octets(),
                        lladdr: Some(our_mac),
                    },
                };
                self.counters.ns_sent += 1;
                self.transmit_nd(port, dst_mac, ns);
            }
        }
        true
    }

    fn transmit_arp(&mut self, port: u16, dst: [u8; 6], arp: ArpRepr) {
        let mut body = [0u8; arp::PACKET_LEN];
        arp.emit(&mut body);
        self.transmit(port, dst, EtherType::ARP, &body);
    }

    fn transmit_nd(&mut self, port: u16, dst: [u8; 6], nd: NdPacket) {
        let mut body = [0u8; ndp::PACKET_LEN];
        if let Ok(n) = nd.emit(&mut body) {
            self.transmit(port, dst, EtherType::IPV6, &body[..n]);
        }
    }

    fn transmit(&mut self, port: u16, dst: [u8; 6], ethertype: EtherType, body: &[u8]) {
        let Some(addrs) = self.ports.get(usize::from(port)) else {
            return;
        };
        let eth = EthernetRepr {
            dst,
            src: addrs.mac,
            vlan: None,
            ethertype,
        };
        let hl = eth.header_len();
        let mut frame = vec![0u8; (hl + body.len()).max(MIN_FRAME)];
        if eth.emit(&mut frame).is_ok() {
            frame[hl..hl + body.len()].copy_from_slice(body);
            self.out.push_back(Output::Transmit { port, frame });
        }
    }
}

fn is_multicast_mac(m: &[u8; 6]) -> bool {
    m[0] & 1 != 0
}

#[cfg(test)]
mod tests;
