//! tshark's IKEv2 dissector reads a full exchange between two of our
//! endpoints (IKE_SA_INIT, IKE_AUTH with a configuration request and the
//! first Child SA, a CREATE_CHILD_SA rekey of that Child SA, a DPD
//! INFORMATIONAL and the Delete of the IKE SA): nothing malformed, every
//! message with the exchange type we sent, and, given the IKE SA's keys
//! through its decryption table, the encrypted payloads decrypt to the
//! identities, AUTH method, traffic selectors and assigned address the
//! endpoints reported. Runs: AES-CBC-256 with HMAC-SHA2-256-128,
//! AES-GCM-256, and AES-CBC behind a NAT (UDP 4500 with the non-ESP marker
//! after IKE_SA_INIT). The keys come from `Endpoint::debug_keys`.
//!
//! Without tshark the test is skipped with a message, except under CI
//! (`CI=true`), where it fails.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use controlplane::ikev2::codec::TrafficSelector;
use controlplane::ikev2::config::{DpdConfig, IkeProposal, PoolConfig};
use controlplane::ikev2::crypto::{Encr, Integ};
use controlplane::ikev2::events::CounterSpiAllocator;
use controlplane::ikev2::{
    Config, Endpoint, Event, Identity, IdentityMatch, IkeDebugKeys, IkeSaId, Keyring, Psk,
};
use perf::{gen, pcap};
use system_tests::{run, Scratch};

const HUB: &str = "192.0.2.1:500";
const SPOKE: &str = "192.0.2.2:500";
const SPOKE_PRIVATE_IP: &str = "10.0.0.2";
const SPOKE_PRIVATE: &str = "10.0.0.2:500";
const SPOKE_PUBLIC: &str = "198.51.100.2";
const POOL_FIRST: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 7);

/// tshark, or `None` (skip) when it is missing outside CI.
fn tshark_or_skip() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/tshark");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "tshark not found under CI: run scripts/install-deps.sh"
    );
    eprintln!("SKIPPED: tshark not found (scripts/install-deps.sh installs it)");
    None
}

/// One datagram as captured: from, to, IKE message.
struct Captured {
    from: SocketAddr,
    to: SocketAddr,
    payload: Vec<u8>,
}

/// What the endpoints reported, to compare with tshark's decryption.
struct Exchange {
    datagrams: Vec<Captured>,
    keys: IkeDebugKeys,
    assigned: Ipv4Addr,
    /// Inbound SPIs of the spoke's Child SAs as installed: the first, then
    /// its rekeyed successor.
    spoke_spis: Vec<u32>,
    /// The same for the hub.
    hub_spis: Vec<u32>,
    /// The first Child SA's TSi then TSr as the hub installed them, IPv4
    /// start and end addresses as tshark prints them.
    hub_ts: (String, String),
}

fn config(id: &str, proposal: IkeProposal) -> Config {
    let k = Keyring::new().with(IdentityMatch::Any, Psk::new(b"tshark-ikev2-psk"));
    let mut c = Config::new(Identity::Fqdn(id.into()), k);
    c.ike_proposals = vec![proposal];
    c.dpd = Some(DpdConfig {
        interval: Duration::from_secs(10),
    });
    c
}

/// A NAT in front of the spoke (or none): the spoke's private address
/// and ports as the hub and the capture see them.
#[derive(Clone, Copy)]
struct Nat(bool);

impl Nat {
    fn spoke_addr(self) -> SocketAddr {
        if self.0 { SPOKE_PRIVATE } else { SPOKE }.parse().unwrap()
    }
    /// Private to public (the spoke's packets on their way out).
    fn out(self, a: SocketAddr) -> SocketAddr {
        if self.0 {
            SocketAddr::new(SPOKE_PUBLIC.parse().unwrap(), a.port() + 1000)
        } else {
            a
        }
    }
    /// Public to private (the hub's packets on their way in).
    fn inn(self, a: SocketAddr) -> SocketAddr {
        if self.0 {
            SocketAddr::new(SPOKE_PRIVATE_IP.parse().unwrap(), a.port() - 1000)
        } else {
            a
        }
    }
}

