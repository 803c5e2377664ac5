//! One FlexVPN appliance's control plane, sans-IO: the IKEv2 [`Endpoint`],
//! the [`Nhrp`] core and the [`Rib`], glued the way FlexVPN does it.
//!
//! - A static tunnel (a spoke's `Tunnel0` with `tunnel destination`) is
//!   initiated at [`Node::start`] and again a while after it goes down.
//! - An IKE session we answer clones a Virtual-Access from the profile's
//!   `virtual-template` (the hub: one per spoke; a spoke: one per shortcut
//!   another spoke builds to it).
//! - NHRP's [`NhrpEvent::CreateShortcut`] initiates IKEv2 to the other
//!   spoke; its Virtual-Access is cloned from the shortcut template and,
//!   once its first Child SA is installed, NHRP sends the Resolution Reply
//!   through it.
//! - Routes from IKEv2 (pushed, accepted, assigned), NHRP shortcuts,
//!   interfaces and static routes go into the [`Rib`]; its best routes go
//!   to the dataplane as [`FibChange`]s.
//!
//! Inputs take `now`; outputs are [`Output`]s from [`Node::poll_output`]
//! in the order they must be applied (a tunnel before its SAs, an SA
//! before the NHRP reply that goes through it).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::plan::{Encap, NodePlan, TunnelAddress};
use super::rib::{FibChange, Rib, Source, Target};
use crate::ikev2::config::IpPrefix;
use crate::ikev2::events::{ChildSaInstalled, RouteKind, TunnelUp};
use crate::ikev2::{
    Endpoint, Error as IkeError, Event as IkeEvent, Identity, IdentityMatch, IkeSaId, Transmit,
};
use crate::nhrp::core::{Event as NhrpEvent, IfaceConfig, Nhrp, TunnelId};

/// How long a static tunnel waits before it is initiated again after it
/// went down or failed.
pub const STATIC_RETRY: Duration = Duration::from_secs(5);

/// A tunnel as the dataplane needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelSpec {
    /// Our id for it (the dataplane's tunnel table index).
    pub id: TunnelId,
    /// `Tunnel0`, `Virtual-Access3`.
    pub name: String,
    /// GRE or plain IPsec.
    pub encap: Encap,
    /// Our outer address and port.
    pub local: SocketAddr,
    /// The peer's outer address and port.
    pub remote: SocketAddr,
    /// ESP in UDP (NAT-T).
    pub udp_encap: bool,
    /// NHRP network id, for the hub's redirect trigger.
    pub network_id: Option<u32>,
    /// `ip nhrp redirect` on this interface: the dataplane reports packets
    /// that enter and leave tunnels of one network.
    pub redirect: bool,
    /// Our overlay address on it.
    pub address: Option<IpAddr>,
    /// The authenticated peer.
    pub peer: Identity,
}

/// A change for the dataplane.
#[derive(Clone, Debug)]
pub enum Command {
    /// Create or update a tunnel.
    TunnelSet(TunnelSpec),
    /// Remove a tunnel (its SAs and routes were removed before).
    TunnelRemove(TunnelId),
    /// Install a Child SA (both directions) on a tunnel.
    SaInstall {
        /// The tunnel.
        tunnel: TunnelId,
        /// The SA.
        sa: Box<ChildSaInstalled>,
    },
    /// Remove a Child SA.
    SaRemove {
        /// The tunnel.
        tunnel: TunnelId,
        /// Our inbound SPI.
        inbound_spi: u32,
        /// The peer's.
        outbound_spi: u32,
    },
    /// A FIB change.
    Fib(FibChange),
}

