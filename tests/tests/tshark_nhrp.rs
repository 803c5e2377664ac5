//! tshark's NHRP dissector reads what our codec emits: every packet type we
//! build (Resolution Request and Reply with CIEs and extensions, Traffic
//! Indication carrying the triggering packet, Error Indication), carried in
//! GRE (protocol type 0x2001) as it travels inside the tunnel, with a good
//! checksum, the fields we wrote, and nothing malformed.

use std::process::Command;

use controlplane::nhrp::codec::{
    flags, Body, Cie, Extension, ExtensionType, ExtensionValue, Packet, PacketType, AFN_IPV4,
    AFN_IPV6, PROTO_IPV4, PROTO_IPV6,
};
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

fn packets() -> Vec<(Packet, &'static str, &'static str)> {
    let cie = Cie {
        code: 0,
        prefix_len: 24,
        mtu: 1400,
        holding_time: 600,
        preference: 0,
        nbma: vec![192, 0, 2, 2],
        nbma_sub: vec![],
        protocol: vec![10, 2, 0, 1],
    };
    let base = Packet {
        afn: AFN_IPV4,
        protocol_type: PROTO_IPV4,
        snap: [0; 5],
        hop_count: 255,
        packet_type: PacketType::RESOLUTION_REQUEST,
        src_nbma: vec![192, 0, 2, 1],
        src_nbma_sub: vec![],
        src_protocol: vec![10, 0, 0, 1],
        dst_protocol: vec![10, 2, 0, 7],
        body: Body::Common {
            flags: flags::Q | flags::CISCO_NAT,
            request_id: 7,
            cies: vec![Cie {
                prefix_len: 0xff,
                mtu: 1500,
                holding_time: 7200,
                ..Cie::default()
            }],
        },
        extensions: Some(vec![
            Extension {
                compulsory: true,
                kind: ExtensionType::RESPONDER_ADDRESS,
                value: ExtensionValue::Cies(vec![]),
            },
            Extension {
                compulsory: true,
                kind: ExtensionType::FORWARD_TRANSIT,
                value: ExtensionValue::Cies(vec![]),
            },
            Extension {
                compulsory: true,
                kind: ExtensionType::REVERSE_TRANSIT,
                value: ExtensionValue::Cies(vec![]),
            },
        ]),
    };
    let reply = Packet {
        packet_type: PacketType::RESOLUTION_REPLY,
        body: Body::Common {
            flags: flags::Q | flags::A | flags::U,
            request_id: 7,
            cies: vec![cie.clone()],
        },
        extensions: Some(vec![Extension {
            compulsory: true,
            kind: ExtensionType::RESPONDER_ADDRESS,
            value: ExtensionValue::Cies(vec![cie]),
        }]),
        ..base.clone()
    };
    let trigger = gen::udp_packet(
        "10.0.0.5".parse().unwrap(),
        "10.2.0.7".parse().unwrap(),
        1234,
        53,
        60,
        0,
    );
    let ti = Packet {
        packet_type: PacketType::TRAFFIC_INDICATION,
        src_nbma: vec![192, 0, 2, 100],
        src_protocol: vec![10, 0, 0, 254],
        dst_protocol: vec![10, 0, 0, 5],
        body: Body::TrafficIndication {
            code: 0,
            packet: trigger,
        },
        extensions: Some(vec![]),
        ..base.clone()
    };
    let err = Packet {
        packet_type: PacketType::ERROR_INDICATION,
        body: Body::ErrorIndication {
            code: 1,
            offset: 0,
            packet: base.emit().unwrap(),
        },
        extensions: None,
        ..base.clone()
    };
    let v6 = Packet {
        afn: AFN_IPV6,
        protocol_type: PROTO_IPV6,
        src_nbma: "2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets()
            .to_vec(),
        src_protocol: "fd00::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets()
            .to_vec(),
        dst_protocol: "fd00:2::7"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets()
            .to_vec(),
        ..base.clone()
    };
    vec![
        (base, "1", "10.2.0.7"),
        (reply, "2", "10.2.0.7"),
        (ti, "8", "10.0.0.5"),
        (err, "7", "10.2.0.7"),
        (v6, "1", ""),
    ]
}

#[test]
fn tshark_dissects_our_nhrp() {
    let dir = Scratch::new("tshark-nhrp");
    let path = dir.join("nhrp.pcap");
    let pkts = packets();
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
        assert_eq!(f[0].split(',').next(), Some(*op), "packet type: {l}");
        assert_eq!(f[1].split(',').next(), Some("1"), "checksum not good: {l}");
        if !dst.is_empty() {
            assert_eq!(f[2].split(',').next(), Some(*dst), "{l}");
        }
        assert!(f[3].is_empty(), "malformed: {l}");
        for sev in f[4].split(',').filter(|s| !s.is_empty()) {
            assert!(sev == "2097152", "expert info of severity {sev}: {l}");
        }
        if *op == "1" || *op == "2" {
            assert_eq!(f[5], "0x00000007", "request ID: {l}");
        }
    }
}
