//! The NHRP sans-IO core: hub redirects, resolution along the routed path,
//! shortcut set-up and the cache with hold timers, the way Cisco FlexVPN
//! spoke-to-spoke does it (`../shared/FLEXVPN.md`, the sequence's steps 4
//! to 8).
//!
//! No I/O, no clock, no threads: inputs are [`Nhrp::handle_packet`] (NHRP
//! received through a tunnel), [`Nhrp::redirect_trigger`] (the dataplane saw
//! a packet enter and leave tunnels of one NHRP network),
//! [`Nhrp::shortcut_up`] (the glue brought up the tunnel a
//! [`Event::CreateShortcut`] asked for), [`Nhrp::tunnel_down`] and
//! [`Nhrp::handle_timeout`]; outputs are [`Event`]s from
//! [`Nhrp::poll_event`]. Routing questions go to the caller's [`Rib`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::codec::{
    bytes_of, flags, Body, Cie, Extension, ExtensionType, ExtensionValue, Packet, PacketType,
    AFN_IPV4, AFN_IPV6, PROTO_IPV4, PROTO_IPV6,
};

/// A tunnel interface (Tunnel0, a Virtual-Access) as the glue numbers it.
pub type TunnelId = u32;

/// NHRP settings of one tunnel interface.
#[derive(Clone, Debug)]
pub struct IfaceConfig {
    /// `ip nhrp network-id`.
    pub network_id: u32,
    /// `ip nhrp redirect [timeout]`: send Traffic Indications, suppressing
    /// repeats for the same source and destination for this long.
    pub redirect: Option<Duration>,
    /// `ip nhrp shortcut virtual-template N`: answer resolutions for our
    /// networks by building a shortcut from this template.
    pub shortcut_template: Option<u32>,
    /// Holding time we put in our CIEs.
    pub holding_time: Duration,
    /// Our NBMA address on this interface (`tunnel source`).
    pub nbma: IpAddr,
    /// Our protocol address on this interface (negotiated or unnumbered).
    pub protocol: IpAddr,
    /// MTU we advertise.
    pub mtu: u16,
}

/// What the routing table says about a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Out of this tunnel.
    Tunnel(TunnelId),
    /// Behind us, in a network of this prefix length (a LAN, or our own
    /// tunnel address).
    Local {
        /// Prefix length of the network the destination is in.
        prefix_len: u8,
    },
    /// Anywhere else, or nowhere.
    Other,
}

/// The routing table, as the core needs it.
pub trait Rib {
    /// The best route to `dst`.
    fn lookup(&self, dst: IpAddr) -> Route;
}

/// What the core wants done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Send this NHRP packet through the tunnel (GRE protocol 0x2001).
    Send {
        /// Tunnel.
        tunnel: TunnelId,
        /// The packet.
        packet: Vec<u8>,
    },
    /// Build a shortcut tunnel (a Virtual-Access from `template`) to the
    /// peer, bring IKEv2 up, then call [`Nhrp::shortcut_up`] with `token`.
    CreateShortcut {
        /// Pass back to [`Nhrp::shortcut_up`].
        token: u64,
        /// The virtual template.
        template: u32,
        /// The peer's NBMA address.
        peer_nbma: IpAddr,
        /// The peer's protocol (tunnel) address.
        peer_protocol: IpAddr,
    },
    /// Install a route: `prefix/prefix_len` via `next_hop` on `tunnel` (a
    /// next-hop override of the route through the hub).
    InstallShortcut {
        /// The shortcut tunnel.
        tunnel: TunnelId,
        /// Destination network.
        prefix: IpAddr,
        /// Its length.
        prefix_len: u8,
        /// The peer's protocol address.
        next_hop: IpAddr,
    },
    /// Remove a route installed by [`Event::InstallShortcut`].
    RemoveShortcut {
        /// The tunnel it used.
        tunnel: TunnelId,
        /// Destination network.
        prefix: IpAddr,
        /// Its length.
        prefix_len: u8,
    },
}

