//! The dataplane's end of the control-plane link: it creates the shared
//! memory region (`ffi::shm`), applies the control plane's commands
//! (`dataplane::ctl`) to the tables on the main lcore, answers each with an
//! acknowledgement, sends punts and redirect triggers, and hands injected
//! packets to the service.
//!
//! It keeps what the control plane installed (tunnels, SAs, routes) for
//! [`Msg::DumpRequest`]: a restarted control plane reads the state back
//! while traffic goes on with it, and the dataplane never removes anything
//! on its own when the control plane goes away.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use dataplane::crypto::Backend;
use dataplane::ctl::{Encap, InjectVia, Msg, PuntReason, RouteTarget, SaMsg, TunnelMsg};
use dataplane::esp::{Sa, SaConfig};
use dataplane::fib::{Ipv4Prefix, Ipv6Prefix, NextHop};
use dataplane::sa_table::{SaTable, TunnelTable};
use dataplane::tunnel::{InboundSa, NatT, Tunnel, TunnelMode};
use ffi::shm::{Consumer, Dir, Layout, Producer, Region, ShmError};

use super::config::IpPrefix;
use super::routes::Routes;

/// Commands applied per poll at most (the rest wait for the next round,
/// so ARP and punts keep being served).
const BATCH: usize = 256;

/// The tables the commands change.
#[derive(Debug)]
pub struct Tables<'a> {
    /// Inbound SAs.
    pub sas: &'a mut SaTable<InboundSa>,
    /// Tunnels.
    pub tunnels: &'a mut TunnelTable<Tunnel>,
    /// The FIB.
    pub routes: &'a mut Routes,
}

/// A packet the control plane wants sent.
#[derive(Debug)]
pub struct Inject {
    /// How.
    pub via: InjectVia,
    /// The packet.
    pub packet: Vec<u8>,
}

/// Counters of the link.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ControlStats {
    /// Commands applied.
    pub applied: u64,
    /// Commands refused (an error acknowledgement went back).
    pub refused: u64,
    /// Messages that did not decode, or came in the wrong direction.
    pub bad: u64,
    /// Messages to the control plane lost because its ring was full.
    pub ring_full: u64,
    /// Punts sent.
    pub punts: u64,
    /// Redirect triggers sent.
    pub redirects: u64,
    /// Packets the control plane injected.
    pub injects: u64,
    /// Control planes that attached (Hello).
    pub attaches: u64,
}

/// The link.
#[derive(Debug)]
pub struct Control {
    region: Region,
    rx: Consumer,
    tx: Producer,
    buf: Vec<u8>,
    out: Vec<u8>,
    seq: u32,
    tunnels: BTreeMap<u32, TunnelMsg>,
    /// Inbound SPI to (tunnel, outbound SPI).
    sas: BTreeMap<u32, (u32, u32)>,
    /// Counters.
    pub stats: ControlStats,
    /// Where the next round of SA counters starts.
    sa_cursor: u32,
    /// AEAD backend of the SAs this link installs.
    backend: Backend,
}

/// SA counter messages sent per round (each [`dataplane::ctl::MAX_SA_STATS`] SAs).
const SA_STATS_MESSAGES: usize = 40;

impl Drop for Control {
    fn drop(&mut self) {
        Region::unlink(self.region.name());
    }
}

fn prefix(a: IpAddr, len: u8) -> Result<IpPrefix> {
    Ok(match a {
        IpAddr::V4(v) => {
            IpPrefix::V4(Ipv4Prefix::new(v.octets(), len).map_err(|e| anyhow!("{e}"))?)
        }
        IpAddr::V6(v) => {
            IpPrefix::V6(Ipv6Prefix::new(v.octets(), len).map_err(|e| anyhow!("{e}"))?)
        }
    })
}

fn new_sa(spi: u32, s: &SaMsg, key: &[u8], window: u32, backend: Backend) -> Result<Sa> {
    Sa::new(SaConfig {
        spi,
        algorithm: s.alg,
        backend,
        key: key.to_vec(),
        esn: s.esn,
        replay_window: window,
    })
    .map_err(|e| anyhow!("SA {spi:#x}: {e}"))
}

