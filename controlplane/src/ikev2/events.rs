//! What the core tells the driver: [`Event`]s from
//! [`super::Endpoint::poll_event`], datagrams from
//! [`super::Endpoint::poll_transmit`], and the traits the driver implements
//! for it ([`SpiAllocator`], [`RandomSource`]).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::auth::AuthFailure;
use super::codec::TrafficSelector;
use super::config::IpPrefix;
use super::crypto::{Encr, SecretBytes};
use super::error::Error;
use super::identity::Identity;
use super::state::IkeState;

/// A handle on one IKE SA of an endpoint. An IKE SA rekey makes a new one
/// ([`Event::IkeSaRekeyed`]); the Child SAs, addresses and routes move to
/// it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IkeSaId(pub u64);

impl fmt::Display for IkeSaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ike#{}", self.0)
    }
}

/// One UDP datagram to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Our address and port to send from (the NAT-T port after floating).
    pub local: SocketAddr,
    /// The peer's address and port.
    pub remote: SocketAddr,
    /// The UDP payload, the non-ESP marker included when sent on the NAT-T
    /// port.
    pub payload: Vec<u8>,
}

/// Gives out the SPIs of our inbound Child SAs. The dataplane allocates
/// them, so that an SPI carries its SA table index.
pub trait SpiAllocator: fmt::Debug + Send {
    /// A fresh SPI (never 0..=255), or `None` when the table is full.
    fn allocate(&mut self) -> Option<u32>;
    /// The core no longer uses `spi`: the Child SA was removed (after
    /// [`Event::ChildSaRemoved`]) or its negotiation failed. The
    /// implementation must not hand it out again before the dataplane has
    /// removed the SA.
    fn release(&mut self, spi: u32);
}

/// A simple allocator for tests and standalone use: a counter mixed with a
/// random base, never 0..=255, released SPIs are not reused.
#[derive(Debug)]
pub struct CounterSpiAllocator {
    next: u32,
    live: std::collections::HashSet<u32>,
}

impl CounterSpiAllocator {
    /// Starts at `base` (values below 256 are skipped).
    #[must_use]
    pub fn new(base: u32) -> Self {
        Self {
            next: base.max(256),
            live: std::collections::HashSet::new(),
        }
    }

    /// SPIs allocated and not released.
    #[must_use]
    pub fn live(&self) -> usize {
        self.live.len()
    }
}

impl SpiAllocator for CounterSpiAllocator {
    fn allocate(&mut self) -> Option<u32> {
        let spi = self.next;
        self.next = self.next.checked_add(1).unwrap_or(256);
        self.live.insert(spi);
        Some(spi)
    }

    fn release(&mut self, spi: u32) {
        self.live.remove(&spi);
    }
}

/// Randomness for SPIs, nonces and cookie secrets (Diffie-Hellman keys
/// always come from the system generator through `ring`).
pub trait RandomSource: fmt::Debug + Send {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

/// The system random generator.
#[derive(Debug)]
pub struct SystemRandom(ring::rand::SystemRandom);

impl Default for SystemRandom {
    fn default() -> Self {
        Self(ring::rand::SystemRandom::new())
    }
}

impl RandomSource for SystemRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        use ring::rand::SecureRandom;
        if self.0.fill(buf).is_err() {
            // The system generator does not fail on supported platforms;
            // never hand out predictable bytes if it ever does.
            panic!("system random number generator failed");
        }
    }
}

/// NAT detection results (RFC 7296 section 2.23).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NatState {
    /// We are behind a NAT (the peer saw another address than ours).
    pub local_behind_nat: bool,
    /// The peer is behind a NAT.
    pub remote_behind_nat: bool,
}

impl NatState {
    /// Either side is behind a NAT: IKE moved to the NAT-T port and ESP
    /// is UDP-encapsulated (RFC 3948).
    #[must_use]
    pub fn any(&self) -> bool {
        self.local_behind_nat || self.remote_behind_nat
    }
}

/// A Child SA to install in the dataplane: both directions.
#[derive(Clone)]
pub struct ChildSaInstalled {
    /// Its IKE SA.
    pub ike_sa: IkeSaId,
    /// The authenticated peer.
    pub peer_id: Identity,
    /// Our address and port (the NAT-T port when `udp_encap`).
    pub local: SocketAddr,
    /// The peer's address and port (as seen by us, after any NAT).
    pub remote: SocketAddr,
    /// ESP is UDP-encapsulated (RFC 3948) between `local` and `remote`.
    pub udp_encap: bool,
    /// Our inbound SPI (from the [`SpiAllocator`]).
    pub inbound_spi: u32,
    /// The peer's inbound SPI, which we send to.
    pub outbound_spi: u32,
    /// The AEAD cipher.
    pub encr: Encr,
    /// Inbound key material: key then 4-byte salt.
    pub inbound_key: SecretBytes,
    /// Outbound key material: key then 4-byte salt.
    pub outbound_key: SecretBytes,
    /// Extended sequence numbers.
    pub esn: bool,
    /// Anti-replay window for the inbound SA, packets.
    pub replay_window: u32,
    /// The core rekeys after this long.
    pub soft_lifetime: Duration,
    /// The core deletes the SA after this long if the rekey did not happen.
    pub hard_lifetime: Duration,
    /// Our traffic selectors.
    pub local_ts: Vec<TrafficSelector>,
    /// The peer's traffic selectors.
    pub remote_ts: Vec<TrafficSelector>,
    /// The inbound SPI of the Child SA this one replaces (rekey): switch
    /// outbound traffic to this SA; the old one is removed by a later
    /// [`Event::ChildSaRemoved`].
    pub replaces: Option<u32>,
}