/// Delivers every queued datagram of `from` to `to`, recording them as
/// seen between the NAT and the hub; collects `from`'s events.
fn shuttle(
    from: &mut Endpoint,
    to: &mut Endpoint,
    (now, nat, from_spoke): (Instant, Nat, bool),
    cap: &mut Vec<Captured>,
    events: &mut Vec<Event>,
) -> usize {
    let mut n = 0;
    while let Some(t) = from.poll_transmit() {
        let (src, dst) = if from_spoke {
            (nat.out(t.local), t.remote)
        } else {
            (t.local, t.remote)
        };
        cap.push(Captured {
            from: src,
            to: dst,
            payload: t.payload.clone(),
        });
        let arrives_at = if from_spoke { dst } else { nat.inn(dst) };
        to.handle_datagram(now, arrives_at, src, &t.payload);
        n += 1;
    }
    while let Some(e) = from.poll_event() {
        events.push(e);
    }
    n
}

/// Runs both ways until quiet (bounded).
fn settle(
    spoke: &mut Endpoint,
    hub: &mut Endpoint,
    (now, nat): (Instant, Nat),
    cap: &mut Vec<Captured>,
    ev: &mut (Vec<Event>, Vec<Event>),
) {
    for _ in 0..20 {
        let a = shuttle(spoke, hub, (now, nat, true), cap, &mut ev.0);
        let b = shuttle(hub, spoke, (now, nat, false), cap, &mut ev.1);
        if a + b == 0 {
            return;
        }
    }
    panic!("the exchange did not settle");
}

fn exchange(proposal: &IkeProposal, nat: Nat) -> Exchange {
    let mut hub_cfg = config("hub.example.test", proposal.clone());
    hub_cfg.pool = Some(PoolConfig {
        v4: Some((POOL_FIRST, Ipv4Addr::new(10, 99, 0, 20))),
        ..PoolConfig::default()
    });
    let mut spoke_cfg = config("spoke1.example.test", proposal.clone());
    spoke_cfg.cp_request.ipv4 = true;
    let mut hub = Endpoint::new(hub_cfg, Box::new(CounterSpiAllocator::new(0x1000))).unwrap();
    let mut spoke = Endpoint::new(spoke_cfg, Box::new(CounterSpiAllocator::new(0x9000))).unwrap();
    let (h, s): (SocketAddr, SocketAddr) = (HUB.parse().unwrap(), nat.spoke_addr());
    let mut now = Instant::now();
    let mut cap = Vec::new();
    let mut ev = (Vec::new(), Vec::new());

    spoke
        .initiate(now, s, h, Some(Identity::Fqdn("hub.example.test".into())))
        .unwrap();
    settle(&mut spoke, &mut hub, (now, nat), &mut cap, &mut ev);
    let up = |evs: &[Event]| {
        evs.iter()
            .find_map(|e| match e {
                Event::TunnelUp(u) => Some(u.clone()),
                _ => None,
            })
            .expect("tunnel up")
    };
    let spoke_up = up(&ev.0);
    let hub_up = up(&ev.1);
    let assigned = match spoke_up.virtual_ips.as_slice() {
        [IpAddr::V4(a)] => *a,
        other => panic!("assigned addresses {other:?}"),
    };
    assert_eq!(hub_up.assigned_ips, vec![IpAddr::V4(assigned)]);
    let keys = spoke.debug_keys(spoke_up.ike_sa).expect("spoke keys");
    let hub_keys = hub.debug_keys(hub_up.ike_sa).expect("hub keys");
    assert_eq!(keys.sk_ei, hub_keys.sk_ei);
    assert_eq!(keys.sk_ar, hub_keys.sk_ar);

    // Rekey the Child SA from the spoke.
    let sa: IkeSaId = spoke_up.ike_sa;
    let child = spoke.ike_sa(sa).unwrap().children[0].inbound_spi;
    spoke.rekey_child_sa(now, sa, child).unwrap();
    settle(&mut spoke, &mut hub, (now, nat), &mut cap, &mut ev);

    // Quiet long enough for DPD: the spoke sends an empty INFORMATIONAL.
    let before = cap.len();
    now += Duration::from_secs(11);
    spoke.handle_timeout(now);
    hub.handle_timeout(now);
    settle(&mut spoke, &mut hub, (now, nat), &mut cap, &mut ev);
    assert!(cap.len() >= before + 2, "no DPD exchange");

    // The Delete.
    spoke.delete_ike_sa(now, sa).unwrap();
    settle(&mut spoke, &mut hub, (now, nat), &mut cap, &mut ev);
    assert!(
        ev.1.iter().any(|e| matches!(e, Event::TunnelDown { .. })),
        "hub saw no Delete"
    );
    let installed = |evs: &[Event]| -> Vec<u32> {
        evs.iter()
            .filter_map(|e| match e {
                Event::ChildSaInstalled(c) => Some(c.inbound_spi),
                _ => None,
            })
            .collect()
    };
    let (spoke_spis, hub_spis) = (installed(&ev.0), installed(&ev.1));
    let hub_ts = ev
        .1
        .iter()
        .find_map(|e| match e {
            Event::ChildSaInstalled(c) => Some(ts_columns(c.remote_ts.iter().chain(&c.local_ts))),
            _ => None,
        })
        .expect("hub Child SA");
    assert_eq!(
        (spoke_spis.len(), hub_spis.len()),
        (2, 2),
        "Child SAs installed"
    );
    Exchange {
        datagrams: cap,
        keys,
        assigned,
        spoke_spis,
        hub_spis,
        hub_ts,
    }
}

