//! The poll-mode dataplane process (`appliance dataplane --config FILE`).
//!
//! ```text
//!            main lcore                              worker lcores (N)
//!  +------------------------------+      +-----------------------------------+
//!  | Service: punt rings in,      | <--- | rx burst (queue w of every port)  |
//!  |  ARP/ND (Neighbors), host    | punt |  -> pipeline (classify, ESP in,   |
//!  |  and gateway routes (FIB     | ring |     decap, FIB, encap + ESP out,  |
//!  |  writer), IKE/NHRP counted   |      |     L2 rewrite)                   |
//!  | counters: periodic and final | ---> |  -> tx burst per port (queue w)   |
//!  +------------------------------+ inject (worker 0 sends the main lcore's |
//!                                     ring  frames: ARP/ND, released packets)|
//! ```
//!
//! - [`config`]: the TOML file and its validation into a [`config::Plan`].
//! - [`worker`]: the worker loop, [`worker::run_worker`] (reusable by
//!   benchmarks).
//! - [`service`]: the main lcore's work.
//! - [`routes`]: FIB bookkeeping (connected, static, gateway, neighbours).
//! - [`idle`]: busy or adaptive polling.
//! - [`meta`]: the metadata an mbuf carries between lcores.
//! - [`stats`]: counters and their text.
//!
//! [`run`] starts EAL, opens the ports, builds the tables, launches the
//! workers, serves on the main lcore until `stop` is set (SIGINT/SIGTERM in
//! the binary), then stops the workers, collects their counters, stops the
//! ports and cleans EAL up.

pub mod config;
pub mod control;
pub mod idle;
pub mod meta;
pub mod routes;
pub mod service;
pub mod stats;
pub mod worker;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use dataplane::esp::{Sa, SaConfig};
use dataplane::neighbor::PortAddrs;
use dataplane::pipeline::{PortInfo, Tables, Worker};
use dataplane::sa_table::{SaTable, TableError, TunnelTable};
use dataplane::tunnel::{InboundSa, Tunnel};
use ffi::{lcore, Eal, Mempool, MempoolConfig, Port, PortConfig, RingSync};

use config::{Device, LogFormat, Plan, SaPlan};
use idle::Backoff;
use routes::Routes;
use service::Service;
use stats::{MainStats, PortLine, StatsMirror, WorkerStats};
use worker::{run_worker, WorkerCtx};

/// Slots of each ring between lcores.
const RING_SIZE: u32 = 1024;
/// SA table size (2^16 inbound SAs).
const SA_INDEX_BITS: u32 = 16;
/// Tunnel table size: ids 0 to 2^17 - 1 (static tunnels of the TOML file
/// use 0 to 1023; the control plane's Virtual-Access interfaces the rest).
const TUNNEL_INDEX_BITS: u32 = 17;
/// Largest tunnel id the control plane may use.
pub const MAX_CONTROL_TUNNEL_ID: u32 = (1 << TUNNEL_INDEX_BITS) - 1;

/// What a run ends with.
#[derive(Debug, Clone)]
pub struct Report {
    /// Per worker, in launch order, with its lcore.
    pub workers: Vec<(u32, WorkerStats)>,
    /// The sum over workers.
    pub total: WorkerStats,
    /// The main lcore's counters.
    pub main: MainStats,
    /// The neighbour table's counters.
    pub neighbors: dataplane::neighbor::Counters,
    /// Device counters per port.
    pub ports: Vec<PortLine>,
    /// How long the process forwarded.
    pub elapsed: Duration,
}