/// What the node wants done.
#[derive(Clone, Debug)]
pub enum Output {
    /// Send an IKE datagram.
    Ike(Transmit),
    /// Send an NHRP packet into a tunnel (GRE protocol 0x2001).
    Nhrp {
        /// The tunnel.
        tunnel: TunnelId,
        /// The NHRP packet.
        packet: Vec<u8>,
    },
    /// Change the dataplane.
    Dataplane(Command),
    /// A line for the operator's log.
    Log(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// Index into the plan's static tunnels.
    Static(usize),
    /// Cloned from a template.
    VirtualAccess(u32),
}

#[derive(Debug)]
struct TunnelState {
    spec: TunnelSpec,
    kind: Kind,
    ike_sa: IkeSaId,
    /// Child SAs: (inbound, outbound) SPIs.
    sas: Vec<(u32, u32)>,
    /// NHRP shortcut token to hand back once the first SA is installed.
    shortcut_tokens: Vec<u64>,
    /// Routes IKEv2 gave this tunnel.
    routes: Vec<IpPrefix>,
}

#[derive(Debug)]
struct StaticState {
    ike_sa: Option<IkeSaId>,
    /// When the current attempt started.
    since: Option<Instant>,
    tunnel: TunnelId,
    retry_at: Option<Instant>,
    address: Option<IpAddr>,
}

/// A histogram of set-up times, for metrics (cumulative buckets are
/// computed by the exporter).
#[derive(Clone, Debug, PartialEq)]
pub struct Latency {
    /// Upper bounds of the buckets, in seconds.
    pub bounds: &'static [f64],
    /// Observations per bucket, one more than `bounds` (above the last).
    pub counts: Vec<u64>,
    /// Sum of the observations, seconds.
    pub sum: f64,
}

/// Buckets of [`Latency`]: 5 ms to 30 s.
pub const SETUP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

impl Latency {
    fn new() -> Self {
        Self {
            bounds: SETUP_BUCKETS,
            counts: vec![0; SETUP_BUCKETS.len() + 1],
            sum: 0.0,
        }
    }

    fn observe(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        let i = self
            .bounds
            .iter()
            .position(|b| s <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[i] += 1;
        self.sum += s;
    }

    /// Observations.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// A shortcut tunnel being set up: the NHRP tokens waiting for it, its
/// template, the peer's NBMA address.
#[derive(Debug)]
struct PendingShortcut {
    tokens: Vec<u64>,
    template: u32,
    peer: IpAddr,
    since: Instant,
}

/// Counters for `show` and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeCounters {
    /// Virtual-Access interfaces created.
    pub virtual_access_created: u64,
    /// Virtual-Access interfaces removed.
    pub virtual_access_removed: u64,
    /// Shortcut tunnels initiated for NHRP.
    pub shortcuts_initiated: u64,
    /// Shortcut requests answered by a tunnel already up to that peer.
    pub shortcuts_reused: u64,
    /// Static tunnel initiations (first and retries).
    pub static_initiations: u64,
    /// Sessions refused because no virtual template is configured.
    pub no_template: u64,
}

/// The node.
#[derive(Debug)]
pub struct Node {
    plan: NodePlan,
    ike: Endpoint,
    nhrp: Nhrp,
    rib: Rib,
    tunnels: BTreeMap<TunnelId, TunnelState>,
    by_ike: HashMap<IkeSaId, TunnelId>,
    /// Shortcut IKE SAs being set up: token and template.
    pending_shortcuts: HashMap<IkeSaId, PendingShortcut>,
    statics: Vec<StaticState>,
    next_tunnel: TunnelId,
    /// Virtual-Access ids given back, reused smallest first.
    free_ids: BinaryHeap<Reverse<TunnelId>>,
    /// Ids not to hand out (tunnels a previous control plane left in the
    /// dataplane).
    reserved: HashSet<TunnelId>,
    next_va: u32,
    out: VecDeque<Output>,
    counters: NodeCounters,
    /// Static tunnels: initiation to tunnel up.
    pub static_setup: Latency,
    /// Shortcuts: NHRP's request to the first SA of the shortcut tunnel.
    pub shortcut_setup: Latency,
    /// When each shortcut tunnel's set-up began, until its first SA.
    shortcut_since: HashMap<TunnelId, Instant>,
}

impl Node {
    /// A node of a plan, with its IKEv2 endpoint.
    ///
    /// Static tunnels get ids 0.. in plan order; Virtual-Access interfaces
    /// the ids after them.
    #[must_use]
    pub fn new(plan: NodePlan, ike: Endpoint) -> Self {
        let statics: Vec<StaticState> = (0..plan.tunnels.len())
            .map(|i| StaticState {
                ike_sa: None,
                since: None,
                tunnel: TunnelId::try_from(i).unwrap_or(TunnelId::MAX),
                retry_at: None,
                address: match &plan.tunnels[i].address {
                    TunnelAddress::Static(a) => Some(*a),
                    _ => None,
                },
            })
            .collect();
        let next_tunnel = TunnelId::try_from(statics.len()).unwrap_or(TunnelId::MAX);
        Self {
            plan,
            ike,
            nhrp: Nhrp::new(),
            rib: Rib::new(),
            tunnels: BTreeMap::new(),
            by_ike: HashMap::new(),
            pending_shortcuts: HashMap::new(),
            statics,
            next_tunnel,
            free_ids: BinaryHeap::new(),
            reserved: HashSet::new(),
            next_va: 1,
            out: VecDeque::new(),
            counters: NodeCounters::default(),
            static_setup: Latency::new(),
            shortcut_setup: Latency::new(),
            shortcut_since: HashMap::new(),
        }
    }