/// The same tunnel with another outbound SA.
fn with_outbound(t: &Tunnel, outbound: Option<Arc<Sa>>) -> Tunnel {
    Tunnel {
        outbound,
        ..t.clone()
    }
}

impl Control {
    /// Creates the region `name` (replacing a stale one); the SAs it
    /// installs run on `backend`.
    ///
    /// # Errors
    ///
    /// The region cannot be created.
    pub fn create(name: &str, backend: Backend) -> Result<Self> {
        let region = Region::create(name, Layout::default())
            .with_context(|| format!("shared memory {name}"))?;
        let rx = region.consumer(Dir::ToDataplane)?;
        let tx = region.producer(Dir::ToControl)?;
        Ok(Self {
            region,
            rx,
            tx,
            buf: Vec::with_capacity(2048),
            out: Vec::with_capacity(2048),
            seq: 0,
            tunnels: BTreeMap::new(),
            sas: BTreeMap::new(),
            stats: ControlStats::default(),
            sa_cursor: 0,
            backend,
        })
    }

    /// The region's name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.region.name()
    }

    fn send(&mut self, m: &Msg) -> bool {
        self.seq = self.seq.wrapping_add(1);
        self.out.clear();
        m.encode(self.seq, &mut self.out);
        match self.tx.push(&self.out) {
            Ok(()) => true,
            Err(_) => {
                self.stats.ring_full += 1;
                false
            }
        }
    }

    /// Sends a punted packet; false (counted) when the ring is full or the
    /// packet does not fit a slot.
    pub fn punt(&mut self, reason: PuntReason, port: u16, tunnel: u32, packet: &[u8]) -> bool {
        let ok = self.send(&Msg::Punt {
            reason,
            port,
            tunnel,
            packet: packet.to_vec(),
        });
        if ok {
            self.stats.punts += 1;
        }
        ok
    }

    /// Sends a worker's counters.
    pub fn stats(&mut self, worker: u16, lcore: u32, values: Vec<u64>) {
        self.send(&Msg::Stats {
            worker,
            lcore,
            values,
        });
    }

    /// Sends the packets and bytes of the SAs the control plane installed:
    /// up to [`SA_STATS_MESSAGES`] messages per call, going on from where
    /// the last call stopped (every SA is covered once per pass).
    pub fn sa_stats(&mut self, t: &Tables<'_>) {
        use dataplane::ctl::{SaTraffic, MAX_SA_STATS};
        let mut batch = Vec::with_capacity(MAX_SA_STATS);
        let mut sent = 0;
        let keys: Vec<(u32, (u32, u32))> = self
            .sas
            .range(self.sa_cursor..)
            .chain(self.sas.range(..self.sa_cursor))
            .take(SA_STATS_MESSAGES * MAX_SA_STATS)
            .map(|(k, v)| (*k, *v))
            .collect();
        let total = keys.len();
        for (i, (spi, (tunnel, out_spi))) in keys.into_iter().enumerate() {
            let mut tr = SaTraffic {
                inbound_spi: spi,
                ..SaTraffic::default()
            };
            if let Some(sa) = t.sas.get(spi) {
                tr.in_packets = sa.sa.packets();
                tr.in_bytes = sa.sa.bytes();
            }
            if let Some(o) = t
                .tunnels
                .get(tunnel)
                .and_then(|x| x.outbound.clone())
                .filter(|o| o.spi() == out_spi)
            {
                tr.out_packets = o.packets();
                tr.out_bytes = o.bytes();
            }
            batch.push(tr);
            self.sa_cursor = spi.wrapping_add(1);
            if batch.len() == MAX_SA_STATS || i + 1 == total {
                self.send(&Msg::SaStats(std::mem::take(&mut batch)));
                sent += 1;
                if sent == SA_STATS_MESSAGES {
                    break;
                }
            }
        }
    }

    /// Sends a redirect trigger.
    pub fn redirect(&mut self, ingress: u32, egress: u32, packet: &[u8]) -> bool {
        let ok = self.send(&Msg::Redirect {
            ingress,
            egress,
            packet: packet.to_vec(),
        });
        if ok {
            self.stats.redirects += 1;
        }
        ok
    }

    /// Applies waiting commands; returns how many messages were handled
    /// and the packets to inject.
    pub fn poll(&mut self, t: &mut Tables<'_>, injects: &mut Vec<Inject>) -> usize {
        let mut n = 0;
        let mut changed = false;
        while n < BATCH {
            let mut buf = std::mem::take(&mut self.buf);
            let got = self.rx.pop(&mut buf);
            let msg = match got {
                Ok(false) => {
                    self.buf = buf;
                    break;
                }
                Ok(true) => Msg::decode(&buf),
                Err(ShmError::Corrupt(_)) | Err(_) => {
                    self.buf = buf;
                    self.stats.bad += 1;
                    n += 1;
                    continue;
                }
            };
            self.buf = buf;
            n += 1;
            let (seq, msg) = match msg {
                Ok(x) => x,
                Err(_) => {
                    self.stats.bad += 1;
                    continue;
                }
            };
            match msg {
                Msg::Inject { via, packet } => {
                    self.stats.injects += 1;
                    injects.push(Inject { via, packet });
                }
                Msg::Hello { .. } => {
                    self.stats.attaches += 1;
                    let generation = self.region.dp_generation();
                    self.send(&Msg::HelloAck { generation });
                }
                Msg::DumpRequest => self.dump(t),
                Msg::TunnelSet(_)
                | Msg::TunnelRemove { .. }
                | Msg::SaInstall(_)
                | Msg::SaRemove { .. }
                | Msg::RouteSet { .. }
                | Msg::RouteDelete { .. } => {
                    changed = true;
                    let r = self.apply(t, msg);
                    let (code, text) = match r {
                        Ok(()) => {
                            self.stats.applied += 1;
                            (0, String::new())
                        }
                        Err(e) => {
                            self.stats.refused += 1;
                            (1, format!("{e:#}"))
                        }
                    };
                    self.send(&Msg::Ack {
                        of: seq,
                        code,
                        text,
                    });
                }
                // Messages of the other direction.
                _ => self.stats.bad += 1,
            }
        }
        if changed {
            t.sas.publish();
            t.tunnels.publish();
            t.routes.publish();
        }
        n
    }

    fn apply(&mut self, t: &mut Tables<'_>, msg: Msg) -> Result<()> {
        match msg {
            Msg::TunnelSet(m) => {
                if m.id > super::MAX_CONTROL_TUNNEL_ID {
                    return Err(anyhow!(
                        "tunnel id {} above {}",
                        m.id,
                        super::MAX_CONTROL_TUNNEL_ID
                    ));
                }
                let outbound = t.tunnels.get(m.id).and_then(|x| x.outbound.clone());
                let tun = Tunnel {
                    id: m.id,
                    local: m.local,
                    remote: m.remote,
                    mode: match m.encap {
                        Encap::Gre => TunnelMode::Gre { key: None },
                        Encap::Ipsec => TunnelMode::Ipsec,
                    },
                    nat_t: m.udp_encap.then_some(NatT {
                        local_port: m.local_port,
                        remote_port: m.remote_port,
                    }),
                    mtu: m.mtu,
                    outer_ttl: 64,
                    nhrp_network_id: m.network_id,
                    redirect: m.redirect,
                    outbound,
                };
                t.tunnels
                    .insert(m.id, Arc::new(tun))
                    .map_err(|e| anyhow!("tunnel {}: {e}", m.id))?;
                self.tunnels.insert(m.id, m);
            }
            Msg::TunnelRemove { id } => {
                t.routes.delete_control_into(id);
                let spis: Vec<u32> = self
                    .sas
                    .iter()
                    .filter(|(_, (tun, _))| *tun == id)
                    .map(|(s, _)| *s)
                    .collect();
                for s in spis {
                    Self::drop_inbound(t, s);
                    self.sas.remove(&s);
                }
                if t.tunnels.remove(id).is_none() {
                    return Err(anyhow!("no tunnel {id}"));
                }
                self.tunnels.remove(&id);
            }
            Msg::SaInstall(s) => {
                let Some(cur) = t.tunnels.get(s.tunnel).cloned() else {
                    return Err(anyhow!("SA {:#x}: no tunnel {}", s.inbound_spi, s.tunnel));
                };
                // Both SAs first: nothing changes if either is refused.
                let inbound = new_sa(
                    s.inbound_spi,
                    &s,
                    &s.inbound_key,
                    s.replay_window,
                    self.backend,
                )?;
                let outbound = new_sa(s.outbound_spi, &s, &s.outbound_key, 64, self.backend)?;
                t.sas
                    .reserve_spi(s.inbound_spi)
                    .map_err(|e| anyhow!("SPI {:#x}: {e}", s.inbound_spi))?;
                if let Err(e) = t.sas.insert(Arc::new(InboundSa {
                    sa: inbound,
                    tunnel: s.tunnel,
                })) {
                    let _ = t.sas.release_spi(s.inbound_spi);
                    return Err(anyhow!("SPI {:#x}: {e}", s.inbound_spi));
                }
                let next = with_outbound(&cur, Some(Arc::new(outbound)));
                t.tunnels
                    .insert(s.tunnel, Arc::new(next))
                    .map_err(|e| anyhow!("tunnel {}: {e}", s.tunnel))?;
                self.sas.insert(s.inbound_spi, (s.tunnel, s.outbound_spi));
            }
            Msg::SaRemove {
                tunnel,
                inbound_spi,
                outbound_spi,
            } => {
                let known = self.sas.remove(&inbound_spi).is_some();
                Self::drop_inbound(t, inbound_spi);
                if let Some(cur) = t.tunnels.get(tunnel).cloned() {
                    if cur
                        .outbound
                        .as_ref()
                        .is_some_and(|o| o.spi() == outbound_spi)
                    {
                        let next = with_outbound(&cur, None);
                        let _ = t.tunnels.insert(tunnel, Arc::new(next));
                    }
                }
                if !known {
                    return Err(anyhow!("no SA {inbound_spi:#x}"));
                }
            }
            Msg::RouteSet {
                prefix: a,
                len,
                target,
            } => {
                let p = prefix(a, len)?;
                let nh = match target {
                    RouteTarget::Tunnel(id) => {
                        if t.tunnels.get(id).is_none() {
                            return Err(anyhow!("route {p}: no tunnel {id}"));
                        }
                        NextHop::Tunnel(id)
                    }
                    RouteTarget::Local => NextHop::Local,
                    RouteTarget::Drop => NextHop::Blackhole,
                };
                t.routes.set_control(p, nh)?;
            }
            Msg::RouteDelete { prefix: a, len } => {
                let p = prefix(a, len)?;
                if !t.routes.delete_control(p) {
                    return Err(anyhow!("route {p}: not the control plane's"));
                }
            }
            other => return Err(anyhow!("not a command: {other:?}")),
        }
        Ok(())
    }

    fn drop_inbound(t: &mut Tables<'_>, spi: u32) {
        if t.sas.remove(spi).is_some() {
            let _ = t.sas.release_spi(spi);
        }
    }

    fn dump(&mut self, t: &Tables<'_>) {
        let mut count = 0u32;
        let tunnels: Vec<TunnelMsg> = self.tunnels.values().cloned().collect();
        for m in tunnels {
            count += u32::from(self.send(&Msg::DumpTunnel(m)));
        }
        let sas: Vec<(u32, (u32, u32))> = self.sas.iter().map(|(k, v)| (*k, *v)).collect();
        for (inbound_spi, (tunnel, outbound_spi)) in sas {
            count += u32::from(self.send(&Msg::DumpSa {
                tunnel,
                inbound_spi,
                outbound_spi,
            }));
        }
        let routes: Vec<(IpPrefix, NextHop)> = t.routes.control_routes().collect();
        for (p, nh) in routes {
            let (a, len) = super::routes::key(p);
            let target = match nh {
                NextHop::Tunnel(id) => RouteTarget::Tunnel(id),
                NextHop::Blackhole => RouteTarget::Drop,
                _ => RouteTarget::Local,
            };
            count += u32::from(self.send(&Msg::DumpRoute {
                prefix: a,
                len,
                target,
            }));
        }
        self.send(&Msg::DumpDone { count });
    }

    /// Tunnels, SAs and routes the control plane installed.
    #[must_use]
    pub fn sizes(&self, routes: &Routes) -> (usize, usize, usize) {
        (
            self.tunnels.len(),
            self.sas.len(),
            routes.control_routes().count(),
        )
    }
}
