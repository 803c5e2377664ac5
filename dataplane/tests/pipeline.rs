//! The burst pipeline end to end between two nodes (a hub and a spoke
//! wired back to back), and every drop reason and punt it can produce, each
//! counted exactly once under its reason.

use std::net::IpAddr;
use std::sync::Arc;

use dataplane::buffer::{PacketBuf, VecBuf};
use dataplane::counters::DropReason;
use dataplane::crypto::{Algorithm, Backend};
use dataplane::esp::{Sa, SaConfig};
use dataplane::fib::{Fib, NextHop};
use dataplane::pipeline::{Action, PortInfo, Punt, Tables, Worker};
use dataplane::sa_table::{SaTable, TunnelTable};
use dataplane::tunnel::{InboundSa, NatT, Tunnel, TunnelMode};
use dataplane::wire::ethernet::EthernetRepr;
use dataplane::wire::ipv4::{Ipv4Packet, Ipv4Repr};
use dataplane::wire::ipv6::{Ipv6Packet, Ipv6Repr};
use dataplane::wire::udp::{UdpPacket, UdpRepr};
use dataplane::wire::{checksum, EtherType, IpProtocol};
use dataplane::BURST_MAX;

const LAN: u16 = 0;
const WAN: u16 = 1;

fn mac(n: u8) -> [u8; 6] {
    [2, 0, 0, 0, 0, n]
}

struct Node {
    worker: Worker,
    sas: SaTable<InboundSa>,
    tunnels: TunnelTable<Tunnel>,
    fib: Fib,
    /// Our inbound SPI (the peer's outbound).
    spi_in: u32,
}

#[derive(Clone, Copy)]
struct Side {
    wan: IpAddr,
    lan4: &'static str,
    lan6: &'static str,
    my_mac: u8,
}

const A: Side = Side {
    wan: IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)),
    lan4: "10.1.0.0/16",
    lan6: "2001:db8:1::/48",
    my_mac: 0x10,
};
const B: Side = Side {
    wan: IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2)),
    lan4: "10.2.0.0/16",
    lan6: "2001:db8:2::/48",
    my_mac: 0x20,
};

fn key() -> Vec<u8> {
    (0..20).collect()
}

fn sa(spi: u32) -> Sa {
    Sa::new(SaConfig {
        spi,
        algorithm: Algorithm::AesGcm128,
        backend: Backend::Ring,
        key: key(),
        esn: false,
        replay_window: 64,
    })
    .unwrap()
}

/// Builds both nodes: each has its LAN behind port 0 and the other node's
/// WAN address behind port 1, and routes the other's LAN into tunnel 1.
fn pair(mode: TunnelMode, nat_t: bool, (a_wan, b_wan): (IpAddr, IpAddr)) -> (Node, Node) {
    let mut a_sas = SaTable::new(10).unwrap();
    let mut b_sas = SaTable::new(10).unwrap();
    let a_in = a_sas.allocate_spi(0x1111).unwrap();
    let b_in = b_sas.allocate_spi(0x2222).unwrap();
    let a = node(A, B, a_wan, b_wan, mode, nat_t, a_sas, a_in, b_in);
    let b = node(B, A, b_wan, a_wan, mode, nat_t, b_sas, b_in, a_in);
    (a, b)
}

#[allow(clippy::too_many_arguments)]
fn node(
    me: Side,
    peer: Side,
    my_wan: IpAddr,
    peer_wan: IpAddr,
    mode: TunnelMode,
    nat_t: bool,
    mut sas: SaTable<InboundSa>,
    spi_in: u32,
    spi_out: u32,
) -> Node {
    let _ = me.wan;
    sas.insert(Arc::new(InboundSa {
        sa: sa(spi_in),
        tunnel: 1,
    }))
    .unwrap();
    let mut tunnels = TunnelTable::new(10).unwrap();
    tunnels
        .insert(
            1,
            Arc::new(Tunnel {
                id: 1,
                local: my_wan,
                remote: peer_wan,
                mode,
                nat_t: nat_t.then_some(NatT {
                    local_port: 4500,
                    remote_port: 4500,
                }),
                mtu: 1400,
                outer_ttl: 64,
                nhrp_network_id: 1,
                redirect: false,
                outbound: Some(Arc::new(sa(spi_out))),
            }),
        )
        .unwrap();
    let mut fib = Fib::new();
    let host = |a: IpAddr| match a {
        IpAddr::V4(a) => format!("{a}/32"),
        IpAddr::V6(a) => format!("{a}/128"),
    };
    route(&mut fib, &host(my_wan), NextHop::Local);
    route(
        &mut fib,
        &host(peer_wan),
        NextHop::Port {
            port: WAN,
            mac: mac(peer.my_mac),
        },
    );
    route(&mut fib, peer.lan4, NextHop::Tunnel(1));
    route(&mut fib, peer.lan6, NextHop::Tunnel(1));
    route(
        &mut fib,
        me.lan4,
        NextHop::Port {
            port: LAN,
            mac: mac(me.my_mac + 1),
        },
    );
    route(
        &mut fib,
        me.lan6,
        NextHop::Port {
            port: LAN,
            mac: mac(me.my_mac + 1),
        },
    );
    route(&mut fib, "10.99.0.0/16", NextHop::Tunnel(77)); // a tunnel that does not exist
    sas.publish();
    tunnels.publish();
    fib.publish();
    let worker = Worker::new(
        Tables {
            sas: sas.reader(),
            tunnels: tunnels.reader(),
            fib: fib.reader(),
        },
        vec![
            PortInfo::new(mac(me.my_mac + 2)),
            PortInfo::new(mac(me.my_mac + 3)),
        ],
    );
    Node {
        worker,
        sas,
        tunnels,
        fib,
        spi_in,
    }
}

fn route(fib: &mut Fib, p: &str, nh: NextHop) {
    if p.contains(':') {
        fib.insert_v6(p.parse().unwrap(), nh);
    } else {
        fib.insert_v4(p.parse().unwrap(), nh);
    }
}

/// An IPv4 packet with a zeroed payload of `payload_len` bytes.
fn ipv4_packet(
    src: [u8; 4],
    dst: [u8; 4],
    protocol: IpProtocol,
    ttl: u8,
    payload_len: usize,
) -> Vec<u8> {
    let mut p = vec![0u8; 20 + payload_len];
    Ipv4Repr {
        src,
        dst,
        protocol,
        ttl,
        tos: 0,
        ident: 1,
        dont_frag: false,
        payload_len,
    }
    .emit(&mut Ipv4Packet::new_unchecked(&mut p[..20]));
    p
}

