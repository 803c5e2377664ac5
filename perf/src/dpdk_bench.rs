//! `perf dpdk`: the real dataplane worker loop ([`run_worker`]) on DPDK
//! ports, next to the I/O ceiling and the bare AEAD, all in one EAL (one
//! process). Two sources:
//!
//! - [`Source::Pcap`] (default; ipsec-secgw's conditions): each worker
//!   polls its own `net_pcap` port looping a pcap from our generator
//!   (`infinite_rx=1`) and transmits to its own `net_null` port; no feeder,
//!   so the worker pays for its own rx; the main lcore only reads the
//!   counters. Decrypt runs with the inbound SAs' anti-replay off (the
//!   loop repeats sequence numbers). `--workers N` runs N such workers.
//! - [`Source::Ring`] (latency percentiles): one worker fed by the main
//!   lcore over `net_ring`, as drawn here:
//!
//! ```text
//!  main lcore (feeder)                       worker lcore (measured)
//!  +----------------------------+  net_ring0  +-----------------------------+
//!  | copy template into mbuf,   | ----------> | run_worker: rx burst,       |
//!  | TSC stamp in its headroom, |             | process_burst (fwd/ESP),    |
//!  | tx_burst (<= IN_FLIGHT)    |  net_ring1  | tx burst                    |
//!  | rx_burst: read stamp, free | <---------- | (I/O ceiling: rx -> tx only)|
//!  +----------------------------+             +-----------------------------+
//! ```
//!
//! - The feeder writes every packet afresh (the worker rewrites packets in
//!   place, so recycled mbufs must be restored, as a NIC's DMA would); that
//!   copy is on the feeder's lcore, not on the measured one.
//! - Each `net_ring` port loops its transmit ring to its receive ring, so
//!   the feeder transmits on `net_ring0` what the worker receives there, and
//!   receives on `net_ring1` what the worker sent.
//! - At most [`IN_FLIGHT`] packets are out of the pool at once: enough to
//!   keep the worker busy, and a bound on the queueing part of the latency.
//! - Decrypt needs fresh sequence numbers: the templates are two halves
//!   sealed with two SAs of one tunnel; before the feeder re-sends a half it
//!   replaces that half's inbound SA with a fresh one (same key, new replay
//!   window), once every packet of that half has left the worker.
//! - Throughput counts packets the worker transmitted inside the
//!   measurement window (after a warm-up); cycles per packet are the TSC
//!   cycles of that window (the worker busy-polls its own lcore) divided by
//!   those packets.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use appliance::dp::config::{Config as DpConfig, Plan};
use appliance::dp::idle::IdlePolicy;
use appliance::dp::routes::Routes;
use appliance::dp::stats::{drops_line, StatsMirror, WorkerStats};
use appliance::dp::worker::{run_worker, WorkerCtx};
use dataplane::buffer::PacketBuf;
use dataplane::crypto::{Algorithm, Backend};
use dataplane::esp::{Sa, SaConfig};
use dataplane::pipeline::{PortInfo, Tables, Worker};
use dataplane::tunnel::{InboundSa, TunnelMode};
use ffi::lcore::{self, tsc};
use ffi::{Eal, Mbuf, MbufBurst, Mempool, MempoolConfig, Port, PortConfig, RxQueue, TxQueue};
use hdrhistogram::Histogram;

use crate::esp_bench;
use crate::traffic::{EspSpec, Generator, Sizes, Spec};

/// Packets out of the pool at once (in the rings or on the worker).
pub const IN_FLIGHT: u32 = 512;
/// Feeder bursts.
const BURST: usize = 64;
/// Distinct templates for cleartext traffic.
const CLEAR_TEMPLATES: usize = 1024;
/// Distinct templates for ESP traffic (two halves of sequence numbers).
const ESP_TEMPLATES: usize = 32768;
/// The sysfs knob for 2 MiB huge pages.
pub const HUGEPAGES_2M: &str = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
/// 2 MiB pages asked for with `--hugepages` (EAL gets `-m 1024`).
const HUGEPAGES_WANTED: u64 = 640;

const LAN_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x10];
const WAN_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x20];
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x21];
const SPI_A: u32 = 0x0000_1001;
const SPI_B: u32 = 0x0000_1002;

/// What the worker does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No processing: rx burst to tx burst (the I/O ceiling).
    Io,
    /// Plain IPv4 forwarding (FIB lookup, TTL, L2 rewrite).
    Fwd,
    /// Cleartext in, ESP out (route into a tunnel, seal).
    Encrypt,
    /// ESP in, cleartext out (SA lookup, open, anti-replay, route).
    Decrypt,
}

impl Mode {
    /// Name on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Io => "io",
            Self::Fwd => "fwd",
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "io" => Self::Io,
            "fwd" => Self::Fwd,
            "encrypt" => Self::Encrypt,
            "decrypt" => Self::Decrypt,
            _ => bail!("mode {s:?}: fwd, encrypt or decrypt (io always runs)"),
        })
    }
}

/// Algorithm names on the command line.
pub fn parse_alg(s: &str) -> Result<Algorithm> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "aes128gcm" => Algorithm::AesGcm128,
        "aes256gcm" => Algorithm::AesGcm256,
        "chacha20poly1305" => Algorithm::ChaCha20Poly1305,
        other => bail!("algorithm {other:?}: aes128gcm, aes256gcm or chacha20poly1305"),
    })
}

fn alg_name(a: Algorithm) -> &'static str {
    match a {
        Algorithm::AesGcm128 => "aes128gcm",
        Algorithm::AesGcm256 => "aes256gcm",
        Algorithm::ChaCha20Poly1305 => "chacha20poly1305",
    }
}

fn alg_config_name(a: Algorithm) -> &'static str {
    match a {
        Algorithm::AesGcm128 => "aes-gcm-128",
        Algorithm::AesGcm256 => "aes-gcm-256",
        Algorithm::ChaCha20Poly1305 => "chacha20-poly1305",
    }
}

fn key_for(a: Algorithm, seed: u8) -> Vec<u8> {
    let n = match a {
        Algorithm::AesGcm128 => 16,
        Algorithm::AesGcm256 | Algorithm::ChaCha20Poly1305 => 32,
    } + 4;
    (0..n as u8)
        .map(|i| i.wrapping_mul(7).wrapping_add(seed))
        .collect()
}

