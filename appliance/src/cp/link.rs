//! The control plane's [`Link`] to the dataplane process over shared
//! memory ([`super::shm::Client`]), and the SPI allocator that keeps SPIs
//! unique in the dataplane's SA table index.
//!
//! Restarts: when the control plane starts, the dataplane may still hold
//! tunnels, SAs and routes of a previous control plane, and forwards on
//! them. The link reads them back ([`ShmLink::connect`]); the new control
//! plane keeps clear of their tunnel ids and SPIs, builds its tunnels
//! again (IKE with INITIAL_CONTACT replaces the peers' old SAs), and after
//! a grace period the link removes whatever of the old state was not
//! installed again. Traffic flows on the old SAs until the new ones
//! replace them: the tunnels are re-established, not resumed (the IKE SAs
//! themselves, with their keys, died with the old process).

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::dp::stats::WorkerStats;
use controlplane::flexvpn::{Command, Encap, FibChange, Target};
use controlplane::ikev2::crypto::Encr;
use controlplane::ikev2::events::SpiAllocator;
use controlplane::ikev2::Transmit;
use controlplane::nhrp::core::TunnelId;
use dataplane::counters::{DropReason, LatencyHistogram, WorkerCounters};
use dataplane::crypto::Algorithm;
use dataplane::ctl::{self, InjectVia, Msg, PuntReason, RouteTarget, SaMsg, TunnelMsg};

use super::shm::Client;
use super::{packet, Input, Link};

/// The environment variable naming a file where the keys of every SA are
/// appended as Wireshark `esp_sa` records (for decrypting captures in a
/// lab; like `SSLKEYLOGFILE`, never set it in production).
pub const KEYLOG_ENV: &str = "FLEXVPN_ESP_KEYLOG";

/// Wireshark's `esp_sa` records (one per direction) of an SA.
#[must_use]
pub fn esp_sa_records(sa: &controlplane::ikev2::events::ChildSaInstalled) -> Vec<String> {
    let fam = if sa.local.is_ipv4() { "IPv4" } else { "IPv6" };
    let enc = match sa.encr {
        Encr::AesGcm16_128 | Encr::AesGcm16_256 => "AES-GCM with 16 octet ICV [RFC4106]",
        Encr::ChaCha20Poly1305 => "ChaCha20 with Poly1305 [RFC7634]",
        _ => return Vec::new(),
    };
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    vec![
        format!(
            "\"{fam}\",\"{}\",\"{}\",\"0x{:08x}\",\"{enc}\",\"0x{}\",\"NULL\",\"\"",
            sa.local.ip(),
            sa.remote.ip(),
            sa.outbound_spi,
            hex(sa.outbound_key.as_bytes())
        ),
        format!(
            "\"{fam}\",\"{}\",\"{}\",\"0x{:08x}\",\"{enc}\",\"0x{}\",\"NULL\",\"\"",
            sa.remote.ip(),
            sa.local.ip(),
            sa.inbound_spi,
            hex(sa.inbound_key.as_bytes())
        ),
    ]
}

/// Bits of the SPI the dataplane's SA table uses as the index.
pub const SA_INDEX_BITS: u32 = 16;

/// SPIs whose low [`SA_INDEX_BITS`] are an index no other live SA has,
/// with pseudo-random high bits.
#[derive(Debug)]
pub struct IndexSpiAllocator {
    used: HashSet<u32>,
    free: VecDeque<u32>,
    next: u32,
    state: u64,
}

impl IndexSpiAllocator {
    /// An allocator avoiding the indexes of `live` SPIs.
    #[must_use]
    pub fn new(live: impl IntoIterator<Item = u32>) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()) << 32;
        Self {
            used: live.into_iter().map(|s| s & Self::MASK).collect(),
            free: VecDeque::new(),
            next: 1,
            state: seed | 1,
        }
    }

    const MASK: u32 = (1 << SA_INDEX_BITS) - 1;

    fn random(&mut self) -> u32 {
        // xorshift64*: SPIs need to be distinct, not secret.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        (self.state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }

    /// Indexes in use.
    #[must_use]
    pub fn live(&self) -> usize {
        self.used.len()
    }
}

