//! Replays every file of `fuzz/corpus/nhrp/` through the entry point the
//! `nhrp` fuzz target calls. The `seed-*` files are written by the ignored
//! test below (`cargo test -p controlplane --test nhrp_fuzz_corpus --
//! --ignored`); the rest is what libFuzzer kept.

use std::path::{Path, PathBuf};

use controlplane::nhrp::codec::{
    flags, fuzz_parse_all, Body, Cie, Extension, ExtensionType, ExtensionValue, Packet, PacketType,
    AFN_IPV4, PROTO_IPV4,
};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/nhrp")
}

#[test]
fn replay_nhrp_corpus() {
    let dir = corpus_dir();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in &entries {
        fuzz_parse_all(&std::fs::read(path).expect("read corpus file"));
    }
    assert!(
        entries.len() >= 4,
        "the nhrp corpus has only {} files",
        entries.len()
    );
}

fn seeds() -> Vec<(&'static str, Packet)> {
    let cie = Cie {
        prefix_len: 24,
        mtu: 1400,
        holding_time: 600,
        nbma: vec![192, 0, 2, 2],
        protocol: vec![10, 2, 0, 1],
        ..Cie::default()
    };
    let req = Packet {
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
                value: ExtensionValue::Cies(vec![cie.clone()]),
            },
            Extension {
                compulsory: false,
                kind: ExtensionType::NAT_ADDRESS,
                value: ExtensionValue::Cies(vec![cie.clone()]),
            },
        ]),
    };
    let reply = Packet {
        packet_type: PacketType::RESOLUTION_REPLY,
        body: Body::Common {
            flags: flags::Q | flags::A,
            request_id: 7,
            cies: vec![cie],
        },
        ..req.clone()
    };
    let ti = Packet {
        packet_type: PacketType::TRAFFIC_INDICATION,
        body: Body::TrafficIndication {
            code: 0,
            packet: vec![
                0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 5, 10, 2, 0, 7,
            ],
        },
        extensions: None,
        ..req.clone()
    };
    let err = Packet {
        packet_type: PacketType::ERROR_INDICATION,
        body: Body::ErrorIndication {
            code: 4,
            offset: 20,
            packet: req.emit().expect("emit"),
        },
        ..req.clone()
    };
    vec![
        ("seed-resolution-request", req),
        ("seed-resolution-reply", reply),
        ("seed-traffic-indication", ti),
        ("seed-error-indication", err),
    ]
}

#[test]
#[ignore = "writes the seed files of the fuzz corpus"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).expect("corpus dir");
    for (name, p) in seeds() {
        std::fs::write(dir.join(name), p.emit().expect("emit")).expect("write seed");
    }
}