impl Report {
    /// The final counters as text: one `key=value` line per worker, the
    /// total, the drops by reason, the main lcore, and each port.
    pub fn text(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "dataplane: final counters after {:.3} s\n",
            self.elapsed.as_secs_f64()
        ));
        for (i, (lc, s)) in self.workers.iter().enumerate() {
            out.push_str(&format!(
                "worker {i} (lcore {lc}): {}\n",
                stats::worker_line(s)
            ));
        }
        out.push_str(&format!("total: {}\n", stats::worker_line(&self.total)));
        let drops = stats::drops_line(&self.total.pipeline);
        out.push_str(&format!(
            "drops: {}\n",
            if drops.is_empty() { "none" } else { &drops }
        ));
        out.push_str(&format!(
            "main: {}\n",
            stats::main_line(&self.main, &self.neighbors)
        ));
        for p in &self.ports {
            out.push_str(&format!("port {}\n", stats::port_line(p)));
        }
        out
    }

    /// The final counters as one JSON line (see [`stats::json_line`]).
    pub fn json(&self) -> String {
        let workers: Vec<serde_json::Value> = self
            .workers
            .iter()
            .enumerate()
            .map(|(i, (lc, s))| {
                serde_json::json!({
                    "worker": i,
                    "lcore": lc,
                    "counters": stats::json_object(&stats::worker_pairs(s)),
                })
            })
            .collect();
        let fields = serde_json::json!({
            "elapsed_s": self.elapsed.as_secs_f64(),
            "workers": workers,
            "total": stats::json_object(&stats::worker_pairs(&self.total)),
            "drops": stats::drops_json(&self.total.pipeline),
            "main": stats::json_object(&stats::main_pairs(&self.main, &self.neighbors)),
            "ports": self.ports.iter().map(stats::port_json).collect::<Vec<_>>(),
        });
        format!("{}\n", stats::json_line("info", "final counters", fields))
    }

    /// The final counters in `format`.
    pub fn render(&self, format: LogFormat) -> String {
        match format {
            LogFormat::Text => self.text(),
            LogFormat::Json => self.json(),
        }
    }
}

/// Which implementation runs each AEAD with `backend`, for the logs (for
/// example `ipsec-mb (libIPSec_MB 1.3.0, avx512) for AES-GCM, ring for
/// ChaCha20-Poly1305`).
fn crypto_text(backend: dataplane::crypto::Backend) -> String {
    use dataplane::crypto::{Algorithm, Backend};
    let gcm = match backend.effective(Algorithm::AesGcm128) {
        Backend::IpsecMb => format!(
            "ipsec-mb (libIPSec_MB {}, {})",
            ipsec_mb::version(),
            ipsec_mb::arch().map_or_else(|e| e.to_string(), |a| a.to_string())
        ),
        b => b.name().to_string(),
    };
    format!(
        "{gcm} for AES-GCM, {} for ChaCha20-Poly1305",
        backend.effective(Algorithm::ChaCha20Poly1305)
    )
}

/// The EAL arguments of a plan.
pub fn eal_builder(plan: &Plan) -> ffi::EalBuilder {
    let e = &plan.eal;
    let mut b = Eal::builder().program("appliance-dataplane");
    if let Some(c) = &e.cores {
        b = b.cores(c.clone());
    }
    if let Some(m) = e.main_lcore {
        b = b.main_lcore(m);
    }
    if e.no_huge {
        b = b.no_huge();
    }
    if e.no_shconf {
        b = b.no_shconf();
    }
    if let Some(m) = e.memory {
        b = b.memory_mb(m);
    }
    if let Some(p) = &e.file_prefix {
        b = b.file_prefix(p.clone());
    }
    if e.in_memory {
        b = b.in_memory();
    }
    if !e.telemetry {
        b = b.no_telemetry();
    }
    let mut any_pci = false;
    for p in &plan.ports {
        match &p.device {
            Device::Pci { devargs, .. } => {
                any_pci = true;
                b = b.allow_pci(devargs.clone());
            }
            Device::Vdev { devargs, .. } => b = b.vdev(devargs.clone()),
        }
    }
    if !any_pci {
        b = b.no_pci();
    }
    if let Some(l) = &e.log_level {
        b = b.log_level(l.clone());
    }
    for a in &e.args {
        b = b.arg(a.clone());
    }
    b
}

fn build_sa(p: &SaPlan, backend: dataplane::crypto::Backend) -> Result<Sa> {
    let mut sa = Sa::new(SaConfig {
        spi: p.spi,
        algorithm: p.algorithm,
        backend,
        key: p.key.clone(),
        esn: p.esn,
        replay_window: p.replay_window,
    })
    .map_err(|e| anyhow!("SA {:#x}: {e}", p.spi))?;
    if !p.anti_replay {
        sa = sa.without_anti_replay();
    }
    if p.first_seq > 1 {
        sa.set_next_seq(p.first_seq);
    }
    Ok(sa)
}

