//! tshark's NHRP dissector reads what our codec emits: every packet type we
//! build (Resolution Request and Reply with CIEs and extensions, Traffic
//! Indication carrying the triggering packet, Error Indication), carried in
//! GRE (protocol type 0x2001) as it travels inside the tunnel, with a good
//! checksum, the fields we wrote, and nothing malformed.

use std::process::Command;

use std::net::IpAddr;

use controlplane::nhrp::codec::{samples, Packet};
use perf::{gen, pcap};
use system_tests::{run, tshark, Scratch};

fn ipv4_gre(nhrp: &[u8]) -> Vec<u8> {
    // IPv4 (protocol 47) from 192.0.2.1 to 192.0.2.2, then a basic GRE
    // header with protocol type 0x2001.
    let total = 20 + 4 + nhrp.len();
    let mut ip = vec![
        0x45, 0, 0, 0, 0, 1, 0, 0, 64, 47, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
    ];
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    let c = gen::checksum(0, &ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x20, 0x01]);
    ip.extend_from_slice(nhrp);
    gen::ethernet([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], &ip)
}

#[test]
fn tshark_dissects_our_nhrp() {
    let dir = Scratch::new("tshark-nhrp");
    let path = dir.join("nhrp.pcap");
    let pkts: Vec<(Packet, String, String)> = samples()
        .into_iter()
        .map(|(_, p)| {
            let op = p.packet_type.0.to_string();
            let dst = p
                .dst_protocol_ip()
                .filter(IpAddr::is_ipv4)
                .map(|a| a.to_string())
                .unwrap_or_default();
            (p, op, dst)
        })
        .collect();
    let mut w = pcap::PcapWriter::new(
        std::fs::File::create(&path).unwrap(),
        pcap::LINKTYPE_ETHERNET,
    )
    .unwrap();
    for (k, (p, _, _)) in pkts.iter().enumerate() {
        w.write(k as u64, &ipv4_gre(&p.emit().unwrap())).unwrap();
    }
    w.finish().unwrap();
    let stdout = run(Command::new(tshark())
        .arg("-r")
        .arg(&path)
        .args(["-T", "fields", "-E", "separator=|"])
        .args([
            "-e",
            "nhrp.hdr.op.type",
            "-e",
            "nhrp.hdr.chksum.status",
            "-e",
            "nhrp.dst.prot.addr",
            "-e",
            "_ws.malformed",
            "-e",
            "_ws.expert.severity",
            "-e",
            "nhrp.reqid",
        ]));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), pkts.len(), "{stdout}");
    for (l, (_, op, dst)) in lines.iter().zip(&pkts) {
        let f: Vec<&str> = l.split('|').collect();
        assert_eq!(
            f[0].split(',').next(),
            Some(op.as_str()),
            "packet type: {l}"
        );
        assert_eq!(f[1].split(',').next(), Some("1"), "checksum not good: {l}");
        if !dst.is_empty() {
            assert_eq!(f[2].split(',').next(), Some(dst.as_str()), "{l}");
        }
        assert!(f[3].is_empty(), "malformed: {l}");
        for sev in f[4].split(',').filter(|s| !s.is_empty()) {
            assert!(sev == "2097152", "expert info of severity {sev}: {l}");
        }
        if op == "1" || op == "2" {
            assert_eq!(f[5], "0x00000007", "request ID: {l}");
        }
    }
}