    /// The plan it runs.
    #[must_use]
    pub fn plan(&self) -> &NodePlan {
        &self.plan
    }

    /// The IKEv2 endpoint (for `show crypto ikev2 sa`).
    #[must_use]
    pub fn ike(&self) -> &Endpoint {
        &self.ike
    }

    /// The NHRP core (for `show ip nhrp`).
    #[must_use]
    pub fn nhrp(&self) -> &Nhrp {
        &self.nhrp
    }

    /// The RIB (for `show ip route`).
    #[must_use]
    pub fn rib(&self) -> &Rib {
        &self.rib
    }

    /// Counters.
    #[must_use]
    pub fn counters(&self) -> NodeCounters {
        self.counters
    }

    /// Tunnels that are up.
    pub fn tunnels(&self) -> impl Iterator<Item = &TunnelSpec> + '_ {
        self.tunnels.values().map(|t| &t.spec)
    }

    /// The tunnel an IKE SA holds.
    #[must_use]
    pub fn tunnel_of(&self, ike_sa: IkeSaId) -> Option<TunnelId> {
        self.by_ike.get(&ike_sa).copied()
    }

    /// Keeps `ids` from being given to Virtual-Access interfaces (the
    /// dataplane still holds tunnels with them) until
    /// [`Node::release_tunnel_ids`].
    pub fn reserve_tunnel_ids(&mut self, ids: impl IntoIterator<Item = TunnelId>) {
        self.reserved.extend(ids);
    }

    /// Makes reserved ids available again.
    pub fn release_tunnel_ids(&mut self, ids: impl IntoIterator<Item = TunnelId>) {
        for id in ids {
            if self.reserved.remove(&id) && id < self.next_tunnel && !self.tunnels.contains_key(&id)
            {
                self.free_ids.push(Reverse(id));
            }
        }
    }

    fn alloc_tunnel_id(&mut self) -> TunnelId {
        while let Some(Reverse(id)) = self.free_ids.pop() {
            if !self.reserved.contains(&id) && !self.tunnels.contains_key(&id) {
                return id;
            }
        }
        loop {
            let id = self.next_tunnel;
            self.next_tunnel = self.next_tunnel.wrapping_add(1);
            if !self.reserved.contains(&id) && !self.tunnels.contains_key(&id) {
                return id;
            }
        }
    }

