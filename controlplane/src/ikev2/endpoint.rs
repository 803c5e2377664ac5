//! [`Endpoint`]: all IKE SAs of one appliance, sans-IO.
//!
//! The driver feeds it datagrams ([`Endpoint::handle_datagram`]) and the
//! time ([`Endpoint::handle_timeout`] at [`Endpoint::poll_timeout`]), and
//! drains [`Endpoint::poll_transmit`] and [`Endpoint::poll_event`]. IKE
//! SAs are found by our SPI in a hash map (O(1) for 100k spokes); timers
//! are one heap of (deadline, SA) with stale entries skipped.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::codec::{ExchangeType, Header, IkePacket, Message, NotifyPayload, NotifyType, Payload};
use super::config::Config;
use super::error::{Error, LocalError, Malformed, PeerMisbehaved};
use super::events::{Event, IkeSaId, RandomSource, SpiAllocator, SystemRandom, Transmit};
use super::identity::Identity;
use super::pool::AddressPools;
use super::sa::{Action, IkeDebugKeys, IkeSa, IkeSaInfo, InitRefusal, Shared, Stats};

/// Cookie secrets (RFC 7296 section 2.6): the current one and the one
/// before, each with a one-octet version.
#[derive(Debug)]
struct Cookies {
    current: (u8, [u8; 32]),
    previous: Option<(u8, [u8; 32])>,
    since: Option<Instant>,
}

impl Cookies {
    fn rotate(&mut self, rng: &mut dyn RandomSource, now: Instant, lifetime: std::time::Duration) {
        match self.since {
            None => {
                rng.fill(&mut self.current.1);
                self.since = Some(now);
            }
            Some(t) if now >= t + lifetime => {
                let mut s = [0u8; 32];
                rng.fill(&mut s);
                self.previous = Some(self.current);
                self.current = (self.current.0.wrapping_add(1), s);
                self.since = Some(now);
            }
            _ => {}
        }
    }

    fn compute(secret: &(u8, [u8; 32]), ni: &[u8], ip: std::net::IpAddr, spi_i: u64) -> Vec<u8> {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.6
        //# Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>)
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret.1);
        let mut ctx = ring::hmac::Context::with_key(&key);
        ctx.update(ni);
        match ip {
            std::net::IpAddr::V4(a) => ctx.update(&a.octets()),
            std::net::IpAddr::V6(a) => ctx.update(&a.octets()),
        }
        ctx.update(&spi_i.to_be_bytes());
        let mut out = vec![secret.0];
        out.extend_from_slice(ctx.sign().as_ref());
        out
    }

    fn check(&self, cookie: &[u8], ni: &[u8], ip: std::net::IpAddr, spi_i: u64) -> bool {
        let Some(&version) = cookie.first() else {
            return false;
        };
        let secret = if version == self.current.0 {
            Some(self.current)
        } else {
            self.previous.filter(|p| p.0 == version)
        };
        secret.is_some_and(|s| {
            let want = Self::compute(&s, ni, ip, spi_i);
            bool::from(subtle::ConstantTimeEq::ct_eq(&want[..], cookie))
        })
    }
}

/// The IKEv2 endpoint: every IKE SA of this appliance.
#[derive(Debug)]
pub struct Endpoint {
    sh: Shared,
    sas: HashMap<IkeSaId, IkeSa>,
    /// Half-open responder SAs by (peer address, initiator SPI), for
    /// retransmitted IKE_SA_INIT requests.
    half_open_index: HashMap<(SocketAddr, u64), IkeSaId>,
    half_open: usize,
    timers: BinaryHeap<Reverse<(Instant, IkeSaId)>>,
    cookies: Cookies,
    /// The SAs holding a tunnel to each authenticated peer (for
    /// INITIAL_CONTACT).
    by_peer: HashMap<Identity, Vec<IkeSaId>>,
}

impl Endpoint {
    /// An endpoint with the system random generator.
    ///
    /// # Errors
    ///
    /// [`Error::Local`] with [`LocalError::Config`] if the configuration
    /// is invalid.
    pub fn new(config: Config, spis: Box<dyn SpiAllocator>) -> Result<Self, Error> {
        Self::with_rng(config, spis, Box::new(SystemRandom::default()))
    }

