//! End-to-end IKEv2 tunnels per second (`perf ike`): a load generator of
//! our own (many initiator [`Endpoint`]s, one per tunnel, each with its
//! own identity) sets up tunnels (IKE_SA_INIT, IKE_AUTH with the first
//! Child SA; PSK, X25519, AES-GCM-256) against **one responder
//! [`Endpoint`] on one thread**, and the responder thread's own CPU time
//! is counted (Linux `/proc/thread-self/schedstat`, nanoseconds), not the
//! initiators'.
//!
//! Two transports:
//!
//! - `memory`: datagrams go through in-process channels; the responder's
//!   cost is the protocol and its cryptography (plus a channel operation
//!   per datagram);
//! - `udp`: real UDP sockets on loopback, the responder on one thread doing
//!   `recv_from`/`send_to` itself (system-call cost included).
//!
//! The same run measures the crypto-only ceiling: the responder's
//! cryptographic operations for one tunnel done bare in a loop on one
//! thread (X25519 key pair and agreement, SKEYSEED and the seven keys, SK
//! ciphers, the IKE_AUTH request opened and the response sealed, the
//! initiator's AUTH verified and ours computed, the Child SA's KEYMAT).

use std::collections::HashMap;
use std::hint::black_box;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use controlplane::ikev2::config::{EspProposal, IkeProposal};
use controlplane::ikev2::crypto::{
    psk_auth, signed_octets, verify_psk_auth, ChildSaKeys, DhGroup, DhPrivateKey, Encr, EspSuite,
    IkeSaKeys, IkeSuite, Prf, Role,
};
use controlplane::ikev2::events::CounterSpiAllocator;
use controlplane::ikev2::{Config, Endpoint, Event, Identity, IdentityMatch, Keyring, Psk};
use hdrhistogram::Histogram;

const PSK: &[u8] = b"perf-ike-bench-psk";

/// The transport between the load generator and the responder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// In-process channels.
    Memory,
    /// UDP sockets on 127.0.0.1.
    Udp,
}

impl std::str::FromStr for Transport {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "memory" => Ok(Self::Memory),
            "udp" => Ok(Self::Udp),
            _ => bail!("transport {s:?}: memory or udp"),
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct IkeBenchConfig {
    /// Tunnels to set up.
    pub tunnels: usize,
    /// Tunnels being set up at once.
    pub window: usize,
    /// Transports to measure.
    pub transports: Vec<Transport>,
    /// Iterations of the crypto-only ceiling.
    pub crypto_iterations: usize,
    /// Give up when nothing arrives for this long.
    pub stall: Duration,
}

impl Default for IkeBenchConfig {
    fn default() -> Self {
        Self {
            tunnels: 20_000,
            window: 64,
            transports: vec![Transport::Memory, Transport::Udp],
            crypto_iterations: 5_000,
            stall: Duration::from_secs(5),
        }
    }
}

/// The result of one transport.
#[derive(Clone, Debug)]
pub struct IkeRun {
    /// The transport.
    pub transport: Transport,
    /// Tunnels up (both ends reported TunnelUp).
    pub tunnels: usize,
    /// Tunnels that failed (AuthFailed, TunnelDown before up).
    pub failed: usize,
    /// Wall-clock time of the run.
    pub wall: Duration,
    /// CPU time of the responder thread over the run.
    pub responder_cpu: Duration,
    /// Datagrams the responder handled.
    pub responder_datagrams: u64,
    /// Setup latency (initiate to the initiator's TunnelUp), median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
}

impl IkeRun {
    /// Tunnels per second of responder CPU: what one responder core
    /// sustains.
    #[must_use]
    pub fn per_core_rate(&self) -> f64 {
        self.tunnels as f64 / self.responder_cpu.as_secs_f64().max(1e-9)
    }

