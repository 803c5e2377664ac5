//! One IKE SA and its Child SAs: the exchanges of RFC 7296 as initiator
//! and responder, message IDs with a window of one, retransmission, the
//! response cache, fragmentation (RFC 7383), rekeying and deletion.
//!
//! An [`IkeSa`] never touches another SA; what crosses SAs (a new SA from
//! a rekey, moving Child SAs to it) is an [`Action`] the endpoint carries
//! out after the call.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::auth::{AuthContext, AuthFailure};
use super::codec::{
    self, emit_inner, emit_protected, fragment, notifies, AuthPayload, CfgAttribute,
    CfgAttributeType, CfgType, CpPayload, DeletePayload, ExchangeType, Header, IdPayload,
    KePayload, Message, NoncePayload, NotifyPayload, NotifyType, Payload, ProtectedKind,
    ProtectedLayout, ProtocolId, SaPayload, TrafficSelector, TsPayload, HEADER_LEN,
};
use super::config::{Config, IpPrefix};
use super::crypto::{
    signed_octets, ChildSaKeys, DhGroup, DhPrivateKey, EspSuite, IkeSaKeys, IkeSuite, Role,
    SecretBytes, SkCiphers,
};
use super::error::{Error, LocalError, Malformed, PeerMisbehaved};
use super::events::{
    ChildRemoveReason, ChildSaInstalled, DownReason, Event, IkeSaId, NatState, RandomSource, Route,
    RouteKind, RouteUpdate, SpiAllocator, Transmit, TunnelUp,
};
use super::identity::{Identity, IdentityMatch};
use super::pool::AddressPools;
use super::proposal::{self, wire_dh};
use super::selectors;
use super::state::{ChildInput, ChildState, IkeInput, IkeState};

/// Length of our nonces.
pub(crate) const NONCE_LEN: usize = 32;
/// IKE_SA_INIT retries after COOKIE or INVALID_KE_PAYLOAD before giving up.
const MAX_INIT_RETRIES: u32 = 4;
/// Delay before retrying an exchange the peer answered TEMPORARY_FAILURE.
const TEMPORARY_FAILURE_RETRY: Duration = Duration::from_secs(2);
/// Delay before retrying a Child SA rekey that failed otherwise.
const CHILD_REKEY_RETRY: Duration = Duration::from_secs(10);

/// Counters of the endpoint.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Datagrams received.
    pub received: u64,
    /// Datagrams dropped (malformed, unknown SPI, failed checks, out of
    /// window).
    pub dropped: u64,
    /// Why the last datagram was dropped.
    pub last_drop: Option<Error>,
    /// Requests retransmitted.
    pub retransmits: u64,
    /// Cached responses sent again for retransmitted requests.
    pub responses_resent: u64,
    /// COOKIE notifies sent.
    pub cookies_sent: u64,
}

/// What the SAs share: configuration, output queues, allocators.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Arc<Config>,
    pub(crate) transmits: VecDeque<Transmit>,
    pub(crate) events: VecDeque<Event>,
    pub(crate) spis: Box<dyn SpiAllocator>,
    pub(crate) rng: Box<dyn RandomSource>,
    pub(crate) sys_rng: ring::rand::SystemRandom,
    pub(crate) pools: AddressPools,
    pub(crate) actions: Vec<Action>,
    /// Our IKE SPIs (and those reserved for a rekey) to their SA.
    pub(crate) by_spi: std::collections::HashMap<u64, IkeSaId>,
    pub(crate) next_id: u64,
    pub(crate) stats: Stats,
}

impl Shared {
    pub(crate) fn new_id(&mut self) -> IkeSaId {
        self.next_id += 1;
        IkeSaId(self.next_id)
    }

    /// A fresh IKE SPI of ours, registered for `id`.
    pub(crate) fn new_ike_spi(&mut self, id: IkeSaId) -> u64 {
        loop {
            let mut b = [0u8; 8];
            self.rng.fill(&mut b);
            let spi = u64::from_be_bytes(b);
            if spi != 0 && !self.by_spi.contains_key(&spi) {
                self.by_spi.insert(spi, id);
                return spi;
            }
        }
    }

    pub(crate) fn nonce(&mut self) -> Vec<u8> {
        let mut n = vec![0u8; NONCE_LEN];
        self.rng.fill(&mut n);
        n
    }

    pub(crate) fn dh(&self, group: DhGroup) -> Result<DhPrivateKey, Error> {
        DhPrivateKey::generate(group, &self.sys_rng).map_err(Error::from)
    }

    /// Queues a datagram, with the non-ESP marker on the NAT-T port.
    pub(crate) fn send(&mut self, local: SocketAddr, remote: SocketAddr, message: &[u8]) {
        let mut payload = Vec::with_capacity(message.len() + 4);
        if local.port() == self.config.ports.1 {
            payload.extend_from_slice(&[0; 4]);
        }
        payload.extend_from_slice(message);
        self.transmits.push_back(Transmit {
            local,
            remote,
            payload,
        });
    }

    pub(crate) fn drop_msg(&mut self, e: Error) {
        self.stats.dropped += 1;
        self.stats.last_drop = Some(e);
    }
}

/// Cross-SA work for the endpoint.
#[derive(Debug)]
pub(crate) enum Action {
    /// Add a new SA (from a rekey).
    Register(Box<IkeSa>),
    /// Move Child SAs, addresses, routes and the tunnel from one SA to
    /// another (IKE SA rekey).
    Transfer { from: IkeSaId, to: IkeSaId },
    /// The peer deleted the SA it rekeyed, so it has the new one: our
    /// requests over the new one may start.
    Release(IkeSaId),
    /// The peer authenticated with INITIAL_CONTACT: its other IKE SAs are
    /// stale (it restarted) and go away.
    InitialContact { keep: IkeSaId, peer: Identity },
}

/// NAT_DETECTION_*_IP hash: SHA-1(SPIi | SPIr | IP | port).
//= https://www.rfc-editor.org/rfc/rfc7296#section-2.23
//# The data associated with these Notify types
//# is the SHA-1 digest of the SPIs (in the order they appear in the
//# header), IP address, and port from which this packet was sent.
pub(crate) fn nat_hash(spi_i: u64, spi_r: u64, addr: SocketAddr) -> [u8; 20] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&spi_i.to_be_bytes());
    ctx.update(&spi_r.to_be_bytes());
    match addr.ip() {
        IpAddr::V4(a) => ctx.update(&a.octets()),
        IpAddr::V6(a) => ctx.update(&a.octets()),
    }
    ctx.update(&addr.port().to_be_bytes());
    let mut out = [0u8; 20];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// NAT detection of a received message: (we are behind a NAT, the peer is).
fn detect_nat(
    payloads: &[Payload],
    spi_i: u64,
    spi_r: u64,
    local: SocketAddr,
    remote: SocketAddr,
) -> Option<NatState> {
    let src: Vec<[u8; 20]> = notifies(payloads)
        .filter(|n| n.notify_type == NotifyType::NAT_DETECTION_SOURCE_IP)
        .filter_map(NotifyPayload::nat_detection_hash)
        .collect();
    let dst = notifies(payloads)
        .find(|n| n.notify_type == NotifyType::NAT_DETECTION_DESTINATION_IP)
        .and_then(NotifyPayload::nat_detection_hash);
    let dst = dst?;
    if src.is_empty() {
        return None;
    }
    //= https://www.rfc-editor.org/rfc/rfc7296#section-2.23
    //# If none of the NAT_DETECTION_SOURCE_IP payload(s) received matches
    //# the expected value of the source IP and port found from the IP
    //# header of the packet containing the payload, it means that the
    //# system sending those payloads is behind a NAT
    //
    //= https://www.rfc-editor.org/rfc/rfc7296#section-2.23
    //# If the NAT_DETECTION_DESTINATION_IP payload received does
    //# not match the expected value of the destination IP and port found
    //# from the IP header of the packet containing the payload, it means
    //# that the system receiving the NAT_DETECTION_DESTINATION_IP payload is
    //# behind a NAT
    Some(NatState {
        remote_behind_nat: !src.contains(&nat_hash(spi_i, spi_r, remote)),
        local_behind_nat: dst != nat_hash(spi_i, spi_r, local),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    Retransmit = 0,
    Setup = 1,
    Dpd = 2,
    IkeRekey = 3,
    Linger = 4,
    Retry = 5,
    /// End of the hold on our requests over an SA the peer may not have
    /// yet (a new IKE SA whose rekey we answered).
    Hold = 6,
}

const TIMERS: [Timer; 7] = [
    Timer::Retransmit,
    Timer::Setup,
    Timer::Dpd,
    Timer::IkeRekey,
    Timer::Linger,
    Timer::Retry,
    Timer::Hold,
];

/// Deadlines indexed by [`Timer`].
#[derive(Clone, Copy, Debug, Default)]
struct TimerTable([Option<Instant>; 7]);

impl TimerTable {
    fn set(&mut self, t: Timer, at: Instant) {
        self.0[t as usize] = Some(at);
    }
    fn stop(&mut self, t: Timer) {
        self.0[t as usize] = None;
    }
    fn get(&self, t: Timer) -> Option<Instant> {
        self.0[t as usize]
    }
    fn is_expired(&self, t: Timer, now: Instant) -> bool {
        self.get(t).is_some_and(|d| d <= now)
    }
    fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }
}

/// A peer's rekey of something we were rekeying too (RFC 7296 section
/// 2.8.1): the lowest nonce of its exchange and what it created.
#[derive(Clone, Debug)]
struct PeerRekey<T> {
    lowest_nonce: Vec<u8>,
    created: T,
}

fn lowest<'a>(a: &'a [u8], b: &'a [u8]) -> &'a [u8] {
    //= https://www.rfc-editor.org/rfc/rfc7296#section-2.8.1
    //# "Lowest" means an octet-by-octet comparison (instead of, for
    //# instance, comparing the nonces as large integers).  In other words,
    //# start by comparing the first octet; if they're equal, move to the
    //# next octet, and so on.  If you reach the end of one nonce, that
    //# nonce is the lower one.
    if a <= b {
        a
    } else {
        b
    }
}

/// A Child SA of an IKE SA.
#[derive(Debug)]
pub(crate) struct ChildSa {
    pub(crate) state: ChildState,
    pub(crate) inbound_spi: u32,
    pub(crate) outbound_spi: u32,
    suite: EspSuite,
    esn: bool,
    local_ts: Vec<TrafficSelector>,
    remote_ts: Vec<TrafficSelector>,
    rekey_at: Option<Instant>,
    expire_at: Instant,
    /// Why it goes away when its Delete completes.
    remove_reason: ChildRemoveReason,
    peer_rekey: Option<PeerRekey<u32>>,
}

impl ChildSa {
    fn set_state(&mut self, input: ChildInput) -> bool {
        match self.state.next(input) {
            Some(n) => {
                self.state = n;
                true
            }
            None => false,
        }
    }
}

/// Work waiting for the request window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Task {
    Dpd,
    /// A new Child SA (the tunnel lost its last one).
    CreateChild,
    RekeyChild(u32),
    DeleteChild(u32),
    RekeyIke,
    DeleteIke,
}

/// Our outstanding request.
#[derive(Debug)]
struct Pending {
    message_id: u32,
    datagrams: Vec<Vec<u8>>,
    transmissions: u32,
    kind: Request,
}

#[derive(Debug)]
enum Request {
    Init,
    Auth {
        child_spi: u32,
    },
    Dpd,
    DeleteChild(Vec<u32>),
    DeleteIke,
    RekeyChild {
        old_inbound: u32,
        new_inbound: u32,
        ni: Vec<u8>,
        dh: Option<DhPrivateKey>,
        retries: u32,
    },
    RekeyIke {
        new_id: IkeSaId,
        new_spi: u64,
        ni: Vec<u8>,
        dh: Option<DhPrivateKey>,
        retries: u32,
    },
}

/// The peer's SIGNATURE_HASH_ALGORITHMS (RFC 7427 section 4).
fn peer_hash_algorithms(payloads: &[Payload]) -> Vec<codec::HashAlgorithm> {
    notifies(payloads)
        .filter(|n| n.notify_type == NotifyType::SIGNATURE_HASH_ALGORITHMS)
        .flat_map(NotifyPayload::hash_algorithms)
        .collect()
}

/// Our SIGNATURE_HASH_ALGORITHMS notify, when the authenticator signs.
fn signature_hash_notify(cfg: &Config) -> Option<Payload> {
    // RFC 7427 section 4: announced by both sides in IKE_SA_INIT.
    let algs = cfg.authenticator.signature_hash_algorithms();
    (!algs.is_empty()).then(|| Payload::Notify(NotifyPayload::signature_hash_algorithms(&algs)))
}

/// IKE_SA_INIT material kept until IKE_AUTH is done.
#[derive(Debug)]
struct InitData {
    ni: Vec<u8>,
    nr: Vec<u8>,
    /// The IKE_SA_INIT request as sent or received (no marker).
    request: Vec<u8>,
    /// The IKE_SA_INIT response.
    response: Vec<u8>,
    dh: Option<DhPrivateKey>,
    cookie: Option<Vec<u8>>,
    retries: u32,
    /// The peer's SIGNATURE_HASH_ALGORITHMS (RFC 7427).
    peer_hashes: Vec<codec::HashAlgorithm>,
}

/// Where a request came from, to answer it there.
#[derive(Clone, Copy, Debug)]
struct Path {
    local: SocketAddr,
    remote: SocketAddr,
}

/// Result of opening a protected message.
enum Opened {
    Payloads(Vec<Payload>),
    /// A fragment was stored; more are needed.
    Partial,
    /// Authentic, but the plaintext does not parse.
    Invalid(codec::Error),
    Drop(Error),
}

/// One IKE SA.
#[derive(Debug)]
pub(crate) struct IkeSa {
    pub(crate) id: IkeSaId,
    pub(crate) state: IkeState,
    /// We are the original initiator (I flag).
    original_initiator: bool,
    pub(crate) spi_i: u64,
    pub(crate) spi_r: u64,
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    nat: NatState,
    frag: bool,
    suite: Option<IkeSuite>,
    keys: Option<IkeSaKeys>,
    sk: Option<SkCiphers>,
    init: Option<InitData>,
    pub(crate) peer_id: Option<Identity>,
    /// Send INITIAL_CONTACT in our IKE_AUTH request (initiator).
    pub(crate) initial_contact: bool,
    expected_peer: Option<Identity>,
    next_msg_id: u32,
    pending: Option<Pending>,
    queue: VecDeque<Task>,
    retry_tasks: Vec<Task>,
    expected_request: u32,
    last_response: Option<(u32, Vec<Vec<u8>>)>,
    reasm: Option<(bool, fragment::Reassembler)>,
    pub(crate) children: Vec<ChildSa>,
    /// Addresses we assigned to the peer.
    pub(crate) assigned: Vec<IpAddr>,
    /// Routes installed for this tunnel.
    pub(crate) routes: Vec<Route>,
    /// This SA holds the tunnel (TunnelDown when it dies).
    pub(crate) owns_tunnel: bool,
    /// TunnelUp was reported.
    pub(crate) up: bool,
    timers: TimerTable,
    last_inbound: Instant,
    peer_ike_rekey: Option<PeerRekey<IkeSaId>>,
    /// Removable once Closed and lingered.
    pub(crate) removable: bool,
    /// A transfer of the tunnel away from this SA is queued: no new
    /// request until the endpoint has done it.
    pub(crate) transfer_pending: bool,
    /// The deadline last given to the endpoint's timer heap.
    pub(crate) scheduled: Option<Instant>,
    /// The peer half-open entry (responder) for IKE_SA_INIT retransmits.
    pub(crate) half_open_key: Option<(SocketAddr, u64)>,
    /// Counted in the endpoint's half-open total.
    pub(crate) half_open_counted: bool,
    /// Outbound SPIs the peer deleted before our pending rekey installed
    /// them.
    deleted_early: Vec<u32>,
    /// The operator deleted a Child SA: do not replace it on our own.
    no_auto_child: bool,
    /// A Child SA was installed once (an SA that never had one, after
    /// INTERNAL_ADDRESS_FAILURE for example, does not get one on its own).
    had_child: bool,
    /// We answered the rekey that made this SA: hold our requests until
    /// the peer shows it has it too (a message over it, or its Delete of
    /// the old SA), or [`Timer::Hold`].
    pub(crate) hold: bool,
    /// The SA that replaced this one by the peer's rekey.
    successor: Option<IkeSaId>,
    /// The peer's colliding rekey of a Child SA that went away while our
    /// own rekey of it was pending (RFC 7296 section 2.8.1).
    orphan_rekey: Option<(u32, PeerRekey<u32>)>,
}