    /// Installs interface and static routes and initiates the static
    /// tunnels.
    pub fn start(&mut self, now: Instant) {
        for i in self.plan.interfaces.clone() {
            for (a, len) in &i.addresses {
                self.rib
                    .add(IpPrefix::host(*a), Source::Local, Target::Local);
                if !i.loopback {
                    self.rib.add(
                        IpPrefix::new(*a, *len),
                        Source::Connected,
                        Target::Connected {
                            iface: i.name.clone(),
                        },
                    );
                }
            }
        }
        for r in self.plan.static_routes.clone() {
            let target = match (r.gateway, r.interface) {
                (Some(via), iface) => Target::Gateway { iface, via },
                (None, Some(iface)) => match self.plan.tunnels.iter().position(|t| t.name == iface)
                {
                    Some(i) => Target::Tunnel(self.statics[i].tunnel),
                    None => Target::Connected { iface },
                },
                (None, None) => continue,
            };
            self.rib.add(r.prefix, Source::Static, target);
        }
        for i in 0..self.statics.len() {
            self.initiate_static(now, i);
        }
        self.drain(now);
    }

    fn initiate_static(&mut self, now: Instant, i: usize) {
        let t = &self.plan.tunnels[i];
        let local = SocketAddr::new(t.source, self.plan.ike.ports.0);
        let remote = SocketAddr::new(t.destination, self.plan.ike.ports.0);
        self.counters.static_initiations += 1;
        // A profile that names its one peer exactly (`match identity
        // remote fqdn hub.example`) tells whom to expect (sent as IDr, and
        // the key to use); otherwise any peer the keys accept.
        let peer = match self.plan.ike.remote_match.as_slice() {
            [IdentityMatch::Exact(id)] => Some(id.clone()),
            _ => None,
        };
        match self.ike.initiate(now, local, remote, peer) {
            Ok(id) => {
                self.statics[i].ike_sa = Some(id);
                self.statics[i].retry_at = None;
                self.statics[i].since = Some(now);
            }
            Err(e) => {
                self.log(format!(
                    "{}: IKEv2 to {} not started: {e}",
                    t.name, t.destination
                ));
                self.statics[i].retry_at = Some(now + STATIC_RETRY);
            }
        }
    }

    /// An IKE datagram received on `local` from `remote`.
    pub fn handle_ike(&mut self, now: Instant, local: SocketAddr, remote: SocketAddr, data: &[u8]) {
        self.ike.handle_datagram(now, local, remote, data);
        self.drain(now);
    }

    /// An NHRP packet received through `tunnel`.
    pub fn handle_nhrp(&mut self, now: Instant, tunnel: TunnelId, packet: &[u8]) {
        self.nhrp.handle_packet(now, tunnel, packet, &self.rib);
        self.drain(now);
    }

    /// The dataplane forwarded `packet` from tunnel `ingress` out of tunnel
    /// `egress` (both with `ip nhrp redirect` in one network).
    pub fn redirect_trigger(
        &mut self,
        now: Instant,
        ingress: TunnelId,
        egress: TunnelId,
        packet: &[u8],
    ) {
        self.nhrp.redirect_trigger(now, ingress, egress, packet);
        self.drain(now);
    }

    /// ESP arrived on a tunnel: its IKE SA needs no DPD yet.
    pub fn note_inbound_traffic(&mut self, now: Instant, tunnel: TunnelId) {
        if let Some(t) = self.tunnels.get(&tunnel) {
            self.ike.note_inbound_traffic(now, t.ike_sa);
        }
    }

    /// Tears a tunnel down (operator's `clear`): deletes its IKE SA.
    ///
    /// # Errors
    ///
    /// The IKE SA is gone already.
    pub fn clear_tunnel(&mut self, now: Instant, tunnel: TunnelId) -> Result<(), IkeError> {
        let Some(t) = self.tunnels.get(&tunnel) else {
            return Err(crate::ikev2::error::LocalError::NoSuchSa.into());
        };
        let r = self.ike.delete_ike_sa(now, t.ike_sa);
        self.drain(now);
        r
    }

    /// When [`Node::handle_timeout`] should run next.
    #[must_use]
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let statics = self.statics.iter().filter_map(|s| s.retry_at).min();
        [self.ike.poll_timeout(), self.nhrp.poll_timeout(), statics]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs what is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.ike.handle_timeout(now);
        self.nhrp.handle_timeout(now);
        for i in 0..self.statics.len() {
            if self.statics[i].retry_at.is_some_and(|t| t <= now) {
                self.initiate_static(now, i);
            }
        }
        self.drain(now);
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn log(&mut self, s: String) {
        self.out.push_back(Output::Log(s));
    }

