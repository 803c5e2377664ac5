//! The main lcore's service: punts from the workers, ARP and ND
//! ([`dataplane::neighbor::Neighbors`], with a monotonic clock), host and
//! gateway routes ([`Routes`]), and the frames it sends, which go to worker
//! 0 over a ring (DPDK transmit queues are not thread-safe, and some
//! virtual devices, such as `net_pcap` with one `tx_pcap`, have a single
//! transmit queue: handing frames to a worker needs no extra queue).
//!
//! With a control-plane link ([`Control`]) the service also applies the
//! control plane's commands to the tables (it owns their writers), sends
//! it IKE and NHRP punts, and transmits what it injects: IP packets routed
//! by the FIB (IKE), and NHRP packets encapsulated into a tunnel. Without
//! one, IKE and NHRP punts are counted and freed; that is said once in the
//! log.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use dataplane::buffer::PacketBuf;
use dataplane::ctl::{InjectVia, PuntReason};
use dataplane::fib::NextHop;
use dataplane::neighbor::{DropCause, Neighbors, Output, PortAddrs};
use dataplane::pipeline::Punt;
use dataplane::sa_table::{SaTable, TunnelTable};
use dataplane::tunnel::{InboundSa, InnerProto, Tunnel};
use dataplane::BURST_MAX;
use ffi::{Mbuf, MbufBurst, Mempool, RingConsumer, RingProducer};

use super::control::{Control, Inject, Tables};
use super::meta::{self, Meta};
use super::routes::Routes;
use super::stats::MainStats;

/// How often static-route gateways that are not resolved are asked for
/// again.
const GATEWAY_RETRY: Duration = Duration::from_secs(5);

/// Packets held for resolution at most, all neighbours together: a scan of
/// an attached subnet must not drain the mbuf pool that receive needs.
pub const HELD_MAX: usize = 2048;

/// The main lcore's state.
#[derive(Debug)]
pub struct Service {
    neighbors: Neighbors<Mbuf>,
    routes: Routes,
    sas: SaTable<InboundSa>,
    tunnels: TunnelTable<Tunnel>,
    control: Option<Control>,
    injects: Vec<Inject>,
    macs: Vec<[u8; 6]>,
    pool: Mempool,
    punts: Vec<RingConsumer>,
    inject: RingProducer,
    out: MbufBurst<BURST_MAX>,
    burst: MbufBurst<BURST_MAX>,
    next_gateway_try: Option<Instant>,
    /// Packets held by `neighbors` now.
    held: usize,
    /// Counters.
    pub stats: MainStats,
    said_ike: bool,
    said_nhrp: bool,
    /// How warnings are written.
    log_format: super::config::LogFormat,
}

