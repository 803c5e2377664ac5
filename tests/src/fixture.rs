//! A one-tunnel dataplane node for tests: port 0 is the LAN, port 1 the
//! WAN; tunnel 1 leads to one peer.

use std::net::IpAddr;
use std::sync::Arc;

use dataplane::buffer::{PacketBuf, VecBuf};
use dataplane::crypto::{Algorithm, Backend};
use dataplane::esp::{Sa, SaConfig};
use dataplane::fib::{Fib, NextHop};
use dataplane::pipeline::{Action, PortInfo, Tables, Worker};
use dataplane::sa_table::{SaTable, TunnelTable};
use dataplane::tunnel::{InboundSa, NatT, Tunnel, TunnelMode};
use dataplane::BURST_MAX;

/// MAC of our LAN port.
pub const LAN_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x10];
/// MAC of our WAN port.
pub const WAN_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x20];
/// MAC of the LAN host.
pub const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];
/// MAC of the WAN next hop (the peer, or its router).
pub const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x21];

/// How the tunnel is set up.
#[derive(Clone, Debug)]
pub struct TunnelSpec {
    /// Algorithm of both SAs.
    pub alg: Algorithm,
    /// Backend of both SAs.
    pub backend: Backend,
    /// Key || salt.
    pub key: Vec<u8>,
    /// Extended sequence numbers.
    pub esn: bool,
    /// GRE or IPsec.
    pub mode: TunnelMode,
    /// UDP encapsulation.
    pub nat_t: Option<NatT>,
    /// Our outer address.
    pub local: IpAddr,
    /// The peer's outer address.
    pub remote: IpAddr,
    /// First outbound sequence number.
    pub first_seq: u64,
}

/// The node: its writers (kept alive) and one worker.
#[derive(Debug)]
pub struct Node {
    /// The worker under test.
    pub worker: Worker,
    /// SA table writer.
    pub sas: SaTable<InboundSa>,
    /// Tunnel table writer.
    pub tunnels: TunnelTable<Tunnel>,
    /// FIB writer.
    pub fib: Fib,
    /// The inbound SPI allocated for the tunnel.
    pub inbound_spi: u32,
}

/// SPI the peer uses for packets we send (the outbound SA).
pub const OUTBOUND_SPI: u32 = 0x0c0f_fee1;

impl Node {
    /// A node with tunnel 1 as specified; `inner_routes` are sent into the
    /// tunnel, `lan_routes` to the LAN host.
    pub fn new(spec: &TunnelSpec, tunnel_routes: &[&str], lan_routes: &[&str]) -> Self {
        let mut sas = SaTable::new(16).expect("table");
        let mut tunnels = TunnelTable::new(16).expect("table");
        let mut fib = Fib::new();
        let inbound_spi = sas.allocate_spi(0x5a5a_1234).expect("spi");
        let sa_cfg = |spi| SaConfig {
            spi,
            algorithm: spec.alg,
            backend: spec.backend,
            key: spec.key.clone(),
            esn: spec.esn,
            replay_window: 128,
        };
        sas.insert(Arc::new(InboundSa {
            sa: Sa::new(sa_cfg(inbound_spi)).expect("inbound SA"),
            tunnel: 1,
        }))
        .expect("insert SA");
        let outbound = Sa::new(sa_cfg(OUTBOUND_SPI)).expect("outbound SA");
        outbound.set_next_seq(spec.first_seq);
        tunnels
            .insert(
                1,
                Arc::new(Tunnel {
                    id: 1,
                    local: spec.local,
                    remote: spec.remote,
                    mode: spec.mode,
                    nat_t: spec.nat_t,
                    mtu: 1500,
                    outer_ttl: 64,
                    nhrp_network_id: 1,
                    redirect: false,
                    outbound: Some(Arc::new(outbound)),
                }),
            )
            .expect("insert tunnel");
        add_route(&mut fib, &host_prefix(spec.local), NextHop::Local);
        add_route(
            &mut fib,
            &host_prefix(spec.remote),
            NextHop::Port {
                port: 1,
                mac: PEER_MAC,
            },
        );
        for r in tunnel_routes {
            add_route(&mut fib, r, NextHop::Tunnel(1));
        }
        for r in lan_routes {
            add_route(
                &mut fib,
                r,
                NextHop::Port {
                    port: 0,
                    mac: HOST_MAC,
                },
            );
        }
        sas.publish();
        tunnels.publish();
        fib.publish();
        let worker = Worker::new(
            Tables {
                sas: sas.reader(),
                tunnels: tunnels.reader(),
                fib: fib.reader(),
            },
            vec![PortInfo::new(LAN_MAC), PortInfo::new(WAN_MAC)],
        );
        Self {
            worker,
            sas,
            tunnels,
            fib,
            inbound_spi,
        }
    }

    /// Runs frames through the worker in bursts; returns each packet's
    /// action and resulting bytes.
    pub fn process(&mut self, rx_port: u16, frames: &[Vec<u8>]) -> Vec<(Action, Vec<u8>)> {
        let mut out = Vec::new();
        for chunk in frames.chunks(BURST_MAX) {
            let mut bufs: Vec<VecBuf> = chunk.iter().map(|f| VecBuf::new(f)).collect();
            let mut actions = [Action::Consumed; BURST_MAX];
            let n = self.worker.process_burst(rx_port, &mut bufs, &mut actions);
            assert_eq!(n, chunk.len());
            out.extend(
                actions[..n]
                    .iter()
                    .copied()
                    .zip(bufs.iter().map(|b| b.data().to_vec())),
            );
        }
        out
    }
}

/// Our outer address and the peer's, in documentation ranges
/// (198.51.100.0/24, 2001:db8::/32).
pub fn outer_addrs(v6: bool) -> (IpAddr, IpAddr) {
    if v6 {
        (
            "2001:db8:ff::1".parse().unwrap(),
            "2001:db8:ff::2".parse().unwrap(),
        )
    } else {
        (
            "198.51.100.1".parse().unwrap(),
            "198.51.100.2".parse().unwrap(),
        )
    }
}

fn host_prefix(a: IpAddr) -> String {
    match a {
        IpAddr::V4(a) => format!("{a}/32"),
        IpAddr::V6(a) => format!("{a}/128"),
    }
}

/// Adds a route given as text ("10.0.0.0/8", "2001:db8::/32").
pub fn add_route(fib: &mut Fib, prefix: &str, nh: NextHop) {
    if prefix.contains(':') {
        fib.insert_v6(prefix.parse().expect("IPv6 prefix"), nh);
    } else {
        fib.insert_v4(prefix.parse().expect("IPv4 prefix"), nh);
    }
}

/// True if `data` starts with an Ethernet header to `dst` from `src`.
pub fn eth_is(data: &[u8], dst: [u8; 6], src: [u8; 6]) -> bool {
    data.len() >= 14 && data[..6] == dst && data[6..12] == src
}