/// The IKE message of a datagram (after the non-ESP marker on 4500).
fn ike(c: &Captured) -> &[u8] {
    if c.to.port() == 4500 || c.from.port() == 4500 {
        assert_eq!(c.payload[..4], [0, 0, 0, 0], "non-ESP marker");
        &c.payload[4..]
    } else {
        &c.payload
    }
}

/// IPv4 selectors' start and end addresses, comma-separated.
fn ts_columns<'a>(ts: impl Iterator<Item = &'a TrafficSelector>) -> (String, String) {
    let (starts, ends): (Vec<String>, Vec<String>) = ts
        .filter_map(|t| match t {
            TrafficSelector::Ipv4(r) => Some((r.start.to_string(), r.end.to_string())),
            _ => None,
        })
        .unzip();
    (starts.join(","), ends.join(","))
}

fn ip_udp(c: &Captured) -> Vec<u8> {
    let (IpAddr::V4(_), IpAddr::V4(_)) = (c.from.ip(), c.to.ip()) else {
        panic!("IPv4 only");
    };
    let mut p = gen::udp_packet(
        c.from.ip(),
        c.to.ip(),
        c.from.port(),
        c.to.port(),
        28 + c.payload.len(),
        0,
    );
    assert_eq!(p.len(), 28 + c.payload.len());
    p[28..].copy_from_slice(&c.payload);
    // No UDP checksum (allowed over IPv4): the payload replaced the fill.
    p[26..28].copy_from_slice(&[0, 0]);
    gen::ethernet([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], &p)
}

fn write_pcap(path: &std::path::Path, x: &Exchange) {
    let mut w = pcap::PcapWriter::new(
        std::fs::File::create(path).unwrap(),
        pcap::LINKTYPE_ETHERNET,
    )
    .unwrap();
    for (k, c) in x.datagrams.iter().enumerate() {
        w.write(k as u64 * 1000, &ip_udp(c)).unwrap();
    }
    w.finish().unwrap();
}

fn hex(b: &[u8]) -> String {
    hex::encode(b)
}

/// A record of Wireshark's `ikev2_decryption_table` UAT: SPIi, SPIr,
/// SK_ei, SK_er, encryption algorithm, SK_ai, SK_ar, integrity algorithm
/// (byte fields in bare hex, the algorithms as quoted strings: the names
/// of the dissector's value strings).
fn uat_record(k: &IkeDebugKeys) -> String {
    let encr = match k.suite.encr() {
        Encr::AesCbc128 => "AES-CBC-128 [RFC3602]",
        Encr::AesCbc256 => "AES-CBC-256 [RFC3602]",
        Encr::AesGcm16_128 => "AES-GCM-128 with 16 octet ICV [RFC5282]",
        Encr::AesGcm16_256 => "AES-GCM-256 with 16 octet ICV [RFC5282]",
        other => panic!("no Wireshark name for {other:?}"),
    };
    let integ = match k.suite.integ() {
        None => "NONE [RFC4306]",
        Some(Integ::HmacSha256_128) => "HMAC_SHA2_256_128 [RFC4868]",
        Some(Integ::HmacSha384_192) => "HMAC_SHA2_384_192 [RFC4868]",
        Some(Integ::HmacSha512_256) => "HMAC_SHA2_512_256 [RFC4868]",
        Some(other) => panic!("no Wireshark name for {other:?}"),
    };
    format!(
        "{:016x},{:016x},{},{},\"{encr}\",{},{},\"{integ}\"",
        k.spi_i,
        k.spi_r,
        hex(&k.sk_ei),
        hex(&k.sk_er),
        hex(&k.sk_ai),
        hex(&k.sk_ar),
    )
}