/// Counters, for `show` and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Traffic Indications sent (hub).
    pub redirects_sent: u64,
    /// Redirects not sent because one was sent recently for the pair.
    pub redirects_suppressed: u64,
    /// Traffic Indications received (spoke).
    pub redirects_received: u64,
    /// Resolution Requests sent.
    pub requests_sent: u64,
    /// Resolution Requests forwarded along the routed path.
    pub requests_forwarded: u64,
    /// Resolution Replies sent.
    pub replies_sent: u64,
    /// Shortcuts installed.
    pub shortcuts_installed: u64,
    /// Cache entries expired or purged.
    pub entries_removed: u64,
    /// Packets that did not parse.
    pub malformed: u64,
    /// Packets dropped for another reason (hop count, no route, wrong
    /// network, unknown reply, unknown tunnel).
    pub dropped: u64,
}

/// A cache entry (what `show ip nhrp` lists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheEntry {
    /// Destination network.
    pub prefix: IpAddr,
    /// Its length.
    pub prefix_len: u8,
    /// Tunnel.
    pub tunnel: TunnelId,
    /// Protocol next hop.
    pub next_hop: IpAddr,
    /// NBMA address of the next hop.
    pub nbma: IpAddr,
    /// When it expires.
    pub expires: Instant,
}

#[derive(Debug)]
struct Pending {
    request_id: u32,
    tunnel: TunnelId,
    sent: u32,
    next: Instant,
}

#[derive(Debug)]
struct PendingReply {
    request: Packet,
    prefix_len: u8,
    iface: TunnelId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Timer {
    Resolution(IpAddr),
    Cache(IpAddr, u8),
}

/// Retries of a Resolution Request before giving up.
const MAX_REQUESTS: u32 = 3;
/// Time between them.
const REQUEST_RETRY: Duration = Duration::from_secs(2);
/// Largest part of a triggering packet quoted in a Traffic Indication.
const TRIGGER_QUOTE: usize = 64;

/// The NHRP state of one appliance.
#[derive(Debug)]
pub struct Nhrp {
    ifaces: HashMap<TunnelId, IfaceConfig>,
    /// Shortcut tunnels: which interface's settings they inherit.
    shortcuts: HashMap<TunnelId, TunnelId>,
    suppress: HashMap<(IpAddr, IpAddr), Instant>,
    pending: HashMap<IpAddr, Pending>,
    replies: HashMap<u64, PendingReply>,
    cache: HashMap<(IpAddr, u8), CacheEntry>,
    timers: BinaryHeap<Reverse<(Instant, Timer)>>,
    events: VecDeque<Event>,
    next_request_id: u32,
    next_token: u64,
    counters: Counters,
}

impl Default for Nhrp {
    fn default() -> Self {
        Self::new()
    }
}

/// `a` with the bits after the first `len` cleared.
#[must_use]
pub fn masked(a: IpAddr, len: u8) -> IpAddr {
    match a {
        IpAddr::V4(v) => {
            let m = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            IpAddr::from((u32::from(v) & m).to_be_bytes())
        }
        IpAddr::V6(v) => {
            let m = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            IpAddr::from((u128::from(v) & m).to_be_bytes())
        }
    }
}

fn host_len(a: IpAddr) -> u8 {
    if a.is_ipv4() {
        32
    } else {
        128
    }
}

/// Source and destination of an IPv4 or IPv6 packet.
fn ip_endpoints(p: &[u8]) -> Option<(IpAddr, IpAddr)> {
    match p.first()? >> 4 {
        4 => {
            let s: [u8; 4] = p.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = p.get(16..20)?.try_into().ok()?;
            Some((IpAddr::from(s), IpAddr::from(d)))
        }
        6 => {
            let s: [u8; 16] = p.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = p.get(24..40)?.try_into().ok()?;
            Some((IpAddr::from(s), IpAddr::from(d)))
        }
        _ => None,
    }
}

impl Nhrp {
    /// No interfaces yet.
    pub fn new() -> Self {
        Self {
            ifaces: HashMap::new(),
            shortcuts: HashMap::new(),
            suppress: HashMap::new(),
            pending: HashMap::new(),
            replies: HashMap::new(),
            cache: HashMap::new(),
            timers: BinaryHeap::new(),
            events: VecDeque::new(),
            next_request_id: 1,
            next_token: 1,
            counters: Counters::default(),
        }
    }