/// An IPv6 packet (hop limit 64) with a zeroed payload of `payload_len`
/// bytes.
fn ipv6_packet(src: &str, dst: &str, next_header: IpProtocol, payload_len: usize) -> Vec<u8> {
    let (s, d): (std::net::Ipv6Addr, std::net::Ipv6Addr) =
        (src.parse().unwrap(), dst.parse().unwrap());
    let mut p = vec![0u8; 40 + payload_len];
    Ipv6Repr {
        src: s.octets(),
        dst: d.octets(),
        next_header,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
        payload_len,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut p[..40]));
    p
}

fn udp4(src: [u8; 4], dst: [u8; 4], dport: u16, payload: &[u8], ttl: u8) -> Vec<u8> {
    let mut p = ipv4_packet(src, dst, IpProtocol::UDP, ttl, 8 + payload.len());
    UdpRepr {
        src_port: 1234,
        dst_port: dport,
        payload_len: payload.len(),
    }
    .emit_header(&mut UdpPacket::new_unchecked(&mut p[20..]));
    p[28..].copy_from_slice(payload);
    UdpPacket::new_unchecked(&mut p[20..]).fill_checksum_v4(&src, &dst);
    p
}

fn udp6(src: &str, dst: &str, payload: &[u8]) -> Vec<u8> {
    let (s, d): (std::net::Ipv6Addr, std::net::Ipv6Addr) =
        (src.parse().unwrap(), dst.parse().unwrap());
    let mut p = ipv6_packet(src, dst, IpProtocol::UDP, 8 + payload.len());
    UdpRepr {
        src_port: 1234,
        dst_port: 53,
        payload_len: payload.len(),
    }
    .emit_header(&mut UdpPacket::new_unchecked(&mut p[40..]));
    p[48..].copy_from_slice(payload);
    UdpPacket::new_unchecked(&mut p[40..]).fill_checksum_v6(&s.octets(), &d.octets());
    p
}

fn frame(dst: [u8; 6], ethertype: EtherType, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14 + payload.len()];
    EthernetRepr {
        dst,
        src: mac(0xee),
        vlan: None,
        ethertype,
    }
    .emit(&mut f)
    .unwrap();
    f[14..].copy_from_slice(payload);
    f
}

fn eth4(p: &[u8]) -> Vec<u8> {
    frame(mac(0x99), EtherType::IPV4, p)
}

fn run(n: &mut Node, port: u16, frames: &[Vec<u8>]) -> Vec<(Action, Vec<u8>)> {
    let mut out = Vec::new();
    for chunk in frames.chunks(BURST_MAX) {
        let mut bufs: Vec<VecBuf> = chunk.iter().map(|f| VecBuf::new(f)).collect();
        let mut actions = [Action::Consumed; BURST_MAX];
        let k = n.worker.process_burst(port, &mut bufs, &mut actions);
        out.extend(
            actions[..k]
                .iter()
                .copied()
                .zip(bufs.iter().map(|b| b.data().to_vec())),
        );
    }
    out
}

fn one(n: &mut Node, port: u16, f: Vec<u8>) -> (Action, Vec<u8>) {
    run(n, port, &[f]).pop().unwrap()
}

fn after_hop4(p: &[u8]) -> Vec<u8> {
    let mut q = p.to_vec();
    Ipv4Packet::new_unchecked(&mut q[..]).decrement_ttl();
    q
}

#[test]
fn spoke_to_spoke_both_ways_all_modes() {
    let v6 = |s: &str| -> IpAddr { s.parse().unwrap() };
    for mode in [
        TunnelMode::Gre { key: Some(5) },
        TunnelMode::Gre { key: None },
        TunnelMode::Ipsec,
    ] {
        for nat in [false, true] {
            for outer in [(A.wan, B.wan), (v6("2001:db8:ff::1"), v6("2001:db8:ff::2"))] {
                let (mut a, mut b) = pair(mode, nat, outer);
                let inner4 = udp4(
                    [10, 1, 0, 5],
                    [10, 2, 0, 7],
                    53,
                    b"hello over the tunnel",
                    64,
                );
                let inner6 = udp6("2001:db8:1::5", "2001:db8:2::7", b"v6 payload");
                for inner in [inner4.clone(), inner6.clone()] {
                    let et = if inner[0] >> 4 == 4 {
                        EtherType::IPV4
                    } else {
                        EtherType::IPV6
                    };
                    let (act, wire) = one(&mut a, LAN, frame(mac(0x12), et, &inner));
                    assert_eq!(
                        act,
                        Action::Tx { port: WAN },
                        "{mode:?} nat={nat} {outer:?}"
                    );
                    assert_eq!(&wire[..6], &mac(0x20), "to the peer's MAC");
                    assert_eq!(&wire[6..12], &mac(0x13), "from our WAN port");
                    let (act, plain) = one(&mut b, WAN, wire.clone());
                    assert_eq!(
                        act,
                        Action::Tx { port: LAN },
                        "{mode:?} nat={nat} {outer:?}"
                    );
                    assert_eq!(&plain[..6], &mac(0x21));
                    let got = &plain[14..];
                    if inner[0] >> 4 == 4 {
                        // TTL decremented at each node.
                        assert_eq!(got, &after_hop4(&after_hop4(&inner))[..]);
                    } else {
                        assert_eq!(got[7], 62);
                        assert_eq!(&got[8..], &inner[8..]);
                    }
                    // The same ciphertext again is a replay.
                    assert_eq!(one(&mut b, WAN, wire).0, Action::Drop(DropReason::Replay));
                }
                assert_eq!(a.worker.counters.esp_encrypted, 2);
                assert_eq!(b.worker.counters.esp_decrypted, 2);
                assert_eq!(b.worker.counters.drops_for(DropReason::Replay), 2);
                let _ = (&a.sas, &a.tunnels, &a.fib, a.spi_in);
            }
        }
    }
}

/// Runs one frame into a fresh node pair's B side and checks the action
/// and that exactly that one reason was counted.
fn expect_drop(n: &mut Node, port: u16, f: Vec<u8>, reason: DropReason) {
    let before = n.worker.counters.clone();
    let (act, _) = one(n, port, f);
    assert_eq!(act, Action::Drop(reason));
    let after = &n.worker.counters;
    assert_eq!(
        after.drops_for(reason),
        before.drops_for(reason) + 1,
        "{reason:?} counted"
    );
    assert_eq!(
        after.total_drops(),
        before.total_drops() + 1,
        "only {reason:?} counted"
    );
}

fn sealed_from_a(a: &mut Node, inner: &[u8]) -> Vec<u8> {
    let (act, wire) = one(a, LAN, eth4(inner));
    assert_eq!(act, Action::Tx { port: WAN });
    wire
}