/// tshark's fields, one line per packet, `|` between fields and `,`
/// between repeated values.
fn fields(
    tshark: &PathBuf,
    pcap: &std::path::Path,
    uat: Option<&str>,
    f: &[&str],
) -> Vec<Vec<String>> {
    let mut cmd = Command::new(tshark);
    cmd.arg("-r")
        .arg(pcap)
        .args(["-T", "fields", "-E", "separator=|", "-E", "occurrence=a"]);
    if let Some(u) = uat {
        cmd.arg("-o").arg(format!("uat:ikev2_decryption_table:{u}"));
    }
    for x in f {
        cmd.args(["-e", x]);
    }
    let out = run(&mut cmd);
    out.lines()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

fn check(proposal: &IkeProposal, nat: Nat, tag: &str) {
    let Some(tshark) = tshark_or_skip() else {
        return;
    };
    let x = exchange(proposal, nat);
    // Behind a NAT, everything after IKE_SA_INIT moves to the NAT-T port
    // (4500 at the hub) with the non-ESP marker.
    for (k, c) in x.datagrams.iter().enumerate() {
        let hub_port = if c.to.ip() == HUB.parse::<SocketAddr>().unwrap().ip() {
            c.to.port()
        } else {
            c.from.port()
        };
        let want = if nat.0 && k >= 2 { 4500 } else { 500 };
        assert_eq!(hub_port, want, "packet {k}");
    }
    let dir = Scratch::new(tag);
    let path = dir.join("ikev2.pcap");
    write_pcap(&path, &x);
    let expected_types: Vec<String> = x.datagrams.iter().map(|c| ike(c)[18].to_string()).collect();
    // Our exchanges, in order: INIT, AUTH, CREATE_CHILD_SA, INFORMATIONAL
    // (Delete of the rekeyed Child SA), two INFORMATIONAL (DPD, both ends
    // being quiet), INFORMATIONAL (Delete of the IKE SA); each a request
    // and a response.
    assert_eq!(
        expected_types,
        ["34", "34", "35", "35", "36", "36", "37", "37", "37", "37", "37", "37", "37", "37"],
        "the exchange we built"
    );

    // (a) Without keys: dissected, nothing malformed, no expert error.
    let rows = fields(
        &tshark,
        &path,
        None,
        &[
            "isakmp.exchangetype",
            "isakmp.ispi",
            "_ws.malformed",
            "_ws.expert.severity",
        ],
    );
    assert_eq!(rows.len(), x.datagrams.len());
    check_plain(&rows, &expected_types, &x);

    // (b) With the keys: the same, and the encrypted payloads decrypt.
    let uat = uat_record(&x.keys);
    let f = [
        "isakmp.exchangetype",
        "isakmp.ispi",
        "_ws.malformed",
        "_ws.expert.severity",
        "isakmp.enc.decrypted",
        "isakmp.id.data.fqdn",
        "isakmp.auth.method",
        "isakmp.ts.start_ipv4",
        "isakmp.ts.end_ipv4",
        "isakmp.cfg.attr.internal_ip4_address",
        "isakmp.spi",
        "isakmp.delete.spi",
        "isakmp.nextpayload",
    ];
    let rows = fields(&tshark, &path, Some(&uat), &f);
    assert_eq!(rows.len(), x.datagrams.len());
    check_plain(&rows, &expected_types, &x);
    check_decrypted(&rows, &x);
}

fn check_plain(rows: &[Vec<String>], types: &[String], x: &Exchange) {
    let ispi = format!("{:016x}", x.keys.spi_i);
    for (k, (r, t)) in rows.iter().zip(types).enumerate() {
        assert_eq!(&r[0], t, "packet {k}: exchange type {r:?}");
        assert_eq!(r[1], ispi, "packet {k}: initiator SPI {r:?}");
        assert!(r[2].is_empty(), "packet {k} malformed: {r:?}");
        for sev in r[3].split(',').filter(|s| !s.is_empty()) {
            // Chat (0x200000) and note (0x400000) are fine; warnings and
            // errors are not.
            assert!(
                sev == "2097152" || sev == "4194304",
                "packet {k}: expert info of severity {sev}: {r:?}"
            );
        }
    }
}

/// Payload type numbers (RFC 7296 section 3.2).
const SK: &str = "46";
const DELETE: &str = "42";

/// The decrypted payloads against what the endpoints reported. Columns:
/// 4 decrypted, 5 FQDN identities, 6 AUTH method, 7/8 TS start/end,
/// 9 INTERNAL_IP4_ADDRESS, 10 SPIs (SA proposals and notifies),
/// 11 Delete SPIs, 12 next-payload chain.
fn check_decrypted(rows: &[Vec<String>], x: &Exchange) {
    let spi = |v: u32| format!("{v:08x}");
    let (s, h) = (&x.spoke_spis, &x.hub_spis);
    for (k, r) in rows.iter().enumerate().skip(2) {
        assert_eq!(r[4], "1", "packet {k} not decrypted: {r:?}");
        assert!(r[12].starts_with(SK), "packet {k}: not SK: {r:?}");
    }
    // IKE_AUTH request: IDi and IDr, PSK AUTH (method 2), TSi/TSr, the
    // spoke's SPI in its proposal, and a CFG_REQUEST without addresses.
    let r = &rows[2];
    assert_eq!(r[5], "spoke1.example.test,hub.example.test", "{r:?}");
    assert_eq!(r[6], "2", "AUTH method: {r:?}");
    assert_eq!(r[10], spi(s[0]), "{r:?}");
    assert!(r[9].is_empty() || r[9] == "0.0.0.0", "{r:?}");
    assert!(!r[7].is_empty() && !r[8].is_empty(), "no TS: {r:?}");
    // IKE_AUTH response: IDr, AUTH, the hub's SPI, CFG_REPLY with the
    // address the spoke reported.
    let r = &rows[3];
    assert_eq!(r[5], "hub.example.test", "{r:?}");
    assert_eq!(r[6], "2", "AUTH method: {r:?}");
    assert_eq!(r[10], spi(h[0]), "{r:?}");
    assert_eq!(r[9], x.assigned.to_string(), "assigned address: {r:?}");
    assert_eq!((r[7].clone(), r[8].clone()), x.hub_ts, "TSi/TSr: {r:?}");
    // CREATE_CHILD_SA: REKEY_SA names the old SPI, the proposals the new.
    assert_eq!(
        rows[4][10],
        format!("{},{}", spi(s[0]), spi(s[1])),
        "{:?}",
        rows[4]
    );
    assert_eq!(rows[5][10], spi(h[1]), "{:?}", rows[5]);
    // Delete of the old Child SA, each end naming its inbound SPI.
    assert_eq!(rows[6][11], spi(s[0]), "{:?}", rows[6]);
    assert_eq!(rows[7][11], spi(h[0]), "{:?}", rows[7]);
    // DPD: empty INFORMATIONAL exchanges.
    for r in &rows[8..12] {
        assert_eq!(r[12], format!("{SK},0"), "DPD not empty: {r:?}");
    }
    // Delete of the IKE SA (no SPIs) and the empty answer.
    assert_eq!(rows[12][12], format!("{SK},{DELETE},0"), "{:?}", rows[12]);
    assert!(rows[12][11].is_empty(), "{:?}", rows[12]);
    assert_eq!(rows[13][12], format!("{SK},0"), "{:?}", rows[13]);
}

#[test]
fn tshark_decrypts_aes_cbc_hmac_sha256() {
    let p = IkeProposal {
        encr: vec![Encr::AesCbc256],
        integ: vec![Integ::HmacSha256_128],
        ..IkeProposal::aead_default()
    };
    check(&p, Nat(false), "tshark-ikev2-cbc");
}

#[test]
fn tshark_decrypts_aes_gcm() {
    let p = IkeProposal {
        encr: vec![Encr::AesGcm16_256],
        ..IkeProposal::aead_default()
    };
    check(&p, Nat(false), "tshark-ikev2-gcm");
}

/// Behind a NAT: the same exchange moves to UDP 4500 after IKE_SA_INIT.
#[test]
fn tshark_decrypts_nat_t() {
    let p = IkeProposal {
        encr: vec![Encr::AesCbc256],
        integ: vec![Integ::HmacSha256_128],
        ..IkeProposal::aead_default()
    };
    check(&p, Nat(true), "tshark-ikev2-nat");
}
