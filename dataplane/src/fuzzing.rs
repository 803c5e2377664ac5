//! Entry points shared by the `cargo fuzz` targets in `fuzz/` and the
//! corpus-replay test, so that CI exercises exactly what the fuzzers do.
//!
//! Not part of the dataplane's API; hidden from the docs.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};

use crate::buffer::{PacketBuf, VecBuf};
use crate::crypto::{Algorithm, Backend};
use crate::esp::{Sa, SaConfig};
use crate::fib::{Fib, Ipv4Prefix, NextHop};
use crate::pipeline::{Action, PortInfo, Tables, Worker};
use crate::sa_table::{SaTable, TunnelTable};
use crate::tunnel::{InboundSa, InnerProto, Tunnel, TunnelMode};
use crate::BURST_MAX;

/// Feeds every file of `fuzz/corpus/TARGET/` (the fuzz crate's corpus, from
/// a crate directory of this workspace), in name order, to `f`; returns how
/// many there were. Panics when the directory or a file cannot be read.
pub fn replay_corpus(target: &str, mut f: impl FnMut(&[u8])) -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in &entries {
        f(&std::fs::read(path).expect("read corpus file"));
    }
    entries.len()
}

/// Our outer address in the fuzz node.
pub const LOCAL: [u8; 4] = [198, 51, 100, 1];
/// The peer's outer address in the fuzz node.
pub const REMOTE: [u8; 4] = [198, 51, 100, 2];
const KEY: [u8; 20] = [7; 20];

struct FuzzNode {
    _sas: SaTable<InboundSa>,
    _tunnels: TunnelTable<Tunnel>,
    _fib: Fib,
    tables: Tables,
    /// A tunnel whose outbound SA seals toward our own inbound SA.
    loopback: Tunnel,
}

fn sa(spi: u32) -> Sa {
    Sa::new(SaConfig {
        spi,
        algorithm: Algorithm::AesGcm128,
        backend: Backend::Ring,
        key: KEY.to_vec(),
        esn: false,
        replay_window: 64,
    })
    .expect("fuzz SA")
}

fn node() -> &'static FuzzNode {
    static NODE: OnceLock<FuzzNode> = OnceLock::new();
    NODE.get_or_init(|| {
        let mut sas = SaTable::new(10).expect("table");
        let mut tunnels = TunnelTable::new(10).expect("table");
        let mut fib = Fib::new();
        let spi = sas.allocate_spi(0x1234_5678).expect("spi");
        sas.insert(Arc::new(InboundSa {
            sa: sa(spi),
            tunnel: 1,
        }))
        .expect("insert");
        let tunnel = |outbound: Option<Arc<Sa>>| Tunnel {
            id: 1,
            local: IpAddr::V4(Ipv4Addr::from(LOCAL)),
            remote: IpAddr::V4(Ipv4Addr::from(REMOTE)),
            mode: TunnelMode::Gre { key: None },
            nat_t: None,
            // Small, so that modest inputs reach the too-big paths
            // (ICMP errors, fragmentation).
            mtu: 576,
            outer_ttl: 64,
            nhrp_network_id: 1,
            redirect: false,
            outbound,
        };
        tunnels
            .insert(1, Arc::new(tunnel(Some(Arc::new(sa(0x100))))))
            .expect("tunnel");
        let v4 = |a: [u8; 4], l| Ipv4Prefix::new(a, l).expect("prefix");
        fib.insert_v4(v4(LOCAL, 32), NextHop::Local);
        fib.insert_v4(
            v4(REMOTE, 32),
            NextHop::Port {
                port: 1,
                mac: [2, 0, 0, 0, 0, 2],
            },
        );
        fib.insert_v4(v4([10, 0, 0, 0], 8), NextHop::Tunnel(1));
        fib.insert_v4(
            v4([192, 168, 0, 0], 16),
            NextHop::Port {
                port: 0,
                mac: [2, 0, 0, 0, 0, 3],
            },
        );
        sas.publish();
        tunnels.publish();
        fib.publish();
        let tables = Tables {
            sas: sas.reader(),
            tunnels: tunnels.reader(),
            fib: fib.reader(),
        };
        // Sealing with this SA produces packets our inbound SA opens.
        let loopback = Tunnel {
            local: IpAddr::V4(Ipv4Addr::from(REMOTE)),
            remote: IpAddr::V4(Ipv4Addr::from(LOCAL)),
            ..tunnel(Some(Arc::new(sa(spi))))
        };
        FuzzNode {
            _sas: sas,
            _tunnels: tunnels,
            _fib: fib,
            tables,
            loopback,
        }
    })
}

