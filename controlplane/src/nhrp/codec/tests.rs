use super::*;
use proptest::prelude::*;

/// One's complement sum, written independently of the codec's.
fn fill_checksum(b: &mut [u8]) {
    b[12] = 0;
    b[13] = 0;
    let mut sum = 0u32;
    let mut i = 0;
    while i < b.len() {
        let hi = u32::from(b[i]) << 8;
        let lo = if i + 1 < b.len() {
            u32::from(b[i + 1])
        } else {
            0
        };
        sum += hi | lo;
        i += 2;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let c = !(sum as u16);
    b[12..14].copy_from_slice(&c.to_be_bytes());
}

/// A Resolution Request from spoke 10.0.0.1 (NBMA 192.0.2.1) for 10.2.0.7,
/// laid out by hand from RFC 2332 section 5, with one CIE and the three
/// extensions Cisco sends.
fn resolution_request() -> Vec<u8> {
    let hex = "0001 0800 0000000000 ff 0044 0000 0034 01 01 04 00 \
               04 04 8002 00000007 c0000201 0a000001 0a020007 \
               00 ff 0000 05dc 1c20 00 00 00 00 \
               8003 0000 8004 0000 8005 0000 8000 0000";
    let mut b = hex::decode(hex.replace(' ', "")).unwrap();
    assert_eq!(b.len(), 0x44);
    fill_checksum(&mut b);
    b
}

#[test]
fn test_parse() {
    let p = Packet::parse(&resolution_request()).unwrap();
    assert_eq!(p.afn, AFN_IPV4);
    assert_eq!(p.protocol_type, PROTO_IPV4);
    assert_eq!(p.hop_count, 255);
    assert_eq!(p.packet_type, PacketType::RESOLUTION_REQUEST);
    assert_eq!(p.src_nbma_ip(), Some("192.0.2.1".parse().unwrap()));
    assert_eq!(p.src_protocol_ip(), Some("10.0.0.1".parse().unwrap()));
    assert_eq!(p.dst_protocol_ip(), Some("10.2.0.7".parse().unwrap()));
    let Body::Common {
        flags: f,
        request_id,
        cies,
    } = &p.body
    else {
        panic!("{:?}", p.body)
    };
    assert_eq!(*f, flags::Q | flags::CISCO_NAT);
    assert_eq!(*request_id, 7);
    assert_eq!(cies.len(), 1);
    assert_eq!(cies[0].mtu, 1500);
    assert_eq!(cies[0].holding_time, 7200);
    assert_eq!(cies[0].prefix_len, 0xff);
    let exts = p.extensions.as_ref().unwrap();
    assert_eq!(
        exts.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [
            ExtensionType::RESPONDER_ADDRESS,
            ExtensionType::FORWARD_TRANSIT,
            ExtensionType::REVERSE_TRANSIT
        ]
    );
    assert!(exts.iter().all(|e| e.compulsory));
    // Link padding after the packet is ignored.
    let mut padded = resolution_request();
    padded.extend_from_slice(&[0; 10]);
    assert_eq!(Packet::parse(&padded), Ok(p));
}

#[test]
fn test_emit() {
    let b = resolution_request();
    let p = Packet::parse(&b).unwrap();
    assert_eq!(p.emit().unwrap(), b);
}

fn reply(extensions: Option<Vec<Extension>>) -> Packet {
    Packet {
        afn: AFN_IPV4,
        protocol_type: PROTO_IPV4,
        snap: [0; 5],
        hop_count: 254,
        packet_type: PacketType::RESOLUTION_REPLY,
        src_nbma: vec![192, 0, 2, 1],
        src_nbma_sub: vec![],
        src_protocol: vec![10, 0, 0, 1],
        dst_protocol: vec![10, 2, 0, 7],
        body: Body::Common {
            flags: flags::Q | flags::A | flags::U,
            request_id: 7,
            cies: vec![Cie {
                code: 0,
                prefix_len: 24,
                mtu: 1400,
                holding_time: 600,
                preference: 0,
                nbma: vec![192, 0, 2, 2],
                nbma_sub: vec![],
                protocol: vec![10, 2, 0, 1],
            }],
        },
        extensions,
    }
}

#[test]
fn test_reply_with_cie_extensions() {
    let p = reply(Some(vec![
        Extension {
            compulsory: true,
            kind: ExtensionType::RESPONDER_ADDRESS,
            value: ExtensionValue::Cies(vec![Cie {
                nbma: vec![192, 0, 2, 2],
                protocol: vec![10, 2, 0, 1],
                holding_time: 600,
                prefix_len: 32,
                ..Cie::default()
            }]),
        },
        Extension {
            compulsory: false,
            kind: ExtensionType::NAT_ADDRESS,
            value: ExtensionValue::Cies(vec![]),
        },
        Extension {
            compulsory: false,
            kind: ExtensionType(0x1234),
            value: ExtensionValue::Raw(vec![1, 2, 3]),
        },
    ]));
    let b = p.emit().unwrap();
    // Extension offset: fixed 20 + mandatory 20 + one CIE with 8 address
    // bytes.
    assert_eq!(u16::from_be_bytes([b[14], b[15]]), 20 + 20 + 12 + 8);
    // Ends with the End extension.
    assert_eq!(&b[b.len() - 4..], &[0x80, 0, 0, 0]);
    assert_eq!(Packet::parse(&b), Ok(p));
    // Without an extension part the offset is zero.
    let p = reply(None);
    let b = p.emit().unwrap();
    assert_eq!(&b[14..16], &[0, 0]);
    assert_eq!(Packet::parse(&b), Ok(p));
}

#[test]
fn test_traffic_and_error_indication() {
    // The packet that triggered the redirect: an IPv4 header 10.0.0.5 ->
    // 10.2.0.7 and 8 bytes of UDP.
    let trigger = hex::decode("4500001c00010000401100000a0000050a02000704d2003500080000").unwrap();
    let ti = Packet {
        afn: AFN_IPV4,
        protocol_type: PROTO_IPV4,
        snap: [0; 5],
        hop_count: 255,
        packet_type: PacketType::TRAFFIC_INDICATION,
        src_nbma: vec![192, 0, 2, 100],
        src_nbma_sub: vec![],
        src_protocol: vec![10, 0, 0, 254],
        dst_protocol: vec![10, 0, 0, 5],
        body: Body::TrafficIndication {
            code: 0,
            packet: trigger.clone(),
        },
        extensions: Some(vec![]),
    };
    let b = ti.emit().unwrap();
    // Mandatory part: lengths, traffic code, 4 unused bytes, then the
    // addresses and the trigger.
    assert_eq!(&b[20..28], &[4, 4, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&b[28..32], &[192, 0, 2, 100]);
    assert_eq!(&b[40..40 + trigger.len()], &trigger[..]);
    assert_eq!(Packet::parse(&b), Ok(ti));

    let ei = Packet {
        packet_type: PacketType::ERROR_INDICATION,
        body: Body::ErrorIndication {
            code: 1,
            offset: 20,
            packet: resolution_request(),
        },
        ..reply(None)
    };
    let b = ei.emit().unwrap();
    assert_eq!(&b[22..28], &[0, 0, 0, 1, 0, 20]);
    assert_eq!(Packet::parse(&b), Ok(ei));
    // A body that does not match the type is refused.
    let bad = Packet {
        packet_type: PacketType::RESOLUTION_REQUEST,
        ..ti_like()
    };
    assert_eq!(bad.emit(), Err(Error::UnknownPacketType(1)));
}

fn ti_like() -> Packet {
    Packet {
        packet_type: PacketType::TRAFFIC_INDICATION,
        body: Body::TrafficIndication {
            code: 0,
            packet: vec![],
        },
        ..reply(None)
    }
}

#[test]
fn test_check_len() {
    let b = resolution_request();
    for n in 0..b.len() {
        assert!(Packet::parse(&b[..n]).is_err(), "cut at {n}");
    }
    for i in 0..b.len() {
        for bit in 0..8 {
            let mut c = b.clone();
            c[i] ^= 1 << bit;
            assert!(Packet::parse(&c).is_err(), "byte {i} bit {bit}");
        }
    }
}

#[test]
fn test_errors() {
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = resolution_request();
        f(&mut b);
        fill_checksum(&mut b);
        Packet::parse(&b)
    };
    assert_eq!(with(&|b| b[16] = 2), Err(Error::BadVersion(2)));
    assert_eq!(with(&|b| b[17] = 9), Err(Error::UnknownPacketType(9)));
    assert_eq!(
        with(&|b| b[14..16].copy_from_slice(&10u16.to_be_bytes())),
        Err(Error::BadExtensionOffset)
    );
    assert_eq!(
        with(&|b| b[14..16].copy_from_slice(&0x45u16.to_be_bytes())),
        Err(Error::BadExtensionOffset)
    );
    assert_eq!(
        with(&|b| b[11] = 0x10),
        Err(Error::Truncated("packet size"))
    );
    // An unknown compulsory extension in place of the Responder Address.
    assert_eq!(
        with(&|b| b[52..54].copy_from_slice(&0x8033u16.to_be_bytes())),
        Err(Error::UnknownCompulsoryExtension(0x33))
    );
    // Without the compulsory bit it is kept.
    let p = with(&|b| b[52..54].copy_from_slice(&0x0033u16.to_be_bytes())).unwrap();
    assert_eq!(p.extensions.unwrap()[0].kind, ExtensionType(0x33));
    // Something after End.
    assert_eq!(
        with(&|b| {
            b.extend_from_slice(&[0x80, 0x03, 0, 0]);
            b[10..12].copy_from_slice(&(0x48u16).to_be_bytes());
        }),
        Err(Error::BadEnd)
    );
    // A CIE claiming more address bytes than the mandatory part has.
    assert_eq!(
        with(&|b| b[48] = 4),
        Err(Error::Truncated("CIE client NBMA address"))
    );
    // Addresses longer than the mandatory part.
    assert_eq!(
        with(&|b| b[21] = 60),
        Err(Error::Truncated("destination protocol address"))
    );
    // Emission refuses what its length fields cannot say.
    let mut p = reply(None);
    p.src_nbma = vec![0; 64];
    assert_eq!(p.emit(), Err(Error::TooLong("source NBMA address")));
}

fn arb_cie() -> impl Strategy<Value = Cie> {
    (
        any::<(u8, u8, u16, u16, u8)>(),
        prop::collection::vec(any::<u8>(), 0..20),
        prop::collection::vec(any::<u8>(), 0..4),
        prop::collection::vec(any::<u8>(), 0..20),
    )
        .prop_map(
            |((code, prefix_len, mtu, holding_time, preference), nbma, nbma_sub, protocol)| Cie {
                code,
                prefix_len,
                mtu,
                holding_time,
                preference,
                nbma,
                nbma_sub,
                protocol,
            },
        )
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    let body = prop_oneof![
        (
            1u8..=6,
            any::<u16>(),
            any::<u32>(),
            prop::collection::vec(arb_cie(), 0..4)
        )
            .prop_map(|(t, flags, request_id, cies)| (
                t,
                Body::Common {
                    flags,
                    request_id,
                    cies
                }
            )),
        (
            any::<u16>(),
            any::<u16>(),
            prop::collection::vec(any::<u8>(), 0..60)
        )
            .prop_map(|(code, offset, packet)| (
                7,
                Body::ErrorIndication {
                    code,
                    offset,
                    packet
                }
            )),
        (any::<u16>(), prop::collection::vec(any::<u8>(), 0..60))
            .prop_map(|(code, packet)| (8, Body::TrafficIndication { code, packet })),
    ];
    let ext = prop_oneof![
        (
            any::<bool>(),
            prop_oneof![Just(3u16), Just(4), Just(5), Just(9)],
            prop::collection::vec(arb_cie(), 0..3)
        )
            .prop_map(|(compulsory, k, c)| Extension {
                compulsory,
                kind: ExtensionType(k),
                value: ExtensionValue::Cies(c)
            }),
        (
            any::<bool>(),
            prop_oneof![Just(7u16), Just(8)],
            prop::collection::vec(any::<u8>(), 0..16)
        )
            .prop_map(|(compulsory, k, r)| Extension {
                compulsory,
                kind: ExtensionType(k),
                value: ExtensionValue::Raw(r)
            }),
        (10u16..0x3fff, prop::collection::vec(any::<u8>(), 0..16)).prop_map(|(k, r)| Extension {
            compulsory: false,
            kind: ExtensionType(k),
            value: ExtensionValue::Raw(r)
        }),
    ];
    (
        any::<(u16, u16, [u8; 5], u8)>(),
        body,
        prop::collection::vec(any::<u8>(), 0..20),
        prop::collection::vec(any::<u8>(), 0..4),
        prop::collection::vec(any::<u8>(), 0..17),
        prop::collection::vec(any::<u8>(), 0..17),
        prop::option::of(prop::collection::vec(ext, 0..4)),
    )
        .prop_map(
            |(
                (afn, protocol_type, snap, hop_count),
                (t, body),
                src_nbma,
                src_nbma_sub,
                src_protocol,
                dst_protocol,
                extensions,
            )| Packet {
                afn,
                protocol_type,
                snap,
                hop_count,
                packet_type: PacketType(t),
                src_nbma,
                src_nbma_sub,
                src_protocol,
                dst_protocol,
                body,
                extensions,
            },
        )
}

proptest! {
    #[test]
    fn roundtrip(p in arb_packet()) {
        let b = p.emit().unwrap();
        prop_assert_eq!(Packet::parse(&b), Ok(p));
    }

    #[test]
    fn random_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..200)) {
        fuzz_parse_all(&b);
    }

    #[test]
    fn mutations_never_panic(p in arb_packet(), i in any::<usize>(), v in any::<u8>()) {
        let mut b = p.emit().unwrap();
        let i = i % b.len();
        b[i] = v;
        fill_checksum(&mut b);
        fuzz_parse_all(&b);
    }
}