impl IkeSa {
    fn blank(
        id: IkeSaId,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        state: IkeState,
    ) -> Self {
        Self {
            id,
            state,
            original_initiator: false,
            initial_contact: false,
            spi_i: 0,
            spi_r: 0,
            local,
            remote,
            nat: NatState::default(),
            frag: false,
            suite: None,
            keys: None,
            sk: None,
            init: None,
            peer_id: None,
            expected_peer: None,
            next_msg_id: 0,
            pending: None,
            queue: VecDeque::new(),
            retry_tasks: Vec::new(),
            expected_request: 0,
            last_response: None,
            reasm: None,
            children: Vec::new(),
            assigned: Vec::new(),
            routes: Vec::new(),
            owns_tunnel: true,
            up: false,
            timers: TimerTable::default(),
            last_inbound: now,
            peer_ike_rekey: None,
            removable: false,
            transfer_pending: false,
            scheduled: None,
            half_open_key: None,
            half_open_counted: false,
            deleted_early: Vec::new(),
            no_auto_child: false,
            had_child: false,
            hold: false,
            successor: None,
            orphan_rekey: None,
        }
    }

    /// Our SPI.
    pub(crate) fn own_spi(&self) -> u64 {
        if self.original_initiator {
            self.spi_i
        } else {
            self.spi_r
        }
    }

    /// The peer's SPI.
    pub(crate) fn peer_spi(&self) -> u64 {
        if self.original_initiator {
            self.spi_r
        } else {
            self.spi_i
        }
    }