#[test]
fn every_drop_reason_is_counted() {
    let (mut a, mut b) = pair(TunnelMode::Gre { key: Some(5) }, false, (A.wan, B.wan));
    let good = udp4([10, 1, 0, 5], [10, 2, 0, 7], 53, b"x", 64);

    // Malformed: a truncated Ethernet header, and an IPv4 total length lie.
    expect_drop(&mut b, WAN, vec![1, 2, 3], DropReason::Malformed);
    let mut lie = good.clone();
    lie[3] = 0xff;
    expect_drop(&mut b, WAN, eth4(&lie), DropReason::Malformed);
    // BadChecksum.
    let mut bad = good.clone();
    bad[10] ^= 0xff;
    expect_drop(&mut b, WAN, eth4(&bad), DropReason::BadChecksum);
    // Unsupported EtherType.
    expect_drop(
        &mut b,
        WAN,
        frame(mac(1), EtherType(0x88cc), &[0; 46]),
        DropReason::Unsupported,
    );
    // NoRoute.
    expect_drop(
        &mut b,
        LAN,
        eth4(&udp4([10, 2, 0, 5], [172, 16, 0, 1], 53, b"x", 64)),
        DropReason::NoRoute,
    );
    // TtlExceeded (the ports have no addresses here: no ICMP error, whose
    // source would be the ingress port's).
    expect_drop(
        &mut a,
        LAN,
        eth4(&udp4([10, 1, 0, 5], [10, 2, 0, 7], 53, b"x", 1)),
        DropReason::TtlExceeded,
    );
    // NoTunnel: a route to tunnel 77, which does not exist.
    expect_drop(
        &mut a,
        LAN,
        eth4(&udp4([10, 1, 0, 5], [10, 99, 0, 7], 53, b"x", 64)),
        DropReason::NoTunnel,
    );
    // TooBig: IPv6 larger than the tunnel MTU of 1400, and no address to
    // send a packet-too-big from (the ports have none, the tunnel's local
    // address is IPv4).
    expect_drop(
        &mut a,
        LAN,
        frame(
            mac(0x12),
            EtherType::IPV6,
            &udp6("2001:db8:1::5", "2001:db8:2::7", &[0; 1400]),
        ),
        DropReason::TooBig,
    );
    // NotForUs: UDP to one of our addresses on another port.
    let to_b = match B.wan {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(_) => unreachable!(),
    };
    expect_drop(
        &mut b,
        WAN,
        eth4(&udp4([192, 0, 2, 1], to_b, 80, b"x", 64)),
        DropReason::NotForUs,
    );

    // ESP-level drops through the whole path.
    let wire = sealed_from_a(&mut a, &good);
    // IcvMismatch: one ciphertext byte flipped.
    let mut t = wire.clone();
    let last = t.len() - 20;
    t[last] ^= 1;
    expect_drop(&mut b, WAN, t, DropReason::IcvMismatch);
    // NoSa: SPI changed (IPv4 header is 20 bytes after Ethernet).
    let mut t = wire.clone();
    t[14 + 20] ^= 0x40;
    expect_drop(&mut b, WAN, t, DropReason::NoSa);
    // The untouched packet still opens (failures moved nothing).
    assert_eq!(one(&mut b, WAN, wire.clone()).0, Action::Tx { port: LAN });
    expect_drop(&mut b, WAN, wire, DropReason::Replay);
    // ReplayTooOld: seal 100 packets, deliver the last, then the first.
    let many: Vec<Vec<u8>> = (0..100).map(|_| sealed_from_a(&mut a, &good)).collect();
    assert_eq!(
        one(&mut b, WAN, many[99].clone()).0,
        Action::Tx { port: LAN }
    );
    expect_drop(&mut b, WAN, many[0].clone(), DropReason::ReplayTooOld);
    // Truncated ESP: the outer length shortened consistently (IP header
    // fixed up), so the packet is well-formed IP but short ESP.
    let wire = sealed_from_a(&mut a, &good);
    let mut short = wire[..14 + 20 + 20].to_vec();
    short[14 + 2..14 + 4].copy_from_slice(&40u16.to_be_bytes());
    Ipv4Packet::new_unchecked(&mut short[14..34]).fill_checksum();
    expect_drop(&mut b, WAN, short, DropReason::Malformed);

    // NoOutboundSa: tunnel 1 replaced by one with no SA yet.
    let t = a.tunnels.get(1).unwrap();
    let no_sa = Tunnel {
        id: 1,
        local: t.local,
        remote: t.remote,
        mode: t.mode,
        nat_t: t.nat_t,
        mtu: t.mtu,
        outer_ttl: t.outer_ttl,
        nhrp_network_id: t.nhrp_network_id,
        redirect: t.redirect,
        outbound: None,
    };
    a.tunnels.insert(1, Arc::new(no_sa)).unwrap();
    a.tunnels.publish();
    expect_drop(&mut a, LAN, eth4(&good), DropReason::NoOutboundSa);
}

#[test]
fn tunnel_mismatch_gre_key_and_mode() {
    // A sends GRE key 5; B expects key 6.
    let (mut a, mut b) = pair(TunnelMode::Gre { key: Some(5) }, false, (A.wan, B.wan));
    let t = b.tunnels.get(1).unwrap();
    let other_key = Tunnel {
        id: 1,
        local: t.local,
        remote: t.remote,
        mode: TunnelMode::Gre { key: Some(6) },
        nat_t: None,
        mtu: t.mtu,
        outer_ttl: 64,
        nhrp_network_id: 1,
        redirect: false,
        outbound: t.outbound.clone(),
    };
    b.tunnels.insert(1, Arc::new(other_key)).unwrap();
    b.tunnels.publish();
    let good = udp4([10, 1, 0, 5], [10, 2, 0, 7], 53, b"x", 64);
    let wire = sealed_from_a(&mut a, &good);
    expect_drop(&mut b, WAN, wire, DropReason::TunnelMismatch);
    // B in plain IPsec mode receives GRE: mismatch too.
    let t = b.tunnels.get(1).unwrap();
    let ipsec = Tunnel {
        id: 1,
        local: t.local,
        remote: t.remote,
        mode: TunnelMode::Ipsec,
        nat_t: None,
        mtu: t.mtu,
        outer_ttl: 64,
        nhrp_network_id: 1,
        redirect: false,
        outbound: t.outbound.clone(),
    };
    b.tunnels.insert(1, Arc::new(ipsec)).unwrap();
    b.tunnels.publish();
    let wire = sealed_from_a(&mut a, &good);
    expect_drop(&mut b, WAN, wire, DropReason::TunnelMismatch);
}