/// The benchmark's options.
#[derive(Clone, Debug)]
pub struct DpdkConfig {
    /// Measurement window per variant (a warm-up of 10%, at least 20 ms,
    /// comes before it).
    pub seconds: f64,
    /// Inner IP packet sizes.
    pub sizes: Vec<usize>,
    /// Modes besides the I/O ceiling (which always runs).
    pub modes: Vec<Mode>,
    /// AEADs for encrypt and decrypt.
    pub algs: Vec<Algorithm>,
    /// Use 2 MiB huge pages (`--in-memory`) if they can be set up.
    pub hugepages: bool,
    /// Where the worker's packets come from.
    pub source: Source,
    /// Worker lcores (more than one with the pcap source only).
    pub workers: usize,
    /// The dataplane's AEAD backend.
    pub crypto: Backend,
    /// Runs of the whole variant list (pcap source); the report holds each
    /// variant's median run.
    pub runs: usize,
}

/// Where the measured worker's packets come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// ipsec-secgw's conditions: the worker polls a looping `net_pcap`
    /// (`infinite_rx=1`) and transmits to `net_null`; it pays for its own
    /// rx (the PMD copies each packet into a fresh mbuf). No latency.
    Pcap,
    /// The main lcore feeds the worker over `net_ring` and times each
    /// packet's return (latency percentiles).
    Ring,
}

impl std::str::FromStr for Source {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "pcap" => Ok(Self::Pcap),
            "ring" => Ok(Self::Ring),
            _ => bail!("source {s:?}: pcap or ring"),
        }
    }
}

impl Default for DpdkConfig {
    fn default() -> Self {
        Self {
            seconds: 1.0,
            sizes: vec![64, 512, 1420],
            modes: vec![Mode::Fwd, Mode::Encrypt, Mode::Decrypt],
            algs: vec![Algorithm::AesGcm128, Algorithm::ChaCha20Poly1305],
            hugepages: false,
            source: Source::Pcap,
            workers: 1,
            crypto: Backend::IpsecMb,
            runs: 1,
        }
    }
}

/// One measured variant.
#[derive(Clone, Debug)]
pub struct Variant {
    /// Mode.
    pub mode: Mode,
    /// AEAD (encrypt and decrypt).
    pub alg: Option<Algorithm>,
    /// Inner IP size.
    pub size: usize,
    /// Worker index; `None` for the total of several workers.
    pub worker: Option<usize>,
    /// Lcore of the worker.
    pub lcore: u32,
    /// Packets the worker transmitted in the window.
    pub packets: u64,
    /// Window length in seconds.
    pub seconds: f64,
    /// TSC cycles of the window.
    pub cycles: u64,
    /// Latency percentiles (ns): p50, p99, p99.9, max; from feed to return.
    pub latency_ns: [f64; 4],
    /// Latency samples.
    pub latency_samples: u64,
    /// Share of the worker's polls in the window that found nothing (the
    /// feeder, not the worker, was the limit when this is large).
    pub idle: f64,
    /// Drops by reason over the whole variant (warm-up included), as
    /// `drop.reason=N` text; empty if none.
    pub drops: String,
    /// All drops together (pipeline drops, refused transmissions, punts).
    pub dropped: u64,
    /// Packets the feeder sent over the whole variant.
    pub fed: u64,
    /// Lowest and highest Mpps over the runs, when there were several.
    pub spread: Option<(f64, f64)>,
}

impl Variant {
    /// Million packets per second.
    pub fn mpps(&self) -> f64 {
        self.packets as f64 / self.seconds / 1e6
    }
    /// Inner IP Gbit/s.
    pub fn gbps(&self) -> f64 {
        self.packets as f64 * self.size as f64 * 8.0 / self.seconds / 1e9
    }
    /// TSC cycles per packet on the worker lcore.
    pub fn cycles_per_packet(&self) -> f64 {
        if self.packets == 0 {
            return f64::INFINITY;
        }
        self.cycles as f64 / self.packets as f64
    }
    /// Label such as `encrypt aes128gcm`.
    pub fn label(&self) -> String {
        match self.alg {
            Some(a) => format!("{} {}", self.mode.name(), alg_name(a)),
            None => self.mode.name().to_owned(),
        }
    }
}

/// The bare AEAD on the worker lcore (`perf esp`'s measurement, one round).
#[derive(Clone, Debug)]
pub struct AeadSpeed {
    /// Algorithm.
    pub alg: Algorithm,
    /// The backend that ran it.
    pub backend: Backend,
    /// Inner IP size.
    pub size: usize,
    /// Seal, ns per packet (the buffer-restoring copy subtracted).
    pub seal_ns: f64,
    /// Open, ns per packet (copy subtracted).
    pub open_ns: f64,
}

/// Everything one run measured.
#[derive(Clone, Debug)]
pub struct DpdkReport {
    /// How memory was set up (`--no-huge`, or huge pages).
    pub memory: String,
    /// Where the packets came from.
    pub source: Source,
    /// Worker lcores (rows are their totals when more than one).
    pub workers: usize,
    /// TSC frequency.
    pub tsc_hz: u64,
    /// Variants in run order.
    pub variants: Vec<Variant>,
    /// Bare AEAD speeds (the dataplane's backend, and ring's).
    pub aead: Vec<AeadSpeed>,
    /// The dataplane's AEAD backend.
    pub crypto: Backend,
}

/// Raises the 2 MiB huge page count and puts the old value back on drop.
#[derive(Debug)]
struct HugepageGuard {
    old: u64,
}

impl HugepageGuard {
    fn setup() -> Result<Self> {
        let read = || -> Result<u64> {
            Ok(std::fs::read_to_string(HUGEPAGES_2M)
                .with_context(|| format!("reading {HUGEPAGES_2M}"))?
                .trim()
                .parse()?)
        };
        let old = read()?;
        let guard = Self { old };
        if old < HUGEPAGES_WANTED {
            std::fs::write(HUGEPAGES_2M, HUGEPAGES_WANTED.to_string())
                .with_context(|| format!("writing {HUGEPAGES_2M}"))?;
            let now = read()?;
            if now < 512 {
                bail!("{HUGEPAGES_2M}: asked for {HUGEPAGES_WANTED}, got {now}");
            }
        }
        Ok(guard)
    }
}

impl Drop for HugepageGuard {
    fn drop(&mut self) {
        if let Err(e) = std::fs::write(HUGEPAGES_2M, self.old.to_string()) {
            eprintln!(
                "perf dpdk: could not restore {HUGEPAGES_2M} to {}: {e}",
                self.old
            );
        }
    }
}