    fn cmd(&mut self, c: Command) {
        self.out.push_back(Output::Dataplane(c));
    }

    /// Moves everything the cores produced to the output queue, in order.
    fn drain(&mut self, now: Instant) {
        loop {
            let mut progress = false;
            while let Some(t) = self.ike.poll_transmit() {
                self.out.push_back(Output::Ike(t));
                progress = true;
            }
            while let Some(e) = self.ike.poll_event() {
                self.on_ike(now, e);
                progress = true;
            }
            while let Some(e) = self.nhrp.poll_event() {
                self.on_nhrp(now, e);
                progress = true;
            }
            while let Some(c) = self.rib.poll_change() {
                self.cmd(Command::Fib(c));
                progress = true;
            }
            if !progress {
                break;
            }
        }
    }

    fn static_of(&self, ike_sa: IkeSaId) -> Option<usize> {
        self.statics.iter().position(|s| s.ike_sa == Some(ike_sa))
    }

    /// Our overlay address for an unnumbered interface name.
    fn unnumbered_address(&self, name: &str, v6: bool) -> Option<IpAddr> {
        if let Some(a) = self.plan.interface_address(name, v6) {
            return Some(a);
        }
        let i = self.plan.tunnels.iter().position(|t| t.name == name)?;
        self.statics[i].address.filter(|a| a.is_ipv6() == v6)
    }