#[test]
fn punts_and_consumed() {
    let (a, mut b) = pair(TunnelMode::Gre { key: None }, true, (A.wan, B.wan));
    let to_b = [192, 0, 2, 2];
    // ARP.
    let arp = frame([0xff; 6], EtherType::ARP, &[0; 28]);
    assert_eq!(one(&mut b, WAN, arp).0, Action::Punt(Punt::Arp));
    // IKE on 500, and on 4500 behind the non-ESP marker.
    let ike = udp4([192, 0, 2, 1], to_b, 500, &[0; 28], 64);
    assert_eq!(one(&mut b, WAN, eth4(&ike)).0, Action::Punt(Punt::Ike));
    let ike = udp4([192, 0, 2, 1], to_b, 4500, &[0; 32], 64);
    assert_eq!(one(&mut b, WAN, eth4(&ike)).0, Action::Punt(Punt::Ike));
    // NAT keepalive.
    let ka = udp4([192, 0, 2, 1], to_b, 4500, &[0xff], 64);
    assert_eq!(one(&mut b, WAN, eth4(&ka)).0, Action::Consumed);
    // Neighbour solicitation.
    let mut ns = udp6("fe80::1", "ff02::1:ff00:2", &[]);
    ns[6] = 58;
    ns[40] = 135;
    assert_eq!(
        one(&mut b, WAN, frame(mac(1), EtherType::IPV6, &ns)).0,
        Action::Punt(Punt::NeighborDiscovery)
    );
    // NHRP inside the tunnel: encapsulate an NHRP packet on A's tunnel.
    let nhrp = [
        0u8, 1, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let t = a.tunnels.get(1).unwrap().clone();
    let mut buf = VecBuf::new(&nhrp);
    t.encapsulate(&mut buf, dataplane::tunnel::InnerProto::Nhrp)
        .unwrap();
    assert!(buf.prepend(14));
    EthernetRepr {
        dst: mac(0x23),
        src: mac(0x13),
        vlan: None,
        ethertype: EtherType::IPV4,
    }
    .emit(buf.data_mut())
    .unwrap();
    let (act, data) = one(&mut b, WAN, buf.data().to_vec());
    assert_eq!(act, Action::Punt(Punt::Nhrp { tunnel: 1 }));
    assert_eq!(data, nhrp, "the punt holds the NHRP packet");
    let c = &b.worker.counters;
    assert_eq!((c.punted, c.consumed, c.total_drops()), (5, 1, 0));
    assert_eq!(c.rx_packets, 6);
}

#[test]
fn bursts_of_mixed_packets() {
    let (mut a, mut b) = pair(TunnelMode::Gre { key: None }, false, (A.wan, B.wan));
    let good = udp4([10, 1, 0, 5], [10, 2, 0, 7], 53, b"burst", 64);
    let wires: Vec<Vec<u8>> = (0..150).map(|_| sealed_from_a(&mut a, &good)).collect();
    let mut mixed = Vec::new();
    for (i, w) in wires.iter().enumerate() {
        mixed.push(w.clone());
        if i % 3 == 0 {
            mixed.push(vec![0; 5]); // garbage
        }
    }
    let out = run(&mut b, WAN, &mixed);
    let tx = out
        .iter()
        .filter(|(a, _)| *a == Action::Tx { port: LAN })
        .count();
    assert_eq!(tx, 150);
    let c = &b.worker.counters;
    assert_eq!(c.rx_packets as usize, mixed.len());
    assert_eq!(c.drops_for(DropReason::Malformed), 50);
    assert_eq!(c.tx_packets + c.total_drops(), c.rx_packets);
    // Per-SA counters, added once per burst, are exact.
    let rx_sa = &b.sas.get(b.spi_in).unwrap().sa;
    assert_eq!(rx_sa.packets(), 150);
    // GRE (4 bytes) + the 33-byte inner packet, per packet.
    assert_eq!(rx_sa.bytes(), 150 * (4 + good.len() as u64));
    let tx_sa = a.tunnels.get(1).unwrap().outbound.clone().unwrap();
    assert_eq!(tx_sa.packets(), 150);
    assert_eq!(
        tx_sa.bytes(),
        rx_sa.bytes(),
        "both ends count the ESP payload"
    );
}

#[test]
fn burst_reserves_sequence_numbers_per_tunnel_in_order() {
    let (mut a, mut b) = pair(TunnelMode::Gre { key: None }, false, (A.wan, B.wan));
    // Interleave tunnel traffic with LAN-local traffic and garbage.
    let good = udp4([10, 1, 0, 5], [10, 2, 0, 7], 53, b"seq", 64);
    let local = udp4([10, 1, 0, 5], [10, 1, 0, 9], 53, b"lan", 64);
    let mut frames = Vec::new();
    for i in 0..40 {
        frames.push(eth4(&good));
        if i % 4 == 0 {
            frames.push(eth4(&local));
            frames.push(vec![0; 3]);
        }
    }
    let out = run(&mut a, LAN, &frames);
    let seqs: Vec<u32> = out
        .iter()
        .filter(|(act, f)| *act == Action::Tx { port: WAN } && f.len() > 60)
        .map(|(_, f)| u32::from_be_bytes([f[38], f[39], f[40], f[41]]))
        .collect();
    assert_eq!(
        seqs,
        (1..=40).collect::<Vec<u32>>(),
        "consecutive, in arrival order"
    );
    let wires: Vec<Vec<u8>> = out
        .into_iter()
        .filter(|(act, _)| *act == Action::Tx { port: WAN })
        .map(|(_, f)| f)
        .collect();
    let back = run(&mut b, WAN, &wires);
    assert!(back.iter().all(|(act, _)| *act == Action::Tx { port: LAN }));
}

#[test]
fn burst_at_sequence_exhaustion() {
    let (mut a, _b) = pair(TunnelMode::Ipsec, false, (A.wan, B.wan));
    let sa = a.tunnels.get(1).unwrap().outbound.clone().unwrap();
    sa.set_next_seq(u64::from(u32::MAX) - 2);
    let good = udp4([10, 1, 0, 5], [10, 2, 0, 7], 53, b"end", 64);
    let out = run(&mut a, LAN, &vec![eth4(&good); 5]);
    let acts: Vec<Action> = out.iter().map(|(act, _)| *act).collect();
    assert_eq!(&acts[..3], &[Action::Tx { port: WAN }; 3]);
    assert_eq!(&acts[3..], &[Action::Drop(DropReason::SeqExhausted); 2]);
    assert!(sa.rekey_needed());
    assert_eq!(a.worker.counters.drops_for(DropReason::SeqExhausted), 2);
    // Later bursts keep refusing: the counter never cycles.
    let out = run(&mut a, LAN, &[eth4(&good)]);
    assert_eq!(out[0].0, Action::Drop(DropReason::SeqExhausted));
}

#[test]
fn attached_subnet_without_mac_is_punted_for_resolution() {
    let (mut a, _b) = pair(TunnelMode::Gre { key: None }, false, (A.wan, B.wan));
    route(&mut a.fib, "10.1.7.0/24", NextHop::Glean { port: LAN });
    route(
        &mut a.fib,
        "2001:db8:1:7::/64",
        NextHop::Glean { port: LAN },
    );
    a.fib.publish();
    let from_wan = |ip: Vec<u8>, v6: bool| {
        let mut f = vec![0u8; 14];
        EthernetRepr {
            dst: mac(A.my_mac + 3),
            src: mac(B.my_mac),
            vlan: None,
            ethertype: if v6 { EtherType::IPV6 } else { EtherType::IPV4 },
        }
        .emit(&mut f)
        .unwrap();
        f.extend_from_slice(&ip);
        f
    };
    let p4 = udp4([10, 1, 0, 5], [10, 1, 7, 9], 53, b"glean", 64);
    let p6 = udp6("2001:db8:1::5", "2001:db8:1:7::9", b"glean");
    let mut bufs = vec![
        VecBuf::new(&from_wan(p4.clone(), false)),
        VecBuf::new(&from_wan(p6.clone(), true)),
    ];
    let mut actions = [Action::Consumed; BURST_MAX];
    a.worker.process_burst(WAN, &mut bufs, &mut actions);
    assert_eq!(
        actions[0],
        Action::Punt(Punt::Resolve {
            port: LAN,
            next_hop: "10.1.7.9".parse().unwrap()
        })
    );
    assert_eq!(
        actions[1],
        Action::Punt(Punt::Resolve {
            port: LAN,
            next_hop: "2001:db8:1:7::9".parse().unwrap()
        })
    );
    // The buffers hold the IP packets, forwarded (TTL and hop limit one
    // less), ready for an Ethernet header.
    let ip4 = Ipv4Packet::new_checked(bufs[0].data()).unwrap();
    assert_eq!(ip4.ttl(), 63);
    assert!(ip4.verify_checksum());
    assert_eq!(bufs[0].len(), p4.len());
    let ip6 = Ipv6Packet::new_checked(bufs[1].data()).unwrap();
    assert_eq!(ip6.hop_limit(), 63);
    assert_eq!(a.worker.counters.punted, 2);

    // A tunnel whose outer next hop is not resolved yet: the encrypted
    // packet is punted for the peer's address.
    route(
        &mut a.fib,
        &format!("{}/32", B.wan),
        NextHop::Glean { port: WAN },
    );
    a.fib.publish();
    let good = udp4([10, 1, 0, 5], [10, 2, 0, 7], 53, b"outer", 64);
    let out = run(&mut a, LAN, &[eth4(&good)]);
    assert_eq!(
        out[0].0,
        Action::Punt(Punt::Resolve {
            port: WAN,
            next_hop: B.wan
        })
    );
    let outer = Ipv4Packet::new_checked(&out[0].1[..]).unwrap();
    assert_eq!(outer.protocol(), IpProtocol::ESP);
}

/// The hub's redirect trigger: B (the hub) forwards A's packet from tunnel
/// 1 into tunnel 2; with both in NHRP network 1 and `redirect` on tunnel
/// 1, the packet is forwarded and reported as a candidate; not when the
/// networks differ, the ingress does not redirect, or the packet stays on
/// the hub's LAN.
#[test]
fn redirect_candidates_on_the_hub() {
    let (mut a, mut b) = pair(TunnelMode::Gre { key: None }, false, (A.wan, B.wan));
    route(&mut a.fib, "10.3.0.0/16", NextHop::Tunnel(1));
    a.fib.publish();
    let c_wan: IpAddr = "192.0.2.3".parse().unwrap();
    route(
        &mut b.fib,
        "192.0.2.3/32",
        NextHop::Port {
            port: WAN,
            mac: mac(0x30),
        },
    );
    route(&mut b.fib, "10.3.0.0/16", NextHop::Tunnel(2));
    b.fib.publish();
    let set = |b: &mut Node, redirect: bool, egress_net: u32| {
        let t1 = Tunnel {
            nhrp_network_id: 1,
            redirect,
            ..(**b.tunnels.get(1).unwrap()).clone()
        };
        b.tunnels.insert(1, Arc::new(t1)).unwrap();
        let t2 = Tunnel {
            id: 2,
            local: B.wan,
            remote: c_wan,
            mode: TunnelMode::Gre { key: None },
            nat_t: None,
            mtu: 1400,
            outer_ttl: 64,
            nhrp_network_id: egress_net,
            redirect,
            outbound: Some(Arc::new(sa(0x3333))),
        };
        b.tunnels.insert(2, Arc::new(t2)).unwrap();
        b.tunnels.publish();
    };
    let to_c = udp4([10, 1, 0, 5], [10, 3, 0, 7], 53, b"spoke to spoke", 64);
    set(&mut b, true, 1);
    let wire = sealed_from_a(&mut a, &to_c);
    let (action, _) = one(&mut b, WAN, wire);
    assert_eq!(action, Action::Tx { port: WAN }, "still forwarded");
    let got: Vec<_> = b.worker.redirects.drain().collect();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].ingress, got[0].egress), (1, 2));
    assert_eq!(got[0].src, "10.1.0.5".parse::<IpAddr>().unwrap());
    assert_eq!(got[0].dst, "10.3.0.7".parse::<IpAddr>().unwrap());
    // The quote is the forwarded inner packet's start (TTL already 63).
    assert_eq!(&got[0].quote[12..20], &to_c[12..20]);
    assert_eq!(got[0].len as usize, to_c.len().min(64));
    // A burst of the same pair reports it once.
    let burst: Vec<Vec<u8>> = (0..5).map(|_| sealed_from_a(&mut a, &to_c)).collect();
    run(&mut b, WAN, &burst);
    assert_eq!(b.worker.redirects.drain().count(), 1);
    // Other network, or no redirect on the ingress: nothing.
    set(&mut b, true, 2);
    run(&mut b, WAN, &[sealed_from_a(&mut a, &to_c)]);
    assert!(b.worker.redirects.is_empty());
    set(&mut b, false, 1);
    run(&mut b, WAN, &[sealed_from_a(&mut a, &to_c)]);
    assert!(b.worker.redirects.is_empty());
    // To the hub's own LAN: nothing.
    set(&mut b, true, 1);
    let to_lan = udp4([10, 1, 0, 5], [10, 2, 0, 7], 53, b"to the hub's LAN", 64);
    let (action, _) = one(&mut b, WAN, sealed_from_a(&mut a, &to_lan));
    assert_eq!(action, Action::Tx { port: LAN });
    assert!(b.worker.redirects.is_empty());
}