impl SpiAllocator for IndexSpiAllocator {
    fn allocate(&mut self) -> Option<u32> {
        let index = loop {
            if let Some(i) = self.free.pop_front() {
                if !self.used.contains(&i) {
                    break i;
                }
                continue;
            }
            if self.next > Self::MASK {
                return None;
            }
            let i = self.next;
            self.next += 1;
            if !self.used.contains(&i) {
                break i;
            }
        };
        self.used.insert(index);
        let mut high = self.random() & !Self::MASK;
        if high == 0 {
            high = 1 << SA_INDEX_BITS;
        }
        Some(high | index)
    }

    fn release(&mut self, spi: u32) {
        let i = spi & Self::MASK;
        if self.used.remove(&i) {
            self.free.push_back(i);
        }
    }
}

#[derive(Debug, Default)]
struct Stale {
    tunnels: BTreeSet<u32>,
    sas: Vec<(u32, u32, u32)>,
    routes: Vec<(IpAddr, u8)>,
}

/// Counters of the link.
#[derive(Debug, Default, Clone, Copy)]
pub struct LinkStats {
    /// Commands sent.
    pub commands: u64,
    /// Commands the dataplane refused.
    pub refused: u64,
    /// Punts received.
    pub punts: u64,
    /// Punts that did not parse.
    pub bad_punts: u64,
    /// Packets injected.
    pub injects: u64,
    /// Injects dropped: the ring was full.
    pub inject_full: u64,
    /// Redirect triggers received.
    pub redirects: u64,
}

/// The link.
#[derive(Debug)]
pub struct ShmLink {
    client: Client,
    /// Commands waiting for room in the ring, in order.
    queue: VecDeque<Msg>,
    inputs: VecDeque<Input>,
    /// Addresses the dataplane's own configuration has (its ports).
    port_addrs: HashSet<IpAddr>,
    stale: Stale,
    grace_until: Option<Instant>,
    set_tunnels: HashSet<u32>,
    set_sas: HashSet<u32>,
    set_routes: HashSet<(IpAddr, u8)>,
    released: Vec<TunnelId>,
    log: Vec<String>,
    /// The dataplane's counters by worker index: (lcore, counters).
    workers: std::collections::BTreeMap<u16, (u32, WorkerStats)>,
    /// The SAs' traffic by inbound SPI, as the dataplane last reported it.
    sa_traffic: std::collections::HashMap<u32, ctl::SaTraffic>,
    /// `FLEXVPN_ESP_KEYLOG`: where SA keys are appended for Wireshark.
    keylog: Option<std::path::PathBuf>,
    /// Counters.
    pub stats: LinkStats,
}

fn alg(e: Encr) -> Option<Algorithm> {
    match e {
        Encr::AesGcm16_128 => Some(Algorithm::AesGcm128),
        Encr::AesGcm16_256 => Some(Algorithm::AesGcm256),
        Encr::ChaCha20Poly1305 => Some(Algorithm::ChaCha20Poly1305),
        _ => None,
    }
}

impl ShmLink {
    /// Connects to the dataplane's region `name` and reads back what a
    /// previous control plane left there. `port_addrs`: the addresses of
    /// the dataplane's ports (routes to them are its own). `grace`: how
    /// long old state the new control plane does not install again stays.
    ///
    /// # Errors
    ///
    /// No dataplane answered.
    pub fn connect(
        name: &str,
        port_addrs: impl IntoIterator<Item = IpAddr>,
        wait: Duration,
        grace: Duration,
    ) -> Result<Self> {
        let mut client = Client::connect(name, wait)?;
        let dump = client.dump(wait)?;
        let mut stale = Stale::default();
        for m in dump {
            match m {
                Msg::DumpTunnel(t) => {
                    stale.tunnels.insert(t.id);
                }
                Msg::DumpSa {
                    tunnel,
                    inbound_spi,
                    outbound_spi,
                } => stale.sas.push((tunnel, inbound_spi, outbound_spi)),
                Msg::DumpRoute { prefix, len, .. } => stale.routes.push((prefix, len)),
                _ => {}
            }
        }
        let any = !stale.tunnels.is_empty() || !stale.sas.is_empty() || !stale.routes.is_empty();
        let mut log = Vec::new();
        if any {
            log.push(format!(
                "the dataplane holds {} tunnel(s), {} SA(s) and {} route(s) of a previous control plane: they keep forwarding while tunnels are re-established, and what is not installed again is removed after {} s",
                stale.tunnels.len(),
                stale.sas.len(),
                stale.routes.len(),
                grace.as_secs()
            ));
        }
        Ok(Self {
            client,
            queue: VecDeque::new(),
            inputs: VecDeque::new(),
            port_addrs: port_addrs.into_iter().collect(),
            grace_until: any.then(|| Instant::now() + grace),
            stale,
            set_tunnels: HashSet::new(),
            set_sas: HashSet::new(),
            set_routes: HashSet::new(),
            released: Vec::new(),
            log,
            workers: std::collections::BTreeMap::new(),
            keylog: std::env::var_os(KEYLOG_ENV).map(std::path::PathBuf::from),
            sa_traffic: std::collections::HashMap::new(),
            stats: LinkStats::default(),
        })
    }

