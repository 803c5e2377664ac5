//! Golden test of the dataplane process over `net_pcap`, both directions,
//! checked by scapy (an independent ESP implementation):
//!
//! - LAN in: cleartext IPv4 and IPv6 UDP frames from `perf`'s generator,
//!   routed into two static tunnels (GRE with a key and AES-GCM-128; plain
//!   IPsec with NAT-T, ChaCha20-Poly1305 and ESN across 2^32). WAN out: ESP
//!   that scapy decrypts back to the same packets (after one router hop).
//! - WAN in: ESP streams from `perf gen --esp` for the two inbound SAs.
//!   LAN out: the inner packets, byte for byte, after one hop, in Ethernet
//!   to the LAN host.
//!
//! The process runs as a child, is stopped by SIGTERM once its counters
//! show every packet sent, and must exit 0 with no drop.

mod common;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{counter, mac, Dataplane, Scratch, EAL};
use dataplane::crypto::Algorithm;
use dataplane::tunnel::TunnelMode;
use perf::traffic::{EspSpec, Generator, Sizes, Spec};
use perf::{gen, pcap};
use serde_json::{json, Value};

const LAN_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x10];
const WAN_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x20];
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];
const PEER1_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x21];
const PEER2_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x22];

const OUT1_SPI: u32 = 0x0c0f_fee1;
const IN1_SPI: u32 = 0x0001_2345;
const OUT2_SPI: u32 = 0x0c0f_fee2;
const IN2_SPI: u32 = 0x0002_3456;
const ESN_START: u64 = (1 << 32) - 3;

const N: u64 = 24;

fn key(len: usize, x: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7) ^ x).collect()
}

fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = pcap::PcapWriter::new(std::io::BufWriter::new(f), pcap::LINKTYPE_ETHERNET).unwrap();
    for (i, fr) in frames.iter().enumerate() {
        w.write(i as u64 * 10, fr).unwrap();
    }
    w.finish().unwrap();
}

fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let (_, pkts) = pcap::read_all(std::fs::File::open(path).unwrap()).unwrap();
    pkts.into_iter().map(|p| p.data).collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The SPI of an ESP frame from us (outer IPv4, maybe UDP 4500).
fn esp_spi(frame: &[u8]) -> u32 {
    assert_eq!(&frame[12..14], &[0x08, 0x00], "outer IPv4");
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    let l4 = 14 + ihl;
    let off = match frame[14 + 9] {
        50 => l4,
        17 => l4 + 8,
        p => panic!("outer protocol {p}"),
    };
    u32::from_be_bytes(frame[off..off + 4].try_into().unwrap())
}