    fn on_ike(&mut self, now: Instant, e: IkeEvent) {
        match e {
            IkeEvent::TunnelUp(u) => self.on_tunnel_up(now, u),
            IkeEvent::ChildSaInstalled(c) => {
                let Some(&id) = self.by_ike.get(&c.ike_sa) else {
                    return;
                };
                let Some(t) = self.tunnels.get_mut(&id) else {
                    return;
                };
                let moved = t.spec.local != c.local
                    || t.spec.remote != c.remote
                    || t.spec.udp_encap != c.udp_encap;
                if moved {
                    t.spec.local = c.local;
                    t.spec.remote = c.remote;
                    t.spec.udp_encap = c.udp_encap;
                }
                t.sas.push((c.inbound_spi, c.outbound_spi));
                let tokens = std::mem::take(&mut t.shortcut_tokens);
                let spec = t.spec.clone();
                if moved {
                    self.cmd(Command::TunnelSet(spec));
                }
                self.cmd(Command::SaInstall { tunnel: id, sa: c });
                if let Some(since) = self.shortcut_since.remove(&id) {
                    self.shortcut_setup
                        .observe(now.saturating_duration_since(since));
                }
                for token in tokens {
                    self.nhrp.shortcut_up(now, token, id);
                }
            }
            IkeEvent::ChildSaRemoved {
                ike_sa,
                inbound_spi,
                outbound_spi,
                ..
            } => {
                let Some(&id) = self.by_ike.get(&ike_sa) else {
                    return;
                };
                if let Some(t) = self.tunnels.get_mut(&id) {
                    t.sas.retain(|s| s.0 != inbound_spi);
                }
                self.cmd(Command::SaRemove {
                    tunnel: id,
                    inbound_spi,
                    outbound_spi,
                });
            }
            IkeEvent::RoutesAdd(r) => {
                let Some(&id) = self.by_ike.get(&r.ike_sa) else {
                    return;
                };
                for route in &r.routes {
                    if route.kind == RouteKind::AssignedToUs {
                        continue; // our address: see TunnelUp
                    }
                    self.rib.add(route.prefix, Source::Ike, Target::Tunnel(id));
                    if let Some(t) = self.tunnels.get_mut(&id) {
                        t.routes.push(route.prefix);
                    }
                }
            }
            IkeEvent::RoutesRemove(r) => {
                let Some(&id) = self.by_ike.get(&r.ike_sa) else {
                    return;
                };
                for route in &r.routes {
                    self.rib
                        .remove(route.prefix, Source::Ike, &Target::Tunnel(id));
                    if let Some(t) = self.tunnels.get_mut(&id) {
                        t.routes.retain(|p| *p != route.prefix);
                    }
                }
            }
            IkeEvent::TunnelDown {
                ike_sa,
                remote,
                reason,
                ..
            } => {
                self.pending_shortcuts.remove(&ike_sa);
                if let Some(i) = self.static_of(ike_sa) {
                    if !self.by_ike.contains_key(&ike_sa) {
                        let name = self.plan.tunnels[i].name.clone();
                        self.log(format!(
                            "{name}: IKEv2 to {remote} failed ({reason:?}); retrying in {}s",
                            STATIC_RETRY.as_secs()
                        ));
                    }
                    self.statics[i].ike_sa = None;
                    self.statics[i].retry_at = Some(now + STATIC_RETRY);
                    if matches!(self.plan.tunnels[i].address, TunnelAddress::Negotiated) {
                        if let Some(a) = self.statics[i].address.take() {
                            self.rib
                                .remove(IpPrefix::host(a), Source::Local, &Target::Local);
                        }
                    }
                }
                if let Some(id) = self.by_ike.remove(&ike_sa) {
                    self.remove_tunnel(id);
                    self.log(format!("tunnel {id} to {remote} down: {reason:?}"));
                }
            }
            IkeEvent::IkeSaRekeyed { old, new } => {
                if let Some(id) = self.by_ike.remove(&old) {
                    self.by_ike.insert(new, id);
                    if let Some(t) = self.tunnels.get_mut(&id) {
                        t.ike_sa = new;
                    }
                }
                if let Some(p) = self.pending_shortcuts.remove(&old) {
                    self.pending_shortcuts.insert(new, p);
                }
                for s in &mut self.statics {
                    if s.ike_sa == Some(old) {
                        s.ike_sa = Some(new);
                    }
                }
            }
            IkeEvent::PeerAddressChanged {
                ike_sa,
                local,
                remote,
            } => {
                let Some(&id) = self.by_ike.get(&ike_sa) else {
                    return;
                };
                if let Some(t) = self.tunnels.get_mut(&id) {
                    t.spec.local = local;
                    t.spec.remote = remote;
                    let spec = t.spec.clone();
                    self.cmd(Command::TunnelSet(spec));
                }
            }
            IkeEvent::AuthFailed {
                remote,
                peer_id,
                reason,
                ..
            } => {
                let who = peer_id.map_or_else(|| "unknown".to_string(), |p| p.to_string());
                self.log(format!(
                    "IKEv2 authentication of {who} at {remote} failed: {reason}"
                ));
            }
            _ => {}
        }
    }