    /// An endpoint with a given random source (SPIs, nonces, cookie
    /// secrets, lifetime jitter).
    ///
    /// # Errors
    ///
    /// As [`Endpoint::new`].
    pub fn with_rng(
        config: Config,
        spis: Box<dyn SpiAllocator>,
        rng: Box<dyn RandomSource>,
    ) -> Result<Self, Error> {
        config.validate().map_err(LocalError::Config)?;
        let pools = config
            .pool
            .as_ref()
            .map(|p| AddressPools::new(p.v4, p.v6))
            .unwrap_or_default();
        Ok(Self {
            sh: Shared {
                config: Arc::new(config),
                transmits: VecDeque::new(),
                events: VecDeque::new(),
                spis,
                rng,
                sys_rng: ring::rand::SystemRandom::new(),
                pools,
                actions: Vec::new(),
                by_spi: HashMap::new(),
                next_id: 0,
                stats: Stats::default(),
            },
            sas: HashMap::new(),
            half_open_index: HashMap::new(),
            half_open: 0,
            timers: BinaryHeap::new(),
            cookies: Cookies {
                current: (0, [0; 32]),
                previous: None,
                since: None,
            },
            by_peer: HashMap::new(),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.sh.config
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.sh.stats
    }

    /// Half-open responder IKE SAs.
    #[must_use]
    pub fn half_open(&self) -> usize {
        self.half_open
    }

    /// Addresses of the pools in use.
    #[must_use]
    pub fn pool_in_use(&self) -> usize {
        self.sh.pools.in_use()
    }

    /// Snapshots of every IKE SA (for `show crypto ikev2 sa` and tests).
    #[must_use]
    pub fn ike_sas(&self) -> Vec<IkeSaInfo> {
        let mut v: Vec<IkeSaInfo> = self.sas.values().map(IkeSa::info).collect();
        v.sort_by_key(|i| i.id);
        v
    }

    /// A snapshot of one IKE SA.
    #[must_use]
    pub fn ike_sa(&self, id: IkeSaId) -> Option<IkeSaInfo> {
        self.sas.get(&id).map(IkeSa::info)
    }

    /// The encryption and integrity keys of an IKE SA, for decrypting
    /// packet captures while debugging (Wireshark's IKEv2 decryption
    /// table); see [`IkeDebugKeys`]. Never log them in production.
    #[must_use]
    pub fn debug_keys(&self, id: IkeSaId) -> Option<IkeDebugKeys> {
        self.sas.get(&id).and_then(IkeSa::debug_keys)
    }

    /// Starts an IKE SA to `remote` from `local` (IKE_SA_INIT is queued
    /// for [`Endpoint::poll_transmit`]). `peer`: the identity the peer must
    /// prove (sent as IDr too); `None` accepts any the keyring knows.
    ///
    /// # Errors
    ///
    /// A local error (Diffie-Hellman key generation).
    pub fn initiate(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        peer: Option<Identity>,
    ) -> Result<IkeSaId, Error> {
        let sa = IkeSa::initiate(&mut self.sh, now, local, remote, peer)?;
        let id = sa.id;
        self.sas.insert(id, sa);
        self.after(id, now);
        Ok(id)
    }

    /// [`Endpoint::initiate`], saying whether IKE_AUTH carries
    /// INITIAL_CONTACT (which makes the peer drop every other IKE SA it has
    /// with us). A FlexVPN spoke sends it to its hub; a shortcut to
    /// another spoke must not, since both spokes may build one at once.
    ///
    /// # Errors
    ///
    /// As [`Endpoint::initiate`].
    pub fn initiate_with(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        peer: Option<Identity>,
        initial_contact: bool,
    ) -> Result<IkeSaId, Error> {
        let mut sa = IkeSa::initiate(&mut self.sh, now, local, remote, peer)?;
        sa.initial_contact = initial_contact;
        let id = sa.id;
        self.sas.insert(id, sa);
        self.after(id, now);
        Ok(id)
    }

    /// Rekeys a Child SA (by our inbound SPI), for example when the
    /// dataplane reports its soft byte or sequence limit.
    ///
    /// # Errors
    ///
    /// [`LocalError::NoSuchSa`] or [`LocalError::NoSuchChildSa`].
    pub fn rekey_child_sa(
        &mut self,
        now: Instant,
        ike_sa: IkeSaId,
        inbound_spi: u32,
    ) -> Result<(), Error> {
        self.with_sa(ike_sa, now, |sa, sh| {
            sa.request_rekey_child(sh, now, inbound_spi)
        })
    }

    /// Deletes a Child SA (by our inbound SPI).
    ///
    /// # Errors
    ///
    /// As [`Endpoint::rekey_child_sa`].
    pub fn delete_child_sa(
        &mut self,
        now: Instant,
        ike_sa: IkeSaId,
        inbound_spi: u32,
    ) -> Result<(), Error> {
        self.with_sa(ike_sa, now, |sa, sh| {
            sa.request_delete_child(sh, now, inbound_spi)
        })
    }

    /// Rekeys an IKE SA.
    ///
    /// # Errors
    ///
    /// [`LocalError::NoSuchSa`] if it is not established.
    pub fn rekey_ike_sa(&mut self, now: Instant, ike_sa: IkeSaId) -> Result<(), Error> {
        self.with_sa(ike_sa, now, |sa, sh| sa.request_rekey_ike(sh, now))
    }

    /// Deletes an IKE SA and its Child SAs (the tunnel goes down at once).
    ///
    /// # Errors
    ///
    /// [`LocalError::NoSuchSa`].
    pub fn delete_ike_sa(&mut self, now: Instant, ike_sa: IkeSaId) -> Result<(), Error> {
        self.with_sa(ike_sa, now, |sa, sh| sa.request_delete(sh, now))
    }

    /// The dataplane saw inbound ESP on this tunnel: no DPD needed until
    /// the interval passes again.
    pub fn note_inbound_traffic(&mut self, now: Instant, ike_sa: IkeSaId) {
        if let Some(sa) = self.sas.get_mut(&ike_sa) {
            sa.note_traffic(now);
        }
    }

    fn with_sa(
        &mut self,
        id: IkeSaId,
        now: Instant,
        f: impl FnOnce(&mut IkeSa, &mut Shared) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let sa = self.sas.get_mut(&id).ok_or(LocalError::NoSuchSa)?;
        let r = f(sa, &mut self.sh);
        self.after(id, now);
        r
    }

    /// A UDP datagram for us: `local` is the address and port it was
    /// received on, `remote` where it came from, `data` the UDP payload
    /// (with the non-ESP marker when `local` is the NAT-T port).
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
    ) {
        self.sh.stats.received += 1;
        //= https://www.rfc-editor.org/rfc/rfc3948#section-2.3
        //# The sender MUST use a one-octet-long payload with the value 0xFF.
        //
        // A NAT-keepalive: nothing to do (the NAT mapping is refreshed).
        if local.port() == self.sh.config.ports.1 && data == [0xff] {
            return;
        }
        let data = if local.port() == self.sh.config.ports.1 {
            //= https://www.rfc-editor.org/rfc/rfc3948#section-2.2
            //# The Non-ESP Marker is 4 bytes of zero aligning with the SPI field
            //# of an ESP packet.
            match data.split_first_chunk::<4>() {
                Some(([0, 0, 0, 0], rest)) => rest,
                _ => {
                    self.sh.drop_msg(Malformed::NoNonEspMarker.into());
                    return;
                }
            }
        } else {
            data
        };
        let p = match IkePacket::new_checked(data) {
            Ok(p) => p,
            Err(e) => {
                self.sh.drop_msg(e.into());
                return;
            }
        };
        let header = Header::parse(&p);
        // An IKE_SA_INIT request starts a new SA.
        if header.exchange_type == ExchangeType::IKE_SA_INIT
            && !header.response
            && header.spi_r == 0
        {
            if let Some(&id) = self.half_open_index.get(&(remote, header.spi_i)) {
                if let Some(sa) = self.sas.get_mut(&id) {
                    sa.handle(&mut self.sh, now, local, remote, data, header);
                    self.after(id, now);
                    return;
                }
            }
            self.new_responder(now, local, remote, data, header);
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.2
        //# the recipient of a message MUST be able to
        //# identify the SA by looking up the SPIs
        let ours = if header.initiator {
            header.spi_r
        } else {
            header.spi_i
        };
        let Some(&id) = self.sh.by_spi.get(&ours) else {
            self.sh.drop_msg(PeerMisbehaved::UnknownSpi(ours).into());
            return;
        };
        let Some(sa) = self.sas.get_mut(&id) else {
            self.sh.drop_msg(PeerMisbehaved::UnknownSpi(ours).into());
            return;
        };
        let theirs = if header.initiator {
            header.spi_i
        } else {
            header.spi_r
        };
        let init_response = header.exchange_type == ExchangeType::IKE_SA_INIT && header.response;
        if sa.own_spi() != ours || (!init_response && sa.peer_spi() != theirs) {
            self.sh.drop_msg(PeerMisbehaved::UnknownSpi(ours).into());
            return;
        }
        sa.handle(&mut self.sh, now, local, remote, data, header);
        self.after(id, now);
    }

    fn new_responder(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        header: Header,
    ) {
        let cfg = self.sh.config.clone();
        if header.message_id != 0 || !header.initiator {
            self.sh
                .drop_msg(PeerMisbehaved::UnexpectedExchange(header.exchange_type).into());
            return;
        }
        let msg = match Message::parse(data) {
            Ok(m) => m,
            Err(e) => {
                //= https://www.rfc-editor.org/rfc/rfc7296#section-2.5
                //# the response to the IKE request containing that
                //# payload MUST include a Notify payload
                //# UNSUPPORTED_CRITICAL_PAYLOAD
                if let super::codec::Error::UnsupportedCriticalPayload(t) = e {
                    self.stateless_reply(
                        local,
                        remote,
                        &header,
                        NotifyPayload::unsupported_critical(t),
                    );
                }
                self.sh.drop_msg(e.into());
                return;
            }
        };
        if self.half_open >= cfg.dos.max_half_open {
            self.sh.drop_msg(LocalError::HalfOpenLimit.into());
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.6
        //# When one
        //# party receives an IKE_SA_INIT request containing a cookie whose
        //# contents do not match the value expected, that party MUST ignore the
        //# cookie and process the message as if no cookie had been included
        if self.half_open >= cfg.dos.cookie_threshold {
            self.cookies
                .rotate(self.sh.rng.as_mut(), now, cfg.dos.cookie_secret_lifetime);
            let ni = msg
                .payloads
                .iter()
                .find_map(|p| match p {
                    Payload::Nonce(n) => Some(n.data.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            let given = match msg.payloads.first() {
                Some(Payload::Notify(n)) if n.notify_type == NotifyType::COOKIE => Some(&n.data),
                _ => None,
            };
            if !given.is_some_and(|c| self.cookies.check(c, &ni, remote.ip(), header.spi_i)) {
                let c = Cookies::compute(&self.cookies.current, &ni, remote.ip(), header.spi_i);
                self.stateless_reply(
                    local,
                    remote,
                    &header,
                    NotifyPayload::new(NotifyType::COOKIE, c),
                );
                self.sh.stats.cookies_sent += 1;
                self.sh.drop_msg(PeerMisbehaved::InvalidCookie.into());
                return;
            }
        }
        match IkeSa::respond_init(&mut self.sh, now, local, remote, &msg, data) {
            Ok(mut sa) => {
                let id = sa.id;
                if let Some(k) = sa.half_open_key {
                    self.half_open_index.insert(k, id);
                }
                self.half_open += 1;
                sa.half_open_counted = true;
                self.sas.insert(id, sa);
                self.after(id, now);
            }
            Err(InitRefusal::Notify(n, e)) => {
                self.stateless_reply(local, remote, &header, n);
                self.sh.drop_msg(e);
            }
            Err(InitRefusal::Drop(e)) => self.sh.drop_msg(e),
        }
    }

    fn stateless_reply(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        req: &Header,
        n: NotifyPayload,
    ) {
        let mut h = req.response_header();
        h.spi_r = 0;
        if let Ok(b) = (Message {
            header: h,
            payloads: vec![Payload::Notify(n)],
        })
        .emit()
        {
            self.sh.send(local, remote, &b);
        }
    }

    /// Bookkeeping after an SA ran: actions, half-open count, timers,
    /// removal.
    fn after(&mut self, id: IkeSaId, now: Instant) {
        let mut touched = vec![id];
        let actions: Vec<Action> = self.sh.actions.drain(..).collect();
        for a in actions {
            match a {
                Action::Register(sa) => {
                    let sid = sa.id;
                    self.sas.insert(sid, *sa);
                    touched.push(sid);
                }
                Action::Transfer { from, to } => {
                    let Some(mut old) = self.sas.remove(&from) else {
                        continue;
                    };
                    old.transfer_pending = false;
                    if let Some(mut new) = self.sas.remove(&to) {
                        new.take_over(&mut old, now);
                        self.sh
                            .events
                            .push_back(Event::IkeSaRekeyed { old: from, new: to });
                        new.kick(&mut self.sh, now);
                        old.kick(&mut self.sh, now);
                        self.sas.insert(to, new);
                        touched.push(to);
                    } else {
                        // The successor is gone: the tunnel dies with the old SA.
                        old.fail(&mut self.sh, now, super::events::DownReason::PeerDead);
                    }
                    self.sas.insert(from, old);
                    touched.push(from);
                }
                Action::Release(next) => {
                    if let Some(sa) = self.sas.get_mut(&next) {
                        sa.hold = false;
                        sa.kick(&mut self.sh, now);
                        touched.push(next);
                    }
                }
                Action::InitialContact { keep, peer } => {
                    let others = self.by_peer.remove(&peer).unwrap_or_default();
                    for o in others.into_iter().filter(|o| *o != keep) {
                        if let Some(sa) = self.sas.get_mut(&o) {
                            if sa.owns_tunnel {
                                sa.fail(
                                    &mut self.sh,
                                    now,
                                    super::events::DownReason::ReplacedByInitialContact,
                                );
                                touched.push(o);
                            }
                        }
                    }
                    self.by_peer.insert(peer, vec![keep]);
                }
            }
        }
        if !self.sh.actions.is_empty() {
            // Actions of the transfer's kick (rare): process them too.
            self.after(id, now);
        }
        for t in touched {
            self.reschedule(t, None);
        }
    }

    /// Puts the SA's next deadline in the heap. `after_timeout`: the SA
    /// just ran its timers at that instant, so its next deadline must be
    /// later (a deadline left in the past would spin the driver).
    fn reschedule(&mut self, id: IkeSaId, after_timeout: Option<Instant>) {
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        // The half-open count drops when the SA leaves InitResponded; the
        // index entry stays while the SA exists, so that a late duplicate
        // of its IKE_SA_INIT request reaches it (and is dropped) instead of
        // starting another SA.
        if sa.half_open_counted && !sa.is_half_open() {
            sa.half_open_counted = false;
            self.half_open = self.half_open.saturating_sub(1);
        }
        if sa.removable {
            let sa = self.sas.remove(&id).expect("present");
            if sa.half_open_counted {
                self.half_open = self.half_open.saturating_sub(1);
            }
            if let Some(k) = sa.half_open_key {
                if self.half_open_index.get(&k) == Some(&id) {
                    self.half_open_index.remove(&k);
                }
            }
            if self.sh.by_spi.get(&sa.own_spi()) == Some(&id) {
                self.sh.by_spi.remove(&sa.own_spi());
            }
            if let Some(p) = &sa.peer_id {
                if let Some(v) = self.by_peer.get_mut(p) {
                    v.retain(|x| *x != id);
                    if v.is_empty() {
                        self.by_peer.remove(p);
                    }
                }
            }
            return;
        }
        if sa.owns_tunnel && sa.up {
            if let Some(p) = &sa.peer_id {
                let v = self.by_peer.entry(p.clone()).or_default();
                if !v.contains(&id) {
                    v.push(id);
                }
            }
        }
        let mut next = sa.next_timeout();
        if let (Some(n), Some(now)) = (next, after_timeout) {
            if n <= now {
                debug_assert!(false, "{id}: a timer stayed in the past");
                next = Some(now + std::time::Duration::from_secs(1));
            }
        }
        if next != sa.scheduled {
            sa.scheduled = next;
            if let Some(t) = next {
                self.timers.push(Reverse((t, id)));
            }
        }
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((t, id))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            let Some(sa) = self.sas.get_mut(&id) else {
                continue;
            };
            if sa.scheduled != Some(t) {
                continue;
            }
            sa.scheduled = None;
            sa.handle_timeout(&mut self.sh, now);
            self.after(id, now);
            self.reschedule(id, Some(now));
        }
    }

    /// The next time [`Endpoint::handle_timeout`] must run (possibly
    /// earlier than needed).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, _))| *t)
    }

    /// The next datagram to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.sh.transmits.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.sh.events.pop_front()
    }

    /// IKE SAs held (any state, lingering ones included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.sas.len()
    }

    /// No IKE SA at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sas.is_empty()
    }
}

/// Deterministic randomness for the fuzz entry point (SPIs, nonces).
#[derive(Debug)]
struct FuzzRng(u64);

impl RandomSource for FuzzRng {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = (self.0 >> 24) as u8;
        }
    }
}

