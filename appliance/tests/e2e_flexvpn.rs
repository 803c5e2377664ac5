//! The source document's scenario end to end: hub, spoke1 and spoke2 each
//! run as two processes (dataplane on `net_af_packet`, control plane over
//! shared memory) in network namespaces, host1 behind spoke1 and host2
//! behind spoke2, configured from the seed files (pre-shared keys instead
//! of the certificates they reference).
//!
//! Main sequence: the spokes get addresses from the hub's pool and the
//! pushed routes; host1 pings host2; the first packets cross the hub,
//! which redirects; the spokes build the shortcut; from then on traffic
//! goes spoke to spoke. Proved three ways: the dataplanes' counters (the
//! hub's ESP counters stand still, spoke2's grow), a capture on the hub's
//! link (no ESP to or from the hub while host1 pings host2), and tshark
//! decrypting the capture of the whole run (keys from the control planes'
//! key logs) and finding the NHRP Traffic Indication, Resolution Request
//! and Resolution Reply.
//!
//! Needs root, iproute2 and tshark; CI runs as root.

use std::time::Duration;

use appliance::demo::scenario::{esp_counters, tshark_fields, Scenario, Variant};

const HUB: usize = 0;
const S1: usize = 1;
const S2: usize = 2;

fn exe() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_appliance"))
}

fn counters(s: &Scenario, i: usize) -> (u64, u64) {
    let t = s.show(i, &["dataplane"]);
    esp_counters(&t).unwrap_or_else(|| panic!("no counters in:\n{t}"))
}

/// Waits for the next counter report (every second) to include what just
/// happened.
fn settle() {
    std::thread::sleep(Duration::from_millis(2500));
}