    pub(crate) fn is_half_open(&self) -> bool {
        self.state == IkeState::InitResponded
    }

    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        let mut t = self.timers.next();
        if !matches!(self.state, IkeState::Closed) {
            for c in &self.children {
                for d in [c.rekey_at, Some(c.expire_at)].into_iter().flatten() {
                    if c.state != ChildState::Removed {
                        t = Some(t.map_or(d, |x| x.min(d)));
                    }
                }
            }
        }
        t
    }

    fn set_state(&mut self, sh: &mut Shared, input: IkeInput) -> bool {
        let Some(n) = self.state.next(input) else {
            return false;
        };
        if n != self.state {
            sh.events.push_back(Event::IkeSaStateChanged {
                ike_sa: self.id,
                from: Some(self.state),
                to: n,
            });
            self.state = n;
        }
        true
    }

    fn role(&self) -> Role {
        if self.original_initiator {
            Role::Initiator
        } else {
            Role::Responder
        }
    }

    // ----- creation -----

    /// A new SA as initiator: IKE_SA_INIT is sent.
    pub(crate) fn initiate(
        sh: &mut Shared,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        expected_peer: Option<Identity>,
    ) -> Result<Self, Error> {
        let cfg = sh.config.clone();
        let id = sh.new_id();
        let mut sa = Self::blank(id, now, local, remote, IkeState::InitSent);
        sa.original_initiator = true;
        sa.initial_contact = cfg.initial_contact;
        sa.expected_peer = expected_peer;
        sa.spi_i = sh.new_ike_spi(id);
        let group = cfg.ike_proposals[0].dh[0];
        let dh = match sh.dh(group) {
            Ok(d) => d,
            Err(e) => {
                sh.by_spi.remove(&sa.spi_i);
                return Err(e);
            }
        };
        sa.init = Some(InitData {
            ni: sh.nonce(),
            nr: Vec::new(),
            request: Vec::new(),
            response: Vec::new(),
            dh: Some(dh),
            cookie: None,
            retries: 0,
            peer_hashes: Vec::new(),
        });
        sh.events.push_back(Event::IkeSaStateChanged {
            ike_sa: id,
            from: None,
            to: IkeState::InitSent,
        });
        sa.send_init_request(sh, now)?;
        // The initiator has no setup deadline of its own: the
        // retransmission limit ends an unanswered setup.
        Ok(sa)
    }

    fn send_init_request(&mut self, sh: &mut Shared, now: Instant) -> Result<(), Error> {
        let cfg = sh.config.clone();
        let Some(init) = &mut self.init else {
            return Err(LocalError::NoSuchSa.into());
        };
        let Some(dh) = &init.dh else {
            return Err(LocalError::NoSuchSa.into());
        };
        let group = dh.group();
        let mut payloads = Vec::new();
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.6
        //# the initiator MUST retry the IKE_SA_INIT with a Notify payload of
        //# type COOKIE containing the responder-supplied cookie data as the
        //# first payload and all other payloads unchanged.
        if let Some(c) = &init.cookie {
            payloads.push(Payload::Notify(NotifyPayload::new(
                NotifyType::COOKIE,
                c.clone(),
            )));
        }
        payloads.push(Payload::Sa(proposal::ike_offer(
            &cfg.ike_proposals,
            &[],
            group,
        )));
        payloads.push(Payload::Ke(KePayload {
            group: wire_dh(group),
            data: dh.public_value().to_vec(),
        }));
        payloads.push(Payload::Nonce(NoncePayload {
            data: init.ni.clone(),
        }));
        payloads.push(Payload::Notify(NotifyPayload::nat_detection_source(
            nat_hash(self.spi_i, 0, self.local),
        )));
        payloads.push(Payload::Notify(NotifyPayload::nat_detection_destination(
            nat_hash(self.spi_i, 0, self.remote),
        )));
        if cfg.fragmentation.enabled {
            payloads.push(Payload::Notify(NotifyPayload::new(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                Vec::new(),
            )));
        }
        payloads.extend(signature_hash_notify(&cfg));
        let msg = Message {
            header: Header {
                spi_i: self.spi_i,
                spi_r: 0,
                exchange_type: ExchangeType::IKE_SA_INIT,
                initiator: true,
                response: false,
                message_id: 0,
            },
            payloads,
        };
        let bytes = msg.emit()?;
        init.request = bytes.clone();
        sh.send(self.local, self.remote, &bytes);
        self.pending = Some(Pending {
            message_id: 0,
            datagrams: vec![bytes],
            transmissions: 1,
            kind: Request::Init,
        });
        self.next_msg_id = 1;
        self.timers
            .set(Timer::Retransmit, now + cfg.retransmit.timeout(1));
        Ok(())
    }

    /// A new SA as responder from an IKE_SA_INIT request (cookie already
    /// checked). `Err` with a notify to send statelessly, or a drop.
    pub(crate) fn respond_init(
        sh: &mut Shared,
        now: Instant,
        path_local: SocketAddr,
        path_remote: SocketAddr,
        msg: &Message,
        raw: &[u8],
    ) -> Result<Self, InitRefusal> {
        let cfg = sh.config.clone();
        let mut sa_p = None;
        let mut ke = None;
        let mut nonce = None;
        for p in &msg.payloads {
            match p {
                Payload::Sa(s) if sa_p.is_none() => sa_p = Some(s),
                Payload::Ke(k) if ke.is_none() => ke = Some(k),
                Payload::Nonce(n) if nonce.is_none() => nonce = Some(n),
                _ => {}
            }
        }
        let (Some(sa_p), Some(ke), Some(nonce)) = (sa_p, ke, nonce) else {
            return Err(InitRefusal::Drop(
                Malformed::Payload("SA, KE and Nonce").into(),
            ));
        };
        let (answer, suite) =
            match proposal::select_ike(&cfg.ike_proposals, sa_p, Some(ke.group), Vec::new()) {
                Ok(x) => x,
                Err(e) => {
                    return Err(match e {
                        Error::Malformed(_) => InitRefusal::Drop(e),
                        _ => InitRefusal::Notify(
                            NotifyPayload::new(NotifyType::NO_PROPOSAL_CHOSEN, Vec::new()),
                            e,
                        ),
                    })
                }
            };
        //= https://www.rfc-editor.org/rfc/rfc7296#section-1.2
        //# If the guess turns out to be wrong, the responder will indicate
        //# the group it prefers in an INVALID_KE_PAYLOAD Notify payload.
        if ke.group != wire_dh(suite.dh()) {
            return Err(InitRefusal::Notify(
                NotifyPayload::invalid_ke(wire_dh(suite.dh())),
                PeerMisbehaved::ErrorNotify(NotifyType::INVALID_KE_PAYLOAD).into(),
            ));
        }
        let id = sh.new_id();
        let mut sa = Self::blank(id, now, path_local, path_remote, IkeState::InitResponded);
        sa.spi_i = msg.header.spi_i;
        let spi_r = sh.new_ike_spi(id);
        sa.spi_r = spi_r;
        let fail = |sh: &mut Shared, e: Error| {
            sh.by_spi.remove(&spi_r);
            InitRefusal::Drop(e)
        };
        let dh = match sh.dh(suite.dh()) {
            Ok(d) => d,
            Err(e) => return Err(fail(sh, e)),
        };
        let ke_r = dh.public_value().to_vec();
        let g = match dh.agree(&ke.data) {
            Ok(g) => g,
            Err(e) => return Err(fail(sh, e.into())),
        };
        let nr = sh.nonce();
        let keys = match IkeSaKeys::from_shared_secret(
            &suite,
            g.as_bytes(),
            &nonce.data,
            &nr,
            &sa.spi_i.to_be_bytes(),
            &spi_r.to_be_bytes(),
        ) {
            Ok(k) => k,
            Err(e) => return Err(fail(sh, e.into())),
        };
        let sk = match keys.sk_ciphers(&suite, Role::Responder) {
            Ok(s) => s,
            Err(e) => return Err(fail(sh, e.into())),
        };
        sa.nat =
            detect_nat(&msg.payloads, sa.spi_i, 0, path_local, path_remote).unwrap_or_default();
        //= https://www.rfc-editor.org/rfc/rfc7383#section-2.3
        //# If the responder supports IKE fragmentation and is willing to use
        //# it, then it MUST include this notification in its response.
        let peer_frag = msg
            .notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)
            .is_some();
        sa.frag = cfg.fragmentation.enabled && peer_frag;
        let mut payloads = vec![
            Payload::Sa(SaPayload {
                proposals: vec![answer],
            }),
            Payload::Ke(KePayload {
                group: wire_dh(suite.dh()),
                data: ke_r,
            }),
            Payload::Nonce(NoncePayload { data: nr.clone() }),
            Payload::Notify(NotifyPayload::nat_detection_source(nat_hash(
                sa.spi_i, spi_r, path_local,
            ))),
            Payload::Notify(NotifyPayload::nat_detection_destination(nat_hash(
                sa.spi_i,
                spi_r,
                path_remote,
            ))),
        ];
        if sa.frag {
            payloads.push(Payload::Notify(NotifyPayload::new(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                Vec::new(),
            )));
        }
        payloads.extend(signature_hash_notify(&cfg));
        payloads.extend(cfg.authenticator.cert_request().map(Payload::CertReq));
        let mut h = msg.header.response_header();
        h.spi_r = spi_r;
        let response = match (Message {
            header: h,
            payloads,
        })
        .emit()
        {
            Ok(b) => b,
            Err(e) => return Err(fail(sh, e.into())),
        };
        sh.send(path_local, path_remote, &response);
        sa.suite = Some(suite);
        sa.keys = Some(keys);
        sa.sk = Some(sk);
        sa.init = Some(InitData {
            ni: nonce.data.clone(),
            nr,
            request: raw.to_vec(),
            response: response.clone(),
            dh: None,
            cookie: None,
            retries: 0,
            peer_hashes: peer_hash_algorithms(&msg.payloads),
        });
        sa.last_response = Some((0, vec![response]));
        sa.expected_request = 1;
        sa.half_open_key = Some((path_remote, sa.spi_i));
        sa.timers.set(Timer::Setup, now + cfg.dos.half_open_timeout);
        sh.events.push_back(Event::IkeSaStateChanged {
            ike_sa: id,
            from: None,
            to: IkeState::InitResponded,
        });
        Ok(sa)
    }

    // ----- sending -----

    /// Encrypts an inner chain into one SK message or several SKF
    /// fragments.
    fn seal(
        &mut self,
        sh: &Shared,
        header: Header,
        payloads: &[Payload],
    ) -> Result<Vec<Vec<u8>>, Error> {
        let (first, plain) = emit_inner(payloads)?;
        self.seal_plain(sh, header, first, &plain)
    }

    /// Encrypts an inner chain given as bytes.
    fn seal_plain(
        &mut self,
        sh: &Shared,
        header: Header,
        first: codec::PayloadType,
        plain: &[u8],
    ) -> Result<Vec<Vec<u8>>, Error> {
        let Some(sk) = &mut self.sk else {
            return Err(LocalError::NoSuchSa.into());
        };
        let cfg = &sh.config;
        let ip_udp = if self.remote.is_ipv4() {
            20 + 8
        } else {
            40 + 8
        };
        let marker = if self.local.port() == cfg.ports.1 {
            4
        } else {
            0
        };
        let whole = ip_udp + marker + HEADER_LEN + 4 + sk.outbound.sealed_len(plain.len());
        //= https://www.rfc-editor.org/rfc/rfc7383#section-2.5
        //# Only messages that contain an Encrypted payload are
        //# subject to IKE fragmentation.
        let fragment = self.frag
            && whole > cfg.fragmentation.mtu
            && header.exchange_type != ExchangeType::IKE_SA_INIT;
        if !fragment {
            let body_len = sk.outbound.sealed_len(plain.len());
            let mut sb = emit_protected(&header, &[], ProtectedLayout::Sk(first), body_len)?;
            let (aad, body) = sb.split_mut();
            let sealed = sk.outbound.seal(aad, plain)?;
            if sealed.len() != body.len() {
                return Err(LocalError::Crypto(super::crypto::CryptoError::Internal).into());
            }
            body.copy_from_slice(&sealed);
            return Ok(vec![sb.into_bytes()]);
        }
        let room = cfg.fragmentation.mtu - ip_udp - marker - HEADER_LEN - 8;
        let budget = sk
            .outbound
            .max_plaintext_len(room)
            .filter(|b| *b > 0)
            .ok_or(LocalError::Crypto(super::crypto::CryptoError::Internal))?;
        let pieces = fragment::split_fragments(first, plain, budget)?;
        let mut out = Vec::with_capacity(pieces.len());
        for p in pieces {
            let body_len = sk.outbound.sealed_len(p.plaintext.len());
            let mut sb = emit_protected(&header, &[], ProtectedLayout::Fragment(p.info), body_len)?;
            let (aad, body) = sb.split_mut();
            let sealed = sk.outbound.seal(aad, p.plaintext)?;
            if sealed.len() != body.len() {
                return Err(LocalError::Crypto(super::crypto::CryptoError::Internal).into());
            }
            body.copy_from_slice(&sealed);
            out.push(sb.into_bytes());
        }
        Ok(out)
    }

    fn send_request(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        exchange: ExchangeType,
        payloads: &[Payload],
        kind: Request,
    ) -> Result<(), Error> {
        let header = Header {
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            exchange_type: exchange,
            initiator: self.original_initiator,
            response: false,
            message_id: self.next_msg_id,
        };
        let datagrams = self.seal(sh, header, payloads)?;
        for d in &datagrams {
            sh.send(self.local, self.remote, d);
        }
        self.pending = Some(Pending {
            message_id: self.next_msg_id,
            datagrams,
            transmissions: 1,
            kind,
        });
        self.next_msg_id = self.next_msg_id.wrapping_add(1);
        self.timers
            .set(Timer::Retransmit, now + sh.config.retransmit.timeout(1));
        Ok(())
    }

    fn send_response(&mut self, sh: &mut Shared, req: &Header, path: Path, payloads: &[Payload]) {
        let header = req.response_header();
        match self.seal(sh, header, payloads) {
            Ok(datagrams) => {
                for d in &datagrams {
                    sh.send(path.local, path.remote, d);
                }
                self.last_response = Some((req.message_id, datagrams));
            }
            Err(e) => {
                sh.drop_msg(e);
                self.last_response = None;
            }
        }
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.2
        //# The responder MUST remember
        //# the last response
        self.expected_request = req.message_id.wrapping_add(1);
    }

    // ----- receiving -----

    /// Opens an SK message or one SKF fragment.
    fn open(
        &mut self,
        raw: &[u8],
        is_response: bool,
        message_id: u32,
        only_verify: bool,
    ) -> (Opened, Option<u16>) {
        let outer = match Message::parse_outer(raw) {
            Ok(o) => o,
            Err(e) => return (Opened::Drop(e.into()), None),
        };
        let Some(enc) = outer.encrypted else {
            return (Opened::Drop(Malformed::Payload("SK").into()), None);
        };
        let Some(sk) = &self.sk else {
            return (Opened::Drop(LocalError::NoSuchSa.into()), None);
        };
        match enc.kind() {
            ProtectedKind::Sk => match sk.inbound.open(enc.associated_data(), enc.body()) {
                Err(e) => (Opened::Drop(e.into()), None),
                Ok(_) if only_verify => (Opened::Partial, Some(1)),
                Ok(plain) => match codec::parse_inner(enc.inner_next(), plain.as_bytes()) {
                    Ok(ps) => (Opened::Payloads(ps), Some(1)),
                    Err(e) => (Opened::Invalid(e), Some(1)),
                },
            },
            ProtectedKind::Fragment(info) => {
                if !self.frag {
                    return (
                        Opened::Drop(PeerMisbehaved::FragmentationNotNegotiated.into()),
                        None,
                    );
                }
                if only_verify {
                    return match sk.inbound.open(enc.associated_data(), enc.body()) {
                        Err(e) => (Opened::Drop(e.into()), None),
                        Ok(_) => (Opened::Partial, Some(info.number)),
                    };
                }
                let fresh = !matches!(&self.reasm, Some((r, re)) if *r == is_response && re.message_id() == message_id);
                if fresh {
                    self.reasm = Some((
                        is_response,
                        fragment::Reassembler::new(
                            message_id,
                            fragment::ReassemblyLimits::default(),
                        ),
                    ));
                }
                let Some((_, re)) = &mut self.reasm else {
                    return (Opened::Drop(LocalError::NoSuchSa.into()), None);
                };
                match re.accepts(message_id, &info) {
                    Err(e) => return (Opened::Drop(Malformed::Fragment(e).into()), None),
                    Ok(false) => return (Opened::Partial, Some(info.number)),
                    Ok(true) => {}
                }
                let plain = match sk.inbound.open(enc.associated_data(), enc.body()) {
                    Ok(p) => p,
                    Err(e) => return (Opened::Drop(e.into()), None),
                };
                match re.insert(message_id, &info, plain.as_bytes()) {
                    Err(e) => (Opened::Drop(Malformed::Fragment(e).into()), None),
                    Ok(fragment::Progress::Complete(m)) => {
                        self.reasm = None;
                        match m.parse() {
                            Ok(ps) => (Opened::Payloads(ps), Some(info.number)),
                            Err(e) => (Opened::Invalid(e), Some(info.number)),
                        }
                    }
                    Ok(_) => (Opened::Partial, Some(info.number)),
                }
            }
        }
    }

    /// A datagram for this SA (marker removed). `path`: where it came from
    /// and to.
    pub(crate) fn handle(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        raw: &[u8],
        header: Header,
    ) {
        let path = Path { local, remote };
        if header.exchange_type == ExchangeType::IKE_SA_INIT {
            if header.response && self.state == IkeState::InitSent {
                match Message::parse(raw) {
                    Ok(m) => self.handle_init_response(sh, now, path, &m, raw),
                    Err(e) => sh.drop_msg(e.into()),
                }
            } else if !header.response
                && self.state == IkeState::InitResponded
                && header.message_id == 0
            {
                // A retransmitted IKE_SA_INIT request.
                if let Some((0, d)) = &self.last_response {
                    for x in d.clone() {
                        sh.send(local, remote, &x);
                    }
                    sh.stats.responses_resent += 1;
                }
            } else {
                sh.drop_msg(PeerMisbehaved::UnexpectedExchange(header.exchange_type).into());
            }
            return;
        }
        if matches!(self.state, IkeState::InitSent) || self.sk.is_none() {
            sh.drop_msg(PeerMisbehaved::UnexpectedExchange(header.exchange_type).into());
            return;
        }
        if header.response {
            self.handle_response(sh, now, path, raw, header);
        } else {
            self.handle_request(sh, now, path, raw, header);
        }
    }

    fn handle_response(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        path: Path,
        raw: &[u8],
        header: Header,
    ) {
        let Some(p) = &self.pending else {
            sh.drop_msg(
                PeerMisbehaved::MessageIdOutOfWindow {
                    got: header.message_id,
                    expected: self.next_msg_id,
                }
                .into(),
            );
            return;
        };
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.3
        //# An endpoint MUST NOT
        //# exceed the peer's stated window size for transmitted IKE requests.
        if p.message_id != header.message_id || self.state == IkeState::Closed {
            sh.drop_msg(
                PeerMisbehaved::MessageIdOutOfWindow {
                    got: header.message_id,
                    expected: p.message_id,
                }
                .into(),
            );
            return;
        }
        let opened = self.open(raw, true, header.message_id, false).0;
        let payloads = match opened {
            Opened::Payloads(ps) => ps,
            Opened::Partial => return,
            Opened::Invalid(e) => {
                // An authenticated but malformed response: the exchange
                // failed; treat it as an error answer. (Anything that did
                // not authenticate is dropped below and changes nothing.)
                sh.drop_msg(e.into());
                Vec::new()
            }
            Opened::Drop(e) => {
                sh.drop_msg(e);
                return;
            }
        };
        self.last_inbound = now;
        self.hold = false;
        self.update_path(sh, path);
        let Some(p) = self.pending.take() else { return };
        self.timers.stop(Timer::Retransmit);
        match p.kind {
            Request::Init => {}
            Request::Auth { child_spi } => self.handle_auth_response(sh, now, &payloads, child_spi),
            Request::Dpd => {}
            Request::DeleteChild(spis) => {
                for spi in spis {
                    self.remove_child(sh, spi, None);
                }
            }
            Request::DeleteIke => {
                self.set_state(sh, IkeInput::Deleted);
                self.close(sh, now, None);
            }
            Request::RekeyChild {
                old_inbound,
                new_inbound,
                ni,
                dh,
                retries,
            } => {
                self.handle_rekey_child_response(
                    sh,
                    now,
                    &payloads,
                    old_inbound,
                    new_inbound,
                    ni,
                    dh,
                    retries,
                );
            }
            Request::RekeyIke {
                new_id,
                new_spi,
                ni,
                dh,
                retries,
            } => {
                self.handle_rekey_ike_response(
                    sh, now, &payloads, new_id, new_spi, ni, dh, retries,
                );
            }
        }
        self.kick(sh, now);
    }

    /// RFC 7296 section 2.23: with a NAT, follow the peer's address.
    fn update_path(&mut self, sh: &mut Shared, path: Path) {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.23
        //# If a NAT is detected, the
        //# address and port of the peer are updated from the authenticated
        //# message
        if self.nat.any() && (path.remote != self.remote || path.local != self.local) {
            self.remote = path.remote;
            self.local = path.local;
            if self.up {
                sh.events.push_back(Event::PeerAddressChanged {
                    ike_sa: self.id,
                    local: self.local,
                    remote: self.remote,
                });
            }
        }
    }

    fn handle_request(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        path: Path,
        raw: &[u8],
        header: Header,
    ) {
        if header.message_id.wrapping_add(1) == self.expected_request {
            //= https://www.rfc-editor.org/rfc/rfc7296#section-2.2
            //# If it receives such a retransmitted request, it MUST
            //# retransmit the response
            let (o, number) = self.open(raw, false, header.message_id, true);
            if let Opened::Drop(e) = o {
                sh.drop_msg(e);
                return;
            }
            //= https://www.rfc-editor.org/rfc/rfc7383#section-2.6.1
            //# the responder MUST only
            //# retransmit the response after receiving the first fragment
            if number == Some(1) {
                if let Some((id, d)) = &self.last_response {
                    if *id == header.message_id {
                        for x in d.clone() {
                            sh.send(path.local, path.remote, &x);
                        }
                        sh.stats.responses_resent += 1;
                    }
                }
            }
            return;
        }
        if header.message_id != self.expected_request || self.state == IkeState::Closed {
            sh.drop_msg(
                PeerMisbehaved::MessageIdOutOfWindow {
                    got: header.message_id,
                    expected: self.expected_request,
                }
                .into(),
            );
            return;
        }
        let payloads = match self.open(raw, false, header.message_id, false).0 {
            Opened::Payloads(ps) => ps,
            Opened::Partial => return,
            Opened::Invalid(e) => {
                //= https://www.rfc-editor.org/rfc/rfc7296#section-2.21.2
                //# If a
                //# message is received that is properly protected but is
                //# syntactically invalid, the recipient MUST respond with
                //# an INVALID_SYNTAX notification
                let (t, data) = e.suggested_notify();
                let n = NotifyPayload::new(t, data.map(|d| vec![d]).unwrap_or_default());
                self.send_response(sh, &header, path, &[Payload::Notify(n)]);
                sh.drop_msg(e.into());
                if matches!(self.state, IkeState::InitResponded) {
                    self.fail(sh, now, DownReason::Failed(Malformed::Codec(e).into()));
                }
                return;
            }
            Opened::Drop(e) => {
                sh.drop_msg(e);
                return;
            }
        };
        self.last_inbound = now;
        self.hold = false;
        self.update_path(sh, path);
        match header.exchange_type {
            ExchangeType::IKE_AUTH if self.state == IkeState::InitResponded => {
                self.handle_auth_request(sh, now, path, &header, &payloads);
            }
            ExchangeType::INFORMATIONAL if self.state != IkeState::InitResponded => {
                self.handle_informational_request(sh, now, path, &header, &payloads);
            }
            ExchangeType::CREATE_CHILD_SA if self.state != IkeState::InitResponded => {
                self.handle_create_child_request(sh, now, path, &header, &payloads);
            }
            t => {
                sh.drop_msg(PeerMisbehaved::UnexpectedExchange(t).into());
                return;
            }
        }
        self.kick(sh, now);
    }

    // ----- IKE_SA_INIT (initiator) -----

    fn handle_init_response(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        path: Path,
        m: &Message,
        raw: &[u8],
    ) {
        let cfg = sh.config.clone();
        if !matches!(
            self.pending,
            Some(Pending {
                kind: Request::Init,
                ..
            })
        ) {
            return;
        }
        let Some(init) = &mut self.init else { return };
        if let Some(c) = m.notify(NotifyType::COOKIE) {
            if init.retries >= MAX_INIT_RETRIES {
                self.fail(
                    sh,
                    now,
                    DownReason::Failed(PeerMisbehaved::InvalidCookie.into()),
                );
                return;
            }
            init.retries += 1;
            init.cookie = Some(c.data.clone());
            self.set_state(sh, IkeInput::InitRetry);
            if let Err(e) = self.send_init_request(sh, now) {
                self.fail(sh, now, DownReason::Failed(e));
            }
            return;
        }
        if let Some(n) = m.notify(NotifyType::INVALID_KE_PAYLOAD) {
            let wanted = n.invalid_ke_group().and_then(proposal::crypto_dh);
            let allowed = wanted.filter(|g| cfg.ike_proposals.iter().any(|p| p.dh.contains(g)));
            let current = init.dh.as_ref().map(DhPrivateKey::group);
            match allowed {
                Some(g) if init.retries < MAX_INIT_RETRIES && Some(g) != current => {
                    init.retries += 1;
                    match sh.dh(g) {
                        Ok(d) => init.dh = Some(d),
                        Err(e) => {
                            self.fail(sh, now, DownReason::Failed(e));
                            return;
                        }
                    }
                    self.set_state(sh, IkeInput::InitRetry);
                    if let Err(e) = self.send_init_request(sh, now) {
                        self.fail(sh, now, DownReason::Failed(e));
                    }
                }
                _ => self.fail(
                    sh,
                    now,
                    DownReason::Failed(
                        PeerMisbehaved::ErrorNotify(NotifyType::INVALID_KE_PAYLOAD).into(),
                    ),
                ),
            }
            return;
        }
        if let Some(n) = m.notifies().find(|n| n.notify_type.is_error()) {
            let t = n.notify_type;
            self.fail(
                sh,
                now,
                DownReason::Failed(PeerMisbehaved::ErrorNotify(t).into()),
            );
            return;
        }
        let result = (|| -> Result<(), Error> {
            let mut sa_p = None;
            let mut ke = None;
            let mut nonce = None;
            for p in &m.payloads {
                match p {
                    Payload::Sa(s) => sa_p = Some(s),
                    Payload::Ke(k) => ke = Some(k),
                    Payload::Nonce(n) => nonce = Some(n),
                    _ => {}
                }
            }
            let (Some(sa_p), Some(ke), Some(nonce)) = (sa_p, ke, nonce) else {
                return Err(Malformed::Payload("SA, KE and Nonce").into());
            };
            if m.header.spi_r == 0 {
                return Err(Malformed::Codec(codec::Error::InvalidValue {
                    what: "responder SPI",
                    value: 0,
                })
                .into());
            }
            let (_, suite) = proposal::accept_ike(&cfg.ike_proposals, sa_p)?;
            let init = self.init.as_mut().ok_or(LocalError::NoSuchSa)?;
            let dh = init.dh.take().ok_or(LocalError::NoSuchSa)?;
            if dh.group() != suite.dh() || ke.group != wire_dh(suite.dh()) {
                return Err(PeerMisbehaved::NoProposalChosen.into());
            }
            let g = dh.agree(&ke.data)?;
            let spi_r = m.header.spi_r;
            let keys = IkeSaKeys::from_shared_secret(
                &suite,
                g.as_bytes(),
                &init.ni,
                &nonce.data,
                &self.spi_i.to_be_bytes(),
                &spi_r.to_be_bytes(),
            )?;
            let sk = keys.sk_ciphers(&suite, Role::Initiator)?;
            init.nr = nonce.data.clone();
            init.response = raw.to_vec();
            init.peer_hashes = peer_hash_algorithms(&m.payloads);
            self.spi_r = spi_r;
            self.suite = Some(suite);
            self.keys = Some(keys);
            self.sk = Some(sk);
            self.nat = detect_nat(&m.payloads, self.spi_i, spi_r, path.local, path.remote)
                .unwrap_or_default();
            self.frag = cfg.fragmentation.enabled
                && m.notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)
                    .is_some();
            Ok(())
        })();
        if let Err(e) = result {
            self.fail(sh, now, DownReason::Failed(e));
            return;
        }
        self.pending = None;
        self.timers.stop(Timer::Retransmit);
        self.last_inbound = now;
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.23
        //# If a NAT is detected, both devices MUST send all subsequent
        //# traffic to and from UDP port 4500
        if self.nat.any() && self.local.port() != cfg.ports.1 {
            self.local.set_port(cfg.ports.1);
            self.remote.set_port(cfg.ports.1);
        }
        self.set_state(sh, IkeInput::InitDone);
        if let Err(e) = self.send_auth_request(sh, now) {
            self.fail(sh, now, DownReason::Failed(e));
        }
    }

    fn cp_request(cfg: &Config) -> Option<CpPayload> {
        let c = &cfg.cp_request;
        if !c.enabled() {
            return None;
        }
        let mut attributes = Vec::new();
        if c.ipv4 {
            attributes.push(CfgAttribute::request(
                CfgAttributeType::INTERNAL_IP4_ADDRESS,
            ));
        }
        if c.ipv6 {
            attributes.push(CfgAttribute::request(
                CfgAttributeType::INTERNAL_IP6_ADDRESS,
            ));
        }
        if c.dns {
            if c.ipv4 || !c.ipv6 {
                attributes.push(CfgAttribute::request(CfgAttributeType::INTERNAL_IP4_DNS));
            }
            if c.ipv6 {
                attributes.push(CfgAttribute::request(CfgAttributeType::INTERNAL_IP6_DNS));
            }
            attributes.push(CfgAttribute::request(CfgAttributeType::INTERNAL_DNS_DOMAIN));
        }
        for p in &c.announce {
            attributes.push(subnet_attr(p));
        }
        Some(CpPayload {
            cfg_type: CfgType::REQUEST,
            attributes,
        })
    }

    fn send_auth_request(&mut self, sh: &mut Shared, now: Instant) -> Result<(), Error> {
        let cfg = sh.config.clone();
        let child_spi = sh.spis.allocate().ok_or(LocalError::NoSpi)?;
        let res = (|| -> Result<Vec<Payload>, Error> {
            let suite = self.suite.ok_or(LocalError::NoSuchSa)?;
            let keys = self.keys.as_ref().ok_or(LocalError::NoSuchSa)?;
            let init = self.init.as_ref().ok_or(LocalError::NoSuchSa)?;
            let idi = cfg.local_id.to_payload();
            //= https://www.rfc-editor.org/rfc/rfc7296#section-2.15
            //# The initiator signs the first message (IKE_SA_INIT request),
            //# starting with the first octet of the first SPI in the header
            //# and ending with the last octet of the last payload.
            let octets = signed_octets(
                suite.prf(),
                &init.request,
                &init.nr,
                keys.own_sk_p(Role::Initiator),
                &idi.auth_octets(),
            )?;
            let ctx = AuthContext {
                now,
                peer_certs: &[],
                peer_hash_algorithms: &init.peer_hashes,
            };
            let auth = cfg
                .authenticator
                .sign_auth(suite.prf(), self.expected_peer.as_ref(), &octets, &ctx)
                .map_err(PeerMisbehaved::Auth)?;
            let mut ps = vec![Payload::IdI(idi)];
            ps.extend(
                cfg.authenticator
                    .certificates()
                    .into_iter()
                    .map(Payload::Cert),
            );
            ps.extend(cfg.authenticator.cert_request().map(Payload::CertReq));
            if self.initial_contact {
                ps.push(Payload::Notify(NotifyPayload::new(
                    NotifyType::INITIAL_CONTACT,
                    Vec::new(),
                )));
            }
            if let Some(exp) = &self.expected_peer {
                ps.push(Payload::IdR(exp.to_payload()));
            }
            ps.push(Payload::Auth(auth));
            if let Some(cp) = Self::cp_request(&cfg) {
                ps.push(Payload::Cp(cp));
            }
            ps.push(Payload::Sa(proposal::esp_offer(
                &cfg.esp_proposals,
                child_spi,
                false,
                None,
            )));
            ps.push(Payload::TsI(TsPayload {
                selectors: cfg.ts.local.clone(),
            }));
            ps.push(Payload::TsR(TsPayload {
                selectors: cfg.ts.remote.clone(),
            }));
            Ok(ps)
        })();
        let payloads = match res {
            Ok(p) => p,
            Err(e) => {
                sh.spis.release(child_spi);
                return Err(e);
            }
        };
        if let Err(e) = self.send_request(
            sh,
            now,
            ExchangeType::IKE_AUTH,
            &payloads,
            Request::Auth { child_spi },
        ) {
            sh.spis.release(child_spi);
            return Err(e);
        }
        Ok(())
    }

    fn handle_auth_response(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        payloads: &[Payload],
        child_spi: u32,
    ) {
        let cfg = sh.config.clone();
        if notifies(payloads).any(|n| n.notify_type == NotifyType::AUTHENTICATION_FAILED) {
            sh.spis.release(child_spi);
            self.auth_failed(sh, now, None, AuthFailure::RejectedByPeer);
            return;
        }
        let idr = payloads.iter().find_map(|p| match p {
            Payload::IdR(i) => Some(i),
            _ => None,
        });
        let auth = payloads.iter().find_map(|p| match p {
            Payload::Auth(a) => Some(a),
            _ => None,
        });
        let (Some(idr), Some(auth)) = (idr, auth) else {
            sh.spis.release(child_spi);
            match notifies(payloads).find(|n| n.notify_type.is_error()) {
                Some(n) => {
                    let t = n.notify_type;
                    self.fail(
                        sh,
                        now,
                        DownReason::Failed(PeerMisbehaved::ErrorNotify(t).into()),
                    );
                }
                None => {
                    self.auth_failed(sh, now, None, AuthFailure::MissingPayload("IDr and AUTH"))
                }
            }
            return;
        };
        let peer = Identity::from_payload(idr);
        if let Err(f) = self.check_peer(sh, now, payloads, &peer, idr, auth, true) {
            sh.spis.release(child_spi);
            //= https://www.rfc-editor.org/rfc/rfc7296#section-2.21.2
            //# If the error occurred on the initiator, the notification MAY be
            //# returned in a separate INFORMATIONAL exchange, usually with no
            //# other payloads.
            let n = [Payload::Notify(NotifyPayload::new(
                NotifyType::AUTHENTICATION_FAILED,
                Vec::new(),
            ))];
            let header = Header {
                spi_i: self.spi_i,
                spi_r: self.spi_r,
                exchange_type: ExchangeType::INFORMATIONAL,
                initiator: true,
                response: false,
                message_id: self.next_msg_id,
            };
            if let Ok(d) = self.seal(sh, header, &n) {
                for x in d {
                    sh.send(self.local, self.remote, &x);
                }
            }
            self.auth_failed(sh, now, Some(peer), f);
            return;
        }
        self.peer_id = Some(peer.clone());
        // Configuration reply.
        let mut vips = Vec::new();
        let mut dns = Vec::new();
        let mut domain = None;
        let mut routes = Vec::new();
        for p in payloads {
            if let Payload::Cp(cp) = p {
                if cp.cfg_type != CfgType::REPLY {
                    continue;
                }
                for a in &cp.attributes {
                    match a.attr_type {
                        CfgAttributeType::INTERNAL_IP4_ADDRESS => {
                            if let Some(v) = a.as_ipv4() {
                                vips.push(IpAddr::V4(v));
                            }
                        }
                        CfgAttributeType::INTERNAL_IP6_ADDRESS => {
                            if let Some((v, _)) = a.as_ipv6_prefix() {
                                vips.push(IpAddr::V6(v));
                            }
                        }
                        CfgAttributeType::INTERNAL_IP4_DNS => {
                            dns.extend(a.as_ipv4().map(IpAddr::V4))
                        }
                        CfgAttributeType::INTERNAL_IP6_DNS => {
                            dns.extend(a.as_ipv6().map(IpAddr::V6))
                        }
                        CfgAttributeType::INTERNAL_DNS_DOMAIN => {
                            domain = String::from_utf8(a.value.clone())
                                .ok()
                                .filter(|s| !s.is_empty());
                        }
                        CfgAttributeType::INTERNAL_IP4_SUBNET
                        | CfgAttributeType::INTERNAL_IP6_SUBNET => {
                            if let Some(pfx) = subnet_of(a) {
                                routes.push(Route {
                                    prefix: pfx,
                                    kind: RouteKind::Pushed,
                                });
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        for v in &vips {
            routes.insert(
                0,
                Route {
                    prefix: IpPrefix::host(*v),
                    kind: RouteKind::AssignedToUs,
                },
            );
        }
        self.set_state(sh, IkeInput::AuthResponseOk);
        self.established(sh, now);
        sh.events.push_back(Event::TunnelUp(TunnelUp {
            ike_sa: self.id,
            peer_id: peer.clone(),
            local: self.local,
            remote: self.remote,
            nat: self.nat,
            initiator: true,
            virtual_ips: vips,
            assigned_ips: Vec::new(),
            dns,
            domain,
        }));
        self.up = true;
        // The first Child SA.
        let child = (|| -> Result<(), Error> {
            let sa = payloads.iter().find_map(|p| match p {
                Payload::Sa(s) => Some(s),
                _ => None,
            });
            let tsi = payloads.iter().find_map(|p| match p {
                Payload::TsI(t) => Some(t),
                _ => None,
            });
            let tsr = payloads.iter().find_map(|p| match p {
                Payload::TsR(t) => Some(t),
                _ => None,
            });
            let (Some(sa), Some(tsi), Some(tsr)) = (sa, tsi, tsr) else {
                return Err(
                    match notifies(payloads).find(|n| n.notify_type.is_error()) {
                        Some(n) => PeerMisbehaved::ErrorNotify(n.notify_type).into(),
                        None => Malformed::Payload("SA, TSi and TSr").into(),
                    },
                );
            };
            let choice = proposal::accept_esp(&cfg.esp_proposals, sa, None)?;
            //= https://www.rfc-editor.org/rfc/rfc7296#section-2.9
            //# the responder is allowed to narrow the choices by selecting a
            //# subset of the traffic
            if !selectors::is_subset(&tsi.selectors, &cfg.ts.local)
                || !selectors::is_subset(&tsr.selectors, &cfg.ts.remote)
            {
                return Err(PeerMisbehaved::TsUnacceptable.into());
            }
            let (ni, nr) = {
                let init = self.init.as_ref().ok_or(LocalError::NoSuchSa)?;
                (init.ni.clone(), init.nr.clone())
            };
            self.install_child(
                sh,
                now,
                child_spi,
                &choice,
                None,
                &ni,
                &nr,
                Role::Initiator,
                tsi.selectors.clone(),
                tsr.selectors.clone(),
                None,
            )
        })();
        if let Err(e) = child {
            sh.spis.release(child_spi);
            sh.drop_msg(e);
        }
        if !routes.is_empty() {
            self.routes = routes.clone();
            sh.events.push_back(Event::RoutesAdd(RouteUpdate {
                ike_sa: self.id,
                peer_id: peer,
                remote: self.remote,
                routes,
            }));
        }
        self.init = None;
    }

    /// Checks the peer's identity and AUTH payload.
    #[allow(clippy::too_many_arguments)]
    fn check_peer(
        &self,
        sh: &Shared,
        now: Instant,
        payloads: &[Payload],
        peer: &Identity,
        id: &IdPayload,
        auth: &AuthPayload,
        we_initiated: bool,
    ) -> Result<(), AuthFailure> {
        let cfg = &sh.config;
        if we_initiated {
            if let Some(exp) = &self.expected_peer {
                if !IdentityMatch::Exact(exp.clone()).matches(peer) {
                    return Err(AuthFailure::UnexpectedIdentity {
                        expected: exp.clone(),
                        got: peer.clone(),
                    });
                }
            }
        }
        if !cfg.remote_match.is_empty() && !cfg.remote_match.iter().any(|m| m.matches(peer)) {
            return Err(AuthFailure::IdentityNotAccepted(peer.clone()));
        }
        let (Some(suite), Some(keys), Some(init)) =
            (self.suite, self.keys.as_ref(), self.init.as_ref())
        else {
            return Err(AuthFailure::BadAuthData);
        };
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.15
        //# Each peer MUST check the AUTH payload of the other
        let (message, nonce) = if we_initiated {
            (&init.response, &init.ni)
        } else {
            (&init.request, &init.nr)
        };
        let octets = signed_octets(
            suite.prf(),
            message,
            nonce,
            keys.peer_sk_p(self.role()),
            &id.auth_octets(),
        )
        .map_err(|_| AuthFailure::BadAuthData)?;
        let certs: Vec<&[u8]> = payloads
            .iter()
            .filter_map(|p| match p {
                Payload::Cert(c) if c.encoding == codec::CertEncoding::X509_SIGNATURE => {
                    Some(&c.data[..])
                }
                _ => None,
            })
            .collect();
        let ctx = AuthContext {
            now,
            peer_certs: &certs,
            peer_hash_algorithms: &init.peer_hashes,
        };
        cfg.authenticator
            .verify_auth(suite.prf(), peer, auth, &octets, &ctx)
    }

    fn auth_failed(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        peer: Option<Identity>,
        reason: AuthFailure,
    ) {
        sh.events.push_back(Event::AuthFailed {
            ike_sa: self.id,
            remote: self.remote,
            peer_id: peer,
            reason,
        });
        self.set_state(sh, IkeInput::AuthFailed);
        self.close(sh, now, Some(DownReason::AuthFailed));
    }

    /// Timers of a fresh established SA.
    /// The successor of this SA made by a rekey in which we had `role`:
    /// its keys from `g` (g^ir of the rekey exchange), the nonces and the
    /// new SPIs (initiator's, responder's), and this SA's peer, NAT state
    /// and fragmentation; established, not (yet) holding the tunnel.
    #[allow(clippy::too_many_arguments)]
    fn rekeyed(
        &self,
        sh: &mut Shared,
        now: Instant,
        new_id: IkeSaId,
        suite: IkeSuite,
        g: &SecretBytes,
        (ni, nr): (&[u8], &[u8]),
        (spi_i, spi_r): (u64, u64),
        role: Role,
    ) -> Result<Self, Error> {
        let old_suite = self.suite.ok_or(LocalError::NoSuchSa)?;
        let keys = self.keys.as_ref().ok_or(LocalError::NoSuchSa)?;
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.18
        //# SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
        let new_keys = keys.rekey(
            &old_suite,
            &suite,
            g.as_bytes(),
            ni,
            nr,
            &spi_i.to_be_bytes(),
            &spi_r.to_be_bytes(),
        )?;
        let sk = new_keys.sk_ciphers(&suite, role)?;
        let mut n = Self::blank(new_id, now, self.local, self.remote, IkeState::Established);
        n.original_initiator = role == Role::Initiator;
        n.spi_i = spi_i;
        n.spi_r = spi_r;
        n.suite = Some(suite);
        n.keys = Some(new_keys);
        n.sk = Some(sk);
        n.nat = self.nat;
        n.frag = self.frag;
        n.peer_id = self.peer_id.clone();
        n.up = self.up;
        n.owns_tunnel = false;
        n.established(sh, now);
        Ok(n)
    }

    fn established(&mut self, sh: &mut Shared, now: Instant) {
        let cfg = sh.config.clone();
        self.timers.stop(Timer::Setup);
        if let Some(d) = cfg.dpd {
            self.timers.set(Timer::Dpd, now + d.interval);
        }
        let rekey = jitter(sh, cfg.lifetimes.ike_rekey);
        self.timers.set(Timer::IkeRekey, now + rekey);
    }

    // ----- IKE_AUTH (responder) -----

    fn handle_auth_request(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        path: Path,
        header: &Header,
        payloads: &[Payload],
    ) {
        let cfg = sh.config.clone();
        let idi = payloads.iter().find_map(|p| match p {
            Payload::IdI(i) => Some(i),
            _ => None,
        });
        let auth = payloads.iter().find_map(|p| match p {
            Payload::Auth(a) => Some(a),
            _ => None,
        });
        let fail_auth =
            |this: &mut Self, sh: &mut Shared, peer: Option<Identity>, f: AuthFailure| {
                //= https://www.rfc-editor.org/rfc/rfc7296#section-2.21.2
                //# If the error occurs on the responder, the
                //# notification is returned in the protected response, and is usually
                //# the only payload in that response.
                let n = [Payload::Notify(NotifyPayload::new(
                    NotifyType::AUTHENTICATION_FAILED,
                    Vec::new(),
                ))];
                this.send_response(sh, header, path, &n);
                this.auth_failed(sh, now, peer, f);
            };
        let (Some(idi), Some(auth)) = (idi, auth) else {
            fail_auth(self, sh, None, AuthFailure::MissingPayload("IDi and AUTH"));
            return;
        };
        let peer = Identity::from_payload(idi);
        if let Some(Payload::IdR(idr)) = payloads.iter().find(|p| matches!(p, Payload::IdR(_))) {
            let asked = Identity::from_payload(idr);
            if !IdentityMatch::Exact(cfg.local_id.clone()).matches(&asked) {
                fail_auth(
                    self,
                    sh,
                    Some(peer),
                    AuthFailure::UnexpectedIdentity {
                        expected: cfg.local_id.clone(),
                        got: asked,
                    },
                );
                return;
            }
        }
        if let Err(f) = self.check_peer(sh, now, payloads, &peer, idi, auth, false) {
            fail_auth(self, sh, Some(peer), f);
            return;
        }
        let our_auth = (|| -> Result<Vec<Payload>, AuthFailure> {
            let suite = self.suite.ok_or(AuthFailure::BadAuthData)?;
            let keys = self.keys.as_ref().ok_or(AuthFailure::BadAuthData)?;
            let init = self.init.as_ref().ok_or(AuthFailure::BadAuthData)?;
            let idr = cfg.local_id.to_payload();
            let octets = signed_octets(
                suite.prf(),
                &init.response,
                &init.ni,
                keys.own_sk_p(Role::Responder),
                &idr.auth_octets(),
            )
            .map_err(|_| AuthFailure::BadAuthData)?;
            let ctx = AuthContext {
                now,
                peer_certs: &[],
                peer_hash_algorithms: &init.peer_hashes,
            };
            let auth = cfg
                .authenticator
                .sign_auth(suite.prf(), Some(&peer), &octets, &ctx)?;
            let mut ps = vec![Payload::IdR(idr)];
            ps.extend(
                cfg.authenticator
                    .certificates()
                    .into_iter()
                    .map(Payload::Cert),
            );
            ps.push(Payload::Auth(auth));
            Ok(ps)
        })();
        let mut out = match our_auth {
            Ok(p) => p,
            Err(f) => {
                fail_auth(self, sh, Some(peer), f);
                return;
            }
        };
        self.peer_id = Some(peer.clone());
        // Configuration payload.
        let mut routes = Vec::new();
        let mut child_error: Option<NotifyType> = None;
        if let Some(cp) = payloads.iter().find_map(|p| match p {
            Payload::Cp(c) if c.cfg_type == CfgType::REQUEST => Some(c),
            _ => None,
        }) {
            match self.cp_reply(sh, cp, &mut routes) {
                Ok(reply) => out.push(Payload::Cp(reply)),
                Err(n) => child_error = Some(n),
            }
        }
        // The first Child SA.
        let sa = payloads.iter().find_map(|p| match p {
            Payload::Sa(s) => Some(s),
            _ => None,
        });
        let tsi = payloads.iter().find_map(|p| match p {
            Payload::TsI(t) => Some(t),
            _ => None,
        });
        let tsr = payloads.iter().find_map(|p| match p {
            Payload::TsR(t) => Some(t),
            _ => None,
        });
        // The Child SA's event goes after TunnelUp (below).
        let mark = sh.events.len();
        if let (None, Some(sa), Some(tsi), Some(tsr)) = (child_error, sa, tsi, tsr) {
            let (ni, nr) = self
                .init
                .as_ref()
                .map(|i| (i.ni.clone(), i.nr.clone()))
                .unwrap_or_default();
            match self.respond_child(sh, now, sa, tsi, tsr, None, &ni, &nr, false, None) {
                Ok(ps) => out.extend(ps),
                Err(n) => child_error = Some(n),
            }
        }
        if let Some(n) = child_error {
            out.push(Payload::Notify(NotifyPayload::new(n, Vec::new())));
        }
        self.send_response(sh, header, path, &out);
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.10.1
        //# INITIAL_CONTACT                          16384
        //#
        //#     This notification asserts that this IKE SA is the only IKE SA
        //#     currently active between the authenticated identities.
        if notifies(payloads).any(|n| n.notify_type == NotifyType::INITIAL_CONTACT) {
            sh.actions.push(Action::InitialContact {
                keep: self.id,
                peer: peer.clone(),
            });
        }
        self.set_state(sh, IkeInput::AuthRequestOk);
        self.established(sh, now);
        // TunnelUp comes before the Child SA and routes events.
        let (child_events, other): (Vec<Event>, Vec<Event>) = sh
            .events
            .drain(mark.min(sh.events.len())..)
            .partition(|e| matches!(e, Event::ChildSaInstalled(c) if c.ike_sa == self.id));
        sh.events.extend(other);
        sh.events.push_back(Event::TunnelUp(TunnelUp {
            ike_sa: self.id,
            peer_id: peer.clone(),
            local: self.local,
            remote: self.remote,
            nat: self.nat,
            initiator: false,
            virtual_ips: Vec::new(),
            assigned_ips: self.assigned.clone(),
            dns: Vec::new(),
            domain: None,
        }));
        sh.events.extend(child_events);
        self.up = true;
        if !routes.is_empty() {
            self.routes = routes.clone();
            sh.events.push_back(Event::RoutesAdd(RouteUpdate {
                ike_sa: self.id,
                peer_id: peer,
                remote: self.remote,
                routes,
            }));
        }
        self.init = None;
    }

    /// Builds CFG_REPLY, assigning addresses; the routes to install go to
    /// `routes`. `Err`: the notify that replaces the Child SA.
    fn cp_reply(
        &mut self,
        sh: &mut Shared,
        req: &CpPayload,
        routes: &mut Vec<Route>,
    ) -> Result<CpPayload, NotifyType> {
        let cfg = sh.config.clone();
        let wants = |t| req.get(t).next().is_some();
        let mut attributes = Vec::new();
        let pool = cfg.pool.clone().unwrap_or_default();
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.15.4
        //# If the responder
        //# encounters an error while attempting to assign an IP address to the
        //# initiator during the processing of a Configuration payload, it
        //# responds with an INTERNAL_ADDRESS_FAILURE notification.
        // Only families the pool has are assigned (a responder without a
        // pool, such as a spoke answering a shortcut, assigns nothing and
        // still creates the Child SA); an exhausted pool is a failure.
        if wants(CfgAttributeType::INTERNAL_IP4_ADDRESS) && pool.v4.is_some() {
            let Some(a) = sh.pools.allocate_v4() else {
                self.release_addresses(sh);
                return Err(NotifyType::INTERNAL_ADDRESS_FAILURE);
            };
            self.assigned.push(IpAddr::V4(a));
            attributes.push(CfgAttribute::ipv4(
                CfgAttributeType::INTERNAL_IP4_ADDRESS,
                a,
            ));
            routes.push(Route {
                prefix: IpPrefix::host(IpAddr::V4(a)),
                kind: RouteKind::AssignedToPeer,
            });
        }
        if wants(CfgAttributeType::INTERNAL_IP6_ADDRESS) && pool.v6.is_some() {
            let Some(a) = sh.pools.allocate_v6() else {
                self.release_addresses(sh);
                return Err(NotifyType::INTERNAL_ADDRESS_FAILURE);
            };
            self.assigned.push(IpAddr::V6(a));
            attributes.push(CfgAttribute::ipv6_prefix(
                CfgAttributeType::INTERNAL_IP6_ADDRESS,
                a,
                128,
            ));
            routes.push(Route {
                prefix: IpPrefix::host(IpAddr::V6(a)),
                kind: RouteKind::AssignedToPeer,
            });
        }
        for d in &pool.dns {
            match d {
                IpAddr::V4(a) => {
                    attributes.push(CfgAttribute::ipv4(CfgAttributeType::INTERNAL_IP4_DNS, *a))
                }
                IpAddr::V6(a) => {
                    attributes.push(CfgAttribute::ipv6(CfgAttributeType::INTERNAL_IP6_DNS, *a))
                }
            }
        }
        if let Some(d) = &pool.domain {
            attributes.push(CfgAttribute {
                attr_type: CfgAttributeType::INTERNAL_DNS_DOMAIN,
                value: d.as_bytes().to_vec(),
            });
        }
        for r in &pool.routes {
            attributes.push(subnet_attr(r));
        }
        if cfg.accept_peer_routes {
            for a in req.attributes.iter().filter(|a| !a.value.is_empty()) {
                if matches!(
                    a.attr_type,
                    CfgAttributeType::INTERNAL_IP4_SUBNET | CfgAttributeType::INTERNAL_IP6_SUBNET
                ) {
                    if let Some(p) = subnet_of(a) {
                        routes.push(Route {
                            prefix: p,
                            kind: RouteKind::Accepted,
                        });
                    }
                }
            }
        }
        Ok(CpPayload {
            cfg_type: CfgType::REPLY,
            attributes,
        })
    }

    fn release_addresses(&mut self, sh: &mut Shared) {
        for a in self.assigned.drain(..) {
            sh.pools.release(a);
        }
    }

    /// Responder side of a Child SA (IKE_AUTH or CREATE_CHILD_SA):
    /// proposal, selectors, SPI, keys; the payloads to answer with.
    #[allow(clippy::too_many_arguments)]
    fn respond_child(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        sa: &SaPayload,
        tsi: &TsPayload,
        tsr: &TsPayload,
        ke: Option<&KePayload>,
        ni: &[u8],
        nr: &[u8],
        create_child: bool,
        replaces: Option<u32>,
    ) -> Result<Vec<Payload>, NotifyType> {
        let cfg = sh.config.clone();
        let choice =
            proposal::select_esp(&cfg.esp_proposals, sa, create_child, ke.map(|k| k.group))
                .map_err(|_| NotifyType::NO_PROPOSAL_CHOSEN)?;
        let mut our_ke = None;
        let mut g_ir = None;
        if let Some(g) = choice.dh {
            //= https://www.rfc-editor.org/rfc/rfc7296#section-1.3
            //# If the responder selects a proposal using a different Diffie-Hellman
            //# group (other than NONE), the responder MUST reject the request and
            //# indicate its preferred Diffie-Hellman group in the
            //# INVALID_KE_PAYLOAD Notify payload.
            let Some(ke) = ke.filter(|k| k.group == wire_dh(g)) else {
                return Err(NotifyType::INVALID_KE_PAYLOAD);
            };
            let dh = sh.dh(g).map_err(|_| NotifyType::NO_PROPOSAL_CHOSEN)?;
            our_ke = Some(KePayload {
                group: wire_dh(g),
                data: dh.public_value().to_vec(),
            });
            g_ir = Some(dh.agree(&ke.data).map_err(|_| NotifyType::INVALID_SYNTAX)?);
        }
        let remote_allowed: Vec<TrafficSelector> =
            if cfg.ts.narrow_to_virtual_ip && !self.assigned.is_empty() {
                self.assigned
                    .iter()
                    .map(|a| IpPrefix::host(*a).to_ts())
                    .collect()
            } else {
                cfg.ts.remote.clone()
            };
        let peer_ts = selectors::narrow(&tsi.selectors, &remote_allowed);
        let our_ts = selectors::narrow(&tsr.selectors, &cfg.ts.local);
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.9
        //# If the responder's policy does not allow it to accept any part of
        //# the proposed Traffic Selectors, it responds with a TS_UNACCEPTABLE
        //# Notify message.
        if peer_ts.is_empty() || our_ts.is_empty() {
            return Err(NotifyType::TS_UNACCEPTABLE);
        }
        let spi = sh.spis.allocate().ok_or(NotifyType::NO_ADDITIONAL_SAS)?;
        if let Err(e) = self.install_child(
            sh,
            now,
            spi,
            &choice,
            g_ir.as_ref(),
            ni,
            nr,
            Role::Responder,
            our_ts.clone(),
            peer_ts.clone(),
            replaces,
        ) {
            sh.spis.release(spi);
            sh.drop_msg(e);
            return Err(NotifyType::NO_PROPOSAL_CHOSEN);
        }
        let mut answer = choice.answer.clone();
        answer.spi = spi.to_be_bytes().to_vec();
        let mut out = vec![Payload::Sa(SaPayload {
            proposals: vec![answer],
        })];
        if create_child {
            out.push(Payload::Nonce(NoncePayload { data: nr.to_vec() }));
            if let Some(k) = our_ke {
                out.push(Payload::Ke(k));
            }
        }
        out.push(Payload::TsI(TsPayload { selectors: peer_ts }));
        out.push(Payload::TsR(TsPayload { selectors: our_ts }));
        Ok(out)
    }

    /// Derives the keys of a Child SA, records it and reports it.
    #[allow(clippy::too_many_arguments)]
    fn install_child(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        inbound_spi: u32,
        choice: &proposal::EspChoice,
        g_ir: Option<&SecretBytes>,
        ni: &[u8],
        nr: &[u8],
        role: Role,
        local_ts: Vec<TrafficSelector>,
        remote_ts: Vec<TrafficSelector>,
        replaces: Option<u32>,
    ) -> Result<(), Error> {
        let cfg = sh.config.clone();
        let suite = self.suite.ok_or(LocalError::NoSuchSa)?;
        let keys = self.keys.as_ref().ok_or(LocalError::NoSuchSa)?;
        let ck = ChildSaKeys::derive(
            suite.prf(),
            keys.sk_d(),
            &choice.suite,
            g_ir.map(SecretBytes::as_bytes),
            ni,
            nr,
        )?;
        let (out_k, in_k) = ck.outbound_inbound(role);
        let soft = jitter(sh, cfg.lifetimes.child_rekey);
        let hard = cfg.lifetimes.child_rekey + cfg.lifetimes.hard_margin;
        self.had_child = true;
        self.children.push(ChildSa {
            state: ChildState::Installed,
            inbound_spi,
            outbound_spi: choice.peer_spi,
            suite: choice.suite,
            esn: choice.esn,
            local_ts: local_ts.clone(),
            remote_ts: remote_ts.clone(),
            rekey_at: Some(now + soft),
            expire_at: now + hard,
            remove_reason: ChildRemoveReason::DeletedLocally,
            peer_rekey: None,
        });
        sh.events
            .push_back(Event::ChildSaInstalled(Box::new(ChildSaInstalled {
                ike_sa: self.id,
                peer_id: self.peer_id.clone().unwrap_or(Identity::Other {
                    id_type: 0,
                    data: Vec::new(),
                }),
                local: self.local,
                remote: self.remote,
                udp_encap: self.nat.any() || self.local.port() == cfg.ports.1,
                inbound_spi,
                outbound_spi: choice.peer_spi,
                encr: choice.suite.encr(),
                inbound_key: SecretBytes::from_slice(in_k.encr_key_material()),
                outbound_key: SecretBytes::from_slice(out_k.encr_key_material()),
                esn: choice.esn,
                replay_window: cfg.replay_window,
                soft_lifetime: soft,
                hard_lifetime: hard,
                local_ts,
                remote_ts,
                replaces,
            })));
        Ok(())
    }

    /// Removes a Child SA (by inbound SPI) and reports it.
    fn remove_child(&mut self, sh: &mut Shared, inbound: u32, reason: Option<ChildRemoveReason>) {
        let Some(pos) = self.children.iter().position(|c| c.inbound_spi == inbound) else {
            return;
        };
        let mut c = self.children.swap_remove(pos);
        if let Some(pr) = c.peer_rekey.take() {
            // Our rekey of it is still pending: keep the collision record.
            self.orphan_rekey = Some((c.inbound_spi, pr));
        }
        c.set_state(ChildInput::Removed);
        sh.events.push_back(Event::ChildSaRemoved {
            ike_sa: self.id,
            inbound_spi: c.inbound_spi,
            outbound_spi: c.outbound_spi,
            reason: reason.unwrap_or(c.remove_reason),
        });
        sh.spis.release(c.inbound_spi);
    }

    /// An always-on tunnel: its initiator replaces a lost last Child SA
    /// (expired, or deleted by the peer) unless the operator deleted it.
    fn want_child(&mut self) {
        if self.children.is_empty()
            && self.had_child
            && self.original_initiator
            && self.owns_tunnel
            && self.state == IkeState::Established
            && !self.no_auto_child
            && !self.queue.contains(&Task::CreateChild)
            && !self.retry_tasks.contains(&Task::CreateChild)
            && !matches!(
                self.pending,
                Some(Pending {
                    kind: Request::RekeyChild { .. },
                    ..
                })
            )
        {
            self.queue.push_back(Task::CreateChild);
        }
    }

    // ----- INFORMATIONAL -----

    fn handle_informational_request(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        path: Path,
        header: &Header,
        payloads: &[Payload],
    ) {
        let mut ours = Vec::new();
        let mut delete_ike = false;
        for p in payloads {
            match p {
                Payload::Delete(d) if d.protocol == ProtocolId::IKE => delete_ike = true,
                Payload::Delete(d) if d.protocol == ProtocolId::ESP => {
                    for spi in &d.spis {
                        let Some(c) = self.children.iter().find(|c| c.outbound_spi == *spi) else {
                            // Possibly the Child SA our pending rekey creates:
                            // remembered, removed as soon as it is installed.
                            if matches!(
                                self.pending,
                                Some(Pending {
                                    kind: Request::RekeyChild { .. },
                                    ..
                                })
                            ) {
                                self.deleted_early.push(*spi);
                            }
                            continue;
                        };
                        let inbound = c.inbound_spi;
                        //= https://www.rfc-editor.org/rfc/rfc7296#section-1.4.1
                        //# If by chance both ends of a set
                        //# of SAs independently decide to close them, each may send a
                        //# Delete payload and the two requests may cross in the
                        //# network.  If a node receives a delete request for SAs for
                        //# which it has already issued a delete request, it MUST
                        //# delete the outgoing SAs while processing the request and
                        //# the incoming SAs while processing the response.
                        if c.state != ChildState::Deleting {
                            ours.push(inbound);
                        }
                        let reason = if c.state == ChildState::Rekeyed {
                            ChildRemoveReason::Rekeyed
                        } else {
                            ChildRemoveReason::DeletedByPeer
                        };
                        self.remove_child(sh, inbound, Some(reason));
                    }
                }
                _ => {}
            }
        }
        if notifies(payloads).any(|n| n.notify_type == NotifyType::AUTHENTICATION_FAILED) {
            self.send_response(sh, header, path, &[]);
            let peer = self.peer_id.clone();
            self.auth_failed_established(sh, now, peer);
            return;
        }
        if delete_ike {
            //= https://www.rfc-editor.org/rfc/rfc7296#section-1.4.1
            //# Deleting an IKE SA implicitly closes any remaining
            //# Child SAs negotiated under it.  The response to a request that
            //# deletes the IKE SA is an empty INFORMATIONAL response.
            self.send_response(sh, header, path, &[]);
            if let Some(next) = self.successor {
                sh.actions.push(Action::Release(next));
            }
            if self.set_state(sh, IkeInput::Deleted) {
                self.resolve_ike_collision_on_death(sh);
                self.close(sh, now, Some(DownReason::DeletedByPeer));
            }
            return;
        }
        let mut out = Vec::new();
        if !ours.is_empty() {
            out.push(Payload::Delete(DeletePayload {
                protocol: ProtocolId::ESP,
                spis: ours,
            }));
        }
        self.send_response(sh, header, path, &out);
    }

    fn auth_failed_established(&mut self, sh: &mut Shared, now: Instant, peer: Option<Identity>) {
        sh.events.push_back(Event::AuthFailed {
            ike_sa: self.id,
            remote: self.remote,
            peer_id: peer,
            reason: AuthFailure::RejectedByPeer,
        });
        self.set_state(sh, IkeInput::Deleted);
        self.close(sh, now, Some(DownReason::AuthFailed));
    }

    // ----- CREATE_CHILD_SA (responder) -----

    fn handle_create_child_request(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        path: Path,
        header: &Header,
        payloads: &[Payload],
    ) {
        let cfg = sh.config.clone();
        let notify = |t: NotifyType| vec![Payload::Notify(NotifyPayload::new(t, Vec::new()))];
        if !matches!(self.state, IkeState::Established | IkeState::Rekeying) {
            //= https://www.rfc-editor.org/rfc/rfc7296#section-2.25
            //# A peer that receives a CREATE_CHILD_SA request for an SA that
            //# it is currently rekeying or deleting SHOULD reply with
            //# TEMPORARY_FAILURE.
            self.send_response(sh, header, path, &notify(NotifyType::TEMPORARY_FAILURE));
            return;
        }
        let sa = payloads.iter().find_map(|p| match p {
            Payload::Sa(s) => Some(s),
            _ => None,
        });
        let nonce = payloads.iter().find_map(|p| match p {
            Payload::Nonce(n) => Some(n),
            _ => None,
        });
        let ke = payloads.iter().find_map(|p| match p {
            Payload::Ke(k) => Some(k),
            _ => None,
        });
        let (Some(sa), Some(nonce)) = (sa, nonce) else {
            self.send_response(sh, header, path, &notify(NotifyType::INVALID_SYNTAX));
            return;
        };
        if sa
            .proposals
            .first()
            .is_some_and(|p| p.protocol == ProtocolId::IKE)
        {
            self.respond_ike_rekey(sh, now, path, header, sa, nonce, ke);
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.25.2
        //# If a peer receives a request to rekey a Child SA when it is
        //# currently rekeying the IKE SA, it SHOULD reply with
        //# TEMPORARY_FAILURE.
        if self.state == IkeState::Rekeying {
            self.send_response(sh, header, path, &notify(NotifyType::TEMPORARY_FAILURE));
            return;
        }
        let rekey = notifies(payloads).find(|n| n.notify_type == NotifyType::REKEY_SA);
        let mut old = None;
        if let Some(r) = rekey {
            let spi = r.spi_u32().unwrap_or(0);
            match self.children.iter().find(|c| c.outbound_spi == spi) {
                None if matches!(
                    self.pending,
                    Some(Pending {
                        kind: Request::RekeyChild { .. },
                        ..
                    })
                ) =>
                {
                    // Likely the Child SA our own pending exchange creates,
                    // which the peer installed before our response came:
                    // ask it to try again.
                    self.send_response(sh, header, path, &notify(NotifyType::TEMPORARY_FAILURE));
                    return;
                }
                None => {
                    //= https://www.rfc-editor.org/rfc/rfc7296#section-2.25
                    //# If a peer receives a request to rekey a Child SA that
                    //# does not exist, it SHOULD reply with CHILD_SA_NOT_FOUND.
                    let n = NotifyPayload::with_spi(
                        NotifyType::CHILD_SA_NOT_FOUND,
                        ProtocolId::ESP,
                        spi,
                        Vec::new(),
                    );
                    self.send_response(sh, header, path, &[Payload::Notify(n)]);
                    return;
                }
                Some(c) if c.state == ChildState::Deleting => {
                    //= https://www.rfc-editor.org/rfc/rfc7296#section-2.25.1
                    //# If a peer receives a request to rekey a Child SA that it is
                    //# currently trying to close, it SHOULD reply with
                    //# TEMPORARY_FAILURE.
                    self.send_response(sh, header, path, &notify(NotifyType::TEMPORARY_FAILURE));
                    return;
                }
                Some(c) => old = Some(c.inbound_spi),
            }
        }
        let tsi = payloads.iter().find_map(|p| match p {
            Payload::TsI(t) => Some(t),
            _ => None,
        });
        let tsr = payloads.iter().find_map(|p| match p {
            Payload::TsR(t) => Some(t),
            _ => None,
        });
        let (Some(tsi), Some(tsr)) = (tsi, tsr) else {
            self.send_response(sh, header, path, &notify(NotifyType::INVALID_SYNTAX));
            return;
        };
        let nr = sh.nonce();
        let before = self.children.len();
        match self.respond_child(sh, now, sa, tsi, tsr, ke, &nonce.data, &nr, true, old) {
            Ok(ps) => {
                let new_inbound = self
                    .children
                    .get(before)
                    .map(|c| c.inbound_spi)
                    .unwrap_or(0);
                if let Some(old) = old {
                    if let Some(c) = self.children.iter_mut().find(|c| c.inbound_spi == old) {
                        if c.state == ChildState::Rekeying {
                            // A collision: decided when our own rekey ends.
                            c.peer_rekey = Some(PeerRekey {
                                lowest_nonce: lowest(&nonce.data, &nr).to_vec(),
                                created: new_inbound,
                            });
                        } else {
                            c.set_state(ChildInput::Replaced);
                            c.rekey_at = None;
                            c.remove_reason = ChildRemoveReason::Rekeyed;
                        }
                    }
                }
                self.send_response(sh, header, path, &ps);
            }
            Err(NotifyType::INVALID_KE_PAYLOAD) => {
                let g = proposal::select_esp(&cfg.esp_proposals, sa, true, None)
                    .ok()
                    .and_then(|c| c.dh)
                    .map(wire_dh)
                    .unwrap_or(codec::DhGroup::NONE);
                self.send_response(
                    sh,
                    header,
                    path,
                    &[Payload::Notify(NotifyPayload::invalid_ke(g))],
                );
            }
            Err(n) => self.send_response(sh, header, path, &notify(n)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn respond_ike_rekey(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        path: Path,
        header: &Header,
        sa: &SaPayload,
        nonce: &NoncePayload,
        ke: Option<&KePayload>,
    ) {
        let cfg = sh.config.clone();
        let notify = |t: NotifyType| vec![Payload::Notify(NotifyPayload::new(t, Vec::new()))];
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.25.2
        //# If a peer receives a request to rekey an IKE SA, and it is
        //# currently creating, rekeying, or deleting a Child SA of this IKE SA,
        //# it SHOULD reply with TEMPORARY_FAILURE.
        let child_busy = matches!(
            self.pending,
            Some(Pending {
                kind: Request::RekeyChild { .. } | Request::DeleteChild(_),
                ..
            })
        );
        if child_busy {
            self.send_response(sh, header, path, &notify(NotifyType::TEMPORARY_FAILURE));
            return;
        }
        let Some(ke) = ke else {
            self.send_response(sh, header, path, &notify(NotifyType::INVALID_SYNTAX));
            return;
        };
        let new_id = sh.new_id();
        let our_spi = sh.new_ike_spi(new_id);
        let (answer, suite) = match proposal::select_ike(
            &cfg.ike_proposals,
            sa,
            Some(ke.group),
            our_spi.to_be_bytes().to_vec(),
        ) {
            Ok(x) => x,
            Err(_) => {
                sh.by_spi.remove(&our_spi);
                self.send_response(sh, header, path, &notify(NotifyType::NO_PROPOSAL_CHOSEN));
                return;
            }
        };
        let peer_spi = sa
            .proposals
            .iter()
            .find(|p| p.number == answer.number)
            .and_then(|p| <[u8; 8]>::try_from(&p.spi[..]).ok())
            .map(u64::from_be_bytes)
            .filter(|s| *s != 0);
        let Some(peer_spi) = peer_spi else {
            sh.by_spi.remove(&our_spi);
            self.send_response(sh, header, path, &notify(NotifyType::INVALID_SYNTAX));
            return;
        };
        if ke.group != wire_dh(suite.dh()) {
            sh.by_spi.remove(&our_spi);
            self.send_response(
                sh,
                header,
                path,
                &[Payload::Notify(NotifyPayload::invalid_ke(wire_dh(
                    suite.dh(),
                )))],
            );
            return;
        }
        let nr = sh.nonce();
        let built = (|| -> Result<(Self, Vec<u8>), Error> {
            let dh = sh.dh(suite.dh())?;
            let ke_r = dh.public_value().to_vec();
            let g = dh.agree(&ke.data)?;
            let mut n = self.rekeyed(
                sh,
                now,
                new_id,
                suite,
                &g,
                (&nonce.data, &nr),
                (peer_spi, our_spi),
                Role::Responder,
            )?;
            //= https://www.rfc-editor.org/rfc/rfc7296#section-2.18
            //# After the new equivalent IKE SA is created, the initiator deletes
            //# the old IKE SA
            // Until then the initiator may not have the new SA: hold.
            n.hold = true;
            n.timers.set(Timer::Hold, now + cfg.dos.half_open_timeout);
            Ok((n, ke_r))
        })();
        let (new_sa, ke_r) = match built {
            Ok(x) => x,
            Err(e) => {
                sh.by_spi.remove(&our_spi);
                sh.drop_msg(e);
                self.send_response(sh, header, path, &notify(NotifyType::NO_PROPOSAL_CHOSEN));
                return;
            }
        };
        let out = vec![
            Payload::Sa(SaPayload {
                proposals: vec![answer],
            }),
            Payload::Nonce(NoncePayload { data: nr.clone() }),
            Payload::Ke(KePayload {
                group: wire_dh(suite.dh()),
                data: ke_r,
            }),
        ];
        self.send_response(sh, header, path, &out);
        sh.events.push_back(Event::IkeSaStateChanged {
            ike_sa: new_id,
            from: None,
            to: IkeState::Established,
        });
        self.successor = Some(new_id);
        sh.actions.push(Action::Register(Box::new(new_sa)));
        if self.state == IkeState::Rekeying {
            //= https://www.rfc-editor.org/rfc/rfc7296#section-2.8.2
            //# If a redundant SA is created through such a collision, the
            //# SA created with the lowest of the four nonces used in the two
            //# exchanges SHOULD be closed by the endpoint that created it.
            self.peer_ike_rekey = Some(PeerRekey {
                lowest_nonce: lowest(&nonce.data, &nr).to_vec(),
                created: new_id,
            });
        } else {
            self.transfer_pending = true;
            sh.actions.push(Action::Transfer {
                from: self.id,
                to: new_id,
            });
            self.set_state(sh, IkeInput::Replaced);
            self.timers.set(Timer::Linger, now + linger(&cfg));
        }
    }

    /// Called when this SA dies while a peer's rekey of it created a
    /// successor that has not yet received the Child SAs.
    fn resolve_ike_collision_on_death(&mut self, sh: &mut Shared) {
        if let Some(pr) = self.peer_ike_rekey.take() {
            if self.owns_tunnel {
                self.transfer_pending = true;
                sh.actions.push(Action::Transfer {
                    from: self.id,
                    to: pr.created,
                });
            }
        }
    }

    // ----- requests we start -----

    /// Starts queued work while the window is free.
    pub(crate) fn kick(&mut self, sh: &mut Shared, now: Instant) {
        self.want_child();
        while self.pending.is_none() && !self.transfer_pending && !self.hold {
            let Some(task) = self.queue.pop_front() else {
                return;
            };
            if let Err(e) = self.start(sh, now, task) {
                sh.drop_msg(e);
            }
        }
    }

    fn enqueue(&mut self, sh: &mut Shared, now: Instant, task: Task) {
        if !self.queue.contains(&task) {
            self.queue.push_back(task);
        }
        self.kick(sh, now);
    }

    fn start(&mut self, sh: &mut Shared, now: Instant, task: Task) -> Result<(), Error> {
        let cfg = sh.config.clone();
        match task {
            Task::Dpd => {
                if matches!(self.state, IkeState::Established | IkeState::Rekeyed) {
                    //= https://www.rfc-editor.org/rfc/rfc7296#section-1.4
                    //# An INFORMATIONAL request with no payloads (other than the
                    //# empty Encrypted payload required by the syntax) is commonly
                    //# used as a check for liveness.
                    self.send_request(sh, now, ExchangeType::INFORMATIONAL, &[], Request::Dpd)?;
                }
            }
            Task::DeleteChild(spi) => {
                if !matches!(self.state, IkeState::Established) {
                    return Ok(());
                }
                let Some(c) = self.children.iter_mut().find(|c| c.inbound_spi == spi) else {
                    return Ok(());
                };
                if !c.set_state(ChildInput::DeleteStart) {
                    return Ok(());
                }
                c.rekey_at = None;
                let d = DeletePayload {
                    protocol: ProtocolId::ESP,
                    spis: vec![spi],
                };
                self.send_request(
                    sh,
                    now,
                    ExchangeType::INFORMATIONAL,
                    &[Payload::Delete(d)],
                    Request::DeleteChild(vec![spi]),
                )?;
            }
            Task::CreateChild => {
                if self.state == IkeState::Established && self.children.is_empty() {
                    let group = cfg.esp_proposals[0].pfs.first().copied();
                    self.send_rekey_child(
                        sh,
                        now,
                        0,
                        group,
                        0,
                        cfg.ts.local.clone(),
                        cfg.ts.remote.clone(),
                    )?;
                }
            }
            Task::RekeyChild(spi) => {
                if self.state != IkeState::Established {
                    // Not now (the IKE SA is being rekeyed or deleted): the
                    // Child SA's timer tries again.
                    if let Some(c) = self
                        .children
                        .iter_mut()
                        .find(|c| c.inbound_spi == spi && c.state == ChildState::Installed)
                    {
                        c.rekey_at = Some(now + TEMPORARY_FAILURE_RETRY);
                    }
                    return Ok(());
                }
                let Some(c) = self
                    .children
                    .iter()
                    .find(|c| c.inbound_spi == spi && c.state == ChildState::Installed)
                else {
                    return Ok(());
                };
                let group = cfg.esp_proposals[0].pfs.first().copied();
                self.send_rekey_child(
                    sh,
                    now,
                    spi,
                    group,
                    0,
                    c.local_ts.clone(),
                    c.remote_ts.clone(),
                )?;
            }
            Task::RekeyIke => {
                if self.state != IkeState::Established {
                    return Ok(());
                }
                let group = self
                    .suite
                    .map(|s| s.dh())
                    .unwrap_or(cfg.ike_proposals[0].dh[0]);
                self.send_rekey_ike(sh, now, group, 0)?;
            }
            Task::DeleteIke => {
                if !self.set_state(sh, IkeInput::DeleteStart) {
                    return Ok(());
                }
                let owned = self.owns_tunnel;
                self.teardown(
                    sh,
                    if owned {
                        Some(DownReason::DeletedLocally)
                    } else {
                        None
                    },
                );
                let d = DeletePayload {
                    protocol: ProtocolId::IKE,
                    spis: Vec::new(),
                };
                self.send_request(
                    sh,
                    now,
                    ExchangeType::INFORMATIONAL,
                    &[Payload::Delete(d)],
                    Request::DeleteIke,
                )?;
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn send_rekey_child(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        old_inbound: u32,
        group: Option<DhGroup>,
        retries: u32,
        local_ts: Vec<TrafficSelector>,
        remote_ts: Vec<TrafficSelector>,
    ) -> Result<(), Error> {
        let cfg = sh.config.clone();
        let new_inbound = sh.spis.allocate().ok_or(LocalError::NoSpi)?;
        let ni = sh.nonce();
        let dh = match group.map(|g| sh.dh(g)).transpose() {
            Ok(d) => d,
            Err(e) => {
                sh.spis.release(new_inbound);
                return Err(e);
            }
        };
        //= https://www.rfc-editor.org/rfc/rfc7296#section-1.3.3
        //# The SA being rekeyed is identified by the SPI field in the
        //# Notify payload; this is the SPI the exchange initiator would
        //# expect in inbound ESP or AH packets.
        let mut ps = Vec::new();
        // Old inbound SPI 0: a new Child SA, not a rekey.
        if old_inbound != 0 {
            ps.push(Payload::Notify(NotifyPayload::with_spi(
                NotifyType::REKEY_SA,
                ProtocolId::ESP,
                old_inbound,
                Vec::new(),
            )));
        }
        ps.extend([
            Payload::Sa(proposal::esp_offer(
                &cfg.esp_proposals,
                new_inbound,
                group.is_some(),
                group,
            )),
            Payload::Nonce(NoncePayload { data: ni.clone() }),
        ]);
        if let Some(d) = &dh {
            ps.push(Payload::Ke(KePayload {
                group: wire_dh(d.group()),
                data: d.public_value().to_vec(),
            }));
        }
        ps.push(Payload::TsI(TsPayload {
            selectors: local_ts,
        }));
        ps.push(Payload::TsR(TsPayload {
            selectors: remote_ts,
        }));
        let kind = Request::RekeyChild {
            old_inbound,
            new_inbound,
            ni,
            dh,
            retries,
        };
        if let Err(e) = self.send_request(sh, now, ExchangeType::CREATE_CHILD_SA, &ps, kind) {
            sh.spis.release(new_inbound);
            return Err(e);
        }
        if let Some(c) = self
            .children
            .iter_mut()
            .find(|c| c.inbound_spi == old_inbound)
        {
            c.set_state(ChildInput::RekeyStart);
            c.rekey_at = None;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_rekey_child_response(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        payloads: &[Payload],
        old_inbound: u32,
        new_inbound: u32,
        ni: Vec<u8>,
        dh: Option<DhPrivateKey>,
        retries: u32,
    ) {
        let cfg = sh.config.clone();
        let abort = |this: &mut Self, sh: &mut Shared, retry: bool| {
            sh.spis.release(new_inbound);
            this.deleted_early.clear();
            if old_inbound == 0 {
                // A new Child SA failed: try again later.
                this.retry_tasks.push(Task::CreateChild);
                let delay = if retry {
                    TEMPORARY_FAILURE_RETRY
                } else {
                    CHILD_REKEY_RETRY
                };
                this.timers.set(Timer::Retry, now + delay);
                return;
            }
            if let Some(c) = this
                .children
                .iter_mut()
                .find(|c| c.inbound_spi == old_inbound)
            {
                if c.peer_rekey.is_some() {
                    // The peer's rekey of it stands; it deletes this one.
                    c.set_state(ChildInput::Replaced);
                    c.remove_reason = ChildRemoveReason::Rekeyed;
                } else {
                    c.set_state(ChildInput::RekeyAbort);
                    // Try again soon (TEMPORARY_FAILURE) or later (another
                    // failure); the hard lifetime bounds it.
                    c.rekey_at = Some(
                        now + if retry {
                            TEMPORARY_FAILURE_RETRY
                        } else {
                            CHILD_REKEY_RETRY
                        },
                    );
                }
            }
        };
        if let Some(n) = notifies(payloads).find(|n| n.notify_type.is_error()) {
            match n.notify_type {
                NotifyType::INVALID_KE_PAYLOAD => {
                    let g = n.invalid_ke_group().and_then(proposal::crypto_dh);
                    let ok = g.filter(|g| cfg.esp_proposals.iter().any(|p| p.pfs.contains(g)));
                    sh.spis.release(new_inbound);
                    let ts = if old_inbound == 0 {
                        Some((cfg.ts.local.clone(), cfg.ts.remote.clone()))
                    } else {
                        self.children
                            .iter()
                            .find(|c| c.inbound_spi == old_inbound)
                            .map(|c| (c.local_ts.clone(), c.remote_ts.clone()))
                    };
                    if let (Some(g), Some((l, r)), true) = (ok, ts, retries < MAX_INIT_RETRIES) {
                        if let Some(c) = self
                            .children
                            .iter_mut()
                            .find(|c| c.inbound_spi == old_inbound)
                        {
                            c.set_state(ChildInput::RekeyAbort);
                        }
                        if let Err(e) =
                            self.send_rekey_child(sh, now, old_inbound, Some(g), retries + 1, l, r)
                        {
                            sh.drop_msg(e);
                        }
                    } else {
                        abort(self, sh, false);
                    }
                }
                NotifyType::CHILD_SA_NOT_FOUND => {
                    sh.spis.release(new_inbound);
                    self.remove_child(sh, old_inbound, Some(ChildRemoveReason::DeletedByPeer));
                }
                NotifyType::TEMPORARY_FAILURE => abort(self, sh, true),
                _ => abort(self, sh, false),
            }
            return;
        }
        let result = (|| -> Result<ChildAnswer, Error> {
            let sa = payloads
                .iter()
                .find_map(|p| match p {
                    Payload::Sa(s) => Some(s),
                    _ => None,
                })
                .ok_or(Malformed::Payload("SA"))?;
            let nr = payloads
                .iter()
                .find_map(|p| match p {
                    Payload::Nonce(n) => Some(n),
                    _ => None,
                })
                .ok_or(Malformed::Payload("Nonce"))?;
            let tsi = payloads
                .iter()
                .find_map(|p| match p {
                    Payload::TsI(t) => Some(t),
                    _ => None,
                })
                .ok_or(Malformed::Payload("TSi"))?;
            let tsr = payloads
                .iter()
                .find_map(|p| match p {
                    Payload::TsR(t) => Some(t),
                    _ => None,
                })
                .ok_or(Malformed::Payload("TSr"))?;
            let choice =
                proposal::accept_esp(&cfg.esp_proposals, sa, dh.as_ref().map(DhPrivateKey::group))?;
            let g = match (dh, choice.dh) {
                (Some(d), Some(_)) => {
                    let ke = payloads
                        .iter()
                        .find_map(|p| match p {
                            Payload::Ke(k) => Some(k),
                            _ => None,
                        })
                        .ok_or(Malformed::Payload("KE"))?;
                    Some(d.agree(&ke.data)?)
                }
                _ => None,
            };
            if !selectors::is_subset(&tsi.selectors, &cfg.ts.local)
                || !selectors::is_subset(&tsr.selectors, &cfg.ts.remote)
            {
                return Err(PeerMisbehaved::TsUnacceptable.into());
            }
            Ok((
                nr.data.clone(),
                choice,
                g,
                tsi.selectors.clone(),
                tsr.selectors.clone(),
            ))
        })();
        let (nr, choice, g, tsi, tsr) = match result {
            Ok(x) => x,
            Err(e) => {
                sh.drop_msg(e);
                abort(self, sh, false);
                return;
            }
        };
        let old_exists = self.children.iter().any(|c| c.inbound_spi == old_inbound);
        if let Err(e) = self.install_child(
            sh,
            now,
            new_inbound,
            &choice,
            g.as_ref(),
            &ni,
            &nr,
            Role::Initiator,
            tsi,
            tsr,
            old_exists.then_some(old_inbound),
        ) {
            sh.drop_msg(e);
            abort(self, sh, false);
            return;
        }
        let early = std::mem::take(&mut self.deleted_early);
        if early.contains(&choice.peer_spi) {
            // The peer deleted the new SA before our response arrived.
            self.remove_child(sh, new_inbound, Some(ChildRemoveReason::DeletedByPeer));
            if let Some(c) = self
                .children
                .iter_mut()
                .find(|c| c.inbound_spi == old_inbound && c.state == ChildState::Rekeying)
            {
                c.set_state(ChildInput::RekeyAbort);
                c.rekey_at = Some(now + TEMPORARY_FAILURE_RETRY);
            }
            return;
        }
        let ours = lowest(&ni, &nr).to_vec();
        // The peer's colliding rekey, recorded on the old SA, or kept here
        // if the old SA was deleted meanwhile.
        let orphan = self
            .orphan_rekey
            .take()
            .filter(|(o, _)| *o == old_inbound)
            .map(|(_, pr)| pr);
        let old = self
            .children
            .iter_mut()
            .find(|c| c.inbound_spi == old_inbound);
        let peer = match old {
            Some(o) => o.peer_rekey.take(),
            None => None,
        }
        .or(orphan);
        let redundant = peer.is_some_and(|pr| ours < pr.lowest_nonce);
        if let Some(o) = self
            .children
            .iter_mut()
            .find(|c| c.inbound_spi == old_inbound)
        {
            o.set_state(ChildInput::Replaced);
            o.remove_reason = ChildRemoveReason::Rekeyed;
            if !redundant {
                //= https://www.rfc-editor.org/rfc/rfc7296#section-2.8
                //# The node that initiated the surviving rekeyed SA should
                //# delete the replaced SA after the new one is established.
                self.queue.push_back(Task::DeleteChild(old_inbound));
            }
        }
        if redundant {
            // Our new SA has the lowest nonce: it is the redundant one (the
            // peer deletes the old one).
            if let Some(n) = self
                .children
                .iter_mut()
                .find(|c| c.inbound_spi == new_inbound)
            {
                n.remove_reason = ChildRemoveReason::DeletedLocally;
            }
            self.queue.push_back(Task::DeleteChild(new_inbound));
        }
    }

    fn send_rekey_ike(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        group: DhGroup,
        retries: u32,
    ) -> Result<(), Error> {
        let cfg = sh.config.clone();
        let new_id = sh.new_id();
        let new_spi = sh.new_ike_spi(new_id);
        let ni = sh.nonce();
        let dh = match sh.dh(group) {
            Ok(d) => d,
            Err(e) => {
                sh.by_spi.remove(&new_spi);
                return Err(e);
            }
        };
        let ps = vec![
            Payload::Sa(proposal::ike_offer(
                &cfg.ike_proposals,
                &new_spi.to_be_bytes(),
                group,
            )),
            Payload::Nonce(NoncePayload { data: ni.clone() }),
            Payload::Ke(KePayload {
                group: wire_dh(group),
                data: dh.public_value().to_vec(),
            }),
        ];
        let kind = Request::RekeyIke {
            new_id,
            new_spi,
            ni,
            dh: Some(dh),
            retries,
        };
        if let Err(e) = self.send_request(sh, now, ExchangeType::CREATE_CHILD_SA, &ps, kind) {
            sh.by_spi.remove(&new_spi);
            return Err(e);
        }
        if self.state == IkeState::Established {
            self.set_state(sh, IkeInput::RekeyStart);
        }
        self.timers.stop(Timer::IkeRekey);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_rekey_ike_response(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        payloads: &[Payload],
        new_id: IkeSaId,
        new_spi: u64,
        ni: Vec<u8>,
        dh: Option<DhPrivateKey>,
        retries: u32,
    ) {
        let cfg = sh.config.clone();
        let abort = |this: &mut Self, sh: &mut Shared, retry: bool| {
            sh.by_spi.remove(&new_spi);
            if let Some(pr) = this.peer_ike_rekey.take() {
                // The peer's rekey stands: its SA takes over, and the peer
                // deletes this one.
                this.transfer_pending = true;
                sh.actions.push(Action::Transfer {
                    from: this.id,
                    to: pr.created,
                });
                this.set_state(sh, IkeInput::Replaced);
                this.timers.set(Timer::Linger, now + linger(&sh.config));
                return;
            }
            this.set_state(sh, IkeInput::RekeyAbort);
            if retry {
                this.retry_tasks.push(Task::RekeyIke);
                this.timers.set(Timer::Retry, now + TEMPORARY_FAILURE_RETRY);
            } else {
                this.timers.set(
                    Timer::IkeRekey,
                    now + jitter(sh, sh.config.lifetimes.ike_rekey),
                );
            }
        };
        if let Some(n) = notifies(payloads).find(|n| n.notify_type.is_error()) {
            match n.notify_type {
                NotifyType::INVALID_KE_PAYLOAD => {
                    let g = n
                        .invalid_ke_group()
                        .and_then(proposal::crypto_dh)
                        .filter(|g| cfg.ike_proposals.iter().any(|p| p.dh.contains(g)));
                    match g {
                        Some(g) if retries < MAX_INIT_RETRIES => {
                            sh.by_spi.remove(&new_spi);
                            if let Err(e) = self.send_rekey_ike(sh, now, g, retries + 1) {
                                sh.drop_msg(e);
                                abort(self, sh, false);
                            }
                        }
                        _ => abort(self, sh, false),
                    }
                }
                NotifyType::TEMPORARY_FAILURE => abort(self, sh, true),
                _ => abort(self, sh, false),
            }
            return;
        }
        let built = (|| -> Result<(Self, Vec<u8>), Error> {
            let sa = payloads
                .iter()
                .find_map(|p| match p {
                    Payload::Sa(s) => Some(s),
                    _ => None,
                })
                .ok_or(Malformed::Payload("SA"))?;
            let nr = payloads
                .iter()
                .find_map(|p| match p {
                    Payload::Nonce(n) => Some(n),
                    _ => None,
                })
                .ok_or(Malformed::Payload("Nonce"))?;
            let ke = payloads
                .iter()
                .find_map(|p| match p {
                    Payload::Ke(k) => Some(k),
                    _ => None,
                })
                .ok_or(Malformed::Payload("KE"))?;
            let (answer, suite) = proposal::accept_ike(&cfg.ike_proposals, sa)?;
            let peer_spi = <[u8; 8]>::try_from(&answer.spi[..])
                .map(u64::from_be_bytes)
                .map_err(|_| Malformed::Payload("IKE SPI"))?;
            let dh = dh.ok_or(LocalError::NoSuchSa)?;
            if dh.group() != suite.dh() || peer_spi == 0 {
                return Err(PeerMisbehaved::NoProposalChosen.into());
            }
            let g = dh.agree(&ke.data)?;
            let n = self.rekeyed(
                sh,
                now,
                new_id,
                suite,
                &g,
                (&ni, &nr.data),
                (new_spi, peer_spi),
                Role::Initiator,
            )?;
            Ok((n, nr.data.clone()))
        })();
        let (mut new_sa, nr) = match built {
            Ok(x) => x,
            Err(e) => {
                sh.drop_msg(e);
                abort(self, sh, false);
                return;
            }
        };
        sh.events.push_back(Event::IkeSaStateChanged {
            ike_sa: new_id,
            from: None,
            to: IkeState::Established,
        });
        let ours = lowest(&ni, &nr).to_vec();
        match self.peer_ike_rekey.take() {
            Some(pr) if ours < pr.lowest_nonce => {
                // Ours is redundant: delete it; the peer's SA takes over and
                // the peer deletes the old one.
                new_sa.enqueue(sh, now, Task::DeleteIke);
                sh.actions.push(Action::Register(Box::new(new_sa)));
                self.transfer_pending = true;
                sh.actions.push(Action::Transfer {
                    from: self.id,
                    to: pr.created,
                });
                self.set_state(sh, IkeInput::Replaced);
                self.timers.set(Timer::Linger, now + linger(&cfg));
            }
            _ => {
                sh.actions.push(Action::Register(Box::new(new_sa)));
                self.transfer_pending = true;
                sh.actions.push(Action::Transfer {
                    from: self.id,
                    to: new_id,
                });
                self.set_state(sh, IkeInput::Replaced);
                //= https://www.rfc-editor.org/rfc/rfc7296#section-2.18
                //# After the new equivalent IKE SA is created, the initiator deletes
                //# the old IKE SA
                self.queue.clear();
                self.queue.push_back(Task::DeleteIke);
            }
        }
    }

    // ----- transfer (IKE SA rekey) -----

    /// Takes the tunnel (Child SAs, addresses, routes) from `old`.
    pub(crate) fn take_over(&mut self, old: &mut Self, now: Instant) {
        self.children.append(&mut old.children);
        for c in &mut self.children {
            // A Child SA rekey in flight on the old SA is lost with it.
            if c.state == ChildState::Rekeying {
                c.set_state(ChildInput::RekeyAbort);
            }
            if c.state == ChildState::Installed && c.rekey_at.is_none() {
                c.rekey_at = Some(now + TEMPORARY_FAILURE_RETRY);
            }
        }
        self.assigned.append(&mut old.assigned);
        self.routes.append(&mut old.routes);
        self.owns_tunnel = old.owns_tunnel;
        old.owns_tunnel = false;
        self.had_child |= old.had_child;
        self.no_auto_child |= old.no_auto_child;
        self.up = old.up;
        self.peer_id = self.peer_id.take().or_else(|| old.peer_id.clone());
        old.queue.retain(|t| matches!(t, Task::DeleteIke));
    }

    // ----- timers -----

    pub(crate) fn handle_timeout(&mut self, sh: &mut Shared, now: Instant) {
        let cfg = sh.config.clone();
        for t in TIMERS {
            if !self.timers.is_expired(t, now) {
                continue;
            }
            self.timers.stop(t);
            match t {
                Timer::Retransmit => {
                    let Some(p) = &mut self.pending else { continue };
                    //= https://www.rfc-editor.org/rfc/rfc7296#section-2.4
                    //# If there has only been outgoing traffic on all of the
                    //# SAs associated with an IKE SA, it is essential to
                    //# confirm liveness of the other endpoint to avoid black
                    //# holes.
                    if p.transmissions >= cfg.retransmit.max_transmissions {
                        let setup = matches!(self.state, IkeState::InitSent | IkeState::AuthSent);
                        if matches!(p.kind, Request::DeleteIke) {
                            self.pending = None;
                            self.set_state(sh, IkeInput::Fail);
                            self.close(sh, now, None);
                        } else {
                            self.pending = None;
                            let reason = if setup {
                                DownReason::SetupTimeout
                            } else {
                                DownReason::PeerDead
                            };
                            self.fail(sh, now, reason);
                        }
                        return;
                    }
                    p.transmissions += 1;
                    //= https://www.rfc-editor.org/rfc/rfc7296#section-2.1
                    //# A retransmission from the initiator MUST be bitwise
                    //# identical to the original request.
                    let d = p.datagrams.clone();
                    let n = p.transmissions;
                    for x in d {
                        sh.send(self.local, self.remote, &x);
                    }
                    sh.stats.retransmits += 1;
                    self.timers
                        .set(Timer::Retransmit, now + cfg.retransmit.timeout(n));
                }
                Timer::Setup => {
                    if matches!(
                        self.state,
                        IkeState::InitSent | IkeState::InitResponded | IkeState::AuthSent
                    ) {
                        self.pending = None;
                        self.fail(sh, now, DownReason::SetupTimeout);
                        return;
                    }
                }
                Timer::Dpd => {
                    let Some(d) = cfg.dpd else { continue };
                    if self.state != IkeState::Established {
                        continue;
                    }
                    if now >= self.last_inbound + d.interval {
                        if self.pending.is_none() {
                            self.enqueue(sh, now, Task::Dpd);
                        }
                        self.timers.set(Timer::Dpd, now + d.interval);
                    } else {
                        self.timers.set(Timer::Dpd, self.last_inbound + d.interval);
                    }
                }
                Timer::IkeRekey => {
                    if self.state == IkeState::Established {
                        self.enqueue(sh, now, Task::RekeyIke);
                    }
                }
                Timer::Linger => {
                    if self.state == IkeState::Closed {
                        self.removable = true;
                    } else if matches!(self.state, IkeState::Rekeyed) {
                        // The peer never deleted the replaced SA.
                        self.set_state(sh, IkeInput::Deleted);
                        self.close(sh, now, None);
                    }
                }
                Timer::Hold => {
                    self.hold = false;
                    self.kick(sh, now);
                }
                Timer::Retry => {
                    let tasks: Vec<Task> = self.retry_tasks.drain(..).collect();
                    for t in tasks {
                        self.enqueue(sh, now, t);
                    }
                }
            }
        }
        if self.state == IkeState::Closed {
            return;
        }
        // Every Child SA deadline that passed is moved or cleared here, so
        // that `next_timeout` never stays in the past.
        let established = self.state == IkeState::Established;
        let mut tasks = Vec::new();
        let mut expired = Vec::new();
        for c in &mut self.children {
            if c.rekey_at.is_some_and(|t| t <= now) {
                if !established {
                    // The IKE SA is being rekeyed or deleted: try later.
                    c.rekey_at = Some(now + TEMPORARY_FAILURE_RETRY);
                } else {
                    c.rekey_at = None;
                    if c.state == ChildState::Installed {
                        tasks.push(Task::RekeyChild(c.inbound_spi));
                    }
                }
            }
            if c.expire_at <= now {
                c.expire_at = now + cfg.lifetimes.hard_margin;
                if c.state == ChildState::Deleting || !established {
                    // Its Delete went unanswered for a whole margin, or no
                    // exchange can run: remove it here.
                    expired.push(c.inbound_spi);
                } else {
                    c.remove_reason = ChildRemoveReason::Expired;
                    tasks.push(Task::DeleteChild(c.inbound_spi));
                }
            }
        }
        for spi in expired {
            self.remove_child(sh, spi, Some(ChildRemoveReason::Expired));
        }
        for t in tasks {
            self.enqueue(sh, now, t);
        }
    }

    /// The SA failed: tear down and close.
    pub(crate) fn fail(&mut self, sh: &mut Shared, now: Instant, reason: DownReason) {
        if !self.set_state(sh, IkeInput::Fail) {
            return;
        }
        self.resolve_ike_collision_on_death(sh);
        self.close(sh, now, Some(reason));
    }

    /// Removes Child SAs, routes and addresses; reports TunnelDown if this
    /// SA holds the tunnel.
    fn teardown(&mut self, sh: &mut Shared, reason: Option<DownReason>) {
        // A queued transfer (the peer's rekey of this SA collided with ours
        // and this SA dies first) moves the tunnel to the successor: the
        // Child SAs, routes and addresses are not torn down but moved.
        let moving = self.transfer_pending;
        let spis: Vec<u32> = if moving {
            Vec::new()
        } else {
            self.children.iter().map(|c| c.inbound_spi).collect()
        };
        for s in spis {
            self.remove_child(sh, s, Some(ChildRemoveReason::IkeSaGone));
        }
        if let Some(Pending {
            kind: Request::Auth { child_spi },
            ..
        }) = &self.pending
        {
            sh.spis.release(*child_spi);
        }
        if let Some(Pending {
            kind: Request::RekeyChild { new_inbound, .. },
            ..
        }) = &self.pending
        {
            sh.spis.release(*new_inbound);
        }
        if let Some(Pending {
            kind: Request::RekeyIke { new_spi, .. },
            ..
        }) = &self.pending
        {
            sh.by_spi.remove(new_spi);
        }
        if moving {
            return;
        }
        if !self.routes.is_empty() {
            let routes = std::mem::take(&mut self.routes);
            sh.events.push_back(Event::RoutesRemove(RouteUpdate {
                ike_sa: self.id,
                peer_id: self.peer_id.clone().unwrap_or(Identity::Other {
                    id_type: 0,
                    data: Vec::new(),
                }),
                remote: self.remote,
                routes,
            }));
        }
        self.release_addresses(sh);
        if self.owns_tunnel && (self.up || self.original_initiator) {
            if let Some(reason) = reason {
                sh.events.push_back(Event::TunnelDown {
                    ike_sa: self.id,
                    peer_id: self.peer_id.clone(),
                    remote: self.remote,
                    reason,
                });
            }
        }
        self.owns_tunnel = false;
    }

    /// Ends the SA: teardown, then linger in Closed for retransmissions.
    pub(crate) fn close(&mut self, sh: &mut Shared, now: Instant, reason: Option<DownReason>) {
        self.teardown(sh, reason);
        if self.state != IkeState::Closed {
            let prev = self.state;
            self.state = IkeState::Closed;
            sh.events.push_back(Event::IkeSaStateChanged {
                ike_sa: self.id,
                from: Some(prev),
                to: IkeState::Closed,
            });
        }
        self.pending = None;
        self.queue.clear();
        self.retry_tasks.clear();
        self.init = None;
        self.reasm = None;
        self.timers = TimerTable::default();
        self.timers.set(Timer::Linger, now + linger(&sh.config));
    }

    /// For the fuzz target: a request of ours with an arbitrary inner
    /// chain, sealed with this SA's keys (the message ID is the next one,
    /// consumed when `consume`).
    pub(crate) fn fuzz_request(
        &mut self,
        sh: &Shared,
        exchange: ExchangeType,
        first: codec::PayloadType,
        plain: &[u8],
        consume: bool,
    ) -> Vec<Vec<u8>> {
        let header = Header {
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            exchange_type: exchange,
            initiator: self.original_initiator,
            response: false,
            message_id: self.next_msg_id,
        };
        if consume {
            self.next_msg_id = self.next_msg_id.wrapping_add(1);
        }
        self.seal_plain(sh, header, first, plain)
            .unwrap_or_default()
    }

    /// For tests: opens a datagram (marker removed) protected by this SA.
    #[cfg(test)]
    pub(crate) fn test_open(&mut self, raw: &[u8], is_response: bool) -> Option<Vec<Payload>> {
        let id = codec::IkePacket::new_checked(raw).ok()?.message_id();
        match self.open(raw, is_response, id, false).0 {
            Opened::Payloads(p) => Some(p),
            _ => None,
        }
    }

    // ----- operator requests -----

    pub(crate) fn request_rekey_child(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        inbound: u32,
    ) -> Result<(), Error> {
        if !self.children.iter().any(|c| c.inbound_spi == inbound) {
            return Err(LocalError::NoSuchChildSa(inbound).into());
        }
        self.enqueue(sh, now, Task::RekeyChild(inbound));
        Ok(())
    }

    pub(crate) fn request_delete_child(
        &mut self,
        sh: &mut Shared,
        now: Instant,
        inbound: u32,
    ) -> Result<(), Error> {
        self.no_auto_child = true;
        if !self.children.iter().any(|c| c.inbound_spi == inbound) {
            return Err(LocalError::NoSuchChildSa(inbound).into());
        }
        self.enqueue(sh, now, Task::DeleteChild(inbound));
        Ok(())
    }

    pub(crate) fn request_rekey_ike(&mut self, sh: &mut Shared, now: Instant) -> Result<(), Error> {
        if self.state != IkeState::Established {
            return Err(LocalError::NoSuchSa.into());
        }
        self.enqueue(sh, now, Task::RekeyIke);
        Ok(())
    }

    pub(crate) fn request_delete(&mut self, sh: &mut Shared, now: Instant) -> Result<(), Error> {
        match self.state {
            IkeState::Established | IkeState::Rekeying | IkeState::Rekeyed => {
                // Delete takes precedence over queued work.
                self.queue.clear();
                self.enqueue(sh, now, Task::DeleteIke);
                Ok(())
            }
            IkeState::InitSent | IkeState::InitResponded | IkeState::AuthSent => {
                self.pending = None;
                self.fail(sh, now, DownReason::DeletedLocally);
                Ok(())
            }
            _ => Err(LocalError::NoSuchSa.into()),
        }
    }

    pub(crate) fn note_traffic(&mut self, now: Instant) {
        self.last_inbound = self.last_inbound.max(now);
    }

    /// A summary for tests and `show` commands.
    pub(crate) fn info(&self) -> IkeSaInfo {
        IkeSaInfo {
            id: self.id,
            state: self.state,
            initiator: self.original_initiator,
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            local: self.local,
            remote: self.remote,
            nat: self.nat,
            fragmentation: self.frag,
            peer_id: self.peer_id.clone(),
            suite: self.suite,
            children: self
                .children
                .iter()
                .map(|c| ChildSaInfo {
                    state: c.state,
                    inbound_spi: c.inbound_spi,
                    outbound_spi: c.outbound_spi,
                    suite: c.suite,
                    esn: c.esn,
                })
                .collect(),
            assigned: self.assigned.clone(),
            owns_tunnel: self.owns_tunnel,
        }
    }
}

impl IkeSa {
    /// The SA's keys for decrypting a packet capture (see
    /// [`IkeDebugKeys`]); `None` before IKE_SA_INIT completed.
    pub(crate) fn debug_keys(&self) -> Option<IkeDebugKeys> {
        let (suite, keys) = (self.suite?, self.keys.as_ref()?);
        Some(IkeDebugKeys {
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            suite,
            sk_ei: keys.sk_ei().to_vec(),
            sk_er: keys.sk_er().to_vec(),
            sk_ai: keys.sk_ai().to_vec(),
            sk_ar: keys.sk_ar().to_vec(),
        })
    }
}

/// The encryption and integrity keys of an IKE SA, **for debugging
/// only**: decrypting a packet capture with Wireshark's IKEv2 decryption
/// table (`ikev2_decryption_table`), as strongSwan's level-4 logs allow.
/// Whoever holds these reads and forges every message of the SA; never log
/// them in production. `SK_ei`/`SK_er` include the AEAD salt.
#[derive(Clone)]
pub struct IkeDebugKeys {
    /// Initiator's SPI.
    pub spi_i: u64,
    /// Responder's SPI.
    pub spi_r: u64,
    /// The negotiated algorithms.
    pub suite: IkeSuite,
    /// SK_ei (key material, salt included).
    pub sk_ei: Vec<u8>,
    /// SK_er (key material, salt included).
    pub sk_er: Vec<u8>,
    /// SK_ai (empty with an AEAD).
    pub sk_ai: Vec<u8>,
    /// SK_ar (empty with an AEAD).
    pub sk_ar: Vec<u8>,
}

impl std::fmt::Debug for IkeDebugKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets stay out of Debug output (logs); read the fields.
        f.debug_struct("IkeDebugKeys")
            .field("spi_i", &format_args!("{:016x}", self.spi_i))
            .field("spi_r", &format_args!("{:016x}", self.spi_r))
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// A checked CREATE_CHILD_SA answer: Nr, the choice, g^ir, TSi, TSr.
type ChildAnswer = (
    Vec<u8>,
    proposal::EspChoice,
    Option<SecretBytes>,
    Vec<TrafficSelector>,
    Vec<TrafficSelector>,
);

/// Why an IKE_SA_INIT request gets no SA.
#[derive(Debug)]
pub(crate) enum InitRefusal {
    /// Answer with this notify (stateless).
    Notify(NotifyPayload, Error),
    /// Drop.
    Drop(Error),
}

/// A snapshot of an IKE SA.
#[derive(Clone, Debug)]
pub struct IkeSaInfo {
    /// Its handle.
    pub id: IkeSaId,
    /// Its state.
    pub state: IkeState,
    /// We are the original initiator.
    pub initiator: bool,
    /// Initiator's SPI.
    pub spi_i: u64,
    /// Responder's SPI.
    pub spi_r: u64,
    /// Our address.
    pub local: SocketAddr,
    /// The peer's address.
    pub remote: SocketAddr,
    /// NAT detection.
    pub nat: NatState,
    /// RFC 7383 fragmentation negotiated.
    pub fragmentation: bool,
    /// The authenticated peer.
    pub peer_id: Option<Identity>,
    /// The negotiated suite.
    pub suite: Option<IkeSuite>,
    /// Its Child SAs.
    pub children: Vec<ChildSaInfo>,
    /// Addresses assigned to the peer.
    pub assigned: Vec<IpAddr>,
    /// It holds the tunnel.
    pub owns_tunnel: bool,
}

/// A snapshot of a Child SA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildSaInfo {
    /// Its state.
    pub state: ChildState,
    /// Our inbound SPI.
    pub inbound_spi: u32,
    /// The peer's.
    pub outbound_spi: u32,
    /// Algorithms.
    pub suite: EspSuite,
    /// Extended sequence numbers.
    pub esn: bool,
}

fn linger(cfg: &Config) -> Duration {
    cfg.dos.half_open_timeout
}

/// A lifetime less up to 10 % (so that both ends rarely rekey at once).
fn jitter(sh: &mut Shared, d: Duration) -> Duration {
    let mut b = [0u8; 2];
    sh.rng.fill(&mut b);
    let frac = u32::from(u16::from_be_bytes(b)) % 1000;
    d - d / 10 * frac / 1000
}

fn subnet_attr(p: &IpPrefix) -> CfgAttribute {
    match p.addr {
        IpAddr::V4(a) => {
            let (start, _) = p.v4_range().unwrap_or((a, a));
            CfgAttribute::ipv4_subnet(start, p.v4_mask())
        }
        IpAddr::V6(a) => {
            let (start, _) = p.v6_range().unwrap_or((a, a));
            CfgAttribute::ipv6_prefix(CfgAttributeType::INTERNAL_IP6_SUBNET, start, p.len)
        }
    }
}

fn subnet_of(a: &CfgAttribute) -> Option<IpPrefix> {
    match a.attr_type {
        CfgAttributeType::INTERNAL_IP4_SUBNET => a
            .as_ipv4_subnet()
            .map(|(x, m)| IpPrefix::from_v4_mask(x, m)),
        CfgAttributeType::INTERNAL_IP6_SUBNET => a
            .as_ipv6_prefix()
            .filter(|(_, l)| *l <= 128)
            .map(|(x, l)| IpPrefix::new(IpAddr::V6(x), l)),
        _ => None,
    }
}