    /// Adds or replaces a tunnel interface.
    pub fn set_interface(&mut self, tunnel: TunnelId, cfg: IfaceConfig) {
        self.ifaces.insert(tunnel, cfg);
    }

    /// Counters so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The cache, for `show ip nhrp`.
    pub fn cache(&self) -> impl Iterator<Item = &CacheEntry> {
        self.cache.values()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Nhrp::handle_timeout`] should run.
    #[must_use]
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, t))) = self.timers.peek().copied() {
            if self.timer_live(at, t) {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }

    fn timer_live(&self, at: Instant, t: Timer) -> bool {
        match t {
            Timer::Resolution(target) => self.pending.get(&target).is_some_and(|p| p.next == at),
            Timer::Cache(prefix, len) => self
                .cache
                .get(&(prefix, len))
                .is_some_and(|e| e.expires == at),
        }
    }

    fn iface(&self, tunnel: TunnelId) -> Option<&IfaceConfig> {
        let base = self.shortcuts.get(&tunnel).copied().unwrap_or(tunnel);
        self.ifaces.get(&base)
    }

    /// The dataplane forwarded `packet` (an IP packet, at least its header)
    /// from tunnel `ingress` out of tunnel `egress`. On a hub with
    /// `ip nhrp redirect` and both tunnels in one NHRP network, this sends
    /// a Traffic Indication back to the packet's source, unless one went
    /// for the same source and destination within the redirect timeout.
    pub fn redirect_trigger(
        &mut self,
        now: Instant,
        ingress: TunnelId,
        egress: TunnelId,
        packet: &[u8],
    ) {
        let (Some(inc), Some(out)) = (
            self.iface(ingress).cloned(),
            self.iface(egress).map(|c| c.network_id),
        ) else {
            self.counters.dropped += 1;
            return;
        };
        let Some(timeout) = inc.redirect else { return };
        if ingress == egress || inc.network_id != out {
            return;
        }
        let Some((src, dst)) = ip_endpoints(packet) else {
            self.counters.malformed += 1;
            return;
        };
        if self
            .suppress
            .get(&(src, dst))
            .is_some_and(|&until| until > now)
        {
            self.counters.redirects_suppressed += 1;
            return;
        }
        self.suppress.insert((src, dst), now + timeout);
        if self.suppress.len() > 65_536 {
            self.suppress.retain(|_, until| *until > now);
        }
        let ti = Packet {
            afn: afn_of(inc.nbma),
            protocol_type: proto_of(src),
            snap: [0; 5],
            hop_count: 255,
            packet_type: PacketType::TRAFFIC_INDICATION,
            src_nbma: bytes_of(inc.nbma),
            src_nbma_sub: vec![],
            src_protocol: bytes_of(inc.protocol),
            dst_protocol: bytes_of(src),
            body: Body::TrafficIndication {
                code: 0,
                packet: packet[..packet.len().min(TRIGGER_QUOTE)].to_vec(),
            },
            extensions: Some(vec![]),
        };
        self.send(ingress, &ti);
        self.counters.redirects_sent += 1;
    }

    /// An NHRP packet received through `tunnel`.
    pub fn handle_packet(&mut self, now: Instant, tunnel: TunnelId, bytes: &[u8], rib: &dyn Rib) {
        let Ok(p) = Packet::parse(bytes) else {
            self.counters.malformed += 1;
            return;
        };
        let known = self.iface(tunnel).is_some();
        match p.packet_type {
            // Replies may arrive on a shortcut the other side built, before
            // anything told us about it; they are matched by request ID.
            PacketType::RESOLUTION_REPLY => {}
            _ if !known => {
                self.counters.dropped += 1;
                return;
            }
            _ => {}
        }
        match p.packet_type {
            PacketType::TRAFFIC_INDICATION => self.on_traffic_indication(now, tunnel, &p, rib),
            PacketType::RESOLUTION_REQUEST => self.on_request(now, tunnel, p, rib),
            PacketType::RESOLUTION_REPLY => self.on_reply(now, tunnel, &p, rib),
            _ => self.counters.dropped += 1,
        }
    }

    fn on_traffic_indication(&mut self, now: Instant, tunnel: TunnelId, p: &Packet, rib: &dyn Rib) {
        self.counters.redirects_received += 1;
        let Body::TrafficIndication { packet, .. } = &p.body else {
            self.counters.malformed += 1;
            return;
        };
        let Some((_, target)) = ip_endpoints(packet) else {
            self.counters.malformed += 1;
            return;
        };
        // A shortcut for it is up already, or a resolution is under way.
        if self.cache.values().any(|e| {
            masked(target, e.prefix_len) == e.prefix && self.shortcuts.contains_key(&e.tunnel)
        }) || self.pending.contains_key(&target)
        {
            return;
        }
        if !matches!(rib.lookup(target), Route::Tunnel(t) if t == tunnel) {
            // The redirect is stale: we no longer route that way.
            self.counters.dropped += 1;
            return;
        }
        let request_id = self.next_request_id;
        self.next_request_id = self.next_request_id.wrapping_add(1).max(1);
        let next = now + REQUEST_RETRY;
        self.pending.insert(
            target,
            Pending {
                request_id,
                tunnel,
                sent: 0,
                next,
            },
        );
        self.send_request(target);
        self.timers.push(Reverse((next, Timer::Resolution(target))));
    }

    fn send_request(&mut self, target: IpAddr) {
        let Some(pend) = self.pending.get_mut(&target) else {
            return;
        };
        pend.sent += 1;
        let (tunnel, request_id) = (pend.tunnel, pend.request_id);
        let Some(cfg) = self.iface(tunnel).cloned() else {
            return;
        };
        let req = Packet {
            afn: afn_of(cfg.nbma),
            protocol_type: proto_of(target),
            snap: [0; 5],
            hop_count: 255,
            packet_type: PacketType::RESOLUTION_REQUEST,
            src_nbma: bytes_of(cfg.nbma),
            src_nbma_sub: vec![],
            src_protocol: bytes_of(cfg.protocol),
            dst_protocol: bytes_of(target),
            body: Body::Common {
                flags: flags::Q | flags::CISCO_NAT,
                request_id,
                cies: vec![Cie {
                    prefix_len: host_len(target),
                    mtu: cfg.mtu,
                    holding_time: secs(cfg.holding_time),
                    ..Cie::default()
                }],
            },
            extensions: Some(vec![
                empty_ext(ExtensionType::RESPONDER_ADDRESS),
                empty_ext(ExtensionType::FORWARD_TRANSIT),
                empty_ext(ExtensionType::REVERSE_TRANSIT),
            ]),
        };
        self.send(tunnel, &req);
        self.counters.requests_sent += 1;
    }

    fn on_request(&mut self, now: Instant, tunnel: TunnelId, mut p: Packet, rib: &dyn Rib) {
        let Some(target) = p.dst_protocol_ip() else {
            self.counters.malformed += 1;
            return;
        };
        match rib.lookup(target) {
            Route::Tunnel(out) if out != tunnel => {
                // Along the routed path, within one NHRP network.
                let same = match (self.iface(tunnel), self.iface(out)) {
                    (Some(a), Some(b)) => a.network_id == b.network_id,
                    _ => false,
                };
                //= https://www.rfc-editor.org/rfc/rfc2332#section-5.2.0.1
                //# ar$hopcnt
                //#   This is the hop count indicating the maximum number of NHSs that
                //#   an NHRP packet is allowed to traverse before being discarded.
                if !same || p.hop_count <= 1 {
                    self.counters.dropped += 1;
                    return;
                }
                p.hop_count -= 1;
                self.send(out, &p);
                self.counters.requests_forwarded += 1;
            }
            Route::Local { prefix_len } => {
                let Some(cfg) = self.iface(tunnel) else {
                    return;
                };
                let Some(template) = cfg.shortcut_template else {
                    self.counters.dropped += 1;
                    return;
                };
                let (Some(peer_nbma), Some(peer_protocol)) = (p.src_nbma_ip(), p.src_protocol_ip())
                else {
                    self.counters.malformed += 1;
                    return;
                };
                let token = self.next_token;
                self.next_token += 1;
                self.replies.insert(
                    token,
                    PendingReply {
                        request: p,
                        prefix_len,
                        iface: tunnel,
                    },
                );
                // A shortcut to that peer exists (the other direction built
                // it): answer through it.
                let existing = self
                    .cache
                    .values()
                    .find(|e| e.nbma == peer_nbma && self.shortcuts.contains_key(&e.tunnel))
                    .map(|e| e.tunnel);
                if let Some(t) = existing {
                    self.shortcut_up(now, token, t);
                    return;
                }
                self.events.push_back(Event::CreateShortcut {
                    token,
                    template,
                    peer_nbma,
                    peer_protocol,
                });
            }
            _ => self.counters.dropped += 1,
        }
    }

    /// The shortcut tunnel asked for with `token` is up as `tunnel`: send
    /// the Resolution Reply through it and cache the requester there.
    pub fn shortcut_up(&mut self, now: Instant, token: u64, tunnel: TunnelId) {
        let Some(pr) = self.replies.remove(&token) else {
            return;
        };
        self.shortcuts.insert(tunnel, pr.iface);
        let Some(cfg) = self.ifaces.get(&pr.iface).cloned() else {
            return;
        };
        let req = pr.request;
        let Body::Common {
            flags: req_flags,
            request_id,
            ..
        } = req.body
        else {
            return;
        };
        let ours = Cie {
            code: 0,
            prefix_len: pr.prefix_len,
            mtu: cfg.mtu,
            holding_time: secs(cfg.holding_time),
            preference: 0,
            nbma: bytes_of(cfg.nbma),
            nbma_sub: vec![],
            protocol: bytes_of(cfg.protocol),
        };
        let reply = Packet {
            hop_count: 255,
            packet_type: PacketType::RESOLUTION_REPLY,
            body: Body::Common {
                flags: req_flags | flags::A,
                request_id,
                cies: vec![ours.clone()],
            },
            extensions: Some(vec![Extension {
                compulsory: true,
                kind: ExtensionType::RESPONDER_ADDRESS,
                value: ExtensionValue::Cies(vec![ours]),
            }]),
            ..req.clone()
        };
        self.send(tunnel, &reply);
        self.counters.replies_sent += 1;
        // The requester, reachable through the new tunnel.
        if let (Some(peer), Some(nbma)) = (req.src_protocol_ip(), req.src_nbma_ip()) {
            self.install(
                now,
                tunnel,
                peer,
                host_len(peer),
                peer,
                nbma,
                cfg.holding_time,
            );
        }
    }

    fn on_reply(&mut self, now: Instant, tunnel: TunnelId, p: &Packet, rib: &dyn Rib) {
        let (
            Some(target),
            Body::Common {
                request_id, cies, ..
            },
        ) = (p.dst_protocol_ip(), &p.body)
        else {
            self.counters.malformed += 1;
            return;
        };
        let ours = self
            .pending
            .get(&target)
            .is_some_and(|pend| pend.request_id == *request_id);
        if !ours {
            // Not ours: a reply travelling back along the routed path.
            if let Some(src) = p.src_protocol_ip() {
                if let Route::Tunnel(out) = rib.lookup(src) {
                    if out != tunnel && p.hop_count > 1 {
                        let mut fwd = p.clone();
                        fwd.hop_count -= 1;
                        self.send(out, &fwd);
                        return;
                    }
                }
            }
            self.counters.dropped += 1;
            return;
        }
        let Some(cie) = cies.iter().find(|c| c.code == 0) else {
            self.counters.dropped += 1;
            return;
        };
        let (Some(next_hop), Some(nbma)) = (
            super::codec::ip_of(&cie.protocol),
            super::codec::ip_of(&cie.nbma),
        ) else {
            self.counters.malformed += 1;
            return;
        };
        let base = self.pending.remove(&target).map(|p| p.tunnel);
        if let Some(base) = base {
            self.shortcuts.entry(tunnel).or_insert(base);
        }
        let len = cie.prefix_len.min(host_len(target));
        let hold = Duration::from_secs(u64::from(cie.holding_time));
        self.install(now, tunnel, masked(target, len), len, next_hop, nbma, hold);
        if next_hop != target || len != host_len(target) {
            self.install(
                now,
                tunnel,
                next_hop,
                host_len(next_hop),
                next_hop,
                nbma,
                hold,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn install(
        &mut self,
        now: Instant,
        tunnel: TunnelId,
        prefix: IpAddr,
        prefix_len: u8,
        next_hop: IpAddr,
        nbma: IpAddr,
        hold: Duration,
    ) {
        let expires = now + hold;
        let fresh = CacheEntry {
            prefix,
            prefix_len,
            tunnel,
            next_hop,
            nbma,
            expires,
        };
        let old = self.cache.insert((prefix, prefix_len), fresh);
        if old
            .as_ref()
            .is_none_or(|o| o.tunnel != tunnel || o.next_hop != next_hop)
        {
            self.events.push_back(Event::InstallShortcut {
                tunnel,
                prefix,
                prefix_len,
                next_hop,
            });
            self.counters.shortcuts_installed += 1;
        }
        self.timers
            .push(Reverse((expires, Timer::Cache(prefix, prefix_len))));
    }

    /// A tunnel went down: its cache entries are purged (traffic falls back
    /// to the routed path through the hub) and pending work on it dropped.
    pub fn tunnel_down(&mut self, tunnel: TunnelId) {
        let gone: Vec<(IpAddr, u8)> = self
            .cache
            .iter()
            .filter(|(_, e)| e.tunnel == tunnel)
            .map(|(k, _)| *k)
            .collect();
        for k in gone {
            self.remove(k);
        }
        self.pending.retain(|_, p| p.tunnel != tunnel);
        self.replies.retain(|_, r| r.iface != tunnel);
        self.shortcuts.remove(&tunnel);
    }

    fn remove(&mut self, key: (IpAddr, u8)) {
        if let Some(e) = self.cache.remove(&key) {
            self.counters.entries_removed += 1;
            self.events.push_back(Event::RemoveShortcut {
                tunnel: e.tunnel,
                prefix: e.prefix,
                prefix_len: e.prefix_len,
            });
        }
    }

    /// Runs the timers that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, t))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            if !self.timer_live(at, t) {
                continue;
            }
            match t {
                Timer::Cache(prefix, len) => self.remove((prefix, len)),
                Timer::Resolution(target) => {
                    let give_up = self
                        .pending
                        .get(&target)
                        .is_none_or(|p| p.sent >= MAX_REQUESTS);
                    if give_up {
                        self.pending.remove(&target);
                        self.counters.dropped += 1;
                        continue;
                    }
                    self.send_request(target);
                    let next = now + REQUEST_RETRY;
                    if let Some(p) = self.pending.get_mut(&target) {
                        p.next = next;
                    }
                    self.timers.push(Reverse((next, Timer::Resolution(target))));
                }
            }
        }
        self.suppress.retain(|_, until| *until > now);
    }

    fn send(&mut self, tunnel: TunnelId, p: &Packet) {
        match p.emit() {
            Ok(packet) => self.events.push_back(Event::Send { tunnel, packet }),
            Err(_) => self.counters.dropped += 1,
        }
    }
}

fn empty_ext(kind: ExtensionType) -> Extension {
    Extension {
        compulsory: true,
        kind,
        value: ExtensionValue::Cies(vec![]),
    }
}

fn afn_of(nbma: IpAddr) -> u16 {
    if nbma.is_ipv4() {
        AFN_IPV4
    } else {
        AFN_IPV6
    }
}

fn proto_of(a: IpAddr) -> u16 {
    if a.is_ipv4() {
        PROTO_IPV4
    } else {
        PROTO_IPV6
    }
}

fn secs(d: Duration) -> u16 {
    u16::try_from(d.as_secs()).unwrap_or(u16::MAX)
}