/// An ICMP echo request (RFC 792) from `src` to `dst`.
fn echo4(src: [u8; 4], dst: [u8; 4], ty: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = ipv4_packet(src, dst, IpProtocol::ICMP, 60, 8 + payload.len());
    p[20] = ty;
    p[24..28].copy_from_slice(&[0x12, 0x34, 0x00, 0x05]); // id, seq
    p[28..].copy_from_slice(payload);
    let sum = checksum::checksum(&p[20..]);
    p[22..24].copy_from_slice(&sum.to_be_bytes());
    p
}

/// An ICMPv6 message (RFC 4443) of type `ty` from `src` to `dst`.
fn echo6(src: &str, dst: &str, ty: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = ipv6_packet(src, dst, IpProtocol::ICMPV6, 8 + payload.len());
    p[7] = 60;
    p[40] = ty;
    p[44..48].copy_from_slice(&[0x12, 0x34, 0x00, 0x05]);
    p[48..].copy_from_slice(payload);
    let sum = icmp6_sum(&p);
    p[42..44].copy_from_slice(&(!sum).to_be_bytes());
    p
}

/// The folded one's complement sum of an ICMPv6 message with its
/// pseudo-header (0xffff when the checksum field is right).
fn icmp6_sum(p: &[u8]) -> u16 {
    let s: [u8; 16] = p[8..24].try_into().unwrap();
    let d: [u8; 16] = p[24..40].try_into().unwrap();
    checksum::fold(checksum::sum(
        checksum::pseudo_v6(&s, &d, 58, (p.len() - 40) as u32),
        &p[40..],
    ))
}