    /// Tunnels per second of wall-clock time in this run (initiators
    /// included, on the same machine).
    #[must_use]
    pub fn wall_rate(&self) -> f64 {
        self.tunnels as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Responder CPU time per tunnel.
    #[must_use]
    pub fn cpu_per_tunnel(&self) -> Duration {
        self.responder_cpu / u32::try_from(self.tunnels.max(1)).unwrap_or(u32::MAX)
    }
}

/// The crypto-only ceiling.
#[derive(Clone, Copy, Debug)]
pub struct CryptoCeiling {
    /// Thread CPU time per tunnel's responder crypto.
    pub per_tunnel: Duration,
}

impl CryptoCeiling {
    /// Tunnels per second of one core if the responder did nothing but
    /// its cryptography.
    #[must_use]
    pub fn rate(&self) -> f64 {
        1.0 / self.per_tunnel.as_secs_f64().max(1e-12)
    }
}

/// Shortest measurement over the thread clock.
const CLOCK_MIN_RUN: Duration = Duration::from_secs(1);

/// This thread's CPU time so far (`/proc/thread-self/schedstat`, first
/// field: nanoseconds on the CPU). The kernel brings the running thread's
/// figure up to date at scheduler ticks and switches, so one reading may
/// lag by a tick (a few milliseconds): measure for a second or more.
///
/// # Errors
///
/// When the file is missing (not Linux, no procfs) or unreadable.
pub fn thread_cpu_time() -> Result<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat")
        .context("reading /proc/thread-self/schedstat")?;
    let ns: u64 = s
        .split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| anyhow!("unexpected schedstat {s:?}"))?;
    Ok(Duration::from_nanos(ns))
}

fn suite() -> Result<IkeSuite> {
    IkeSuite::new(
        Encr::AesGcm16_256,
        Prf::HmacSha256,
        None,
        DhGroup::Curve25519,
    )
    .map_err(|e| anyhow!("suite: {e}"))
}

/// PSK + X25519 + AES-GCM-256 (IKE) and AES-GCM-128 (ESP) only.
fn base_config(id: Identity) -> Config {
    let keyring = Keyring::new().with(IdentityMatch::Any, Psk::new(PSK));
    let mut c = Config::new(id, keyring);
    c.ike_proposals = vec![IkeProposal {
        encr: vec![Encr::AesGcm16_256],
        prf: vec![Prf::HmacSha256],
        integ: vec![],
        dh: vec![DhGroup::Curve25519],
    }];
    c.esp_proposals = vec![EspProposal::default()];
    c.initial_contact = false;
    c.dpd = None;
    // The load generator opens `window` SAs at once; do not ask for
    // cookies below that.
    c.dos.cookie_threshold = usize::MAX / 2;
    c
}

/// The responder's crypto for one tunnel, done bare.
fn responder_crypto(
    rng: &ring::rand::SystemRandom,
    suite: &IkeSuite,
    peer_ke: &[u8],
    request: &[u8],
) -> Result<usize> {
    let e = |x: controlplane::ikev2::crypto::CryptoError| anyhow!("crypto: {x}");
    let (ni, nr) = ([0x31u8; 32], [0x42u8; 32]);
    let (spi_i, spi_r) = (7u64.to_be_bytes(), 9u64.to_be_bytes());
    let dh = DhPrivateKey::generate(suite.dh(), rng).map_err(e)?;
    let shared = dh.agree(peer_ke).map_err(e)?;
    let keys = IkeSaKeys::from_shared_secret(suite, shared.as_bytes(), &ni, &nr, &spi_i, &spi_r)
        .map_err(e)?;
    let mut sk = keys.sk_ciphers(suite, Role::Responder).map_err(e)?;
    // A fixed buffer under another key: the open fails at the tag, after
    // the same work as a good one.
    let _ = black_box(sk.inbound.open(&request[..28], &request[28..]));
    let init = [0x5au8; 420];
    let idi = b"\x02\0\0\0spoke.bench.test";
    let idr = b"\x02\0\0\0hub.bench.test";
    let peer_octets = signed_octets(
        suite.prf(),
        &init,
        &nr,
        keys.peer_sk_p(Role::Responder),
        idi,
    )
    .map_err(e)?;
    let peer_auth = psk_auth(suite.prf(), PSK, &peer_octets).map_err(e)?;
    verify_psk_auth(suite.prf(), PSK, &peer_octets, peer_auth.as_bytes()).map_err(e)?;
    let own =
        signed_octets(suite.prf(), &init, &ni, keys.own_sk_p(Role::Responder), idr).map_err(e)?;
    let auth = psk_auth(suite.prf(), PSK, &own).map_err(e)?;
    let esp = EspSuite::new(Encr::AesGcm16_128, None).map_err(e)?;
    let child = ChildSaKeys::derive(suite.prf(), keys.sk_d(), &esp, None, &ni, &nr).map_err(e)?;
    let response = sk
        .outbound
        .seal(&request[..28], &request[28..260])
        .map_err(e)?;
    Ok(auth.len() + child.initiator_to_responder().encr_key_material().len() + response.len())
}