/// Moves every queued datagram of `from` to `to` (addresses as sent).
fn shuttle(from: &mut Endpoint, to: &mut Endpoint, now: Instant) -> usize {
    let mut n = 0;
    while let Some(t) = from.poll_transmit() {
        to.handle_datagram(now, t.remote, t.local, &t.payload);
        n += 1;
    }
    while from.poll_event().is_some() {}
    n
}

/// The `ikev2_responder` fuzz target and its corpus replay: a hub
/// (responder) and a spoke (initiator) set up a tunnel, then `data` drives
/// the hub with records `[kind, len_hi, len_lo, bytes..]`:
///
/// - kind % 4 == 0: `bytes` as a datagram on port 500;
/// - kind % 4 == 1: `bytes` as a datagram on the NAT-T port (marker and
///   all);
/// - kind % 4 == 2: a request of the spoke's IKE SA whose inner chain is
///   `bytes[2..]` (first payload type `bytes[1]`, exchange type 34 +
///   `bytes[0] % 4`), sealed with the real keys so that it gets past the
///   ICV; the message ID advances when `kind & 4`;
/// - kind % 4 == 3: time advances by `bytes[0]` seconds, both run their
///   timers.
///
/// After each record the hub's datagrams go to the spoke. Nothing may
/// panic; the hub's half-open count and pool use must stay consistent.
pub fn fuzz_responder(data: &[u8]) {
    use super::config::PoolConfig;
    use super::events::CounterSpiAllocator;
    use super::{IdentityMatch, Keyring, Psk};
    let keyring = Keyring::new().with(IdentityMatch::Any, Psk::new(b"fuzz"));
    let mut hub_cfg = Config::new(Identity::Fqdn("hub.example".into()), keyring.clone());
    hub_cfg.pool = Some(PoolConfig {
        v4: Some(("10.99.0.1".parse().unwrap(), "10.99.0.9".parse().unwrap())),
        v6: Some((
            "2001:db8::1".parse().unwrap(),
            "2001:db8::9".parse().unwrap(),
        )),
        dns: vec!["10.99.0.53".parse().unwrap()],
        domain: Some("example".into()),
        routes: vec![super::config::IpPrefix::new(
            "10.10.0.0".parse().unwrap(),
            16,
        )],
    });
    hub_cfg.dos.cookie_threshold = usize::from(data.first().copied().unwrap_or(0) % 4);
    hub_cfg.fragmentation.mtu = 576;
    let mut spoke_cfg = Config::new(Identity::Fqdn("spoke.example".into()), keyring);
    spoke_cfg.cp_request.ipv4 = true;
    spoke_cfg.cp_request.dns = true;
    let Ok(mut hub) = Endpoint::with_rng(
        hub_cfg,
        Box::new(CounterSpiAllocator::new(0x100)),
        Box::new(FuzzRng(0x1234_5678_9abc_def1)),
    ) else {
        return;
    };
    let Ok(mut spoke) = Endpoint::with_rng(
        spoke_cfg,
        Box::new(CounterSpiAllocator::new(0x9000)),
        Box::new(FuzzRng(0x0fed_cba9_8765_4321)),
    ) else {
        return;
    };
    let hub_addr: SocketAddr = "192.0.2.1:500".parse().unwrap();
    let spoke_addr: SocketAddr = "192.0.2.2:500".parse().unwrap();
    let mut now = Instant::now();
    if spoke.initiate(now, spoke_addr, hub_addr, None).is_err() {
        return;
    }
    for _ in 0..8 {
        shuttle(&mut spoke, &mut hub, now);
        shuttle(&mut hub, &mut spoke, now);
    }
    let spoke_sa = spoke.sas.keys().next().copied();
    let mut rest = data.get(1..).unwrap_or_default();
    while rest.len() >= 3 {
        let kind = rest[0];
        let len = usize::from(u16::from_be_bytes([rest[1], rest[2]])).min(rest.len() - 3);
        let bytes = &rest[3..3 + len];
        rest = &rest[3 + len..];
        match kind % 4 {
            0 => hub.handle_datagram(now, hub_addr, spoke_addr, bytes),
            1 => hub.handle_datagram(
                now,
                SocketAddr::new(hub_addr.ip(), hub.sh.config.ports.1),
                SocketAddr::new(spoke_addr.ip(), 4500),
                bytes,
            ),
            2 => {
                let (Some(id), Some((&x, r))) = (spoke_sa, bytes.split_first()) else {
                    continue;
                };
                let Some((&first, plain)) = r.split_first() else {
                    continue;
                };
                let exchange = ExchangeType(34 + x % 4);
                let sh = &spoke.sh;
                let Some(sa) = spoke.sas.get_mut(&id) else {
                    continue;
                };
                let ds = sa.fuzz_request(
                    sh,
                    exchange,
                    super::codec::PayloadType(first),
                    plain,
                    kind & 4 != 0,
                );
                for d in ds {
                    let (l, r) = (sa.local, sa.remote);
                    let mut payload = Vec::new();
                    if l.port() == hub.sh.config.ports.1 {
                        payload.extend_from_slice(&[0; 4]);
                    }
                    payload.extend_from_slice(&d);
                    hub.handle_datagram(now, r, l, &payload);
                }
            }
            _ => {
                now +=
                    std::time::Duration::from_secs(u64::from(bytes.first().copied().unwrap_or(1)));
                hub.handle_timeout(now);
                spoke.handle_timeout(now);
                shuttle(&mut spoke, &mut hub, now);
            }
        }
        shuttle(&mut hub, &mut spoke, now);
        assert!(hub.half_open() <= hub.len());
        assert!(hub.pool_in_use() <= 2 * hub.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikev2::codec::{PayloadType, UnknownPayload};
    use crate::ikev2::events::CounterSpiAllocator;
    use crate::ikev2::{IdentityMatch, Keyring, Psk};

    #[test]
    fn test_cookie_rotation() {
        let mut rng = FuzzRng(7);
        let mut c = Cookies {
            current: (0, [0; 32]),
            previous: None,
            since: None,
        };
        let t0 = Instant::now();
        let life = std::time::Duration::from_secs(60);
        c.rotate(&mut rng, t0, life);
        let ip: std::net::IpAddr = "192.0.2.9".parse().unwrap();
        let k0 = Cookies::compute(&c.current, b"nonce", ip, 42);
        assert_eq!(k0.len(), 33);
        assert!(c.check(&k0, b"nonce", ip, 42));
        assert!(!c.check(&k0, b"nonce", ip, 43));
        assert!(!c.check(&k0, b"other", ip, 42));
        assert!(!c.check(&k0, b"nonce", "192.0.2.8".parse().unwrap(), 42));
        assert!(!c.check(&[], b"nonce", ip, 42));
        // Still accepted under the next secret, not after two rotations.
        c.rotate(&mut rng, t0 + life, life);
        assert_ne!(c.current.0, k0[0]);
        assert!(c.check(&k0, b"nonce", ip, 42));
        c.rotate(&mut rng, t0 + life * 2, life);
        assert!(!c.check(&k0, b"nonce", ip, 42));
    }

    fn pair() -> (Endpoint, Endpoint, SocketAddr, SocketAddr, Instant) {
        let k = Keyring::new().with(IdentityMatch::Any, Psk::new(b"k"));
        let hub = Endpoint::with_rng(
            Config::new(Identity::Fqdn("hub".into()), k.clone()),
            Box::new(CounterSpiAllocator::new(0x100)),
            Box::new(FuzzRng(1)),
        )
        .unwrap();
        let mut spoke = Endpoint::with_rng(
            Config::new(Identity::Fqdn("spoke".into()), k),
            Box::new(CounterSpiAllocator::new(0x900)),
            Box::new(FuzzRng(2)),
        )
        .unwrap();
        let (h, s): (SocketAddr, SocketAddr) = (
            "192.0.2.1:500".parse().unwrap(),
            "192.0.2.2:500".parse().unwrap(),
        );
        let now = Instant::now();
        spoke.initiate(now, s, h, None).unwrap();
        (hub, spoke, h, s, now)
    }

    /// Protected requests that decrypt but do not parse are answered
    /// inside SK: UNSUPPORTED_CRITICAL_PAYLOAD for an unknown critical
    /// payload, INVALID_SYNTAX for a broken chain; each uses up its
    /// message ID, and the SA stays.
    #[test]
    fn test_protected_error_answers() {
        let (mut hub, mut spoke, _h, _s, now) = pair();
        for _ in 0..4 {
            shuttle(&mut spoke, &mut hub, now);
            shuttle(&mut hub, &mut spoke, now);
        }
        let id = *spoke.sas.keys().next().unwrap();
        assert_eq!(
            spoke.sas[&id].state,
            crate::ikev2::state::IkeState::Established
        );
        // An unknown payload (type 49) with the critical bit.
        let (_, mut chain) = emit_inner_unknown(PayloadType::GSPM, &[1, 2, 3]);
        chain[1] |= 0x80;
        let cases: [(PayloadType, Vec<u8>, NotifyType); 2] = [
            (
                PayloadType::GSPM,
                chain,
                NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD,
            ),
            (
                PayloadType::NOTIFY,
                vec![0, 0, 0, 5, 1],
                NotifyType::INVALID_SYNTAX,
            ),
        ];
        for (first, plain, want) in cases {
            let sh = &spoke.sh;
            let sa = spoke.sas.get_mut(&id).unwrap();
            let ds = sa.fuzz_request(sh, ExchangeType::INFORMATIONAL, first, &plain, true);
            let (l, r) = (sa.local, sa.remote);
            for d in ds {
                hub.handle_datagram(now, r, l, &d);
            }
            let t = hub.poll_transmit().expect("an answer");
            let sa = spoke.sas.get_mut(&id).unwrap();
            let ps = sa.test_open(&t.payload, true).expect("decrypts");
            let n = crate::ikev2::codec::notifies(&ps).next().expect("a notify");
            assert_eq!(n.notify_type, want);
        }
        assert_eq!(
            hub.ike_sas()[0].state,
            crate::ikev2::state::IkeState::Established
        );
    }

    fn emit_inner_unknown(t: PayloadType, data: &[u8]) -> (PayloadType, Vec<u8>) {
        crate::ikev2::codec::emit_inner(&[Payload::Unknown(UnknownPayload {
            payload_type: t,
            data: data.to_vec(),
        })])
        .unwrap()
    }
}