/// Echo requests to our addresses are answered: from the wire (IPv4), and
/// through the tunnel (IPv4 and IPv6, the reply encrypted back); other ICMP
/// types, bad checksums and impossible sources are dropped and counted.
#[test]
fn echo_requests_to_our_addresses_are_answered() {
    let (mut a, mut b) = pair(TunnelMode::Gre { key: Some(5) }, false, (A.wan, B.wan));
    let IpAddr::V4(a_wan) = A.wan else {
        unreachable!()
    };
    let IpAddr::V4(b_wan) = B.wan else {
        unreachable!()
    };
    let payload = b"abcdefghijklmnopqrstuvwxyz0123456789";

    // From the wire: B's WAN address pings A's.
    let req = echo4(b_wan.octets(), a_wan.octets(), 8, payload);
    let (act, reply) = one(&mut a, WAN, eth4(&req));
    assert_eq!(act, Action::Tx { port: WAN });
    assert_eq!(&reply[..6], &mac(0x20), "to B's MAC (the route's)");
    assert_eq!(&reply[6..12], &mac(0x13), "from our WAN port");
    let ip = Ipv4Packet::new_checked(&reply[14..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!(ip.src_addr(), a_wan.octets());
    assert_eq!(ip.dst_addr(), b_wan.octets());
    assert_eq!(ip.ttl(), 64);
    assert_eq!(ip.protocol(), IpProtocol::ICMP);
    let icmp = &reply[34..];
    assert_eq!(icmp[0], 0, "echo reply");
    assert_eq!(checksum::checksum(icmp), 0, "ICMP checksum");
    assert_eq!(&icmp[4..8], &req[24..28], "identifier and sequence kept");
    assert_eq!(&icmp[8..], payload);
    assert_eq!(a.worker.counters.echo_replies, 1);
    assert_eq!(a.worker.counters.tx_packets, 1);

    // Not answered, each counted once.
    let mut bad = req.clone();
    bad[30] ^= 1;
    expect_drop(&mut a, WAN, eth4(&bad), DropReason::BadChecksum);
    let reply_to_us = echo4(b_wan.octets(), a_wan.octets(), 0, payload);
    expect_drop(&mut a, WAN, eth4(&reply_to_us), DropReason::NotForUs);
    for src in [
        [224, 0, 0, 1],
        [255, 255, 255, 255],
        [0, 0, 0, 0],
        [127, 0, 0, 1],
    ] {
        let r = echo4(src, a_wan.octets(), 8, payload);
        expect_drop(&mut a, WAN, eth4(&r), DropReason::NotForUs);
    }
    let short = {
        let mut r = echo4(b_wan.octets(), a_wan.octets(), 8, b"");
        r.truncate(24);
        r[2..4].copy_from_slice(&24u16.to_be_bytes());
        Ipv4Packet::new_unchecked(&mut r[..]).fill_checksum();
        r
    };
    expect_drop(&mut a, WAN, eth4(&short), DropReason::Malformed);
    // A source we have no route to.
    let lost = echo4([198, 18, 0, 1], a_wan.octets(), 8, payload);
    expect_drop(&mut a, WAN, eth4(&lost), DropReason::NoRoute);
    assert_eq!(a.worker.counters.echo_replies, 1);

    // Through the tunnel: a host behind B pings A's tunnel address (and
    // its IPv6 one); the reply goes back into the tunnel.
    route(&mut a.fib, "10.1.255.1/32", NextHop::Local);
    route(&mut a.fib, "2001:db8:1::1/128", NextHop::Local);
    a.fib.publish();
    let cases = [
        (
            EtherType::IPV4,
            echo4([10, 2, 0, 7], [10, 1, 255, 1], 8, payload),
        ),
        (
            EtherType::IPV6,
            echo6("2001:db8:2::7", "2001:db8:1::1", 128, payload),
        ),
    ];
    for (et, req) in cases {
        let (act, sealed) = one(&mut b, LAN, frame(mac(0x22), et, &req));
        assert_eq!(act, Action::Tx { port: WAN });
        let (act, sealed_reply) = one(&mut a, WAN, sealed);
        assert_eq!(act, Action::Tx { port: WAN }, "{et:?}: encrypted back");
        let (act, plain) = one(&mut b, WAN, sealed_reply);
        assert_eq!(act, Action::Tx { port: LAN }, "{et:?}: out to B's LAN");
        let got = &plain[14..];
        if et == EtherType::IPV4 {
            let ip = Ipv4Packet::new_checked(got).unwrap();
            assert!(ip.verify_checksum());
            assert_eq!(ip.src_addr(), [10, 1, 255, 1]);
            assert_eq!(ip.dst_addr(), [10, 2, 0, 7]);
            assert_eq!(ip.ttl(), 63, "64, less B's hop");
            assert_eq!(got[20], 0);
            assert_eq!(checksum::checksum(&got[20..]), 0);
            assert_eq!(&got[28..], payload);
        } else {
            let ip = Ipv6Packet::new_checked(got).unwrap();
            assert_eq!(
                ip.src_addr(),
                "2001:db8:1::1"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets()
            );
            assert_eq!(
                ip.dst_addr(),
                "2001:db8:2::7"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets()
            );
            assert_eq!(got[7], 63);
            assert_eq!(got[40], 129, "echo reply");
            assert_eq!(icmp6_sum(got), 0xffff, "ICMPv6 checksum");
            assert_eq!(&got[44..48], &req[44..48]);
            assert_eq!(&got[48..], payload);
        }
    }
    assert_eq!(a.worker.counters.echo_replies, 3);

    // ICMPv6 other than echo and neighbour discovery, and a bad checksum.
    let other = echo6("2001:db8:2::7", "2001:db8:1::1", 2, payload);
    let (_, sealed) = one(&mut b, LAN, frame(mac(0x22), EtherType::IPV6, &other));
    expect_drop(&mut a, WAN, sealed, DropReason::NotForUs);
    let mut bad6 = echo6("2001:db8:2::7", "2001:db8:1::1", 128, payload);
    bad6[50] ^= 1;
    let (_, sealed) = one(&mut b, LAN, frame(mac(0x22), EtherType::IPV6, &bad6));
    expect_drop(&mut a, WAN, sealed, DropReason::BadChecksum);
    assert_eq!(a.worker.counters.echo_replies, 3);
}

/// `udp4` with DF set.
fn udp4_df(src: [u8; 4], dst: [u8; 4], payload: &[u8], ttl: u8) -> Vec<u8> {
    let mut p = udp4(src, dst, 53, payload, ttl);
    p[6] |= 0x40;
    Ipv4Packet::new_unchecked(&mut p[..]).fill_checksum();
    p
}

/// `udp6` with a hop limit.
fn udp6_hops(src: &str, dst: &str, payload: &[u8], hops: u8) -> Vec<u8> {
    let mut p = udp6(src, dst, payload);
    p[7] = hops;
    p
}

/// Node A's worker again, with addresses on its ports (LAN 10.1.0.1 and
/// 2001:db8:1::1).
fn with_port_addresses(a: &mut Node) {
    a.worker = Worker::new(
        Tables {
            sas: a.sas.reader(),
            tunnels: a.tunnels.reader(),
            fib: a.fib.reader(),
        },
        vec![
            PortInfo {
                mac: mac(A.my_mac + 2),
                ipv4: Some([10, 1, 0, 1]),
                ipv6: Some(
                    "2001:db8:1::1"
                        .parse::<std::net::Ipv6Addr>()
                        .unwrap()
                        .octets(),
                ),
            },
            PortInfo::new(mac(A.my_mac + 3)),
        ],
    );
}

/// Checks an ICMP error frame sent out of A's LAN port to 10.1.0.5 from
/// `src`: type, code, the 4 bytes after the checksum, and the quote.
fn check_icmp4(
    frame: &[u8],
    src: [u8; 4],
    ttl: u8,
    ty: u8,
    code: u8,
    rest: [u8; 4],
    quoted: &[u8],
) {
    assert_eq!(&frame[..6], &mac(A.my_mac + 1), "to the LAN host");
    let ip = Ipv4Packet::new_checked(&frame[14..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!(ip.src_addr(), src);
    assert_eq!(ip.dst_addr(), [10, 1, 0, 5]);
    assert_eq!(ip.protocol(), IpProtocol::ICMP);
    assert_eq!(ip.ttl(), ttl);
    let icmp = &frame[34..];
    assert_eq!((icmp[0], icmp[1]), (ty, code));
    assert_eq!(checksum::checksum(icmp), 0, "ICMP checksum");
    assert_eq!(&icmp[4..8], &rest);
    let n = quoted.len().min(548);
    assert_eq!(&icmp[8..], &quoted[..n], "the offending packet's start");
    assert!(frame.len() - 14 <= 576);
}

/// ICMP errors: time exceeded and fragmentation needed / packet too big,
/// for IPv4 and IPv6, from the ingress port's address or (through a
/// tunnel, on a node whose ports have none) the tunnel's local address;
/// none about ICMP errors or packets without DF; and a rate limit.
#[test]
fn icmp_errors_time_exceeded_and_too_big() {
    let (mut a, mut b) = pair(TunnelMode::Gre { key: Some(5) }, false, (A.wan, B.wan));
    with_port_addresses(&mut a);
    let lan_ip = [10, 1, 0, 1];

    // TTL 1 from the LAN, routed into the tunnel: time exceeded.
    let p = udp4([10, 1, 0, 5], [10, 2, 0, 7], 53, b"traceroute", 1);
    let (act, f) = one(&mut a, LAN, eth4(&p));
    assert_eq!(act, Action::Tx { port: LAN });
    check_icmp4(&f, lan_ip, 64, 11, 0, [0; 4], &p);
    assert_eq!(a.worker.counters.icmp_errors, 1);
    assert_eq!(a.worker.counters.drops_for(DropReason::TtlExceeded), 0);

    // 1500 bytes with DF into the 1400-byte tunnel: fragmentation needed,
    // next-hop MTU 1400, quoting 548 bytes.
    let big = udp4_df([10, 1, 0, 5], [10, 2, 0, 7], &[7; 1472], 64);
    let (act, f) = one(&mut a, LAN, eth4(&big));
    assert_eq!(act, Action::Tx { port: LAN });
    let quoted = after_hop4(&big);
    check_icmp4(&f, lan_ip, 64, 3, 4, [0, 0, 0x05, 0x78], &quoted);
    assert_eq!(f.len() - 14, 576);
    // Without DF: no error, the packet is to be fragmented.
    let big_nodf = udp4([10, 1, 0, 5], [10, 2, 0, 7], 53, &[7; 1472], 64);
    assert_eq!(
        one(&mut a, LAN, eth4(&big_nodf)).0,
        Action::Fragment {
            tunnel: 1,
            mtu: 1400
        }
    );

    // IPv6: packet too big (the error fills the minimum MTU), and hop
    // limit 1.
    let big6 = udp6_hops("2001:db8:1::5", "2001:db8:2::7", &[9; 1452], 64);
    let (act, f) = one(&mut a, LAN, frame(mac(0x12), EtherType::IPV6, &big6));
    assert_eq!(act, Action::Tx { port: LAN });
    let got = &f[14..];
    assert_eq!(got.len(), 1280);
    let ip = Ipv6Packet::new_checked(got).unwrap();
    assert_eq!(
        ip.src_addr(),
        "2001:db8:1::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets()
    );
    assert_eq!(
        ip.dst_addr(),
        "2001:db8:1::5"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets()
    );
    assert_eq!((got[40], got[41]), (2, 0), "packet too big");
    assert_eq!(&got[44..48], &1400u32.to_be_bytes());
    assert_eq!(icmp6_sum(got), 0xffff, "ICMPv6 checksum");
    assert_eq!(&got[48..55], &big6[..7]);
    assert_eq!(got[55], 63, "quoted with its hop limit less one");
    assert_eq!(&got[56..], &big6[8..1232]);
    let hop1 = udp6_hops("2001:db8:1::5", "2001:db8:2::7", b"x", 1);
    let (act, f) = one(&mut a, LAN, frame(mac(0x12), EtherType::IPV6, &hop1));
    assert_eq!(act, Action::Tx { port: LAN });
    assert_eq!((f[14 + 40], f[14 + 41]), (3, 0), "time exceeded");
    assert_eq!(icmp6_sum(&f[14..]), 0xffff);
    assert_eq!(&f[14 + 48..], &hop1[..]);
    assert_eq!(a.worker.counters.icmp_errors, 4);

    // Never about an ICMP error (here a destination unreachable with TTL
    // 1), nor from a source that is not one host's; an echo request is a
    // query and gets its error.
    let mut unreach = echo4([10, 1, 0, 5], [10, 2, 0, 7], 3, b"quoted");
    unreach[8] = 1;
    Ipv4Packet::new_unchecked(&mut unreach[..]).fill_checksum();
    expect_drop(&mut a, LAN, eth4(&unreach), DropReason::TtlExceeded);
    let mut mcast = udp4([224, 0, 0, 5], [10, 2, 0, 7], 53, b"x", 1);
    Ipv4Packet::new_unchecked(&mut mcast[..]).fill_checksum();
    expect_drop(&mut a, LAN, eth4(&mcast), DropReason::TtlExceeded);
    let mut ping = echo4([10, 1, 0, 5], [10, 2, 0, 7], 8, b"ping");
    ping[8] = 1;
    Ipv4Packet::new_unchecked(&mut ping[..]).fill_checksum();
    assert_eq!(one(&mut a, LAN, eth4(&ping)).0, Action::Tx { port: LAN });
    assert_eq!(a.worker.counters.icmp_errors, 5);

    // The budget: what is left of the burst goes, then nothing until the
    // loop refills it.
    let left = a.worker.icmp_budget();
    assert_eq!(left, dataplane::pipeline::ICMP_ERROR_BURST - 5);
    let frames: Vec<Vec<u8>> = (0..=left).map(|_| eth4(&p)).collect();
    let out = run(&mut a, LAN, &frames);
    let sent = out
        .iter()
        .filter(|(act, _)| *act == Action::Tx { port: LAN })
        .count();
    assert_eq!(sent as u32, left);
    assert_eq!(out.last().unwrap().0, Action::Drop(DropReason::TtlExceeded));
    assert_eq!(a.worker.counters.icmp_errors_limited, 1);
    a.worker
        .refill_icmp_errors(1, dataplane::pipeline::ICMP_ERROR_BURST);
    assert_eq!(one(&mut a, LAN, eth4(&p)).0, Action::Tx { port: LAN });
    assert_eq!(a.worker.icmp_budget(), 0);

    // Through the tunnel, on B whose ports have no address: the packet
    // left A with TTL 1, B sends the error from the tunnel's local address
    // back through the tunnel, and A delivers it to the LAN host.
    a.worker
        .refill_icmp_errors(10, dataplane::pipeline::ICMP_ERROR_BURST);
    let p2 = udp4([10, 1, 0, 5], [10, 2, 0, 7], 53, b"two hops", 2);
    let (act, sealed) = one(&mut a, LAN, eth4(&p2));
    assert_eq!(act, Action::Tx { port: WAN });
    let (act, sealed_err) = one(&mut b, WAN, sealed);
    assert_eq!(
        act,
        Action::Tx { port: WAN },
        "the error goes back into the tunnel"
    );
    assert_eq!(b.worker.counters.icmp_errors, 1);
    let (act, f) = one(&mut a, WAN, sealed_err);
    assert_eq!(act, Action::Tx { port: LAN });
    let IpAddr::V4(b_wan) = B.wan else {
        unreachable!()
    };
    check_icmp4(&f, b_wan.octets(), 63, 11, 0, [0; 4], &after_hop4(&p2));
}

/// IPv4 without DF larger than the tunnel's MTU: the pipeline hands it out
/// to be split; the fragments (made with `write_fragment`, as the worker
/// loop does) are encapsulated by `Worker::encapsulate`, cross to B, which
/// forwards them to its LAN, where they reassemble into the packet.
#[test]
fn oversized_ipv4_without_df_is_fragmented_before_encryption() {
    let (mut a, mut b) = pair(TunnelMode::Gre { key: Some(5) }, false, (A.wan, B.wan));
    let p = udp4([10, 1, 0, 5], [10, 2, 0, 7], 53, &[0x5a; 1472], 64);
    let (act, inner) = one(&mut a, LAN, eth4(&p));
    assert_eq!(
        act,
        Action::Fragment {
            tunnel: 1,
            mtu: 1400
        }
    );
    assert_eq!(a.worker.counters.fragmented, 1);
    assert_eq!(inner, after_hop4(&p), "the IP packet, TTL decremented");

    let chunk = dataplane::wire::ipv4::fragment_payload(1400, 20).unwrap();
    let mut bufs = Vec::new();
    let mut start = 0;
    while start < inner.len() - 20 {
        let len = chunk.min(inner.len() - 20 - start);
        let mut out = vec![0u8; 20 + len];
        dataplane::wire::ipv4::write_fragment(&inner, start, len, &mut out).unwrap();
        bufs.push(VecBuf::new(&out));
        start += len;
    }
    assert_eq!(bufs.len(), 2);
    let mut actions = [Action::Consumed; BURST_MAX];
    assert_eq!(a.worker.encapsulate(1, &mut bufs, &mut actions), 2);
    assert_eq!(&actions[..2], &[Action::Tx { port: WAN }; 2]);
    assert_eq!(a.worker.counters.esp_encrypted, 2);
    let mut whole = vec![0u8; p.len() - 20];
    for f in &bufs {
        let (act, plain) = one(&mut b, WAN, f.data().to_vec());
        assert_eq!(act, Action::Tx { port: LAN });
        let ip = Ipv4Packet::new_checked(&plain[14..]).unwrap();
        assert!(ip.verify_checksum());
        assert!(ip.total_len() <= 1400);
        let off = usize::from(u16::from_be_bytes([plain[20], plain[21]]) & 0x1fff) * 8;
        let body = &plain[34..14 + ip.total_len()];
        whole[off..off + body.len()].copy_from_slice(body);
    }
    assert_eq!(whole, &p[20..], "the fragments reassemble into the packet");

    // Into a tunnel that is gone by then: dropped, counted.
    let mut one_more = vec![VecBuf::new(&inner[..20 + 8])];
    assert_eq!(a.worker.encapsulate(9, &mut one_more, &mut actions), 1);
    assert_eq!(actions[0], Action::Drop(DropReason::NoTunnel));
    assert_eq!(a.worker.counters.drops_for(DropReason::NoTunnel), 1);
}