impl fmt::Debug for ChildSaInstalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSaInstalled")
            .field("ike_sa", &self.ike_sa)
            .field("peer_id", &self.peer_id)
            .field("local", &self.local)
            .field("remote", &self.remote)
            .field("udp_encap", &self.udp_encap)
            .field("inbound_spi", &format_args!("{:#010x}", self.inbound_spi))
            .field("outbound_spi", &format_args!("{:#010x}", self.outbound_spi))
            .field("encr", &self.encr)
            .field("esn", &self.esn)
            .field("replaces", &self.replaces)
            .finish_non_exhaustive()
    }
}

/// Why a Child SA went away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChildRemoveReason {
    /// Replaced by a rekeyed SA and deleted.
    Rekeyed,
    /// The peer deleted it.
    DeletedByPeer,
    /// We deleted it (operator, or redundant after a rekey collision).
    DeletedLocally,
    /// Its hard lifetime passed.
    Expired,
    /// Its IKE SA went away.
    IkeSaGone,
}

/// A route the core learned or hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteKind {
    /// The responder pushed it (INTERNAL_IP4/6_SUBNET in CFG_REPLY): route
    /// it into the tunnel.
    Pushed,
    /// The initiator announced it (its LAN behind it): route it into the
    /// tunnel toward that peer.
    Accepted,
    /// A virtual address we assigned to the peer: a host route toward it.
    AssignedToPeer,
    /// The virtual address the responder assigned to us: our tunnel
    /// interface address.
    AssignedToUs,
}

/// A prefix and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// The prefix.
    pub prefix: IpPrefix,
    /// Why it exists.
    pub kind: RouteKind,
}

/// Routes added or removed for a tunnel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteUpdate {
    /// The IKE SA (the tunnel).
    pub ike_sa: IkeSaId,
    /// The peer the routes point to.
    pub peer_id: Identity,
    /// The peer's outer address.
    pub remote: SocketAddr,
    /// The routes.
    pub routes: Vec<Route>,
}

/// A tunnel (authenticated IKE SA) came up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelUp {
    /// The IKE SA.
    pub ike_sa: IkeSaId,
    /// The authenticated peer.
    pub peer_id: Identity,
    /// Our address and port.
    pub local: SocketAddr,
    /// The peer's address and port.
    pub remote: SocketAddr,
    /// NAT detection.
    pub nat: NatState,
    /// We initiated it.
    pub initiator: bool,
    /// Addresses the peer assigned to us (initiator).
    pub virtual_ips: Vec<IpAddr>,
    /// Addresses we assigned to the peer (responder).
    pub assigned_ips: Vec<IpAddr>,
    /// DNS servers the peer pushed.
    pub dns: Vec<IpAddr>,
    /// Default domain the peer pushed.
    pub domain: Option<String>,
}

/// Why a tunnel went down.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownReason {
    /// The peer deleted the IKE SA.
    DeletedByPeer,
    /// We deleted it ([`super::Endpoint::delete_ike_sa`]).
    DeletedLocally,
    /// Requests went unanswered after every retransmission (dead peer).
    PeerDead,
    /// The setup did not complete in time (half-open timeout).
    SetupTimeout,
    /// Authentication failed (see [`Event::AuthFailed`]).
    AuthFailed,
    /// The peer came back with INITIAL_CONTACT in a new IKE SA: this one
    /// is stale.
    ReplacedByInitialContact,
    /// The negotiation failed.
    Failed(Error),
}

/// What the core reports.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event {
    /// An IKE SA changed state (for metrics and logs).
    IkeSaStateChanged {
        /// The SA.
        ike_sa: IkeSaId,
        /// Before.
        from: Option<IkeState>,
        /// After.
        to: IkeState,
    },
    /// A tunnel is up (IKE SA authenticated).
    TunnelUp(TunnelUp),
    /// A tunnel is down; its Child SAs and routes were removed before.
    TunnelDown {
        /// The IKE SA.
        ike_sa: IkeSaId,
        /// The peer, if it was authenticated.
        peer_id: Option<Identity>,
        /// The peer's address.
        remote: SocketAddr,
        /// Why.
        reason: DownReason,
    },
    /// Install a Child SA in the dataplane.
    ChildSaInstalled(Box<ChildSaInstalled>),
    /// Remove a Child SA from the dataplane.
    ChildSaRemoved {
        /// Its IKE SA.
        ike_sa: IkeSaId,
        /// Our inbound SPI.
        inbound_spi: u32,
        /// The peer's.
        outbound_spi: u32,
        /// Why.
        reason: ChildRemoveReason,
    },
    /// Install routes toward a tunnel.
    RoutesAdd(RouteUpdate),
    /// Remove routes of a tunnel.
    RoutesRemove(RouteUpdate),
    /// Authentication failed.
    AuthFailed {
        /// The IKE SA.
        ike_sa: IkeSaId,
        /// The peer's address.
        remote: SocketAddr,
        /// The identity it claimed, if any.
        peer_id: Option<Identity>,
        /// Why.
        reason: AuthFailure,
    },
    /// An IKE SA was rekeyed: `new` now holds the tunnel, its Child SAs,
    /// addresses and routes.
    IkeSaRekeyed {
        /// The replaced SA.
        old: IkeSaId,
        /// Its successor.
        new: IkeSaId,
    },
    /// The peer's NAT mapping changed (RFC 7296 section 2.23): send IKE and
    /// UDP-encapsulated ESP to the new address.
    PeerAddressChanged {
        /// The IKE SA.
        ike_sa: IkeSaId,
        /// Our address.
        local: SocketAddr,
        /// The peer's new address.
        remote: SocketAddr,
    },
}
