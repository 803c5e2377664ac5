//! Two dataplane processes (spoke1 and spoke2 of the demo topology, on
//! `net_af_packet`), driven over their shared-memory links by this test
//! acting as the control plane of both:
//!
//! 1. it installs mirrored GRE tunnels, SAs and routes; host1 pings host2
//!    through them (ARP, ESP both ways);
//! 2. an IKE packet injected by spoke1 toward spoke2's address arrives on
//!    spoke2's punt ring as the IP packet; an NHRP packet injected into
//!    spoke1's tunnel arrives on spoke2's ring with spoke2's tunnel id;
//! 3. bad commands are refused with a reason;
//! 4. the control plane of spoke1 goes away: pings still pass; a new one
//!    attaches (a new generation) and reads back the tunnel, SA and route
//!    it did not install itself.
//!
//! Needs root and iproute2; CI runs as root.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use appliance::cp::shm::Client;
use appliance::demo::topology::Topology;
use common::{last_stat, Dataplane, Scratch, EAL};
use dataplane::crypto::Algorithm;
use dataplane::ctl::{Encap, InjectVia, Msg, PuntReason, RouteTarget, SaMsg, TunnelMsg};

const WAIT: Duration = Duration::from_secs(10);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn config(shm: &str, wan: &str, lan: &str) -> String {
    format!(
        r#"
workers = 1
idle = "adaptive"
stats_interval = 1
{EAL}
[control]
shm = "{shm}"

[[ports]]
name = "Ethernet0/0"
device = "net_af_packet0,iface=eth0"
ipv4 = ["{wan}/24"]

[[ports]]
name = "Ethernet1/0"
device = "net_af_packet1,iface=eth1"
ipv4 = ["{lan}/24"]
"#
    )
}

fn tunnel(id: u32, local: &str, remote: &str) -> TunnelMsg {
    TunnelMsg {
        id,
        encap: Encap::Gre,
        udp_encap: false,
        redirect: false,
        mtu: 1400,
        network_id: 1,
        local: ip(local),
        remote: ip(remote),
        local_port: 4500,
        remote_port: 4500,
    }
}

fn sa(tunnel: u32, inbound: u32, outbound: u32, kin: u8, kout: u8) -> SaMsg {
    SaMsg {
        tunnel,
        inbound_spi: inbound,
        outbound_spi: outbound,
        alg: Algorithm::AesGcm128,
        esn: true,
        replay_window: 1024,
        replaces: 0,
        inbound_key: vec![kin; 20],
        outbound_key: vec![kout; 20],
    }
}

