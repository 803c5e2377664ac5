//! Cross-check of our ESP with scapy, an independent implementation:
//! what we encrypt, scapy decrypts; what scapy encrypts, we decrypt.
//!
//! Matrix: AES-GCM-128, AES-GCM-256, ChaCha20-Poly1305 x outer IPv4/IPv6 x
//! inner IPv4/IPv6 x GRE/plain IPsec x with/without UDP 4500 encapsulation,
//! each with and without ESN (ESN cases cross the 2^32 boundary), on the
//! `ring` backend; a smaller matrix on the RustCrypto backend.

use std::net::IpAddr;
use std::process::Command;

use dataplane::crypto::{Algorithm, Backend};
use dataplane::pipeline::Action;
use dataplane::tunnel::{NatT, TunnelMode};
use perf::{gen, pcap};
use serde_json::{json, Value};
use system_tests::fixture::{self, Node, TunnelSpec, HOST_MAC, LAN_MAC, PEER_MAC, WAN_MAC};
use system_tests::{py_script, python, run, Scratch};

#[derive(Clone, Debug)]
struct Case {
    spec: TunnelSpec,
    inner_v6: bool,
}

fn scapy_alg(a: Algorithm) -> &'static str {
    match a {
        Algorithm::AesGcm128 | Algorithm::AesGcm256 => "AES-GCM",
        Algorithm::ChaCha20Poly1305 => "CHACHA20-POLY1305",
    }
}

fn matrix(backend: Backend, full: bool) -> Vec<Case> {
    let mut v = Vec::new();
    let algs = [
        Algorithm::AesGcm128,
        Algorithm::AesGcm256,
        Algorithm::ChaCha20Poly1305,
    ];
    for (ai, alg) in algs.into_iter().enumerate() {
        for outer_v6 in [false, true] {
            for inner_v6 in [false, true] {
                for gre in [true, false] {
                    for nat in [false, true] {
                        for esn in [false, true] {
                            if !full && (nat != esn || gre == inner_v6) {
                                continue;
                            }
                            let (local, remote) = fixture::outer_addrs(outer_v6);
                            let key: Vec<u8> = (0..alg.keymat_len())
                                .map(|i| (i as u8) ^ (0x5c + ai as u8))
                                .collect();
                            v.push(Case {
                                spec: TunnelSpec {
                                    alg,
                                    backend,
                                    key,
                                    esn,
                                    mode: if gre {
                                        TunnelMode::Gre { key: Some(42) }
                                    } else {
                                        TunnelMode::Ipsec
                                    },
                                    nat_t: nat.then_some(NatT {
                                        local_port: 4500,
                                        remote_port: 4500,
                                    }),
                                    local,
                                    remote,
                                    first_seq: if esn { (1u64 << 32) - 2 } else { 1 },
                                },
                                inner_v6,
                            });
                        }
                    }
                }
            }
        }
    }
    v
}

/// Inner packets from the LAN host to the far network, of several sizes.
fn inner_packets(v6: bool, toward_lan: bool) -> Vec<Vec<u8>> {
    let (a, b): (IpAddr, IpAddr) = if v6 {
        (
            "2001:db8:1::10".parse().unwrap(),
            "2001:db8:2::20".parse().unwrap(),
        )
    } else {
        (
            "192.168.1.10".parse().unwrap(),
            "192.168.2.20".parse().unwrap(),
        )
    };
    let (src, dst) = if toward_lan { (b, a) } else { (a, b) };
    [60, 61, 62, 63, 100, 512, 1300]
        .iter()
        .enumerate()
        .map(|(i, &n)| gen::udp_packet(src, dst, 5000 + i as u16, 53, n, i as u8))
        .collect()
}

const TUNNEL_ROUTES: [&str; 2] = ["192.168.2.0/24", "2001:db8:2::/48"];
const LAN_ROUTES: [&str; 2] = ["192.168.1.0/24", "2001:db8:1::/48"];

fn case_json(c: &Case, pcap_path: &str, spi: u32) -> Value {
    let s = &c.spec;
    json!({
        "alg": scapy_alg(s.alg),
        "key": hex::encode(&s.key),
        "spi": spi,
        "esn": s.esn,
        "mode": if matches!(s.mode, TunnelMode::Gre { .. }) { "gre" } else { "ipsec" },
        "gre_key": match s.mode { TunnelMode::Gre { key } => key.map(Value::from).unwrap_or(Value::Null), _ => Value::Null },
        "nat_t": s.nat_t.map(|n| json!([n.local_port, n.remote_port])),
        "pcap": pcap_path,
    })
}

fn write_pcap(path: &std::path::Path, frames: &[Vec<u8>]) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = pcap::PcapWriter::new(std::io::BufWriter::new(f), pcap::LINKTYPE_ETHERNET).unwrap();
    for (i, fr) in frames.iter().enumerate() {
        w.write(i as u64 * 1000, fr).unwrap();
    }
    w.finish().unwrap();
}