    /// Tunnel ids the dataplane holds from before (to keep new tunnels
    /// off them).
    #[must_use]
    pub fn stale_tunnel_ids(&self) -> Vec<TunnelId> {
        self.stale.tunnels.iter().copied().collect()
    }

    /// Inbound SPIs the dataplane holds from before.
    #[must_use]
    pub fn stale_spis(&self) -> Vec<u32> {
        self.stale.sas.iter().map(|s| s.1).collect()
    }

    fn command(&mut self, m: Msg) {
        self.stats.commands += 1;
        self.queue.push_back(m);
        self.flush();
    }

    fn flush(&mut self) {
        while let Some(m) = self.queue.front() {
            if self.client.send(m).is_err() {
                return;
            }
            self.queue.pop_front();
        }
    }

    fn grace(&mut self) {
        if self.grace_until.is_none_or(|t| t > Instant::now()) {
            return;
        }
        self.grace_until = None;
        let stale = std::mem::take(&mut self.stale);
        let mut removed = 0;
        for (prefix, len) in stale.routes {
            if !self.set_routes.contains(&(prefix, len)) {
                self.command(Msg::RouteDelete { prefix, len });
                removed += 1;
            }
        }
        for (tunnel, inbound_spi, outbound_spi) in stale.sas {
            if !self.set_sas.contains(&inbound_spi) {
                self.command(Msg::SaRemove {
                    tunnel,
                    inbound_spi,
                    outbound_spi,
                });
                removed += 1;
            }
        }
        for id in stale.tunnels {
            if !self.set_tunnels.contains(&id) {
                self.command(Msg::TunnelRemove { id });
                removed += 1;
            }
            self.released.push(id);
        }
        self.log.push(format!(
            "grace period over: {removed} item(s) of the previous control plane removed"
        ));
    }

    fn take(&mut self, m: Msg) {
        match m {
            Msg::Punt {
                reason: PuntReason::Ike,
                packet,
                ..
            } => {
                self.stats.punts += 1;
                match packet::parse_udp(&packet) {
                    Some((remote, local, payload)) => self.inputs.push_back(Input::Ike {
                        local,
                        remote,
                        payload: payload.to_vec(),
                    }),
                    None => self.stats.bad_punts += 1,
                }
            }
            Msg::Punt {
                reason: PuntReason::Nhrp,
                tunnel,
                packet,
                ..
            } => {
                self.stats.punts += 1;
                self.inputs.push_back(Input::Nhrp { tunnel, packet });
            }
            Msg::Redirect {
                ingress,
                egress,
                packet,
            } => {
                self.stats.redirects += 1;
                self.inputs.push_back(Input::Redirect {
                    ingress,
                    egress,
                    packet,
                });
            }
            Msg::SaStats(v) => {
                for t in v {
                    if self.set_sas.contains(&t.inbound_spi) {
                        self.sa_traffic.insert(t.inbound_spi, t);
                    }
                }
            }
            Msg::Stats {
                worker,
                lcore,
                values,
            } => {
                // The pipeline's counters, then the latency histogram.
                let n = WorkerCounters::VALUES;
                if let Some(c) = values.get(..n).and_then(WorkerCounters::from_values) {
                    let latency = values
                        .get(n..)
                        .and_then(LatencyHistogram::from_values)
                        .unwrap_or_default();
                    let s = WorkerStats {
                        pipeline: c,
                        latency,
                        ..WorkerStats::default()
                    };
                    self.workers.insert(worker, (lcore, s));
                }
            }
            Msg::Ack { code, text, .. } if code != 0 => {
                self.stats.refused += 1;
                self.log
                    .push(format!("the dataplane refused a command: {text}"));
            }
            _ => {}
        }
    }
}