impl Service {
    /// A service over these ports (addresses and MACs by port index).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        neighbor_cfg: dataplane::neighbor::Config,
        ports: Vec<PortAddrs>,
        routes: Routes,
        tables: (SaTable<InboundSa>, TunnelTable<Tunnel>),
        control: Option<Control>,
        pool: Mempool,
        punts: Vec<RingConsumer>,
        inject: RingProducer,
    ) -> Self {
        let macs = ports.iter().map(|p| p.mac).collect();
        Self {
            neighbors: Neighbors::new(neighbor_cfg, ports),
            routes,
            sas: tables.0,
            tunnels: tables.1,
            control,
            injects: Vec::new(),
            macs,
            pool,
            punts,
            inject,
            out: MbufBurst::new(),
            burst: MbufBurst::new(),
            next_gateway_try: None,
            held: 0,
            stats: MainStats::default(),
            said_ike: false,
            said_nhrp: false,
            log_format: super::config::LogFormat::Text,
        }
    }

    /// The neighbour table's counters.
    pub fn neighbor_counters(&self) -> dataplane::neighbor::Counters {
        self.neighbors.counters()
    }

    /// Writes warnings in `format`.
    pub fn set_log_format(&mut self, format: super::config::LogFormat) {
        self.log_format = format;
    }

    /// The control-plane link, if any.
    pub fn control(&self) -> Option<&Control> {
        self.control.as_ref()
    }

    /// Sends each worker's counters to the control plane (lcore and
    /// counters by worker index): the pipeline's counters, then the latency
    /// histogram's values.
    pub fn send_stats(&mut self, workers: &[(u32, super::stats::WorkerStats)]) {
        if let Some(c) = &mut self.control {
            for (i, (lcore, w)) in workers.iter().enumerate() {
                let mut values = w.pipeline.to_values();
                values.extend_from_slice(&w.latency.values());
                c.stats(i as u16, *lcore, values);
            }
            c.sa_stats(&Tables {
                sas: &mut self.sas,
                tunnels: &mut self.tunnels,
                routes: &mut self.routes,
            });
        }
    }

    /// One round: punts, commands, timers, outputs. Returns the work done
    /// (0 when idle).
    pub fn poll(&mut self, now: Instant) -> usize {
        let mut work = 0;
        if let Some(c) = &mut self.control {
            work += c.poll(
                &mut Tables {
                    sas: &mut self.sas,
                    tunnels: &mut self.tunnels,
                    routes: &mut self.routes,
                },
                &mut self.injects,
            );
        }
        for i in std::mem::take(&mut self.injects) {
            self.inject(now, i);
        }
        for i in 0..self.punts.len() {
            let n = self.punts[i].dequeue(&mut self.burst);
            work += n;
            let mut burst = std::mem::take(&mut self.burst);
            for m in burst.drain() {
                self.punt(now, m);
            }
            self.burst = burst;
        }
        if self.next_gateway_try.is_none_or(|t| t <= now) {
            self.next_gateway_try = Some(now + GATEWAY_RETRY);
            let gws: Vec<(u16, IpAddr)> = self.routes.unresolved_gateways().collect();
            for (port, ip) in gws {
                self.neighbors.want(now, port, ip);
            }
        }
        if self.neighbors.poll_timeout().is_some_and(|t| t <= now) {
            self.neighbors.handle_timeout(now);
        }
        work += self.drain_outputs();
        self.routes.publish();
        self.flush();
        work
    }

    fn punt(&mut self, now: Instant, mut m: Mbuf) {
        self.stats.punts += 1;
        let Some(Meta::Punt { rx_port, punt }) = meta::pop(&mut m) else {
            self.stats.punts_bad += 1;
            return;
        };
        match punt {
            Punt::Arp => {
                self.stats.arp += 1;
                self.neighbors.handle_frame(now, rx_port, m.data());
            }
            Punt::NeighborDiscovery => {
                self.stats.nd += 1;
                self.neighbors.handle_frame(now, rx_port, m.data());
            }
            Punt::Resolve { port, next_hop } => {
                self.stats.resolve += 1;
                if self.held >= HELD_MAX {
                    self.stats.held_budget_full += 1;
                    return;
                }
                self.held += 1;
                self.neighbors.resolve(now, port, next_hop, m);
            }
            Punt::Ike => {
                if let Some(c) = &mut self.control {
                    if c.punt(PuntReason::Ike, rx_port, u32::MAX, m.data()) {
                        self.stats.ike_punted += 1;
                    } else {
                        self.stats.ike_dropped += 1;
                    }
                    return;
                }
                self.stats.ike_dropped += 1;
                if !std::mem::replace(&mut self.said_ike, true) {
                    super::stats::warn(
                        self.log_format,
                        &format!("IKE packet received on port {rx_port}: no control plane is connected yet, IKE is dropped (counted as ike_dropped)"),
                    );
                }
            }
            Punt::Redirect { ingress, egress } => {
                if let Some(c) = &mut self.control {
                    if c.redirect(ingress, egress, m.data()) {
                        self.stats.redirects += 1;
                        return;
                    }
                }
                self.stats.redirects_dropped += 1;
            }
            Punt::Nhrp { tunnel } => {
                if let Some(c) = &mut self.control {
                    if c.punt(PuntReason::Nhrp, rx_port, tunnel, m.data()) {
                        self.stats.nhrp_punted += 1;
                    } else {
                        self.stats.nhrp_dropped += 1;
                    }
                    return;
                }
                self.stats.nhrp_dropped += 1;
                if !std::mem::replace(&mut self.said_nhrp, true) {
                    super::stats::warn(
                        self.log_format,
                        &format!("NHRP packet received on tunnel {tunnel}: no control plane is connected yet, NHRP is dropped (counted as nhrp_dropped)"),
                    );
                }
            }
        }
    }

    /// Sends a packet the control plane injected: an IP packet routed by
    /// the FIB, or an NHRP packet into a tunnel (GRE, ESP, outer header),
    /// then out of the port toward the next hop (held for ARP/ND if its
    /// MAC is not known yet).
    fn inject(&mut self, now: Instant, i: Inject) {
        let Some(mut m) = self.pool.alloc() else {
            self.stats.inject_dropped += 1;
            return;
        };
        if !m.set_data(&i.packet) {
            self.stats.inject_dropped += 1;
            return;
        }
        if let InjectVia::Tunnel(id) = i.via {
            let Some(t) = self.tunnels.get(id).cloned() else {
                self.stats.inject_dropped += 1;
                return;
            };
            if t.encapsulate(&mut m, InnerProto::Nhrp).is_err() {
                self.stats.inject_dropped += 1;
                return;
            }
        }
        // `m` holds an IP packet (the injected one, or the tunnel's outer
        // packet): route its destination.
        let dst = match m.data().first().map(|b| b >> 4) {
            Some(4) if m.len() >= 20 => {
                let d = &m.data()[16..20];
                IpAddr::from([d[0], d[1], d[2], d[3]])
            }
            Some(6) if m.len() >= 40 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&m.data()[24..40]);
                IpAddr::from(a)
            }
            _ => {
                self.stats.inject_dropped += 1;
                return;
            }
        };
        match self.routes.lookup(dst) {
            Some(NextHop::Port { port, mac }) => {
                if self.add_ethernet(port, mac, &mut m) {
                    self.stats.injected += 1;
                    self.queue(port, m);
                } else {
                    self.stats.inject_dropped += 1;
                }
            }
            Some(NextHop::Glean { port }) => {
                if self.held >= HELD_MAX {
                    self.stats.held_budget_full += 1;
                    self.stats.inject_dropped += 1;
                    return;
                }
                self.held += 1;
                self.stats.injected += 1;
                self.neighbors.resolve(now, port, dst, m);
            }
            _ => self.stats.inject_dropped += 1,
        }
    }

    fn drain_outputs(&mut self) -> usize {
        let mut n = 0;
        while let Some(o) = self.neighbors.poll_output() {
            n += 1;
            match o {
                Output::Transmit { port, frame } => {
                    let Some(mut m) = self.pool.alloc() else {
                        self.stats.tx_no_mbuf += 1;
                        continue;
                    };
                    if !m.set_data(&frame) {
                        self.stats.tx_no_mbuf += 1;
                        continue;
                    }
                    self.queue(port, m);
                }
                Output::Send {
                    port,
                    mac,
                    mut packet,
                } => {
                    self.held = self.held.saturating_sub(1);
                    if self.add_ethernet(port, mac, &mut packet) {
                        self.queue(port, packet);
                    } else {
                        self.stats.tx_no_mbuf += 1;
                    }
                }
                Output::Resolved { port, ip, mac } => {
                    self.stats.routes_installed += self.routes.resolved(port, ip, mac) as u64;
                }
                Output::Lost { port, ip } => {
                    self.stats.routes_removed += self.routes.lost(port, ip) as u64;
                }
                Output::Drop { packet, reason } => {
                    drop(packet);
                    self.held = self.held.saturating_sub(1);
                    match reason {
                        DropCause::Unresolved => self.stats.held_unresolved += 1,
                        DropCause::QueueFull => self.stats.held_queue_full += 1,
                        DropCause::TableFull => self.stats.held_table_full += 1,
                        DropCause::NoSource => self.stats.held_no_source += 1,
                    }
                }
            }
        }
        n
    }

    /// Puts an Ethernet header to `mac` in front of the IP packet in `m`.
    fn add_ethernet(&self, port: u16, mac: [u8; 6], m: &mut Mbuf) -> bool {
        let Some(src) = self.macs.get(usize::from(port)) else {
            return false;
        };
        let ethertype: u16 = match m.data().first().map(|b| b >> 4) {
            Some(4) => 0x0800,
            Some(6) => 0x86dd,
            _ => return false,
        };
        if !m.prepend(14) {
            return false;
        }
        let d = m.data_mut();
        d[0..6].copy_from_slice(&mac);
        d[6..12].copy_from_slice(src);
        d[12..14].copy_from_slice(&ethertype.to_be_bytes());
        true
    }

    /// Hands a frame to worker 0 for port `port`.
    fn queue(&mut self, port: u16, mut m: Mbuf) {
        if !meta::push(&mut m, Meta::Tx { port }) {
            self.stats.tx_no_mbuf += 1;
            return;
        }
        if self.out.is_full() {
            self.flush();
        }
        match self.out.push(m) {
            Ok(()) => self.stats.tx_queued += 1,
            Err(_) => self.stats.tx_ring_full += 1,
        }
    }

    fn flush(&mut self) {
        if self.out.is_empty() {
            return;
        }
        self.inject.enqueue(&mut self.out);
        let left = self.out.len() as u64;
        self.stats.tx_queued -= left;
        self.stats.tx_ring_full += left;
        self.out.clear();
    }

    /// Frees what is still queued anywhere (at shutdown, after the workers
    /// stopped): punts in the rings, packets held for resolution.
    pub fn shutdown(mut self) -> (MainStats, dataplane::neighbor::Counters) {
        for r in &mut self.punts {
            while r.dequeue(&mut self.burst) > 0 {
                self.burst.clear();
            }
        }
        let counters = self.neighbors.counters();
        (self.stats, counters)
    }
}