#[test]
fn pcap_golden_both_directions_checked_by_scapy() {
    let dir = Scratch::new("pcap-golden");
    let k_out1 = key(20, 0x11);
    let k_in1 = key(20, 0x22);
    let k_out2 = key(36, 0x33);
    let k_in2 = key(36, 0x44);

    // LAN in: cleartext toward the two tunnels, interleaved.
    let clear = |src: &str, dst: &str| {
        Generator::new(Spec {
            sizes: Sizes::Imix,
            flows: 3,
            destinations: 2,
            src: ip(src),
            dst: ip(dst),
            dport: 5353,
            dst_mac: LAN_MAC,
            src_mac: HOST_MAC,
            esp: None,
        })
        .unwrap()
    };
    let mut g4 = clear("192.168.1.10", "192.168.2.20");
    let mut g6 = clear("2001:db8:1::10", "2001:db8:2::20");
    let mut lan_in = Vec::new();
    for _ in 0..N {
        lan_in.push(g4.next_frame().unwrap());
        lan_in.push(g6.next_frame().unwrap());
    }
    let want_t1: Vec<String> = (0..N)
        .map(|i| hex::encode(gen::after_hop(&g4.inner(i))))
        .collect();
    let want_t2: Vec<String> = (0..N)
        .map(|i| hex::encode(gen::after_hop(&g6.inner(i))))
        .collect();

    // WAN in: ESP from the two peers, as they would send it.
    let esp_stream = |src: &str, dst: &str, e: EspSpec, peer_mac| {
        Generator::new(Spec {
            sizes: Sizes::Imix,
            flows: 2,
            destinations: 1,
            src: ip(src),
            dst: ip(dst),
            dport: 7,
            dst_mac: WAN_MAC,
            src_mac: peer_mac,
            esp: Some(e),
        })
        .unwrap()
    };
    let mut e1 = esp_stream(
        "192.168.2.30",
        "192.168.1.10",
        EspSpec {
            spi: IN1_SPI,
            algorithm: Algorithm::AesGcm128,
            key: k_in1.clone(),
            esn: false,
            outer_src: ip("203.0.113.2"),
            outer_dst: ip("203.0.113.1"),
            mode: TunnelMode::Gre { key: Some(42) },
            nat_t: false,
            first_seq: 1,
        },
        PEER1_MAC,
    );
    let mut e2 = esp_stream(
        "2001:db8:2::30",
        "2001:db8:1::10",
        EspSpec {
            spi: IN2_SPI,
            algorithm: Algorithm::ChaCha20Poly1305,
            key: k_in2.clone(),
            esn: true,
            outer_src: ip("203.0.113.3"),
            outer_dst: ip("203.0.113.1"),
            mode: TunnelMode::Ipsec,
            nat_t: true,
            first_seq: ESN_START,
        },
        PEER2_MAC,
    );
    let mut wan_in = Vec::new();
    let mut want_lan = Vec::new();
    for i in 0..N {
        wan_in.push(e1.next_frame().unwrap());
        want_lan.push(gen::ethernet(
            HOST_MAC,
            LAN_MAC,
            &gen::after_hop(&e1.inner(i)),
        ));
        wan_in.push(e2.next_frame().unwrap());
        want_lan.push(gen::ethernet(
            HOST_MAC,
            LAN_MAC,
            &gen::after_hop(&e2.inner(i)),
        ));
    }
    let p = |n: &str| dir.join(n).to_str().unwrap().to_owned();
    write_pcap(&dir.join("lan_in.pcap"), &lan_in);
    write_pcap(&dir.join("wan_in.pcap"), &wan_in);

    let cfg = dir.join("dp.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
workers = 1
idle = "adaptive"
stats_interval = 1
{EAL}
[[ports]]
name = "Ethernet0/0"
device = "net_pcap0,rx_pcap={lan_in},tx_pcap={lan_out}"
mac = "{lan_mac}"
ipv4 = ["192.168.1.1/24"]
ipv6 = ["2001:db8:1::1/64"]

[[ports]]
name = "Ethernet0/1"
device = "net_pcap1,rx_pcap={wan_in},tx_pcap={wan_out}"
mac = "{wan_mac}"
ipv4 = ["203.0.113.1/24"]

[[neighbors]]
port = "Ethernet0/0"
ip = "192.168.1.10"
mac = "{host_mac}"

[[neighbors]]
port = "Ethernet0/0"
ip = "2001:db8:1::10"
mac = "{host_mac}"

[[neighbors]]
port = "Ethernet0/1"
ip = "203.0.113.2"
mac = "{peer1_mac}"

[[neighbors]]
port = "Ethernet0/1"
ip = "203.0.113.3"
mac = "{peer2_mac}"

[[routes]]
prefix = "192.168.2.0/24"
via = "Tunnel1"

[[routes]]
prefix = "2001:db8:2::/48"
via = "Tunnel2"

[[tunnels]]
id = 1
local = "203.0.113.1"
remote = "203.0.113.2"
mode = "gre"
gre_key = 42
mtu = 1500
outbound = {{ spi = {OUT1_SPI}, algorithm = "aes-gcm-128", key = "{k_out1}" }}
inbound = [{{ spi = {IN1_SPI}, algorithm = "aes-gcm-128", key = "{k_in1}" }}]

[[tunnels]]
id = 2
local = "203.0.113.1"
remote = "203.0.113.3"
mode = "ipsec"
nat_t = true
mtu = 1500
outbound = {{ spi = {OUT2_SPI}, algorithm = "chacha20-poly1305", key = "{k_out2}", esn = true, first_seq = {ESN_START} }}
inbound = [{{ spi = {IN2_SPI}, algorithm = "chacha20-poly1305", key = "{k_in2}", esn = true }}]
"#,
            lan_in = p("lan_in.pcap"),
            lan_out = p("lan_out.pcap"),
            wan_in = p("wan_in.pcap"),
            wan_out = p("wan_out.pcap"),
            lan_mac = mac(LAN_MAC),
            wan_mac = mac(WAN_MAC),
            host_mac = mac(HOST_MAC),
            peer1_mac = mac(PEER1_MAC),
            peer2_mac = mac(PEER2_MAC),
            k_out1 = hex::encode(&k_out1),
            k_in1 = hex::encode(&k_in1),
            k_out2 = hex::encode(&k_out2),
            k_in2 = hex::encode(&k_in2),
        ),
    )
    .unwrap();

    let total = (lan_in.len() + wan_in.len()) as u64;
    let mut dp = Dataplane::start(&cfg, &[]);
    dp.wait_running();
    dp.wait_stdout("every packet sent", Duration::from_secs(60), |s| {
        common::last_stat(s, "tx_sent").is_some_and(|n| n >= total)
    });
    let (status, out) = dp.terminate(Duration::from_secs(30));
    assert!(status.success(), "exit {status}\n{out}\n{}", dp.stderr());
    println!("{out}");
    assert_eq!(counter(&out, "total:", "rx_packets"), Some(total), "{out}");
    assert_eq!(counter(&out, "total:", "tx_sent"), Some(total), "{out}");
    assert_eq!(counter(&out, "total:", "dropped"), Some(0), "{out}");
    assert_eq!(
        counter(&out, "total:", "esp_encrypted"),
        Some(2 * N),
        "{out}"
    );
    assert_eq!(
        counter(&out, "total:", "esp_decrypted"),
        Some(2 * N),
        "{out}"
    );

    // ESP goes in, the right cleartext comes out, byte for byte.
    let lan_out = read_pcap(&dir.join("lan_out.pcap"));
    assert_eq!(lan_out.len(), want_lan.len());
    for (i, (got, want)) in lan_out.iter().zip(&want_lan).enumerate() {
        assert_eq!(hex::encode(got), hex::encode(want), "LAN frame {i}");
    }

    // Cleartext goes in, ESP comes out that scapy decrypts to the same
    // packets. Split the WAN capture per SA.
    let mut by_spi: HashMap<u32, Vec<Vec<u8>>> = HashMap::new();
    for f in read_pcap(&dir.join("wan_out.pcap")) {
        assert_eq!(&f[6..12], &WAN_MAC);
        let spi = esp_spi(&f);
        let peer = if spi == OUT1_SPI {
            PEER1_MAC
        } else {
            PEER2_MAC
        };
        assert_eq!(&f[..6], &peer, "L2 rewrite to the peer");
        by_spi.entry(spi).or_default().push(f);
    }
    assert_eq!(by_spi.get(&OUT1_SPI).map(Vec::len), Some(N as usize));
    assert_eq!(by_spi.get(&OUT2_SPI).map(Vec::len), Some(N as usize));
    write_pcap(&dir.join("t1.pcap"), &by_spi[&OUT1_SPI]);
    write_pcap(&dir.join("t2.pcap"), &by_spi[&OUT2_SPI]);
    let cases = json!([
        {
            "alg": "AES-GCM", "key": hex::encode(&k_out1), "spi": OUT1_SPI, "esn": false,
            "mode": "gre", "gre_key": 42, "nat_t": null,
            "outer": ["203.0.113.1", "203.0.113.2"], "pcap": p("t1.pcap"),
        },
        {
            "alg": "CHACHA20-POLY1305", "key": hex::encode(&k_out2), "spi": OUT2_SPI, "esn": true,
            "mode": "ipsec", "gre_key": null, "nat_t": [4500, 4500],
            "outer": ["203.0.113.1", "203.0.113.3"], "pcap": p("t2.pcap"),
            "seq_hi": (0..N).map(|k| (ESN_START + k) >> 32).collect::<Vec<_>>(),
        },
    ]);
    let cases_path = dir.join("cases.json");
    std::fs::write(&cases_path, serde_json::to_vec(&cases).unwrap()).unwrap();
    let stdout = system_tests::run(
        Command::new(system_tests::python())
            .arg(system_tests::py_script("esp_oracle.py"))
            .arg("decrypt")
            .arg(&cases_path),
    );
    let results: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 2);
    for (r, want) in results.iter().zip([&want_t1, &want_t2]) {
        assert_eq!(r["errors"], json!([]), "{r}");
        let got: Vec<String> = serde_json::from_value(r["inner"].clone()).unwrap();
        assert_eq!(&got, want, "scapy's decryption of tunnel {}", r["case"]);
    }
}