/// Runs the benchmark; progress lines go to standard output.
pub fn run(cfg: &DpdkConfig) -> Result<DpdkReport> {
    if !cfg.seconds.is_finite() || cfg.seconds <= 0.0 {
        bail!("--seconds must be > 0");
    }
    let mut guard = None;
    let memory;
    if cfg.workers == 0 || (cfg.workers > 1 && cfg.source == Source::Ring) {
        bail!("--workers: 1, or more with --source pcap");
    }
    if cfg.runs == 0 || (cfg.runs > 1 && cfg.source == Source::Ring) {
        bail!("--runs: 1, or more with --source pcap");
    }
    let mut b = Eal::builder().program("perf-dpdk");
    if cfg.workers == 1 {
        b = b.cores("0-1");
    } else {
        // Lcore i on CPU i modulo the CPUs there are (more workers than
        // CPUs share them: a functional check, not a speed figure).
        let cpus = std::thread::available_parallelism().map_or(1, |c| c.get());
        let map: Vec<String> = (0..=cfg.workers)
            .map(|i| format!("{i}@{}", i % cpus))
            .collect();
        b = b.arg(format!("--lcores={}", map.join(",")));
    }
    let mut b = b.no_pci().no_telemetry().memory_mb(1024);
    let dir = std::env::temp_dir().join(format!("perf-dpdk-{}", std::process::id()));
    let mut pcaps = Vec::new();
    match cfg.source {
        Source::Ring => b = b.vdev("net_ring0").vdev("net_ring1"),
        Source::Pcap => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            pcaps = write_pcaps(cfg, &dir)?;
            let n = cfg.workers;
            for (i, p) in pcaps.iter().enumerate() {
                for w in 0..n {
                    b = b.vdev(format!(
                        "net_pcap{},rx_pcap={},infinite_rx=1",
                        i * n + w,
                        p.path.display()
                    ));
                }
            }
            for w in 0..n {
                b = b.vdev(format!("net_null{w}"));
            }
        }
    }
    if cfg.hugepages {
        match HugepageGuard::setup() {
            Ok(g) => {
                guard = Some(g);
                memory = "2 MiB huge pages (--in-memory)".to_owned();
                b = b.in_memory();
            }
            Err(e) => {
                println!("perf dpdk: huge pages skipped ({e:#}); running with --no-huge");
                memory = "--no-huge (huge pages could not be set up)".to_owned();
                b = b.no_huge().no_shconf();
            }
        }
    } else {
        memory = "--no-huge".to_owned();
        b = b.no_huge().no_shconf();
    }
    let eal = b.init().context("EAL initialisation")?;
    let result = match cfg.source {
        Source::Ring => run_in_eal(cfg, &eal, memory),
        Source::Pcap => run_pcap(cfg, &eal, memory, &pcaps),
    };
    drop(eal);
    drop(guard);
    if cfg.source == Source::Pcap {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

/// Frames in each looping pcap.
const PCAP_FRAMES: usize = 1024;

/// One looping pcap: what it carries.
struct PcapFile {
    path: std::path::PathBuf,
    size: usize,
    /// `None`: cleartext (io, fwd, encrypt); `Some`: ESP of that AEAD.
    esp: Option<Algorithm>,
}

/// The generator's pcaps for every size: cleartext, and an ESP stream per
/// AEAD when decrypt runs.
fn write_pcaps(cfg: &DpdkConfig, dir: &std::path::Path) -> Result<Vec<PcapFile>> {
    let mut out = Vec::new();
    for &size in &cfg.sizes {
        let mut kinds = vec![None];
        if cfg.modes.contains(&Mode::Decrypt) {
            kinds.extend(cfg.algs.iter().map(|&a| Some(a)));
        }
        for esp in kinds {
            let (mode, alg) = match esp {
                Some(a) => (Mode::Decrypt, a),
                None => (Mode::Fwd, Algorithm::AesGcm128),
            };
            let mut frames = templates(mode, alg, size)?;
            frames.truncate(PCAP_FRAMES);
            let name = match esp {
                Some(a) => format!("esp-{}-{size}.pcap", alg_name(a)),
                None => format!("clear-{size}.pcap"),
            };
            let path = dir.join(name);
            let file = std::fs::File::create(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut w = crate::pcap::PcapWriter::new(std::io::BufWriter::new(file), 1)?;
            for (i, f) in frames.iter().enumerate() {
                w.write(i as u64, f)?;
            }
            w.finish()?;
            out.push(PcapFile { path, size, esp });
        }
    }
    Ok(out)
}

/// The headline run: the worker polls a looping `net_pcap` and transmits
/// to `net_null`, as ipsec-secgw was run.
fn run_pcap(cfg: &DpdkConfig, eal: &Eal, memory: String, pcaps: &[PcapFile]) -> Result<DpdkReport> {
    let n = cfg.workers;
    let lcores: Vec<u32> = lcore::workers(eal).into_iter().take(n).collect();
    if lcores.len() < n {
        bail!("EAL has {} worker lcores, {n} wanted", lcores.len());
    }
    // Every looping pcap keeps its frames in mbufs of this pool.
    let mbufs = (pcaps.len() * n * (PCAP_FRAMES + 600) + 8192 * n).next_power_of_two() - 1;
    let pool =
        Mempool::new(eal, &MempoolConfig::new("bench_pool", mbufs as u32)).context("pool")?;
    // Port k = file * n + worker; null port per worker.
    let mut ports = Vec::new();
    for k in 0..pcaps.len() * n {
        let mut p =
            Port::open_by_name(eal, &format!("net_pcap{k}"), &pool, &PortConfig::default())?;
        p.start()?;
        ports.push(p);
    }
    let mut nulls = Vec::new();
    for w in 0..n {
        let mut p =
            Port::open_by_name(eal, &format!("net_null{w}"), &pool, &PortConfig::default())?;
        p.start()?;
        nulls.push(p);
    }
    let tsc_hz = tsc::hz();
    println!(
        "perf dpdk: source net_pcap (infinite_rx, {PCAP_FRAMES} frames) -> net_null, each worker does its own rx (ipsec-secgw's conditions; no latency figures: use --source ring); memory {memory}, {n} worker(s) on lcores {lcores:?}, TSC {:.3} GHz, {:.2} s per variant; decrypt with anti-replay off (the pcap's sequence numbers repeat; ipsec-secgw's default); {}",
        tsc_hz as f64 / 1e9,
        cfg.seconds,
        crypto_text(cfg.crypto, &cfg.algs)
    );
    let mut report = DpdkReport {
        memory,
        source: Source::Pcap,
        workers: n,
        tsc_hz,
        variants: Vec::new(),
        aead: Vec::new(),
        crypto: cfg.crypto,
    };
    for run in 0..cfg.runs {
        if cfg.runs > 1 {
            println!("perf dpdk: run {} of {}", run + 1, cfg.runs);
        }
        for &size in &cfg.sizes {
            for (mode, alg) in variant_list(cfg) {
                let want = if mode == Mode::Decrypt { alg } else { None };
                let i = pcaps
                    .iter()
                    .position(|p| p.size == size && p.esp == want)
                    .context("no pcap for this variant")?;
                let mut queues = Vec::new();
                for w in 0..n {
                    let rx = ports[i * n + w].rx_queue(0)?;
                    let tx = nulls[w].tx_queue(0)?;
                    queues.push((rx, tx));
                }
                let per = pcap_variant(
                    eal,
                    &lcores,
                    cfg.seconds,
                    cfg.crypto,
                    mode,
                    alg,
                    size,
                    queues,
                )
                .with_context(|| format!("{} {size} B", mode.name()))?;
                for v in &per {
                    println!("{}", result_line(v, tsc_hz));
                }
                if n > 1 {
                    let t = total_of(&per);
                    println!("{}", result_line(&t, tsc_hz));
                    report.variants.push(t);
                } else {
                    report.variants.extend(per);
                }
            }
            aead_for_size(cfg, eal, lcores[0], size, &mut report)?;
        }
    }
    if cfg.runs > 1 {
        report.variants = median_variants(&report.variants);
        report.aead = median_aead(&report.aead);
        for v in &report.variants {
            println!("MEDIAN {}", result_line(v, tsc_hz));
        }
        for a in &report.aead {
            print!("MEDIAN ");
            print_aead(a);
        }
    }
    for p in ports.iter_mut().chain(nulls.iter_mut()) {
        p.stop()?;
    }
    Ok(report)
}

fn variant_list(cfg: &DpdkConfig) -> Vec<(Mode, Option<Algorithm>)> {
    let mut list = vec![(Mode::Io, None)];
    for &m in &cfg.modes {
        match m {
            Mode::Io => {}
            Mode::Fwd => list.push((m, None)),
            Mode::Encrypt | Mode::Decrypt => {
                list.extend(cfg.algs.iter().map(|&a| (m, Some(a))));
            }
        }
    }
    list
}

fn aead_for_size(
    cfg: &DpdkConfig,
    eal: &Eal,
    lc: u32,
    size: usize,
    report: &mut DpdkReport,
) -> Result<()> {
    if !cfg
        .modes
        .iter()
        .any(|m| matches!(m, Mode::Encrypt | Mode::Decrypt))
    {
        return Ok(());
    }
    for &alg in &cfg.algs {
        for backend in aead_backends(cfg.crypto, alg) {
            let secs = (cfg.seconds / 2.0).max(0.05);
            let a = lcore::launch(eal, lc, move || aead_speed(alg, backend, size, secs))?
                .join()
                .map_err(|_| anyhow!("AEAD benchmark panicked"))?;
            print_aead(&a);
            report.aead.push(a);
        }
    }
    Ok(())
}

/// Each variant's median run (by Mpps; the lower middle for an even
/// count), with the spread of the runs; first-run order.
fn median_variants(all: &[Variant]) -> Vec<Variant> {
    let key = |v: &Variant| (v.mode, v.alg, v.size, v.worker);
    let mut out: Vec<Variant> = Vec::new();
    for v in all {
        if out.iter().any(|o| key(o) == key(v)) {
            continue;
        }
        let mut group: Vec<&Variant> = all.iter().filter(|w| key(w) == key(v)).collect();
        group.sort_by(|a, b| a.mpps().total_cmp(&b.mpps()));
        let mut m = group[(group.len() - 1) / 2].clone();
        m.spread = Some((group[0].mpps(), group[group.len() - 1].mpps()));
        out.push(m);
    }
    out
}

/// The median bare AEAD times per algorithm, backend and size.
fn median_aead(all: &[AeadSpeed]) -> Vec<AeadSpeed> {
    let key = |a: &AeadSpeed| (a.alg, a.backend, a.size);
    let median = |mut x: Vec<f64>| {
        x.sort_by(f64::total_cmp);
        x[(x.len() - 1) / 2]
    };
    let mut out: Vec<AeadSpeed> = Vec::new();
    for a in all {
        if out.iter().any(|o| key(o) == key(a)) {
            continue;
        }
        let group: Vec<&AeadSpeed> = all.iter().filter(|b| key(b) == key(a)).collect();
        out.push(AeadSpeed {
            seal_ns: median(group.iter().map(|g| g.seal_ns).collect()),
            open_ns: median(group.iter().map(|g| g.open_ns).collect()),
            ..a.clone()
        });
    }
    out
}

/// Which implementation runs each algorithm, for the report.
pub fn crypto_text(crypto: Backend, algs: &[Algorithm]) -> String {
    let mut parts = Vec::new();
    for &a in algs {
        let b = crypto.effective(a);
        let what = if b == Backend::IpsecMb {
            format!(
                "ipsec-mb (libIPSec_MB {}, {})",
                ipsec_mb::version(),
                ipsec_mb::arch().map_or_else(|e| e.to_string(), |a| a.to_string())
            )
        } else {
            b.name().to_owned()
        };
        parts.push(format!("{} on {what}", alg_name(a)));
    }
    format!("crypto {}: {}", crypto, parts.join(", "))
}

/// The bare AEADs measured next to the dataplane: the backend its keys run
/// on, and ring's (the reference) if that is another.
fn aead_backends(crypto: Backend, alg: Algorithm) -> Vec<Backend> {
    let used = crypto.effective(alg);
    if used == Backend::Ring {
        vec![used]
    } else {
        vec![used, Backend::Ring]
    }
}

fn print_aead(a: &AeadSpeed) {
    println!(
        "AEAD alg={} backend={} size={} seal_ns={:.1} open_ns={:.1} seal_mpps={:.2} open_mpps={:.2}",
        alg_name(a.alg),
        a.backend,
        a.size,
        a.seal_ns,
        a.open_ns,
        1e3 / a.seal_ns,
        1e3 / a.open_ns
    );
}

/// One variant with the pcap source: worker `w` polls its own pcap port
/// and transmits to its own null port; the main lcore only reads the
/// counters. Returns one [`Variant`] per worker.
#[allow(clippy::too_many_arguments)]
fn pcap_variant(
    eal: &Eal,
    lcores: &[u32],
    seconds: f64,
    crypto: Backend,
    mode: Mode,
    alg: Option<Algorithm>,
    size: usize,
    queues: Vec<(RxQueue, TxQueue)>,
) -> Result<Vec<Variant>> {
    let alg_or = alg.unwrap_or(Algorithm::AesGcm128);
    // The looping pcap repeats its sequence numbers: anti-replay off, as
    // ipsec-secgw's default.
    let plan = plan_for(mode, alg_or, false, crypto)?;
    let (sas, tunnels) = appliance::dp::build_tunnels(&plan)?;
    let routes = Routes::new(&plan)?;
    let infos = vec![PortInfo::new(LAN_MAC), PortInfo::new(WAN_MAC)];
    let tables = Tables {
        sas: sas.reader(),
        tunnels: tunnels.reader(),
        fib: routes.reader(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut mirrors = Vec::new();
    let mut joins = Vec::new();
    for ((rx, tx), &lc) in queues.into_iter().zip(lcores) {
        let mirror = Arc::new(StatsMirror::default());
        let job = Job::new(mode, rx, tx, tables.clone(), infos.clone(), &mirror);
        mirrors.push(mirror);
        joins.push(job.launch(eal, lc, &stop)?);
    }
    let hz = tsc::hz();
    let warm = (seconds * 0.1).max(0.02);
    std::thread::sleep(std::time::Duration::from_secs_f64(warm));
    let start: Vec<WorkerStats> = mirrors.iter().map(|m| m.load()).collect();
    let t0 = tsc::now();
    std::thread::sleep(std::time::Duration::from_secs_f64(seconds));
    let end: Vec<WorkerStats> = mirrors.iter().map(|m| m.load()).collect();
    let t1 = tsc::now();
    stop.store(true, Ordering::Relaxed);
    let mut out = Vec::new();
    for (w, join) in joins.into_iter().enumerate() {
        let stats = join.join().map_err(|_| anyhow!("worker lcore panicked"))?;
        let (drops, dropped) = drop_text(&stats);
        let packets = end[w].tx_sent.saturating_sub(start[w].tx_sent);
        let polls = end[w].polls.saturating_sub(start[w].polls).max(1);
        let idle = end[w].idle_polls.saturating_sub(start[w].idle_polls) as f64 / polls as f64;
        let cycles = t1.saturating_sub(t0);
        out.push(Variant {
            mode,
            alg,
            size,
            worker: Some(w),
            lcore: lcores[w],
            packets,
            seconds: cycles as f64 / hz as f64,
            cycles,
            latency_ns: [0.0; 4],
            latency_samples: 0,
            idle,
            drops,
            dropped,
            fed: stats.pipeline.rx_packets.max(stats.tx_sent + stats.tx_full),
            spread: None,
        });
    }
    drop(tables);
    Ok(out)
}

/// The workers' variants together: packets, drops and fed added; cycles
/// per packet are per worker (the sum of their cycles over the packets).
fn total_of(per: &[Variant]) -> Variant {
    let mut t = per[0].clone();
    t.worker = None;
    t.packets = per.iter().map(|v| v.packets).sum();
    t.dropped = per.iter().map(|v| v.dropped).sum();
    t.fed = per.iter().map(|v| v.fed).sum();
    t.cycles = per.iter().map(|v| v.cycles).sum();
    t.idle = per.iter().map(|v| v.idle).sum::<f64>() / per.len() as f64;
    let drops: Vec<&str> = per
        .iter()
        .map(|v| v.drops.as_str())
        .filter(|d| !d.is_empty())
        .collect();
    t.drops = drops.join(" ");
    t
}

fn drop_text(stats: &WorkerStats) -> (String, u64) {
    let dropped = stats.pipeline.total_drops()
        + stats.tx_full
        + stats.tx_bad_port
        + stats.punt_ring_full
        + stats.punt_no_room;
    let mut drops = drops_line(&stats.pipeline);
    for (k, v) in [
        ("tx_full", stats.tx_full),
        ("tx_bad_port", stats.tx_bad_port),
        ("punted", stats.punt_ring_full + stats.punt_no_room),
    ] {
        if v > 0 {
            if !drops.is_empty() {
                drops.push(' ');
            }
            let _ = write!(drops, "{k}={v}");
        }
    }
    (drops, dropped)
}

fn run_in_eal(cfg: &DpdkConfig, eal: &Eal, memory: String) -> Result<DpdkReport> {
    let lc = *lcore::workers(eal)
        .first()
        .context("EAL has no worker lcore (needs -l 0-1)")?;
    let pool = Mempool::new(eal, &MempoolConfig::new("bench_pool", 8191)).context("pool")?;
    let mut p0 = Port::open_by_name(eal, "net_ring0", &pool, &PortConfig::default())?;
    let mut p1 = Port::open_by_name(eal, "net_ring1", &pool, &PortConfig::default())?;
    p0.start()?;
    p1.start()?;
    let tsc_hz = tsc::hz();
    println!(
        "perf dpdk: memory {memory}, worker lcore {lc}, TSC {:.3} GHz, {:.2} s per variant, at most {IN_FLIGHT} packets in flight; {}",
        tsc_hz as f64 / 1e9,
        cfg.seconds,
        crypto_text(cfg.crypto, &cfg.algs)
    );
    let mut report = DpdkReport {
        memory,
        source: Source::Ring,
        workers: 1,
        tsc_hz,
        variants: Vec::new(),
        aead: Vec::new(),
        crypto: cfg.crypto,
    };
    let mut bench = Bench {
        eal,
        pool: &pool,
        p0: &mut p0,
        p1: &mut p1,
        lcore: lc,
        seconds: cfg.seconds,
        crypto: cfg.crypto,
    };
    for &size in &cfg.sizes {
        let mut list = vec![(Mode::Io, None)];
        for &m in &cfg.modes {
            match m {
                Mode::Io => {}
                Mode::Fwd => list.push((m, None)),
                Mode::Encrypt | Mode::Decrypt => {
                    list.extend(cfg.algs.iter().map(|&a| (m, Some(a))));
                }
            }
        }
        for (mode, alg) in list {
            let v = bench
                .variant(mode, alg, size)
                .with_context(|| format!("{} {size} B", mode.name()))?;
            println!("{}", result_line(&v, tsc_hz));
            report.variants.push(v);
        }
        aead_for_size(cfg, eal, lc, size, &mut report)?;
    }
    p0.stop()?;
    p1.stop()?;
    drop(p0);
    drop(p1);
    if pool.in_use() != 0 {
        bail!("{} mbufs not back in the pool", pool.in_use());
    }
    Ok(report)
}

fn aead_speed(alg: Algorithm, backend: Backend, size: usize, seconds: f64) -> AeadSpeed {
    let cfg = esp_bench::Config {
        seconds,
        rounds: 1,
        max_entries: 1,
    };
    let r = esp_bench::esp_row(&cfg, alg, backend, esp_bench::Size::Fixed(size));
    AeadSpeed {
        alg,
        backend,
        size,
        seal_ns: (r.aead_seal_ns - r.copy_ns).max(0.1),
        open_ns: (r.aead_open_ns - r.copy_ns).max(0.1),
    }
}

/// The machine-readable line of a variant (the CI test reads these).
pub fn result_line(v: &Variant, tsc_hz: u64) -> String {
    let _ = tsc_hz;
    let lat = |x: f64| {
        if v.latency_samples == 0 {
            "na".to_owned()
        } else {
            format!("{x:.0}")
        }
    };
    let worker = v
        .worker
        .map_or_else(|| "total".to_owned(), |w| w.to_string());
    format!(
        "RESULT worker={} lcore={} variant={} size={} packets={} mpps={:.3} gbps={:.3} cycles_per_packet={:.1} idle_polls={:.1}% p50_ns={} p99_ns={} p999_ns={} max_ns={} fed={} dropped={} drops={}",
        worker,
        v.lcore,
        v.label().replace(' ', "/"),
        v.size,
        v.packets,
        v.mpps(),
        v.gbps(),
        v.cycles_per_packet(),
        100.0 * v.idle,
        lat(v.latency_ns[0]),
        lat(v.latency_ns[1]),
        lat(v.latency_ns[2]),
        lat(v.latency_ns[3]),
        v.fed,
        v.dropped,
        if v.drops.is_empty() { "none" } else { &v.drops }
    )
}

struct Bench<'a> {
    eal: &'a Eal,
    pool: &'a Mempool,
    p0: &'a mut Port,
    p1: &'a mut Port,
    lcore: u32,
    seconds: f64,
    crypto: Backend,
}

/// What the measured lcore runs.
enum Job {
    Io {
        rx: RxQueue,
        tx: TxQueue,
        mirror: Arc<StatsMirror>,
    },
    Worker(Box<WorkerCtx>),
}

impl Job {
    /// The I/O loop, or the worker loop busy-polling `rx` (the LAN port,
    /// or the WAN port for decrypt) and sending on `tx` (the other port),
    /// its counters mirrored into `mirror`.
    fn new(
        mode: Mode,
        rx: RxQueue,
        tx: TxQueue,
        tables: Tables,
        infos: Vec<PortInfo>,
        mirror: &Arc<StatsMirror>,
    ) -> Self {
        if mode == Mode::Io {
            return Self::Io {
                rx,
                tx,
                mirror: Arc::clone(mirror),
            };
        }
        let (rx_port, txs) = if mode == Mode::Decrypt {
            (1, vec![Some(tx), None])
        } else {
            (0, vec![None, Some(tx)])
        };
        Self::Worker(Box::new(WorkerCtx {
            worker: Worker::new(tables, infos),
            rx: vec![(rx_port, rx)],
            tx: txs,
            punt: None,
            inject: None,
            idle: IdlePolicy::Busy,
            mirror: Some(Arc::clone(mirror)),
            pool: None,
        }))
    }

    /// Runs the job on lcore `lc` until `stop` is set.
    fn launch(
        self,
        eal: &Eal,
        lc: u32,
        stop: &Arc<AtomicBool>,
    ) -> Result<lcore::LcoreJoin<WorkerStats>> {
        let stop = Arc::clone(stop);
        Ok(lcore::launch(eal, lc, move || match self {
            Self::Io { rx, tx, mirror } => io_loop(rx, tx, &mirror, &stop),
            Self::Worker(ctx) => run_worker(*ctx, &stop),
        })?)
    }
}

/// The dataplane configuration of a mode: LAN port 0 (192.168.1.1/24),
/// WAN port 1 (203.0.113.1/24), static neighbours on both, and tunnel 1
/// (plain IPsec tunnel mode, as ipsec-secgw) with two inbound SAs.
/// `anti_replay = false` turns the inbound SAs' replay check off.
fn plan_for(mode: Mode, alg: Algorithm, anti_replay: bool, crypto: Backend) -> Result<Plan> {
    let ar = if anti_replay {
        ""
    } else {
        ", anti_replay = false"
    };
    let key = hex(&key_for(alg, 1));
    let in_a = hex(&key_for(alg, 2));
    let a = alg_config_name(alg);
    let route = match mode {
        Mode::Encrypt => "[[routes]]\nprefix = \"10.2.0.0/16\"\nvia = \"Tunnel1\"\n",
        Mode::Io | Mode::Fwd => {
            "[[routes]]\nprefix = \"10.2.0.0/16\"\nvia = \"203.0.113.2\"\n"
        }
        Mode::Decrypt => "[[routes]]\nprefix = \"10.2.0.0/16\"\nvia = \"192.168.1.2\"\n[[routes]]\nprefix = \"10.1.0.0/16\"\nvia = \"Tunnel1\"\n",
    };
    let text = format!(
        r#"
crypto = "{crypto}"

[[ports]]
name = "lan"
device = "net_ring0"
mac = "02:00:00:00:00:10"
ipv4 = ["192.168.1.1/24"]

[[ports]]
name = "wan"
device = "net_ring1"
mac = "02:00:00:00:00:20"
ipv4 = ["203.0.113.1/24"]

[[neighbors]]
port = "lan"
ip = "192.168.1.2"
mac = "02:00:00:00:00:11"

[[neighbors]]
port = "wan"
ip = "203.0.113.2"
mac = "02:00:00:00:00:21"

{route}
[[tunnels]]
id = 1
local = "203.0.113.1"
remote = "203.0.113.2"
mode = "ipsec"
mtu = 1500
outbound = {{ spi = 0x2001, algorithm = "{a}", key = "{key}" }}
inbound = [{{ spi = {SPI_A}, algorithm = "{a}", key = "{in_a}"{ar} }}, {{ spi = {SPI_B}, algorithm = "{a}", key = "{in_a}"{ar} }}]
"#
    );
    DpConfig::parse(&text)
        .map_err(|e| anyhow!("{e:#}"))?
        .plan()
        .map_err(|e| anyhow!("{e:#}"))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Templates: Ethernet frames in feed order.
fn templates(mode: Mode, alg: Algorithm, size: usize) -> Result<Vec<Vec<u8>>> {
    let spec = Spec {
        sizes: Sizes::Fixed(size),
        flows: 16,
        dst_mac: if mode == Mode::Decrypt {
            WAN_MAC
        } else {
            LAN_MAC
        },
        src_mac: if mode == Mode::Decrypt {
            PEER_MAC
        } else {
            HOST_MAC
        },
        ..Spec::default()
    };
    if mode != Mode::Decrypt {
        let mut g = Generator::new(spec)?;
        return (0..CLEAR_TEMPLATES).map(|_| g.next_frame()).collect();
    }
    let mut out = Vec::with_capacity(ESP_TEMPLATES);
    for spi in [SPI_A, SPI_B] {
        let mut g = Generator::new(Spec {
            esp: Some(EspSpec {
                spi,
                algorithm: alg,
                key: key_for(alg, 2),
                esn: false,
                outer_src: "203.0.113.2".parse::<IpAddr>()?,
                outer_dst: "203.0.113.1".parse::<IpAddr>()?,
                mode: TunnelMode::Ipsec,
                nat_t: false,
                first_seq: 1,
            }),
            ..spec.clone()
        })?;
        for _ in 0..ESP_TEMPLATES / 2 {
            out.push(g.next_frame()?);
        }
    }
    Ok(out)
}

/// Writes the TSC stamp into the first 8 bytes of the mbuf's buffer (the
/// start of its headroom, which no encapsulation reaches).
fn write_stamp(m: &mut Mbuf, t: u64) {
    let h = m.headroom();
    if m.prepend(h) {
        m.data_mut()[..8].copy_from_slice(&t.to_ne_bytes());
        m.adj(h);
    }
}

fn read_stamp(m: &mut Mbuf) -> Option<u64> {
    let h = m.headroom();
    if !m.prepend(h) {
        return None;
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&m.data()[..8]);
    m.adj(h);
    Some(u64::from_ne_bytes(b))
}

impl Bench<'_> {
    fn variant(&mut self, mode: Mode, alg: Option<Algorithm>, size: usize) -> Result<Variant> {
        let alg_or = alg.unwrap_or(Algorithm::AesGcm128);
        let frames = templates(mode, alg_or, size)?;
        let plan = plan_for(mode, alg_or, true, self.crypto)?;
        let (mut sas, tunnels) = appliance::dp::build_tunnels(&plan)?;
        let routes = Routes::new(&plan)?;
        let infos = vec![PortInfo::new(LAN_MAC), PortInfo::new(WAN_MAC)];
        let tables = Tables {
            sas: sas.reader(),
            tunnels: tunnels.reader(),
            fib: routes.reader(),
        };
        let inbound_key = key_for(alg_or, 2);

        // The feeder's ends.
        let mut feed = self.p0.tx_queue(0)?;
        let mut back = self.p1.rx_queue(0)?;
        // The worker's ends (pipeline port 0 is the LAN, 1 the WAN).
        let rx = self.p0.rx_queue(0)?;
        let tx = self.p1.tx_queue(0)?;
        let mirror = Arc::new(StatsMirror::default());
        let job = Job::new(mode, rx, tx, tables.clone(), infos, &mirror);
        let stop = Arc::new(AtomicBool::new(false));
        let join = job.launch(self.eal, self.lcore, &stop)?;
        let hz = tsc::hz();
        let warm = (self.seconds * 0.1).max(0.02);
        let t0 = tsc::now();
        let start_at = t0 + (warm * hz as f64) as u64;
        let end_at = start_at + (self.seconds * hz as f64) as u64;
        let mut hist = Histogram::<u64>::new(3).map_err(|e| anyhow!("histogram: {e}"))?;
        let mut pending = MbufBurst::<BURST>::new();
        let mut returned = MbufBurst::<BURST>::new();
        let mut idx = 0usize;
        let mut fed = 0u64;
        let mut measuring = false;
        let mut start_tsc = 0u64;
        let mut start = WorkerStats::default();
        // Decrypt: the fed count after the last packet of each half, and
        // whether that half's SA must be replaced before it is fed again.
        let decrypt = mode == Mode::Decrypt;
        let half = if decrypt {
            frames.len() / 2
        } else {
            frames.len()
        };
        let mut half_end_fed = [0u64; 2];
        let mut need_fresh = [false; 2];
        let mut ends_half: Option<usize> = None;
        let (end, end_tsc) = loop {
            let now = tsc::now();
            if !measuring && now >= start_at {
                measuring = true;
                start_tsc = tsc::now();
                start = mirror.load();
                hist.reset();
            }
            if now >= end_at {
                let t = tsc::now();
                break (mirror.load(), t);
            }
            if back.rx_burst(&mut returned) > 0 {
                let t = tsc::now();
                if measuring {
                    for m in returned.iter_mut() {
                        if let Some(s) = read_stamp(m) {
                            let _ = hist.record(t.saturating_sub(s).max(1));
                        }
                    }
                }
                returned.clear();
            }
            if pending.is_empty() {
                let in_flight = self.pool.in_use();
                let mut ok = in_flight + BURST as u32 <= IN_FLIGHT;
                let h = idx / half;
                if ok && decrypt && idx % half == 0 && need_fresh[h] {
                    // FIFO: the oldest packets have left the worker. Every
                    // packet of this half must have before its SA is
                    // replaced.
                    let done = fed.saturating_sub(u64::from(in_flight));
                    if done >= half_end_fed[h] {
                        fresh_sa(
                            &mut sas,
                            [SPI_A, SPI_B][h],
                            alg_or,
                            self.crypto,
                            &inbound_key,
                        )?;
                        need_fresh[h] = false;
                    } else {
                        ok = false;
                    }
                }
                // Never cross the end of a half within one burst.
                let n = BURST.min((h + 1) * half - idx);
                if ok && self.pool.alloc_bulk(&mut pending, n) {
                    for m in pending.iter_mut() {
                        if !m.set_data(&frames[idx]) {
                            bail!(
                                "template of {} bytes does not fit an mbuf",
                                frames[idx].len()
                            );
                        }
                        idx += 1;
                    }
                    if idx % half == 0 {
                        ends_half = Some(idx / half - 1);
                    }
                    if idx == frames.len() {
                        idx = 0;
                    }
                }
            }
            if !pending.is_empty() {
                let t = tsc::now();
                for m in pending.iter_mut() {
                    write_stamp(m, t);
                }
                fed += feed.tx_burst(&mut pending) as u64;
                if pending.is_empty() {
                    if let Some(h) = ends_half.take() {
                        half_end_fed[h] = fed;
                        need_fresh[h] = decrypt;
                    }
                }
            }
        };
        stop.store(true, Ordering::Relaxed);
        let stats = join.join().map_err(|_| anyhow!("worker lcore panicked"))?;
        drop(pending);
        // Drain what is left in both rings.
        let mut rx0 = self.p0.rx_queue(0)?;
        let mut junk = MbufBurst::<BURST>::new();
        for _ in 0..100 {
            let a = rx0.rx_burst(&mut junk);
            junk.clear();
            let b = back.rx_burst(&mut junk);
            junk.clear();
            if a == 0 && b == 0 && self.pool.in_use() == 0 {
                break;
            }
        }
        drop((rx0, back, feed));
        drop(tables);
        let q = |p: f64| tsc::to_nanos(hist.value_at_quantile(p)) as f64;
        let (drops, dropped) = drop_text(&stats);
        let packets = end.tx_sent.saturating_sub(start.tx_sent);
        let polls = end.polls.saturating_sub(start.polls).max(1);
        let idle = end.idle_polls.saturating_sub(start.idle_polls) as f64 / polls as f64;
        let cycles = end_tsc.saturating_sub(start_tsc);
        Ok(Variant {
            mode,
            alg,
            size,
            worker: Some(0),
            lcore: self.lcore,
            packets,
            seconds: cycles as f64 / hz as f64,
            cycles,
            latency_ns: [q(0.5), q(0.99), q(0.999), tsc::to_nanos(hist.max()) as f64],
            latency_samples: hist.len(),
            idle,
            drops,
            dropped,
            fed,
            spread: None,
        })
    }
}

/// Replaces the inbound SA `spi` by a fresh one (new replay window).
fn fresh_sa(
    sas: &mut dataplane::sa_table::SaTable<InboundSa>,
    spi: u32,
    alg: Algorithm,
    backend: Backend,
    key: &[u8],
) -> Result<()> {
    let sa = Sa::new(SaConfig {
        spi,
        algorithm: alg,
        backend,
        key: key.to_vec(),
        esn: false,
        replay_window: 64,
    })
    .map_err(|e| anyhow!("SA: {e}"))?;
    sas.remove(spi);
    sas.reserve_spi(spi)
        .map_err(|e| anyhow!("SPI {spi:#x}: {e}"))?;
    sas.insert(Arc::new(InboundSa { sa, tunnel: 1 }))
        .map_err(|e| anyhow!("SA {spi:#x}: {e}"))?;
    sas.publish();
    Ok(())
}

/// The I/O ceiling: what the worker lcore does with no processing at all.
fn io_loop(
    mut rx: RxQueue,
    mut tx: TxQueue,
    mirror: &StatsMirror,
    stop: &AtomicBool,
) -> WorkerStats {
    let mut s = WorkerStats::default();
    let mut b = MbufBurst::<{ dataplane::BURST_MAX }>::new();
    while !stop.load(Ordering::Relaxed) {
        s.polls += 1;
        if rx.rx_burst(&mut b) == 0 {
            s.idle_polls += 1;
        } else {
            for _ in 0..4 {
                s.tx_sent += tx.tx_burst(&mut b) as u64;
                if b.is_empty() {
                    break;
                }
            }
            s.tx_full += b.len() as u64;
            b.clear();
        }
        if s.polls % 256 == 0 {
            mirror.store(&s);
        }
    }
    mirror.store(&s);
    s
}

fn find_aead(r: &DpdkReport, alg: Algorithm, backend: Backend, size: usize) -> Option<&AeadSpeed> {
    r.aead
        .iter()
        .find(|a| a.alg == alg && a.backend == backend && a.size == size)
}

fn find_io(r: &DpdkReport, size: usize) -> Option<&Variant> {
    r.variants
        .iter()
        .find(|v| v.mode == Mode::Io && v.size == size)
}

/// The results as a Markdown table, with the ratios to the I/O ceiling and
/// to the bare AEAD.
pub fn markdown(r: &DpdkReport) -> String {
    let mut out = String::new();
    let src = match r.source {
        Source::Pcap => "source net_pcap (infinite_rx) -> net_null, the worker does its own rx; decrypt with anti-replay off; no latency (use --source ring)".to_owned(),
        Source::Ring => format!("source net_ring fed by the main lcore; latency from feed to return (at most {IN_FLIGHT} packets in flight)"),
    };
    let algs: Vec<Algorithm> = r.aead.iter().map(|a| a.alg).fold(Vec::new(), |mut v, a| {
        if !v.contains(&a) {
            v.push(a);
        }
        v
    });
    let _ = writeln!(
        out,
        "Memory: {}; TSC {:.3} GHz; {}; {src}; {}.\n",
        r.memory,
        r.tsc_hz as f64 / 1e9,
        if r.workers == 1 {
            "one worker lcore".to_owned()
        } else {
            format!(
                "{} worker lcores, rows are their totals, bare AEAD is one lcore's",
                r.workers
            )
        },
        crypto_text(r.crypto, &algs)
    );
    let _ = writeln!(
        out,
        "| variant | size | Mpps | Gbit/s | cycles/pkt | idle polls | p50 us | p99 us | p99.9 us | drops | vs I/O ceiling | bare AEAD Mpps | vs bare AEAD | bare ring Mpps | vs bare ring |"
    );
    let _ = writeln!(
        out,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for v in &r.variants {
        let io = find_io(r, v.size)
            .filter(|io| io.mode != v.mode)
            .map(|io| format!("{:.0}%", 100.0 * v.mpps() / io.mpps()))
            .unwrap_or_else(|| "-".into());
        let bare = |backend: Backend| {
            v.alg
                .and_then(|a| find_aead(r, a, backend.effective(a), v.size))
                .map(|a| {
                    let ns = if v.mode == Mode::Decrypt {
                        a.open_ns
                    } else {
                        a.seal_ns
                    };
                    1e3 / ns
                })
        };
        let aead = bare(r.crypto);
        let ring = bare(Backend::Ring);
        let cell = |x: Option<f64>| x.map_or_else(|| "-".into(), |x| format!("{x:.2}"));
        let pct = |x: Option<f64>| {
            x.map_or_else(|| "-".into(), |x| format!("{:.0}%", 100.0 * v.mpps() / x))
        };
        let _ = writeln!(
            out,
            "| {} | {} B | {} | {:.2} | {:.0} | {:.0}% | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {} |",
            v.label(),
            v.size,
            match v.spread {
                Some((lo, hi)) => format!("{:.2} ({lo:.2}-{hi:.2})", v.mpps()),
                None => format!("{:.2}", v.mpps()),
            },
            v.gbps(),
            v.cycles_per_packet(),
            100.0 * v.idle,
            v.latency_ns[0] / 1e3,
            v.latency_ns[1] / 1e3,
            v.latency_ns[2] / 1e3,
            if v.drops.is_empty() { "none" } else { &v.drops },
            io,
            cell(aead),
            pct(aead),
            cell(ring),
            pct(ring),
        );
    }
    out
}