/// Measures the crypto-only ceiling (thread CPU time).
///
/// # Errors
///
/// A cryptographic failure or no thread CPU clock.
pub fn crypto_ceiling(iterations: usize) -> Result<CryptoCeiling> {
    let rng = ring::rand::SystemRandom::new();
    let suite = suite()?;
    let peer = DhPrivateKey::generate(DhGroup::Curve25519, &rng).map_err(|e| anyhow!("{e}"))?;
    let peer_ke = peer.public_value().to_vec();
    let request = vec![0xa5u8; 380];
    let n = iterations.max(1);
    for _ in 0..n.min(200) {
        black_box(responder_crypto(&rng, &suite, &peer_ke, &request)?);
    }
    // At least `iterations` and at least a second: the thread clock moves
    // by scheduler ticks (see [`thread_cpu_time`]).
    let (t0, w0) = (thread_cpu_time()?, Instant::now());
    let mut done = 0u32;
    while (done as usize) < n || w0.elapsed() < CLOCK_MIN_RUN {
        black_box(responder_crypto(&rng, &suite, &peer_ke, &request)?);
        done += 1;
    }
    let dt = thread_cpu_time()? - t0;
    Ok(CryptoCeiling {
        per_tunnel: dt / done.max(1),
    })
}

/// A datagram between the two sides: receiver's address, sender's,
/// payload.
type Datagram = (SocketAddr, SocketAddr, Vec<u8>);

/// What the responder thread reports at its end.
struct ResponderReport {
    cpu: Duration,
    datagrams: u64,
    up: usize,
}

/// The responder's half of a transport.
trait ResponderLink {
    /// The next datagram; `None` on a timeout with nothing.
    fn recv(&mut self, timeout: Duration) -> Result<Option<Datagram>>;
    fn send(&mut self, to: SocketAddr, from: SocketAddr, data: &[u8]) -> Result<()>;
}

/// The load generator's half.
trait InitiatorLink {
    fn recv(&mut self, timeout: Duration) -> Result<Option<Datagram>>;
    fn send(&mut self, to: SocketAddr, from: SocketAddr, data: &[u8]) -> Result<()>;
    /// The address initiator number `k` sends from.
    fn local(&self, k: usize) -> SocketAddr;
}

struct ChanResponder {
    rx: Receiver<Datagram>,
    tx: Sender<Datagram>,
}

/// A datagram from a channel; `None` after `timeout` with nothing.
fn chan_recv(rx: &Receiver<Datagram>, timeout: Duration, peer: &str) -> Result<Option<Datagram>> {
    match rx.recv_timeout(timeout) {
        Ok(d) => Ok(Some(d)),
        Err(RecvTimeoutError::Timeout) => Ok(None),
        Err(RecvTimeoutError::Disconnected) => bail!("{peer} gone"),
    }
}

impl ResponderLink for ChanResponder {
    fn recv(&mut self, timeout: Duration) -> Result<Option<Datagram>> {
        chan_recv(&self.rx, timeout, "load generator")
    }
    fn send(&mut self, to: SocketAddr, from: SocketAddr, data: &[u8]) -> Result<()> {
        // The load generator may be finished and gone: not an error.
        let _ = self.tx.send((to, from, data.to_vec()));
        Ok(())
    }
}