impl Link for ShmLink {
    fn poll(&mut self) -> Option<Input> {
        self.flush();
        self.grace();
        if self.inputs.is_empty() {
            for _ in 0..64 {
                let Some((_, m)) = self.client.recv() else {
                    break;
                };
                self.take(m);
            }
        }
        self.inputs.pop_front()
    }

    fn wait(&mut self, deadline: Instant) {
        while self.inputs.is_empty() && Instant::now() < deadline {
            if let Some((_, m)) = self.client.recv() {
                self.take(m);
                continue;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn send_ike(&mut self, t: Transmit) {
        let Some(p) = packet::udp(t.local, t.remote, &t.payload) else {
            return;
        };
        self.inject(InjectVia::Route, p);
    }

    fn send_nhrp(&mut self, tunnel: TunnelId, packet: Vec<u8>) {
        self.inject(InjectVia::Tunnel(tunnel), packet);
    }

    fn apply(&mut self, c: Command) {
        let m = match c {
            Command::TunnelSet(s) => {
                self.set_tunnels.insert(s.id);
                Msg::TunnelSet(TunnelMsg {
                    id: s.id,
                    encap: match s.encap {
                        Encap::Gre => ctl::Encap::Gre,
                        Encap::Ipsec => ctl::Encap::Ipsec,
                    },
                    udp_encap: s.udp_encap,
                    redirect: s.redirect,
                    mtu: 1400,
                    network_id: s.network_id.unwrap_or(0),
                    local: s.local.ip(),
                    remote: s.remote.ip(),
                    local_port: s.local.port(),
                    remote_port: s.remote.port(),
                })
            }
            Command::TunnelRemove(id) => {
                self.set_tunnels.remove(&id);
                Msg::TunnelRemove { id }
            }
            Command::SaInstall { tunnel, sa } => {
                let Some(a) = alg(sa.encr) else {
                    self.log.push(format!(
                        "SA {:#x}: {:?} is not an AEAD the dataplane has",
                        sa.inbound_spi, sa.encr
                    ));
                    return;
                };
                self.set_sas.insert(sa.inbound_spi);
                if let Some(path) = &self.keylog {
                    use std::io::Write as _;
                    if let Ok(mut f) = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                    {
                        for r in esp_sa_records(&sa) {
                            let _ = writeln!(f, "{r}");
                        }
                    }
                }
                Msg::SaInstall(SaMsg {
                    tunnel,
                    inbound_spi: sa.inbound_spi,
                    outbound_spi: sa.outbound_spi,
                    alg: a,
                    esn: sa.esn,
                    replay_window: sa.replay_window,
                    replaces: sa.replaces.unwrap_or(0),
                    inbound_key: sa.inbound_key.as_bytes().to_vec(),
                    outbound_key: sa.outbound_key.as_bytes().to_vec(),
                })
            }
            Command::SaRemove {
                tunnel,
                inbound_spi,
                outbound_spi,
            } => {
                self.set_sas.remove(&inbound_spi);
                self.sa_traffic.remove(&inbound_spi);
                Msg::SaRemove {
                    tunnel,
                    inbound_spi,
                    outbound_spi,
                }
            }
            Command::Fib(FibChange::Set(p, t)) => {
                let target = match t {
                    Target::Tunnel(id) => RouteTarget::Tunnel(id),
                    Target::Local if !self.port_addrs.contains(&p.addr) => RouteTarget::Local,
                    // The dataplane's own: its ports' addresses and
                    // subnets, gateways of its configuration.
                    _ => return,
                };
                self.set_routes.insert((p.addr, p.len));
                Msg::RouteSet {
                    prefix: p.addr,
                    len: p.len,
                    target,
                }
            }
            Command::Fib(FibChange::Delete(p)) => {
                if !self.set_routes.remove(&(p.addr, p.len)) {
                    return;
                }
                Msg::RouteDelete {
                    prefix: p.addr,
                    len: p.len,
                }
            }
        };
        self.command(m);
    }

    fn describe(&self) -> String {
        let s = &self.stats;
        let mut t = format!(
            "Dataplane: shared memory {} (control plane generation {})\n",
            self.client.region().name(),
            self.client.generation
        );
        let _ = writeln!(
            t,
            "Installed by us: {} tunnel(s), {} SA(s), {} route(s); commands {} ({} refused, {} waiting)",
            self.set_tunnels.len(),
            self.set_sas.len(),
            self.set_routes.len(),
            s.commands,
            s.refused,
            self.queue.len()
        );
        let _ = writeln!(
            t,
            "Punts {} ({} unreadable), redirect triggers {}, injected {} ({} lost: ring full)",
            s.punts, s.bad_punts, s.redirects, s.injects, s.inject_full
        );
        for (i, (lcore, ws)) in &self.workers {
            let c = &ws.pipeline;
            let _ = writeln!(
                t,
                "Worker {i} (lcore {lcore}): rx {} packets {} bytes, tx {} packets {} bytes, ESP encrypted {} decrypted {}, punted {}, echo replies {}, ICMP errors {}, fragmented {}, dropped {}",
                c.rx_packets,
                c.rx_bytes,
                c.tx_packets,
                c.tx_bytes,
                c.esp_encrypted,
                c.esp_decrypted,
                c.punted,
                c.echo_replies,
                c.icmp_errors,
                c.fragmented,
                c.total_drops()
            );
            let drops: Vec<String> = DropReason::ALL
                .iter()
                .filter(|r| c.drops_for(**r) > 0)
                .map(|r| format!("{} {}", r.name(), c.drops_for(*r)))
                .collect();
            if !drops.is_empty() {
                let _ = writeln!(t, "  drops: {}", drops.join(", "));
            }
        }
        if self.grace_until.is_some() {
            let _ = writeln!(
                t,
                "From the previous control plane: {} tunnel(s), {} SA(s), {} route(s), removed at the end of the grace period unless installed again",
                self.stale.tunnels.len(),
                self.stale.sas.len(),
                self.stale.routes.len()
            );
        }
        t
    }

    fn sa_traffic(&self) -> Vec<ctl::SaTraffic> {
        self.sa_traffic.values().copied().collect()
    }

    fn dataplane_counters(&self) -> Vec<(u32, WorkerStats)> {
        self.workers.values().cloned().collect()
    }

    fn drain_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    fn released_tunnel_ids(&mut self) -> Vec<TunnelId> {
        std::mem::take(&mut self.released)
    }
}

impl ShmLink {
    fn inject(&mut self, via: InjectVia, packet: Vec<u8>) {
        // Injects are not queued behind commands: a full ring loses them
        // (IKE retransmits, NHRP retries), as a full NIC queue would.
        self.flush();
        if !self.queue.is_empty() || self.client.send(&Msg::Inject { via, packet }).is_err() {
            self.stats.inject_full += 1;
            return;
        }
        self.stats.injects += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_spi_indexes_unique_and_reused() {
        let mut a = IndexSpiAllocator::new([0x1234_0005, 0x0000_0007]);
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let s = a.allocate().unwrap();
            assert!(s > 255);
            let i = s & IndexSpiAllocator::MASK;
            assert!(i != 5 && i != 7, "{s:#x} reuses a live index");
            assert!(seen.insert(i), "{s:#x} index twice");
        }
        assert_eq!(a.live(), 1002);
        let s = a.allocate().unwrap();
        a.release(s);
        let t = a.allocate().unwrap();
        assert_eq!(s & IndexSpiAllocator::MASK, t & IndexSpiAllocator::MASK);
        // Exhaustion is None, not a panic.
        let mut b = IndexSpiAllocator::new([]);
        let mut n = 0;
        while b.allocate().is_some() {
            n += 1;
        }
        assert_eq!(n, (1 << SA_INDEX_BITS) - 1);
    }
}