/// An IPv4/UDP packet (checksums: the IP one computed, UDP's zero).
fn udp4(src: &str, dst: &str, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let (IpAddr::V4(s), IpAddr::V4(d)) = (ip(src), ip(dst)) else {
        unreachable!()
    };
    let total = (20 + 8 + payload.len()) as u16;
    let mut p = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0];
    p[2..4].copy_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&s.octets());
    p.extend_from_slice(&d.octets());
    let mut sum = 0u32;
    for c in p.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    p[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

fn ping(t: &Topology, count: &str) -> (bool, String) {
    let mut last = String::new();
    for _ in 0..10 {
        match t.exec(
            &t.hosts[0].ns,
            &[
                "ping",
                "-c",
                count,
                "-W",
                "1",
                "-i",
                "0.2",
                &t.hosts[1].addr,
            ],
        ) {
            Ok(out) => return (true, out),
            Err(e) => last = e.to_string(),
        }
    }
    (false, last)
}

#[test]
fn control_plane_link_end_to_end() {
    let tag = format!("k{}", std::process::id() % 100_000);
    let topo = Topology::create(&tag).unwrap();
    let dir = Scratch::new("dp-control");
    let shm = [format!("fvtest-{tag}-s1"), format!("fvtest-{tag}-s2")];
    let mut dps = Vec::new();
    for (i, (wan, lan)) in [
        ("10.0.0.110", "192.168.110.1"),
        ("10.0.0.120", "192.168.120.1"),
    ]
    .iter()
    .enumerate()
    {
        let f = dir.join(&format!("dp{i}.toml"));
        std::fs::write(&f, config(&shm[i], wan, lan)).unwrap();
        let mut dp = Dataplane::start(&f, &["ip", "netns", "exec", &topo.appliances[i + 1]]);
        dp.wait_running();
        assert!(dp.stdout().contains(&format!("control: shm {}", shm[i])));
        dps.push(dp);
    }
    let mut cp1 = Client::connect(&shm[0], WAIT).unwrap();
    let mut cp2 = Client::connect(&shm[1], WAIT).unwrap();
    assert_eq!(cp1.generation, 1);

    // 1. Mirrored tunnels, SAs and routes.
    cp1.command(&Msg::TunnelSet(tunnel(5, "10.0.0.110", "10.0.0.120")), WAIT)
        .unwrap();
    cp2.command(&Msg::TunnelSet(tunnel(9, "10.0.0.120", "10.0.0.110")), WAIT)
        .unwrap();
    cp1.command(&Msg::SaInstall(sa(5, 0x1005, 0x2009, 1, 2)), WAIT)
        .unwrap();
    cp2.command(&Msg::SaInstall(sa(9, 0x2009, 0x1005, 2, 1)), WAIT)
        .unwrap();
    let route = |p: &str, t: u32| Msg::RouteSet {
        prefix: ip(p),
        len: 24,
        target: RouteTarget::Tunnel(t),
    };
    cp1.command(&route("192.168.120.0", 5), WAIT).unwrap();
    cp2.command(&route("192.168.110.0", 9), WAIT).unwrap();
    let (ok, out) = ping(&topo, "3");
    assert!(
        ok,
        "ping through the tunnel failed: {out}\n{}\n{}",
        dps[0].stdout(),
        dps[1].stdout()
    );

    // 2. IKE in: injected by spoke1, punted by spoke2 as the IP packet.
    let ike = udp4(
        "10.0.0.110",
        "10.0.0.120",
        500,
        500,
        b"an IKE message, more or less",
    );
    let mut got = None;
    for _ in 0..20 {
        cp1.send(&Msg::Inject {
            via: InjectVia::Route,
            packet: ike.clone(),
        })
        .unwrap();
        if let Ok((_, m)) = cp2.wait_for(Duration::from_millis(500), |m| {
            matches!(
                m,
                Msg::Punt {
                    reason: PuntReason::Ike,
                    ..
                }
            )
        }) {
            got = Some(m);
            break;
        }
    }
    let Some(Msg::Punt { packet, port, .. }) = got else {
        panic!("no IKE punt\n{}\n{}", dps[0].stdout(), dps[1].stdout());
    };
    assert_eq!(port, 0);
    assert_eq!(packet[12..20], ike[12..20], "addresses kept");
    assert!(packet.ends_with(b"an IKE message, more or less"));
    // NHRP into spoke1's tunnel 5 comes out of spoke2's tunnel 9.
    let nhrp = b"\x00\x01\x08\x00\x00\x00\x00\x00 NHRP bytes".to_vec();
    cp1.send(&Msg::Inject {
        via: InjectVia::Tunnel(5),
        packet: nhrp.clone(),
    })
    .unwrap();
    let (_, m) = cp2
        .wait_for(WAIT, |m| {
            matches!(
                m,
                Msg::Punt {
                    reason: PuntReason::Nhrp,
                    ..
                }
            )
        })
        .unwrap();
    let Msg::Punt { tunnel, packet, .. } = m else {
        unreachable!()
    };
    assert_eq!(tunnel, 9);
    assert_eq!(packet, nhrp);

    // 3. Refusals, with reasons.
    let e = cp1.command(&route("10.99.0.0", 77), WAIT).unwrap_err();
    assert!(e.to_string().contains("no tunnel 77"), "{e}");
    let e = cp1
        .command(&Msg::SaInstall(sa(5, 0x1005, 0x2009, 1, 2)), WAIT)
        .unwrap_err();
    assert!(e.to_string().contains("0x1005"), "{e}");
    let e = cp1
        .command(
            &Msg::RouteSet {
                prefix: ip("10.0.0.110"),
                len: 32,
                target: RouteTarget::Tunnel(5),
            },
            WAIT,
        )
        .unwrap_err();
    assert!(e.to_string().contains("configuration owns it"), "{e}");

    // 4. spoke1's control plane goes away; traffic goes on; a new one
    // reads the state back.
    drop(cp1);
    let (ok, out) = ping(&topo, "5");
    assert!(ok, "ping without a control plane: {out}");
    let mut cp1 = Client::connect(&shm[0], WAIT).unwrap();
    assert_eq!(cp1.generation, 2);
    let dump = cp1.dump(WAIT).unwrap();
    assert!(
        dump.iter()
            .any(|m| matches!(m, Msg::DumpTunnel(t) if t.id == 5 && t.remote == ip("10.0.0.120"))),
        "{dump:?}"
    );
    assert!(
        dump.iter().any(|m| matches!(
            m,
            Msg::DumpSa {
                tunnel: 5,
                inbound_spi: 0x1005,
                outbound_spi: 0x2009
            }
        )),
        "{dump:?}"
    );
    assert!(
        dump.iter().any(|m| matches!(
            m,
            Msg::DumpRoute {
                len: 24,
                target: RouteTarget::Tunnel(5),
                ..
            }
        )),
        "{dump:?}"
    );
    // Removing the tunnel takes its SAs and routes with it.
    cp1.command(&Msg::TunnelRemove { id: 5 }, WAIT).unwrap();
    assert!(cp1.dump(WAIT).unwrap().is_empty());

    for (i, dp) in dps.iter_mut().enumerate() {
        let (st, out) = dp.terminate(Duration::from_secs(20));
        assert!(st.success(), "{out}");
        if i == 0 {
            assert!(last_stat(&out, "injected").is_some_and(|n| n >= 2), "{out}");
        } else {
            assert!(
                last_stat(&out, "ike_punted").is_some_and(|n| n >= 1),
                "{out}"
            );
            assert!(
                last_stat(&out, "nhrp_punted").is_some_and(|n| n >= 1),
                "{out}"
            );
        }
    }
    for s in &shm {
        assert!(
            !std::path::Path::new(&format!("/dev/shm/{s}")).exists(),
            "{s} left behind"
        );
    }
}