/// We encrypt, scapy decrypts: the inner packets come back byte for byte
/// (after our router hop: TTL/hop limit minus one).
fn we_encrypt_scapy_decrypts(backend: Backend, full: bool) {
    let dir = Scratch::new(&format!("scapy-enc-{backend:?}"));
    let cases = matrix(backend, full);
    let mut jcases = Vec::new();
    let mut expected = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let mut node = Node::new(&c.spec, &TUNNEL_ROUTES, &LAN_ROUTES);
        let inner = inner_packets(c.inner_v6, false);
        let frames: Vec<Vec<u8>> = inner
            .iter()
            .map(|p| gen::ethernet(LAN_MAC, HOST_MAC, p))
            .collect();
        let out = node.process(0, &frames);
        let mut sent = Vec::new();
        for (action, bytes) in out {
            assert_eq!(action, Action::Tx { port: 1 }, "case {i} {c:?}");
            assert!(fixture::eth_is(&bytes, PEER_MAC, WAN_MAC));
            sent.push(bytes);
        }
        let path = dir.join(&format!("enc{i}.pcap"));
        write_pcap(&path, &sent);
        let mut j = case_json(c, path.to_str().unwrap(), fixture::OUTBOUND_SPI);
        let seq_hi: Vec<u64> = (0..sent.len() as u64)
            .map(|k| (c.spec.first_seq + k) >> 32)
            .collect();
        j["seq_hi"] = json!(seq_hi);
        j["outer"] = json!([c.spec.local.to_string(), c.spec.remote.to_string()]);
        jcases.push(j);
        expected.push(
            inner
                .iter()
                .map(|p| hex::encode(gen::after_hop(p)))
                .collect::<Vec<_>>(),
        );
    }
    let cases_path = dir.join("cases.json");
    std::fs::write(&cases_path, serde_json::to_vec(&jcases).unwrap()).unwrap();
    let stdout = run(Command::new(python())
        .arg(py_script("esp_oracle.py"))
        .arg("decrypt")
        .arg(&cases_path));
    let results: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), cases.len());
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["errors"], json!([]), "case {i} {:?}", cases[i]);
        let got: Vec<String> = serde_json::from_value(r["inner"].clone()).unwrap();
        assert_eq!(got, expected[i], "case {i} {:?}", cases[i]);
    }
}

/// Scapy encrypts, we decrypt and forward the inner packets to the LAN.
fn scapy_encrypts_we_decrypt(backend: Backend, full: bool) {
    let dir = Scratch::new(&format!("scapy-dec-{backend:?}"));
    let cases = matrix(backend, full);
    let mut nodes = Vec::new();
    let mut jcases = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let node = Node::new(&c.spec, &TUNNEL_ROUTES, &LAN_ROUTES);
        let inner = inner_packets(c.inner_v6, true);
        let path = dir.join(&format!("dec{i}.pcap"));
        let mut j = case_json(c, path.to_str().unwrap(), node.inbound_spi);
        // The peer's outer header: from it (remote) to us (local).
        j["outer"] = json!([c.spec.remote.to_string(), c.spec.local.to_string()]);
        j["inner"] = json!(inner.iter().map(hex::encode).collect::<Vec<_>>());
        j["seqs"] = json!((0..inner.len() as u64)
            .map(|k| c.spec.first_seq + k)
            .collect::<Vec<_>>());
        j["eth"] = json!([fmt_mac(WAN_MAC), fmt_mac(PEER_MAC)]);
        jcases.push(j);
        nodes.push((node, inner));
    }
    let cases_path = dir.join("cases.json");
    std::fs::write(&cases_path, serde_json::to_vec(&jcases).unwrap()).unwrap();
    run(Command::new(python())
        .arg(py_script("esp_oracle.py"))
        .arg("encrypt")
        .arg(&cases_path));
    for (i, (node, inner)) in nodes.iter_mut().enumerate() {
        let (_, pkts) =
            pcap::read_all(std::fs::File::open(dir.join(&format!("dec{i}.pcap"))).unwrap())
                .unwrap();
        let frames: Vec<Vec<u8>> = pkts.into_iter().map(|p| p.data).collect();
        let out = node.process(1, &frames);
        assert_eq!(out.len(), inner.len());
        for ((action, bytes), p) in out.iter().zip(inner.iter()) {
            assert_eq!(*action, Action::Tx { port: 0 }, "case {i} {:?}", cases[i]);
            assert!(fixture::eth_is(bytes, HOST_MAC, LAN_MAC));
            assert_eq!(
                hex::encode(&bytes[14..]),
                hex::encode(gen::after_hop(p)),
                "case {i} {:?}",
                cases[i]
            );
        }
        assert_eq!(node.worker.counters.esp_decrypted, inner.len() as u64);
        // The same packets again are replays: dropped and counted.
        let again = node.process(1, &frames_of(&dir, i));
        assert!(again
            .iter()
            .all(|(a, _)| matches!(a, Action::Drop(dataplane::counters::DropReason::Replay))));
    }
}

fn frames_of(dir: &Scratch, i: usize) -> Vec<Vec<u8>> {
    let (_, pkts) =
        pcap::read_all(std::fs::File::open(dir.join(&format!("dec{i}.pcap"))).unwrap()).unwrap();
    pkts.into_iter().map(|p| p.data).collect()
}

fn fmt_mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn ring_we_encrypt_scapy_decrypts() {
    we_encrypt_scapy_decrypts(Backend::Ring, true);
}

#[test]
fn ring_scapy_encrypts_we_decrypt() {
    scapy_encrypts_we_decrypt(Backend::Ring, true);
}

#[test]
fn rustcrypto_we_encrypt_scapy_decrypts() {
    we_encrypt_scapy_decrypts(Backend::RustCrypto, false);
}

#[test]
fn rustcrypto_scapy_encrypts_we_decrypt() {
    scapy_encrypts_we_decrypt(Backend::RustCrypto, false);
}

// The dataplane process's default backend (AES-GCM from the IPsec
// Multi-Buffer library): the whole matrix.
#[test]
fn ipsec_mb_we_encrypt_scapy_decrypts() {
    we_encrypt_scapy_decrypts(Backend::IpsecMb, true);
}

#[test]
fn ipsec_mb_scapy_encrypts_we_decrypt() {
    scapy_encrypts_we_decrypt(Backend::IpsecMb, true);
}