/// Fills the SA and tunnel tables with the plan's static tunnels.
pub fn build_tunnels(plan: &Plan) -> Result<(SaTable<InboundSa>, TunnelTable<Tunnel>)> {
    let mut sas = SaTable::new(SA_INDEX_BITS).map_err(|e| anyhow!("SA table: {e}"))?;
    let mut tunnels =
        TunnelTable::new(TUNNEL_INDEX_BITS).map_err(|e| anyhow!("tunnel table: {e}"))?;
    for (i, t) in plan.tunnels.iter().enumerate() {
        let key = format!("tunnels[{i}]");
        let outbound = t
            .outbound
            .as_ref()
            .map(|s| build_sa(s, plan.crypto))
            .transpose()
            .with_context(|| format!("{key}.outbound"))?
            .map(Arc::new);
        for (j, s) in t.inbound.iter().enumerate() {
            let k = format!("{key}.inbound[{j}]");
            match sas.reserve_spi(s.spi) {
                Ok(()) => {}
                Err(TableError::Occupied) => bail!(
                    "{k}.spi: {:#x} shares its table index (low {SA_INDEX_BITS} bits) with SPI {:#x}: choose SPIs that differ in their low {SA_INDEX_BITS} bits",
                    s.spi,
                    sas.allocated_at(s.spi).unwrap_or(0)
                ),
                Err(e) => bail!("{k}.spi: {:#x}: {e}", s.spi),
            }
            let sa = build_sa(s, plan.crypto).with_context(|| k.clone())?;
            sas.insert(Arc::new(InboundSa { sa, tunnel: t.id }))
                .map_err(|e| anyhow!("{k}: {e}"))?;
        }
        tunnels
            .insert(
                t.id,
                Arc::new(Tunnel {
                    id: t.id,
                    local: t.local,
                    remote: t.remote,
                    mode: t.mode,
                    nat_t: t.nat_t,
                    mtu: t.mtu,
                    outer_ttl: t.ttl,
                    nhrp_network_id: 0,
                    redirect: false,
                    outbound,
                }),
            )
            .map_err(|e| anyhow!("{key}.id: {e}"))?;
    }
    sas.publish();
    tunnels.publish();
    Ok((sas, tunnels))
}

/// Mbufs the pool needs: every descriptor, the rings, the bursts and the
/// per-lcore caches, with a margin.
fn pool_size(plan: &Plan) -> u32 {
    let ports = plan.ports.len() as u32;
    let w = u32::from(plan.workers);
    let desc = ports * w * (u32::from(plan.rx_descriptors) + u32::from(plan.tx_descriptors));
    let rings = (w + 1) * RING_SIZE;
    let bursts = w * (ports + 4) * 64;
    let caches = (w + 1) * 384;
    let held = service::HELD_MAX as u32 + 2048;
    let need = desc + rings + bursts + caches + held;
    // 2^k - 1 is what the mempool stores best.
    (need + 1).next_power_of_two() - 1
}