    fn on_tunnel_up(&mut self, now: Instant, u: TunnelUp) {
        let mut pending_since = None;
        let (id, name, kind, encap, nhrp, address, shortcut_tokens) =
            if let Some(i) = self.static_of(u.ike_sa) {
                let t = self.plan.tunnels[i].clone();
                let address = match &t.address {
                    TunnelAddress::Static(a) => Some(*a),
                    TunnelAddress::Negotiated => u
                        .virtual_ips
                        .iter()
                        .copied()
                        .find(|a| a.is_ipv4())
                        .or_else(|| u.virtual_ips.first().copied()),
                    TunnelAddress::Unnumbered(n) => self.unnumbered_address(n, false),
                    TunnelAddress::None => None,
                };
                if let Some(since) = self.statics[i].since.take() {
                    self.static_setup
                        .observe(now.saturating_duration_since(since));
                }
                if matches!(t.address, TunnelAddress::Negotiated) {
                    if let Some(old) = self.statics[i].address {
                        self.rib
                            .remove(IpPrefix::host(old), Source::Local, &Target::Local);
                    }
                    self.statics[i].address = address;
                }
                (
                    self.statics[i].tunnel,
                    t.name.clone(),
                    Kind::Static(i),
                    t.encap,
                    t.nhrp,
                    address,
                    Vec::new(),
                )
            } else {
                let (template, token) = match self.pending_shortcuts.remove(&u.ike_sa) {
                    Some(p) => {
                        pending_since = Some(p.since);
                        (Some(p.template), p.tokens)
                    }
                    None => (
                        self.plan.profile_for(&u.peer_id).and_then(|p| p.template),
                        Vec::new(),
                    ),
                };
                let Some(tn) = template else {
                    self.counters.no_template += 1;
                    self.log(format!(
                    "IKEv2 session from {} ({}) has no virtual-template in its profile: deleted",
                    u.remote, u.peer_id
                ));
                    let _ = self.ike.delete_ike_sa(now, u.ike_sa);
                    return;
                };
                let Some(t) = self.plan.templates.get(&tn).cloned() else {
                    self.counters.no_template += 1;
                    self.log(format!(
                        "Virtual-Template{tn} is not defined: session from {} deleted",
                        u.remote
                    ));
                    let _ = self.ike.delete_ike_sa(now, u.ike_sa);
                    return;
                };
                let address = match &t.address {
                    TunnelAddress::Static(a) => Some(*a),
                    TunnelAddress::Unnumbered(n) => self
                        .unnumbered_address(n, false)
                        .or_else(|| self.unnumbered_address(n, true)),
                    _ => None,
                };
                let id = self.alloc_tunnel_id();
                let n = self.next_va;
                self.next_va += 1;
                self.counters.virtual_access_created += 1;
                (
                    id,
                    format!("Virtual-Access{n}"),
                    Kind::VirtualAccess(tn),
                    t.encap,
                    t.nhrp,
                    address,
                    token,
                )
            };
        if let Some(a) = address {
            self.rib
                .add(IpPrefix::host(a), Source::Local, Target::Local);
        }
        if let (Some(n), Some(protocol), Encap::Gre) = (nhrp, address, encap) {
            self.nhrp.set_interface(
                id,
                IfaceConfig {
                    network_id: n.network_id,
                    redirect: n.redirect,
                    shortcut_template: n.shortcut_template,
                    holding_time: n.holding_time,
                    nbma: u.local.ip(),
                    protocol,
                    mtu: 1400,
                },
            );
        }
        let spec = TunnelSpec {
            id,
            name: name.clone(),
            encap,
            local: u.local,
            remote: u.remote,
            udp_encap: u.nat.any(),
            network_id: nhrp.map(|n| n.network_id),
            redirect: nhrp.is_some_and(|n| n.redirect.is_some()),
            address,
            peer: u.peer_id.clone(),
        };
        self.by_ike.insert(u.ike_sa, id);
        if let Some(since) = pending_since {
            self.shortcut_since.insert(id, since);
        }
        self.log(format!(
            "{name} up to {} ({}), address {}",
            u.remote,
            u.peer_id,
            address.map_or_else(|| "none".to_string(), |a| a.to_string())
        ));
        self.tunnels.insert(
            id,
            TunnelState {
                spec: spec.clone(),
                kind,
                ike_sa: u.ike_sa,
                sas: Vec::new(),
                shortcut_tokens,
                routes: Vec::new(),
            },
        );
        self.cmd(Command::TunnelSet(spec));
    }

    fn remove_tunnel(&mut self, id: TunnelId) {
        let Some(t) = self.tunnels.remove(&id) else {
            return;
        };
        self.nhrp.tunnel_down(id);
        self.rib.remove_tunnel(id);
        // Routes first, then SAs, then the tunnel: the dataplane never
        // holds a route into a tunnel it does not have.
        while let Some(c) = self.rib.poll_change() {
            self.cmd(Command::Fib(c));
        }
        for (i, o) in t.sas {
            self.cmd(Command::SaRemove {
                tunnel: id,
                inbound_spi: i,
                outbound_spi: o,
            });
        }
        if let Kind::VirtualAccess(_) = t.kind {
            self.counters.virtual_access_removed += 1;
            self.free_ids.push(Reverse(id));
            if let Some(a) = t.spec.address {
                // Unnumbered addresses stay while their interface has them.
                let still = self.tunnels.values().any(|o| o.spec.address == Some(a))
                    || self
                        .plan
                        .interfaces
                        .iter()
                        .any(|i| i.addresses.iter().any(|(x, _)| *x == a))
                    || self.statics.iter().any(|s| s.address == Some(a));
                if !still {
                    self.rib
                        .remove(IpPrefix::host(a), Source::Local, &Target::Local);
                }
            }
        }
        self.cmd(Command::TunnelRemove(id));
    }