/// Feeds `data` to the pipeline. The first byte picks the mode:
/// - even: `data[1..]` is an Ethernet frame received on the WAN port;
/// - odd: `data[1..]` is sealed with a valid SA (as GRE payload, IPv4 or
///   IPv6 or NHRP by `data[0] >> 1`), framed, and then received, so that
///   the fuzzer reaches everything behind the ICV check: padding, GRE,
///   inner IP parsing and forwarding.
///
/// The pipeline must never panic, and every packet must get an action; a
/// packet to fragment is split and its fragments sealed, each getting an
/// action too. Returns the packet's action (`None` for an input that does
/// not make a packet).
pub fn inbound(data: &[u8]) -> Option<Action> {
    let (&mode, rest) = data.split_first()?;
    let n = node();
    let mut worker = Worker::new(
        n.tables.clone(),
        vec![
            PortInfo::new([2, 0, 0, 0, 0, 0x10]),
            // The receiving port has addresses, so that ICMP errors are
            // built too.
            PortInfo {
                mac: [2, 0, 0, 0, 0, 0x20],
                ipv4: Some([192, 0, 2, 1]),
                ipv6: Some([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            },
        ],
    );
    let mut buf = VecBuf::from_slice(rest, 128, 128);
    if mode & 1 == 1 {
        let inner = match (mode >> 1) % 3 {
            0 => InnerProto::Ipv4,
            1 => InnerProto::Ipv6,
            _ => InnerProto::Nhrp,
        };
        // A fresh inbound window each time would need a fresh SA; instead
        // the sequence number keeps rising across fuzz iterations, which
        // the window accepts.
        if n.loopback.encapsulate(&mut buf, inner).is_err() {
            return None;
        }
        if !buf.prepend(14) {
            return None;
        }
        let d = buf.data_mut();
        d[..6].copy_from_slice(&[2, 0, 0, 0, 0, 0x20]);
        d[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        d[12..14].copy_from_slice(&[0x08, 0x00]);
    }
    let mut bufs = [buf];
    let mut actions = [Action::Consumed; BURST_MAX];
    let done = worker.process_burst(1, &mut bufs, &mut actions);
    assert_eq!(done, 1);
    let c = &worker.counters;
    assert_eq!(c.rx_packets, 1);
    assert_eq!(
        c.tx_packets + c.punted + c.consumed + c.fragmented + c.total_drops(),
        1,
        "every packet is accounted for"
    );
    // A packet to fragment: split it as the worker loop does, and seal the
    // fragments; each gets exactly one outcome.
    let action = actions[0];
    if let Action::Fragment { tunnel, mtu } = action {
        let ip = bufs[0].data();
        let hl = crate::wire::ipv4::HEADER_LEN;
        let chunk = crate::wire::ipv4::fragment_payload(usize::from(mtu), hl)
            .expect("the pipeline only asks for MTUs that fit a fragment");
        let mut frags = Vec::new();
        let mut start = 0;
        while start + hl < ip.len() && frags.len() < BURST_MAX {
            let len = chunk.min(ip.len() - hl - start);
            let mut f = VecBuf::from_slice(&vec![0; hl + len], 128, 128);
            let n = crate::wire::ipv4::write_fragment(ip, start, len, f.data_mut())
                .expect("a packet the pipeline hands out can be split");
            assert_eq!(n, hl + len);
            frags.push(f);
            start += len;
        }
        let before = worker.counters.clone();
        let k = worker.encapsulate(tunnel, &mut frags, &mut actions);
        assert_eq!(k, frags.len());
        let c = &worker.counters;
        assert_eq!(
            (c.tx_packets + c.punted + c.total_drops())
                - (before.tx_packets + before.punted + before.total_drops()),
            k as u64,
            "every fragment is accounted for"
        );
    }
    Some(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame from the wire: 192.168.1.5 to 10.1.2.3 (routed into the
    /// tunnel of MTU 576), `len` bytes of IPv4, DF as given, TTL as given.
    fn frame(len: usize, df: bool, ttl: u8) -> Vec<u8> {
        let mut f = vec![0u8];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 0x20, 2, 0, 0, 0, 0, 9, 0x08, 0x00]);
        let mut ip = vec![0u8; len];
        crate::wire::ipv4::Ipv4Repr {
            src: [192, 168, 1, 5],
            dst: [10, 1, 2, 3],
            protocol: crate::wire::IpProtocol::UDP,
            ttl,
            tos: 0,
            ident: 9,
            dont_frag: df,
            payload_len: len - 20,
        }
        .emit(&mut crate::wire::ipv4::Ipv4Packet::new_unchecked(
            &mut ip[..20],
        ));
        f.extend_from_slice(&ip);
        f
    }

    /// The harness reaches fragmentation, ICMP errors and plain forwarding
    /// into the tunnel (so the fuzzer explores them too).
    #[test]
    fn reaches_the_too_big_paths() {
        assert_eq!(
            inbound(&frame(1000, false, 64)),
            Some(Action::Fragment {
                tunnel: 1,
                mtu: 576
            })
        );
        // DF: fragmentation needed, sent back out of port 0 (whose
        // address sources it) toward 192.168.1.5.
        assert_eq!(
            inbound(&frame(1000, true, 64)),
            Some(Action::Tx { port: 0 })
        );
        // TTL 1: time exceeded, likewise.
        assert_eq!(inbound(&frame(100, false, 1)), Some(Action::Tx { port: 0 }));
        // Small enough: sealed into the tunnel, out of port 1.
        assert_eq!(
            inbound(&frame(100, false, 64)),
            Some(Action::Tx { port: 1 })
        );
        assert_eq!(inbound(&[]), None);
    }
}