/// Runs the dataplane until `stop` is set. Progress lines go to `log`
/// (standard output in the binary): a `dataplane: running` line once the
/// workers run, periodic counters if the plan asks for them.
pub fn run(plan: &Plan, stop: Arc<AtomicBool>, log: &mut dyn Write) -> Result<Report> {
    let eal = eal_builder(plan).init().context("EAL initialisation")?;
    let lcores = lcore::workers(&eal);
    let w = usize::from(plan.workers);
    if lcores.len() < w {
        bail!(
            "workers = {w} but EAL has {} worker lcore(s) ({:?}); give eal.cores one core for the main lcore plus one per worker",
            lcores.len(),
            lcores
        );
    }
    let lcores = &lcores[..w];
    let pool = Mempool::new(
        &eal,
        &MempoolConfig::new("dp_pool", plan.mbufs.unwrap_or_else(|| pool_size(plan))),
    )
    .context("packet pool")?;

    // Ports: queue w of every port belongs to worker w.
    let mut ports = Vec::new();
    let mut infos = Vec::new();
    let mut addrs = Vec::new();
    for (i, p) in plan.ports.iter().enumerate() {
        let cfg = PortConfig {
            rx_descriptors: plan.rx_descriptors,
            tx_descriptors: plan.tx_descriptors,
            // Set after start: a device without promiscuous mode (some
            // virtual ones) is a warning, not a failure.
            promiscuous: false,
            mtu: p.mtu,
            ..PortConfig::with_queues(plan.workers, plan.workers)
        };
        let name = p.device.ethdev_name();
        let mut port = Port::open_by_name(&eal, name, &pool, &cfg)
            .with_context(|| format!("ports[{i}] {} ({name})", p.name))?;
        port.start()
            .with_context(|| format!("ports[{i}] {} ({name}): start", p.name))?;
        if p.promiscuous {
            if let Err(e) = port.set_promiscuous(true) {
                stats::warn(
                    plan.log_format,
                    &format!("ports[{i}] {}: promiscuous mode: {e}", p.name),
                );
            }
        }
        let mac = match p.mac {
            Some(m) => m,
            None => port
                .mac_addr()
                .with_context(|| format!("ports[{i}] {}: MAC address", p.name))?,
        };
        // The port's first addresses source the ICMP errors about packets
        // that arrive on it.
        infos.push(PortInfo {
            mac,
            ipv4: p.v4.first().map(|(a, _)| a.octets()),
            ipv6: p.v6.first().map(|(a, _)| a.octets()),
        });
        addrs.push(PortAddrs {
            mac,
            v4: p.v4.clone(),
            v6: p.v6.clone(),
        });
        ports.push(port);
    }

    let (sas, tunnels) = build_tunnels(plan)?;
    let routes = Routes::new(plan)?;
    let tables = Tables {
        sas: sas.reader(),
        tunnels: tunnels.reader(),
        fib: routes.reader(),
    };

    let (inject_tx, inject_rx) =
        ffi::mbuf_ring(&eal, "dp_inject", RING_SIZE, RingSync::Spsc).context("inject ring")?;
    let mut inject_rx = Some(inject_rx);
    let mut punt_rx = Vec::new();
    let mut joins = Vec::new();
    let mut mirrors = Vec::new();
    let mut launch_error = None;
    for (wi, &lc) in lcores.iter().enumerate() {
        let ctx = (|| -> Result<WorkerCtx> {
            let (ptx, prx) =
                ffi::mbuf_ring(&eal, &format!("dp_punt{wi}"), RING_SIZE, RingSync::Spsc)
                    .context("punt ring")?;
            punt_rx.push(prx);
            let q = wi as u16;
            let mut rx = Vec::new();
            let mut tx = Vec::new();
            for (pi, port) in ports.iter_mut().enumerate() {
                rx.push((pi as u16, port.rx_queue(q)?));
                tx.push(Some(port.tx_queue(q)?));
            }
            let mirror = Arc::new(StatsMirror::default());
            mirrors.push(Arc::clone(&mirror));
            Ok(WorkerCtx {
                worker: Worker::new(tables.clone(), infos.clone()),
                rx,
                tx,
                punt: Some(ptx),
                inject: if wi == 0 { inject_rx.take() } else { None },
                idle: plan.idle,
                mirror: Some(mirror),
                pool: Some(pool.clone()),
            })
        })();
        let ctx = match ctx {
            Ok(c) => c,
            Err(e) => {
                launch_error = Some(e.context(format!("worker {wi}")));
                break;
            }
        };
        let stop_w = Arc::clone(&stop);
        match lcore::launch(&eal, lc, move || run_worker(ctx, &stop_w)) {
            Ok(j) => joins.push(j),
            Err(e) => {
                launch_error = Some(anyhow!(e).context(format!("worker {wi} on lcore {lc}")));
                break;
            }
        }
    }

    let started = Instant::now();
    let control = match &plan.control_shm {
        Some(name) => match control::Control::create(name, plan.crypto) {
            Ok(c) => Some(c),
            Err(e) => {
                launch_error.get_or_insert(e);
                None
            }
        },
        None => None,
    };
    let mut service = Service::new(
        plan.arp.clone(),
        addrs,
        routes,
        (sas, tunnels),
        control,
        pool.clone(),
        punt_rx,
        inject_tx,
    );
    service.set_log_format(plan.log_format);
    if launch_error.is_none() {
        let control = service
            .control()
            .map_or_else(|| "none".to_string(), |c| format!("shm {}", c.name()));
        let crypto = crypto_text(plan.crypto);
        match plan.log_format {
            LogFormat::Text => {
                let _ = writeln!(
                    log,
                    "dataplane: running: {w} worker(s) on lcore(s) {lcores:?}, main lcore {}, control: {control}, crypto: {crypto}, ports: {}",
                    eal.main_lcore(),
                    plan.ports
                        .iter()
                        .zip(&infos)
                                .zip(&ports)
                        .map(|((p, i), port)| format!(
                            "{} = {} ({}, {})",
                            p.name,
                            p.device.ethdev_name(),
                            fmt_mac(i.mac),
                            port.rss()
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            LogFormat::Json => {
                let ports: Vec<serde_json::Value> = plan
                    .ports
                    .iter()
                    .zip(&infos)
                    .zip(&ports)
                    .map(|((p, i), port)| {
                        serde_json::json!({
                            "name": p.name,
                            "device": p.device.ethdev_name(),
                            "mac": fmt_mac(i.mac),
                            "rss": port.rss().to_string(),
                        })
                    })
                    .collect();
                let fields = serde_json::json!({
                    "workers": w,
                    "lcores": lcores,
                    "main_lcore": eal.main_lcore(),
                    "control": control,
                    "crypto": crypto,
                    "ports": ports,
                });
                let _ = writeln!(log, "{}", stats::json_line("info", "running", fields));
            }
        }
        let _ = log.flush();
        let mut backoff = Backoff::new(plan.idle);
        let mut next_stats = plan.stats_interval.map(|d| started + d);
        let mut next_report = started;
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            let work = service.poll(now);
            if now >= next_report && service.control().is_some() {
                next_report = now + Duration::from_secs(1);
                let counters: Vec<(u32, WorkerStats)> = lcores
                    .iter()
                    .zip(&mirrors)
                    .map(|(lc, m)| (*lc, m.load()))
                    .collect();
                service.send_stats(&counters);
            }
            if let (Some(at), Some(every)) = (next_stats, plan.stats_interval) {
                if now >= at {
                    next_stats = Some(at + every);
                    let mut total = WorkerStats::default();
                    for m in &mirrors {
                        total.accumulate(&m.load());
                    }
                    let lines: Vec<PortLine> = plan
                        .ports
                        .iter()
                        .zip(&ports)
                        .map(|(p, port)| PortLine {
                            name: p.name.clone(),
                            device: p.device.ethdev_name().to_owned(),
                            stats: port.stats().map_err(|e| e.to_string()),
                        })
                        .collect();
                    let elapsed = now.duration_since(started).as_secs_f64();
                    let neighbors = service.neighbor_counters();
                    match plan.log_format {
                        LogFormat::Text => {
                            let _ = writeln!(
                                log,
                                "dataplane: stats after {elapsed:.1} s: {} | drops: {} | main: {}",
                                stats::worker_line(&total),
                                stats::drops_line(&total.pipeline),
                                stats::main_line(&service.stats, &neighbors)
                            );
                            for line in &lines {
                                let _ = writeln!(log, "dataplane: port {}", stats::port_line(line));
                            }
                        }
                        LogFormat::Json => {
                            let fields = serde_json::json!({
                                "elapsed_s": elapsed,
                                "total": stats::json_object(&stats::worker_pairs(&total)),
                                "drops": stats::drops_json(&total.pipeline),
                                "main": stats::json_object(&stats::main_pairs(&service.stats, &neighbors)),
                                "ports": lines.iter().map(stats::port_json).collect::<Vec<_>>(),
                            });
                            let _ = writeln!(log, "{}", stats::json_line("info", "stats", fields));
                        }
                    }
                    let _ = log.flush();
                }
            }
            Backoff::idle(backoff.after_poll(work));
        }
    }
    // Stop: workers leave their loops (the flag is set, or a launch failed).
    stop.store(true, Ordering::SeqCst);
    let mut workers = Vec::new();
    let mut panicked = None;
    for j in joins {
        let lc = j.lcore();
        match j.join() {
            Ok(s) => workers.push((lc, s)),
            Err(p) => {
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                panicked = Some(anyhow!("worker on lcore {lc} panicked: {msg}"));
            }
        }
    }
    let elapsed = started.elapsed();
    let (main, neighbors) = service.shutdown();
    let mut total = WorkerStats::default();
    for (_, s) in &workers {
        total.accumulate(s);
    }
    let port_lines = plan
        .ports
        .iter()
        .zip(&ports)
        .map(|(p, port)| PortLine {
            name: p.name.clone(),
            device: p.device.ethdev_name().to_owned(),
            stats: port.stats().map_err(|e| e.to_string()),
        })
        .collect();
    // The workers dropped their queue handles on return: the ports stop.
    for (p, mut port) in plan.ports.iter().zip(ports) {
        if let Err(e) = port.stop() {
            stats::warn(plan.log_format, &format!("stopping {}: {e}", p.name));
        }
        drop(port);
    }
    drop(tables);
    drop(pool);
    drop(eal);
    if let Some(e) = launch_error.or(panicked) {
        return Err(e);
    }
    Ok(Report {
        workers,
        total,
        main,
        neighbors,
        ports: port_lines,
        elapsed,
    })
}

fn fmt_mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_eal_args_of_a_plan() {
        let plan = config::Config::parse(
            r#"
[eal]
cores = "0-1"
no_huge = true
memory = 256
file_prefix = "dp7"
args = ["--log-level=lib.eal:debug"]

[[ports]]
name = "a"
device = "net_af_packet0,iface=veth1"

[[ports]]
name = "b"
device = "0000:03:00.0"
"#,
        )
        .unwrap()
        .plan()
        .unwrap();
        let args = eal_builder(&plan).args();
        let want = [
            "-l",
            "0-1",
            "--no-huge",
            "-m",
            "256",
            "--no-telemetry",
            "--file-prefix=dp7",
            "--vdev=net_af_packet0,iface=veth1",
            "-a",
            "0000:03:00.0",
            "--log-level=lib.eal:debug",
        ];
        for w in want {
            assert!(args.iter().any(|a| a == w), "{w} missing from {args:?}");
        }
        assert!(!args.iter().any(|a| a == "--no-pci"), "{args:?}");
    }

    #[test]
    fn test_static_tunnels_with_given_spis() {
        let text = r#"
[[ports]]
name = "wan"
device = "net_null0"
ipv4 = ["203.0.113.1/24"]

[[tunnels]]
id = 1
local = "203.0.113.1"
remote = "203.0.113.2"
mode = "ipsec"
outbound = { spi = 0x1000, algorithm = "aes-gcm-128", key = "00112233445566778899aabbccddeeff01020304", first_seq = 77 }
inbound = [{ spi = 0xabc0001, algorithm = "aes-gcm-256", key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff01020304" }]
"#;
        let plan = config::Config::parse(text).unwrap().plan().unwrap();
        let (sas, tunnels) = build_tunnels(&plan).unwrap();
        let r = sas.reader();
        assert_eq!(r.snapshot().get(0xabc_0001).unwrap().tunnel, 1);
        let t = tunnels.get(1).unwrap();
        assert_eq!(t.outbound.as_ref().unwrap().next_seq(), 77);

        // Same low 16 bits: refused with both SPIs named.
        let clash = text.replace(
            "inbound = [{ spi = 0xabc0001",
            "inbound = [{ spi = 0x5550001, algorithm = \"aes-gcm-128\", key = \"00112233445566778899aabbccddeeff01020304\" }, { spi = 0xabc0001",
        );
        let plan = config::Config::parse(&clash).unwrap().plan().unwrap();
        let e = format!("{:#}", build_tunnels(&plan).unwrap_err());
        assert!(
            e.contains("tunnels[0].inbound[1].spi") && e.contains("0x5550001"),
            "{e}"
        );
    }

    #[test]
    fn test_pool_size_is_2k_minus_1() {
        let plan = config::Config::parse("[[ports]]\nname=\"a\"\ndevice=\"net_null0\"\n")
            .unwrap()
            .plan()
            .unwrap();
        let n = pool_size(&plan);
        assert!((n + 1).is_power_of_two() && n >= 4096, "{n}");
    }
}