    fn on_nhrp(&mut self, now: Instant, e: NhrpEvent) {
        match e {
            NhrpEvent::Send { tunnel, packet } => {
                self.out.push_back(Output::Nhrp { tunnel, packet })
            }
            NhrpEvent::CreateShortcut {
                token,
                template,
                peer_nbma,
                peer_protocol,
            } => {
                // A tunnel to that peer may be up already (built by the
                // other direction), or on its way: use it.
                let existing = self
                    .tunnels
                    .values()
                    .find(|t| t.spec.remote.ip() == peer_nbma && !t.sas.is_empty())
                    .map(|t| t.spec.id);
                if let Some(id) = existing {
                    self.counters.shortcuts_reused += 1;
                    self.nhrp.shortcut_up(now, token, id);
                    return;
                }
                if let Some(t) = self
                    .tunnels
                    .values_mut()
                    .find(|t| t.spec.remote.ip() == peer_nbma)
                {
                    self.counters.shortcuts_reused += 1;
                    t.shortcut_tokens.push(token);
                    return;
                }
                if let Some(p) = self
                    .pending_shortcuts
                    .values_mut()
                    .find(|p| p.peer == peer_nbma)
                {
                    self.counters.shortcuts_reused += 1;
                    p.tokens.push(token);
                    return;
                }
                let Some(local) = self
                    .plan
                    .tunnels
                    .iter()
                    .find(|t| t.source.is_ipv6() == peer_nbma.is_ipv6())
                    .map(|t| t.source)
                    .or_else(|| {
                        self.plan
                            .interfaces
                            .iter()
                            .flat_map(|i| i.addresses.iter())
                            .find(|(a, _)| a.is_ipv6() == peer_nbma.is_ipv6() && !a.is_loopback())
                            .map(|(a, _)| *a)
                    })
                else {
                    self.log(format!(
                        "shortcut to {peer_protocol}: no local address toward {peer_nbma}"
                    ));
                    return;
                };
                let port = self.plan.ike.ports.0;
                // No INITIAL_CONTACT: the other spoke may be building a
                // shortcut to us at this moment, and must keep it.
                match self.ike.initiate_with(
                    now,
                    SocketAddr::new(local, port),
                    SocketAddr::new(peer_nbma, port),
                    None,
                    false,
                ) {
                    Ok(id) => {
                        self.counters.shortcuts_initiated += 1;
                        self.pending_shortcuts.insert(
                            id,
                            PendingShortcut {
                                tokens: vec![token],
                                template,
                                peer: peer_nbma,
                                since: now,
                            },
                        );
                        self.log(format!(
                            "NHRP: building a shortcut to {peer_protocol} at {peer_nbma} from Virtual-Template{template}"
                        ));
                    }
                    Err(e) => self.log(format!("shortcut to {peer_nbma} not started: {e}")),
                }
            }
            NhrpEvent::InstallShortcut {
                tunnel,
                prefix,
                prefix_len,
                next_hop,
            } => {
                self.rib.add(
                    IpPrefix::new(prefix, prefix_len),
                    Source::Nhrp,
                    Target::Tunnel(tunnel),
                );
                self.rib.add(
                    IpPrefix::host(next_hop),
                    Source::Nhrp,
                    Target::Tunnel(tunnel),
                );
            }
            NhrpEvent::RemoveShortcut {
                tunnel,
                prefix,
                prefix_len,
            } => {
                self.rib.remove(
                    IpPrefix::new(prefix, prefix_len),
                    Source::Nhrp,
                    &Target::Tunnel(tunnel),
                );
            }
        }
    }
}