struct ChanInitiator {
    rx: Receiver<Datagram>,
    tx: Sender<Datagram>,
}

impl InitiatorLink for ChanInitiator {
    fn recv(&mut self, timeout: Duration) -> Result<Option<Datagram>> {
        chan_recv(&self.rx, timeout, "responder")
    }
    fn send(&mut self, to: SocketAddr, from: SocketAddr, data: &[u8]) -> Result<()> {
        self.tx
            .send((to, from, data.to_vec()))
            .map_err(|_| anyhow!("responder gone"))
    }
    fn local(&self, k: usize) -> SocketAddr {
        // A distinct peer address per tunnel (198.18.0.0/15, benchmarking).
        let k = u32::try_from(k % (1 << 17)).unwrap_or(0);
        SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0xc612_0000 | k)), 500)
    }
}

struct UdpLink {
    sock: UdpSocket,
    buf: Vec<u8>,
}

impl UdpLink {
    fn recv_one(&mut self, timeout: Duration) -> Result<Option<Datagram>> {
        self.sock
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        match self.sock.recv_from(&mut self.buf) {
            Ok((n, from)) => Ok(Some((
                self.sock.local_addr()?,
                from,
                self.buf[..n].to_vec(),
            ))),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
    fn send_one(&mut self, to: SocketAddr, data: &[u8]) -> Result<()> {
        match self.sock.send_to(data, to) {
            Ok(_) => Ok(()),
            // A full socket buffer drops like a network would; the
            // initiator retransmits.
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl ResponderLink for UdpLink {
    fn recv(&mut self, timeout: Duration) -> Result<Option<Datagram>> {
        self.recv_one(timeout)
    }
    fn send(&mut self, to: SocketAddr, _from: SocketAddr, data: &[u8]) -> Result<()> {
        self.send_one(to, data)
    }
}

impl InitiatorLink for UdpLink {
    fn recv(&mut self, timeout: Duration) -> Result<Option<Datagram>> {
        self.recv_one(timeout)
    }
    fn send(&mut self, to: SocketAddr, _from: SocketAddr, data: &[u8]) -> Result<()> {
        self.send_one(to, data)
    }
    fn local(&self, _k: usize) -> SocketAddr {
        self.sock
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }
}

/// The responder thread: one [`Endpoint`], until `expected` tunnels are
/// up or nothing arrives for `stall`.
fn run_responder(
    mut link: impl ResponderLink,
    ports: (u16, u16),
    expected: usize,
    stall: Duration,
) -> Result<ResponderReport> {
    let mut cfg = base_config(Identity::Fqdn("hub.bench.test".into()));
    cfg.ports = ports;
    let mut ep = Endpoint::new(cfg, Box::new(CounterSpiAllocator::new(0x1000)))
        .map_err(|e| anyhow!("responder: {e}"))?;
    let mut up = 0usize;
    let mut datagrams = 0u64;
    let mut start: Option<Duration> = None;
    while up < expected {
        let Some((local, remote, data)) = link.recv(stall)? else {
            bail!("responder: nothing for {stall:?} with {up} of {expected} tunnels up");
        };
        if start.is_none() {
            start = Some(thread_cpu_time()?);
        }
        datagrams += 1;
        let now = Instant::now();
        ep.handle_datagram(now, local, remote, &data);
        while let Some(t) = ep.poll_transmit() {
            link.send(t.remote, t.local, &t.payload)?;
        }
        while let Some(e) = ep.poll_event() {
            if matches!(e, Event::TunnelUp(_)) {
                up += 1;
            }
        }
        if ep.poll_timeout().is_some_and(|t| t <= now) {
            ep.handle_timeout(now);
        }
    }
    let cpu = thread_cpu_time()? - start.unwrap_or_default();
    Ok(ResponderReport { cpu, datagrams, up })
}

/// One tunnel being set up by the load generator.
struct Pending {
    ep: Endpoint,
    started: Instant,
}

/// The load generator: `tunnels` initiator endpoints, `window` at once.
fn run_initiators(
    link: &mut impl InitiatorLink,
    responder: SocketAddr,
    tunnels: usize,
    window: usize,
    stall: Duration,
) -> Result<(usize, usize, Histogram<u64>)> {
    let mut hist = Histogram::<u64>::new(3).map_err(|e| anyhow!("histogram: {e}"))?;
    // By initiator SPI (the first 8 octets of every IKE message).
    let mut pending: HashMap<u64, Pending> = HashMap::new();
    let (mut started, mut up, mut failed) = (0usize, 0usize, 0usize);
    let mut last_progress = Instant::now();
    while up + failed < tunnels {
        while started < tunnels && pending.len() < window.max(1) {
            let local = link.local(started);
            let mut cfg = base_config(Identity::Fqdn(format!("spoke{started}.bench.test")));
            cfg.ports = (responder.port(), responder.port().wrapping_add(1));
            let mut ep = Endpoint::new(cfg, Box::new(CounterSpiAllocator::new(0x10_0000)))
                .map_err(|e| anyhow!("initiator: {e}"))?;
            let now = Instant::now();
            ep.initiate(now, local, responder, None)
                .map_err(|e| anyhow!("initiate: {e}"))?;
            let mut spi = None;
            while let Some(t) = ep.poll_transmit() {
                spi = t.payload.get(..8).map(|b| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    u64::from_be_bytes(a)
                });
                link.send(t.remote, t.local, &t.payload)?;
            }
            let spi = spi.ok_or_else(|| anyhow!("initiator sent no IKE_SA_INIT"))?;
            if pending.insert(spi, Pending { ep, started: now }).is_some() {
                bail!("initiator SPI {spi:#x} twice");
            }
            started += 1;
        }
        let Some((local, remote, data)) = link.recv(Duration::from_millis(100))? else {
            let now = Instant::now();
            if now.duration_since(last_progress) > stall {
                bail!("load generator: nothing for {stall:?}, {up} up, {failed} failed");
            }
            // Lost datagrams (full socket buffers): retransmit.
            for p in pending.values_mut() {
                p.ep.handle_timeout(now);
                while let Some(t) = p.ep.poll_transmit() {
                    link.send(t.remote, t.local, &t.payload)?;
                }
            }
            continue;
        };
        last_progress = Instant::now();
        let Some(spi) = data.get(..8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_be_bytes(a)
        }) else {
            continue;
        };
        let Some(p) = pending.get_mut(&spi) else {
            continue;
        };
        let now = Instant::now();
        p.ep.handle_datagram(now, local, remote, &data);
        while let Some(t) = p.ep.poll_transmit() {
            link.send(t.remote, t.local, &t.payload)?;
        }
        let mut done = None;
        while let Some(e) = p.ep.poll_event() {
            match e {
                Event::TunnelUp(_) => done = Some(true),
                Event::AuthFailed { .. } | Event::TunnelDown { .. } => done = Some(false),
                _ => {}
            }
        }
        match done {
            Some(true) => {
                let us = now.duration_since(p.started).as_micros();
                hist.record(u64::try_from(us).unwrap_or(u64::MAX).max(1))
                    .map_err(|e| anyhow!("histogram: {e}"))?;
                up += 1;
                pending.remove(&spi);
            }
            Some(false) => {
                failed += 1;
                pending.remove(&spi);
            }
            None => {}
        }
    }
    Ok((up, failed, hist))
}

/// Runs one transport.
///
/// # Errors
///
/// Setup failures (sockets, endpoints), a stalled run, or tunnels that
/// failed to come up.
pub fn run_transport(cfg: &IkeBenchConfig, transport: Transport) -> Result<IkeRun> {
    let stall = cfg.stall;
    let tunnels = cfg.tunnels;
    let t0 = Instant::now();
    let (resp, init) = match transport {
        Transport::Memory => {
            let (to_resp, resp_rx) = mpsc::channel();
            let (to_init, init_rx) = mpsc::channel();
            let responder = SocketAddr::from(([192, 0, 2, 1], 500));
            let h = thread::Builder::new()
                .name("ike-responder".into())
                .spawn(move || {
                    run_responder(
                        ChanResponder {
                            rx: resp_rx,
                            tx: to_init,
                        },
                        (500, 4500),
                        tunnels,
                        stall,
                    )
                })?;
            let mut link = ChanInitiator {
                rx: init_rx,
                tx: to_resp,
            };
            let init = run_initiators(&mut link, responder, tunnels, cfg.window, stall);
            drop(link);
            (h, init)
        }
        Transport::Udp => {
            let rsock = UdpSocket::bind(("127.0.0.1", 0)).context("responder socket")?;
            let responder = rsock.local_addr()?;
            let isock = UdpSocket::bind(("127.0.0.1", 0)).context("load generator socket")?;
            let ports = (responder.port(), responder.port().wrapping_add(1));
            let h = thread::Builder::new()
                .name("ike-responder".into())
                .spawn(move || {
                    run_responder(
                        UdpLink {
                            sock: rsock,
                            buf: vec![0; 65536],
                        },
                        ports,
                        tunnels,
                        stall,
                    )
                })?;
            let mut link = UdpLink {
                sock: isock,
                buf: vec![0; 65536],
            };
            let init = run_initiators(&mut link, responder, tunnels, cfg.window, stall);
            (h, init)
        }
    };
    let (up, failed, hist) = init?;
    let wall = t0.elapsed();
    let r = resp
        .join()
        .map_err(|_| anyhow!("responder thread panicked"))??;
    if failed > 0 || up != tunnels || r.up != tunnels {
        bail!(
            "{transport:?}: {up} tunnels up at the initiators, {} at the responder, {failed} failed, of {tunnels}",
            r.up
        );
    }
    Ok(IkeRun {
        transport,
        tunnels: up,
        failed,
        wall,
        responder_cpu: r.cpu,
        responder_datagrams: r.datagrams,
        p50: Duration::from_micros(hist.value_at_quantile(0.5)),
        p99: Duration::from_micros(hist.value_at_quantile(0.99)),
    })
}

/// Everything `perf ike` measures.
#[derive(Clone, Debug)]
pub struct IkeReport {
    /// One per transport.
    pub runs: Vec<IkeRun>,
    /// The crypto-only ceiling.
    pub ceiling: CryptoCeiling,
}

/// Runs the benchmark.
///
/// # Errors
///
/// As [`run_transport`] and [`crypto_ceiling`].
pub fn run(cfg: &IkeBenchConfig) -> Result<IkeReport> {
    let ceiling = crypto_ceiling(cfg.crypto_iterations)?;
    let runs = cfg
        .transports
        .iter()
        .map(|&t| run_transport(cfg, t))
        .collect::<Result<Vec<_>>>()?;
    Ok(IkeReport { runs, ceiling })
}

/// The report as a Markdown table.
#[must_use]
pub fn markdown(r: &IkeReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| transport | tunnels | responder CPU us/tunnel | tunnels/s per responder core | share of crypto ceiling | wall tunnels/s (all threads) | p50 setup ms | p99 setup ms | responder datagrams |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    for run in &r.runs {
        let _ = writeln!(
            s,
            "| {:?} | {} | {:.1} | {:.0} | {:.0} % | {:.0} | {:.2} | {:.2} | {} |",
            run.transport,
            run.tunnels,
            run.cpu_per_tunnel().as_secs_f64() * 1e6,
            run.per_core_rate(),
            100.0 * run.per_core_rate() / r.ceiling.rate(),
            run.wall_rate(),
            run.p50.as_secs_f64() * 1e3,
            run.p99.as_secs_f64() * 1e3,
            run.responder_datagrams,
        );
    }
    let _ = writeln!(
        s,
        "\nCrypto-only ceiling (responder crypto per tunnel, bare, one thread): {:.1} us, {:.0} tunnels/s per core.",
        r.ceiling.per_tunnel.as_secs_f64() * 1e6,
        r.ceiling.rate()
    );
    s
}