#[test]
fn spoke_to_spoke_shortcut_end_to_end() {
    let tag = format!("e{}", std::process::id() % 100_000);
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut s = Scenario::start(exe(), &tag, &dir, Variant::default()).unwrap();
    let wan = s.topo.wan.clone();
    let mut all = s.capture(&wan, "br0", &dir.join("wan.pcap")).unwrap();

    s.wait("spokes up", Duration::from_secs(30), |s| {
        (1..3).all(|i| {
            s.show(i, &["crypto", "ikev2", "client", "flexvpn"])
                .contains("Current State:UP")
        })
    })
    .unwrap();
    // Addresses from flex-pool, the pushed routes.
    for i in [S1, S2] {
        let c = s.show(i, &["crypto", "ikev2", "client", "flexvpn"]);
        assert!(c.contains("Assigned address : 172.16.0."), "{c}");
        let r = s.show(i, &["ip", "route"]);
        assert!(
            r.contains("S     0.0.0.0/0 is directly connected, Tunnel0"),
            "{r}"
        );
        assert!(
            r.contains("172.16.1.1/32 is directly connected, Tunnel0"),
            "{r}"
        );
    }
    let r = s.show(HUB, &["ip", "route"]);
    assert!(
        r.contains("192.168.110.0/24 is directly connected, Virtual-Access"),
        "{r}"
    );
    assert!(
        r.contains("192.168.120.0/24 is directly connected, Virtual-Access"),
        "{r}"
    );

    // host1 -> host2: the first packets through the hub, which redirects.
    let out = s.ping(0, "192.168.120.10", &["-c", "3", "-W", "2"]);
    assert!(out.is_ok(), "{out:?}\n{}", s.logs());
    s.wait("shortcut", Duration::from_secs(30), |s| {
        s.show(S1, &["ip", "nhrp"]).contains("192.168.120.0/24 via")
            && s.show(S1, &["ip", "route"])
                .contains("H     192.168.120.0/24")
    })
    .unwrap();
    let m = s.show(HUB, &["metrics"]);
    assert!(!m.contains("flexvpn_nhrp_redirects_sent_total 0\n"), "{m}");
    // The egress spoke cached the requester's network on its shortcut.
    assert!(s.show(S2, &["ip", "nhrp"]).contains("192.168.110.0/24 via"));

    // From now on spoke to spoke: counters and a capture on the hub's link.
    settle();
    let hub0 = counters(&s, HUB);
    let s2_0 = counters(&s, S2);
    let mut at_hub = s.capture(&wan, "w0", &dir.join("hub-port.pcap")).unwrap();
    let mut at_s2 = s
        .capture(&wan, "w2", &dir.join("spoke2-port.pcap"))
        .unwrap();
    // tshark says it captures a little before it does.
    std::thread::sleep(Duration::from_secs(1));
    let out = s.ping(0, "192.168.120.10", &["-c", "10", "-i", "0.2", "-W", "2"]);
    assert!(out.is_ok(), "{out:?}\n{}", s.logs());
    settle();
    let hub_pcap = at_hub.stop();
    let s2_pcap = at_s2.stop();
    let hub1 = counters(&s, HUB);
    let s2_1 = counters(&s, S2);
    assert_eq!(
        hub0,
        hub1,
        "the hub still carries ESP:\n{}",
        s.show(HUB, &["dataplane"])
    );
    assert!(
        s2_1.1 >= s2_0.1 + 10,
        "spoke2 decrypted {s2_0:?} -> {s2_1:?}"
    );
    assert!(
        s2_1.0 >= s2_0.0 + 10,
        "spoke2 encrypted {s2_0:?} -> {s2_1:?}"
    );
    // 1500-byte packets without DF (before host1 learns the path MTU,
    // which would make it fragment by itself): spoke1 splits them before
    // encryption, host2 reassembles; the same for the replies at spoke2.
    let nodf = s.ping(
        0,
        "192.168.120.10",
        &["-c", "2", "-W", "2", "-M", "dont", "-s", "1472"],
    );
    assert!(nodf.is_ok(), "fragmented before encryption: {nodf:?}");
    settle();
    let show = s.show(S1, &["dataplane"]);
    let fragmented: u64 = show
        .split("fragmented ")
        .skip(1)
        .filter_map(|t| t.split(',').next()?.trim().parse::<u64>().ok())
        .sum();
    assert!(fragmented >= 2, "spoke1 split the pings:\n{show}");
    // Path MTU discovery through the tunnel (MTU 1400): a 1500-byte
    // packet with DF from host1 gets "fragmentation needed" from spoke1's
    // dataplane; one of 1400 bytes crosses.
    let big = s.ping(
        0,
        "192.168.120.10",
        &["-c", "1", "-W", "2", "-M", "do", "-s", "1472"],
    );
    let text = format!("{big:?}");
    assert!(
        big.is_err() && text.contains("mtu = 1400"),
        "fragmentation needed from spoke1: {text}\n{}",
        s.show(S1, &["dataplane"])
    );
    let fits = s.ping(
        0,
        "192.168.120.10",
        &["-c", "2", "-W", "2", "-M", "do", "-s", "1372"],
    );
    assert!(fits.is_ok(), "1400 bytes cross: {fits:?}");
    // Per-SA counters: spoke2's shortcut SA opened the pings.
    let ipsec = s.show(S2, &["crypto", "ipsec", "sa"]);
    let decaps: u64 = ipsec
        .split("interface: Virtual-Access")
        .skip(1)
        .filter_map(|b| {
            b.split("#pkts decaps: ")
                .nth(1)?
                .split(',')
                .next()?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert!(decaps >= 10, "{ipsec}");
    let m = s.show(S2, &["metrics"]);
    assert!(
        m.lines().any(
            |l| l.starts_with("flexvpn_sa_packets_total{interface=\"Virtual-Access")
                && l.contains("direction=\"in\"")
                && !l.ends_with(" 0")
        ),
        "{m}"
    );
    assert!(
        m.contains("flexvpn_dp_drops_total{lcore=\"1\",reason="),
        "{m}"
    );
    // The dataplane's latency histogram, with the packets of the run in it.
    assert!(
        m.lines().any(
            |l| l.starts_with("flexvpn_dp_packet_latency_seconds_count{lcore=\"1\"}")
                && !l.ends_with(" 0")
        ),
        "{m}"
    );
    let esp_hub = tshark_fields(&hub_pcap, &[], "esp", &["frame.number"]).unwrap();
    assert!(
        esp_hub.is_empty(),
        "{} ESP packets at the hub",
        esp_hub.len()
    );
    let esp_s2 = tshark_fields(&s2_pcap, &[], "esp", &["ip.src", "ip.dst"]).unwrap();
    // 10 echo requests and 10 replies (a capture may miss its very first
    // packets, whatever the sleep above).
    assert!(esp_s2.len() >= 16, "{esp_s2:?}");
    assert!(esp_s2
        .iter()
        .all(|f| f.contains(&"10.0.0.110".to_string()) && f.contains(&"10.0.0.120".to_string())));

    // Fallback: spoke2 goes away. spoke1's DPD finds the shortcut dead
    // and purges it: spoke2's network is reached through the hub again.
    s.stop_controlplane(S2, false);
    s.stop_dataplane(S2);
    s.wait("shortcut purged", Duration::from_secs(60), |s| {
        !s.show(S1, &["ip", "nhrp"]).contains("192.168.120.0/24")
            && !s
                .show(S1, &["ip", "route"])
                .contains("H     192.168.120.0/24")
    })
    .unwrap();
    // spoke2 returns: through the hub first, then a new shortcut.
    s.start_dataplane(S2).unwrap();
    s.start_controlplane(S2).unwrap();
    s.wait("spoke2 back", Duration::from_secs(60), |s| {
        s.show(S2, &["crypto", "ikev2", "client", "flexvpn"])
            .contains("Current State:UP")
            && s.show(HUB, &["ip", "route"])
                .contains("192.168.120.0/24 is directly connected")
    })
    .unwrap();
    let out = s.ping(0, "192.168.120.10", &["-c", "3", "-W", "2"]);
    assert!(out.is_ok(), "after spoke2 returned: {out:?}\n{}", s.logs());
    s.wait("a new shortcut", Duration::from_secs(30), |s| {
        s.show(S1, &["ip", "route"])
            .contains("H     192.168.120.0/24")
    })
    .unwrap();

    // tshark, with the keys, sees the NHRP exchange inside ESP and GRE.
    assert!(s.stop(), "{}", s.logs());
    let wan_pcap = all.stop();
    let keys = s.esp_sa_records();
    assert!(keys.len() >= 8, "{keys:?}");
    let nhrp = tshark_fields(
        &wan_pcap,
        &keys,
        "nhrp",
        &["ip.src", "ip.dst", "nhrp.hdr.op.type"],
    )
    .unwrap();
    let has = |t: &str| nhrp.iter().any(|f| f.last().is_some_and(|x| x == t));
    assert!(has("8"), "no Traffic Indication: {nhrp:?}");
    assert!(has("1"), "no Resolution Request: {nhrp:?}");
    assert!(has("2"), "no Resolution Reply: {nhrp:?}");
}

/// The hub's control plane dies (SIGKILL) while host1 talks to host2: the
/// dataplanes keep forwarding on the SAs they have. A new control plane
/// starts, reads back what the dataplane holds, keeps clear of it, and the
/// spokes (whose DPD finds the old IKE SAs gone) re-establish their
/// tunnels to it; the state of the dead control plane is removed after
/// the grace period. The tunnels are re-established, not resumed.
#[test]
fn hub_control_plane_restart() {
    let tag = format!("r{}", std::process::id() % 100_000);
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut s = Scenario::start(exe(), &tag, &dir, Variant::default()).unwrap();
    s.wait("spokes up", Duration::from_secs(30), |s| {
        (1..3).all(|i| {
            s.show(i, &["crypto", "ikev2", "client", "flexvpn"])
                .contains("Current State:UP")
        })
    })
    .unwrap();
    let out = s.ping(0, "192.168.120.10", &["-c", "2", "-W", "2"]);
    assert!(out.is_ok(), "{out:?}\n{}", s.logs());

    let st = s.stop_controlplane(HUB, true);
    assert!(st.is_some());
    // No control plane on the hub: the dataplanes still forward.
    let out = s.ping(0, "192.168.120.10", &["-c", "5", "-i", "0.2", "-W", "2"]);
    assert!(
        out.is_ok(),
        "without the hub's control plane: {out:?}\n{}",
        s.logs()
    );

    s.start_controlplane(HUB).unwrap();
    s.wait(
        "the new control plane sees the old state",
        Duration::from_secs(20),
        |s| {
            s.show(HUB, &["dataplane"])
                .contains("From the previous control plane: 2 tunnel(s)")
        },
    )
    .unwrap();
    s.wait("spokes re-established", Duration::from_secs(90), |s| {
        s.show(HUB, &["crypto", "ikev2", "sa"])
            .matches("READY")
            .count()
            == 2
            && (1..3).all(|i| {
                s.show(i, &["crypto", "ikev2", "client", "flexvpn"])
                    .contains("Current State:UP")
            })
    })
    .unwrap();
    let out = s.ping(0, "192.168.120.10", &["-c", "3", "-W", "2"]);
    assert!(out.is_ok(), "after the restart: {out:?}\n{}", s.logs());
    // The grace period (20 s here) ends: the old state goes.
    s.wait("old state removed", Duration::from_secs(40), |s| {
        !s.show(HUB, &["dataplane"])
            .contains("From the previous control plane")
    })
    .unwrap();
    let log = std::fs::read_to_string(&s.nodes[HUB].cp_log).unwrap();
    assert!(log.contains("grace period over"), "{log}");
    let out = s.ping(0, "192.168.120.10", &["-c", "3", "-W", "2"]);
    assert!(out.is_ok(), "after the grace period: {out:?}\n{}", s.logs());
    assert!(s.stop(), "{}", s.logs());
}

/// The main sequence with an IPv6 overlay, an IPv6 underlay, and both:
/// spokes up with pool addresses of the overlay's family, host1 reaches
/// host2 through the hub, the shortcut comes up between the spokes'
/// underlay addresses, and traffic then goes spoke to spoke.
fn variant(tag: &str, v: Variant) {
    let tag = format!("{tag}{}", std::process::id() % 10_000);
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut s = Scenario::start(exe(), &tag, &dir, v).unwrap();
    let pool = if v.overlay6 { "fd00:16::" } else { "172.16.0." };
    s.wait("spokes up", Duration::from_secs(30), |s| {
        (1..3).all(|i| {
            let c = s.show(i, &["crypto", "ikev2", "client", "flexvpn"]);
            c.contains("Current State:UP") && c.contains(&format!("Assigned address : {pool}"))
        })
    })
    .unwrap();
    let c = s.show(S1, &["crypto", "ikev2", "client", "flexvpn"]);
    assert!(c.contains(&format!("Peer : {}", v.wan()[HUB])), "{c}");
    let six = if v.overlay6 { &["-6"][..] } else { &[][..] };
    let mut args = six.to_vec();
    args.extend_from_slice(&["-c", "3", "-W", "2"]);
    let out = s.ping(0, v.host2(), &args);
    assert!(out.is_ok(), "{out:?}\n{}", s.logs());
    let fam = if v.overlay6 { "ipv6" } else { "ip" };
    s.wait("shortcut", Duration::from_secs(30), |s| {
        s.show(S1, &[fam, "nhrp"])
            .contains(&format!("{} via", v.net2()))
    })
    .unwrap();
    let nhrp = s.show(S1, &[fam, "nhrp"]);
    assert!(
        nhrp.contains(&format!("NBMA address: {}", v.wan()[S2])),
        "{nhrp}"
    );
    settle();
    let hub0 = counters(&s, HUB);
    let mut args = six.to_vec();
    args.extend_from_slice(&["-c", "10", "-i", "0.2", "-W", "2"]);
    let out = s.ping(0, v.host2(), &args);
    let rt = if v.overlay6 { "ipv6" } else { "ip" };
    assert!(
        out.is_ok(),
        "{out:?}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        s.show(S1, &[rt, "route"]),
        s.show(S2, &[rt, "route"]),
        s.show(S2, &[fam, "nhrp"]),
        s.show(S1, &["dataplane"]),
        s.show(S2, &["dataplane"]),
        s.show(S2, &["crypto", "ipsec", "sa"]),
        s.logs()
    );
    settle();
    assert_eq!(counters(&s, HUB), hub0, "the hub still carries ESP");
    assert!(s.stop(), "{}", s.logs());
}

#[test]
fn ipv6_overlay_over_ipv4() {
    variant(
        "o",
        Variant {
            overlay6: true,
            ..Variant::default()
        },
    );
}

#[test]
fn ipv4_overlay_over_ipv6() {
    variant(
        "u",
        Variant {
            underlay6: true,
            ..Variant::default()
        },
    );
}

#[test]
fn ipv6_overlay_over_ipv6() {
    variant(
        "b",
        Variant {
            overlay6: true,
            underlay6: true,
            ..Variant::default()
        },
    );
}

/// The static-routing trio as the source document writes it (rsa-sig
/// authentication with the `CA` trustpoint), with the trustpoint's files
/// added (an RSA PKI made for the run): the spokes come up with
/// certificates, and the shortcut is built the same way.
#[test]
fn seed_configurations_with_certificates() {
    variant(
        "c",
        Variant {
            certificates: true,
            ..Variant::default()
        },
    );
}
