//! Property tests of the IKEv2 codec: for generated messages of every
//! payload type, `parse(emit(x)) == x`; the same for inner chains, for
//! `parse_outer`, and for fragment splitting and reassembly in any order;
//! and mutated messages never panic.

mod codec_common;

use std::net::{Ipv4Addr, Ipv6Addr};

use controlplane::ikev2::codec::fragment::{
    split_fragments, Progress, Reassembler, ReassemblyLimits,
};
use controlplane::ikev2::codec::*;
use proptest::prelude::*;
use proptest::sample::select;

fn bytes(min: usize, max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), min..=max)
}

fn header() -> impl Strategy<Value = Header> {
    (
        1..=u64::MAX,
        any::<u64>(),
        any::<u8>(),
        any::<bool>(),
        any::<bool>(),
        any::<u32>(),
    )
        .prop_map(
            |(spi_i, spi_r, x, initiator, response, message_id)| Header {
                spi_i,
                spi_r,
                exchange_type: ExchangeType(x),
                initiator,
                response,
                message_id,
            },
        )
}

fn transform_id() -> impl Strategy<Value = TransformId> {
    prop_oneof![
        any::<u16>().prop_map(|v| TransformId::Encr(EncrId(v))),
        any::<u16>().prop_map(|v| TransformId::Prf(PrfId(v))),
        any::<u16>().prop_map(|v| TransformId::Integ(IntegId(v))),
        any::<u16>().prop_map(|v| TransformId::Dh(DhGroup(v))),
        any::<u16>().prop_map(|v| TransformId::Esn(EsnId(v))),
        (prop_oneof![Just(0u8), 6..=255u8], any::<u16>())
            .prop_map(|(t, v)| TransformId::Other(TransformType(t), v)),
    ]
}

fn attribute() -> impl Strategy<Value = TransformAttribute> {
    prop_oneof![
        any::<u16>().prop_map(|v| TransformAttribute {
            attr_type: TransformAttributeType::KEY_LENGTH,
            value: AttributeValue::Tv(v),
        }),
        (0..0x8000u16, any::<u16>()).prop_map(|(t, v)| TransformAttribute {
            attr_type: TransformAttributeType(t),
            value: AttributeValue::Tv(v),
        }),
        (0..0x8000u16, bytes(0, 8))
            .prop_filter("key length is TV", |(t, _)| *t != 14)
            .prop_map(|(t, v)| TransformAttribute {
                attr_type: TransformAttributeType(t),
                value: AttributeValue::Tlv(v),
            }),
    ]
}

fn transform() -> impl Strategy<Value = Transform> {
    (transform_id(), prop::collection::vec(attribute(), 0..3))
        .prop_map(|(id, attributes)| Transform { id, attributes })
}

fn proposal() -> impl Strategy<Value = Proposal> {
    let proto_spi = prop_oneof![
        select(vec![0usize, 8]).prop_flat_map(|n| (Just(ProtocolId::IKE), bytes(n, n))),
        (select(vec![ProtocolId::AH, ProtocolId::ESP]), bytes(4, 4)),
        (
            prop_oneof![Just(0u8), 4..=255u8].prop_map(ProtocolId),
            bytes(0, 8)
        ),
    ];
    (
        any::<u8>(),
        proto_spi,
        prop::collection::vec(transform(), 0..6),
    )
        .prop_map(|(number, (protocol, spi), transforms)| Proposal {
            number,
            protocol,
            spi,
            transforms,
        })
}

fn id() -> impl Strategy<Value = IdPayload> {
    let typed = prop_oneof![
        (Just(IdType::IPV4_ADDR), bytes(4, 4)),
        (Just(IdType::IPV6_ADDR), bytes(16, 16)),
        (
            any::<u8>()
                .prop_filter("not an address", |t| *t != 1 && *t != 5)
                .prop_map(IdType),
            bytes(0, 40)
        ),
    ];
    (typed, any::<[u8; 3]>()).prop_map(|((id_type, data), reserved)| IdPayload {
        id_type,
        reserved,
        data,
    })
}

fn notify() -> impl Strategy<Value = NotifyPayload> {
    let n = |t: NotifyType, data: BoxedStrategy<Vec<u8>>| {
        data.prop_map(move |d| NotifyPayload::new(t, d)).boxed()
    };
    prop_oneof![
        // Unconstrained types, with or without an SPI.
        (20000..=40000u16, bytes(0, 30)).prop_map(|(t, d)| NotifyPayload::new(NotifyType(t), d)),
        (20000..=40000u16, 1..=255u8, bytes(1, 8), bytes(0, 30)).prop_map(|(t, p, spi, d)| {
            NotifyPayload {
                protocol: ProtocolId(p),
                spi,
                notify_type: NotifyType(t),
                data: d,
            }
        }),
        (
            select(vec![
                NotifyType::REKEY_SA,
                NotifyType::CHILD_SA_NOT_FOUND,
                NotifyType::INVALID_SELECTORS
            ]),
            select(vec![ProtocolId::AH, ProtocolId::ESP]),
            any::<u32>(),
            bytes(0, 8)
        )
            .prop_map(|(t, p, spi, d)| NotifyPayload::with_spi(t, p, spi, d)),
        n(NotifyType::NAT_DETECTION_SOURCE_IP, bytes(20, 20).boxed()),
        n(
            NotifyType::NAT_DETECTION_DESTINATION_IP,
            bytes(20, 20).boxed()
        ),
        n(NotifyType::COOKIE, bytes(1, 64).boxed()),
        n(NotifyType::INVALID_KE_PAYLOAD, bytes(2, 2).boxed()),
        n(NotifyType::SET_WINDOW_SIZE, bytes(4, 4).boxed()),
        n(
            NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD,
            bytes(1, 1).boxed()
        ),
        n(
            NotifyType::SIGNATURE_HASH_ALGORITHMS,
            prop::collection::vec(any::<[u8; 2]>(), 0..5)
                .prop_map(|v| v.concat())
                .boxed()
        ),
        n(
            NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
            bytes(0, 0).boxed()
        ),
        n(NotifyType::INITIAL_CONTACT, bytes(0, 0).boxed()),
    ]
}

fn selector() -> impl Strategy<Value = TrafficSelector> {
    prop_oneof![
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<[u8; 4]>(),
            any::<[u8; 4]>()
        )
            .prop_map(
                |(ip_protocol, start_port, end_port, s, e)| TrafficSelector::Ipv4(TsRange {
                    ip_protocol,
                    start_port,
                    end_port,
                    start: Ipv4Addr::from(s),
                    end: Ipv4Addr::from(e),
                })
            ),
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<[u8; 16]>(),
            any::<[u8; 16]>()
        )
            .prop_map(
                |(ip_protocol, start_port, end_port, s, e)| TrafficSelector::Ipv6(TsRange {
                    ip_protocol,
                    start_port,
                    end_port,
                    start: Ipv6Addr::from(s),
                    end: Ipv6Addr::from(e),
                })
            ),
        (
            any::<u8>().prop_filter("not 7 or 8", |t| *t != 7 && *t != 8),
            any::<u8>(),
            bytes(0, 20)
        )
            .prop_map(|(t, second, data)| TrafficSelector::Other {
                ts_type: TsType(t),
                second,
                data,
            }),
    ]
}

fn cfg_attribute() -> impl Strategy<Value = CfgAttribute> {
    use CfgAttributeType as T;
    let sized = |t: CfgAttributeType, n: usize| {
        prop_oneof![bytes(0, 0), bytes(n, n)].prop_map(move |value| CfgAttribute {
            attr_type: t,
            value,
        })
    };
    prop_oneof![
        sized(T::INTERNAL_IP4_ADDRESS, 4),
        sized(T::INTERNAL_IP4_NETMASK, 4),
        sized(T::INTERNAL_IP4_DNS, 4),
        sized(T::INTERNAL_IP4_NBNS, 4),
        sized(T::INTERNAL_IP4_DHCP, 4),
        sized(T::INTERNAL_IP6_ADDRESS, 17),
        sized(T::INTERNAL_IP6_DNS, 16),
        sized(T::INTERNAL_IP6_DHCP, 16),
        sized(T::INTERNAL_IP4_SUBNET, 8),
        sized(T::INTERNAL_IP6_SUBNET, 17),
        prop::collection::vec(any::<[u8; 2]>(), 0..4).prop_map(|v| CfgAttribute {
            attr_type: T::SUPPORTED_ATTRIBUTES,
            value: v.concat(),
        }),
        bytes(0, 20).prop_map(|value| CfgAttribute {
            attr_type: T::APPLICATION_VERSION,
            value,
        }),
        (16384..0x8000u16, bytes(0, 20)).prop_map(|(t, value)| CfgAttribute {
            attr_type: CfgAttributeType(t),
            value,
        }),
    ]
}

fn eap() -> impl Strategy<Value = EapPayload> {
    prop_oneof![
        (select(vec![1u8, 2, 5, 6]), any::<u8>(), bytes(1, 20)).prop_map(|(code, id, rest)| {
            let mut m = vec![code, id];
            m.extend_from_slice(&((rest.len() + 4) as u16).to_be_bytes());
            m.extend_from_slice(&rest);
            EapPayload { message: m }
        }),
        (select(vec![3u8, 4]), any::<u8>()).prop_map(|(code, id)| EapPayload {
            message: vec![code, id, 0, 4],
        }),
    ]
}

/// Any payload except SK and SKF.
fn inner_payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        prop::collection::vec(proposal(), 1..4)
            .prop_map(|proposals| Payload::Sa(SaPayload { proposals })),
        (any::<u16>(), bytes(1, 64)).prop_map(|(g, data)| Payload::Ke(KePayload {
            group: DhGroup(g),
            data
        })),
        id().prop_map(Payload::IdI),
        id().prop_map(Payload::IdR),
        (any::<u8>(), bytes(1, 40)).prop_map(|(e, data)| Payload::Cert(CertPayload {
            encoding: CertEncoding(e),
            data
        })),
        prop_oneof![
            (0..=3usize)
                .prop_flat_map(|k| bytes(20 * k, 20 * k))
                .prop_map(|data| (CertEncoding::X509_SIGNATURE, data)),
            (
                any::<u8>()
                    .prop_filter("not 4", |e| *e != 4)
                    .prop_map(CertEncoding),
                bytes(0, 30)
            ),
        ]
        .prop_map(|(encoding, data)| Payload::CertReq(CertReqPayload { encoding, data })),
        prop_oneof![
            (
                any::<u8>().prop_filter("not 14", |m| *m != 14),
                bytes(1, 64)
            )
                .prop_map(|(m, data)| AuthPayload {
                    method: AuthMethod(m),
                    data
                }),
            (bytes(1, 20), bytes(1, 64))
                .prop_map(|(a, s)| AuthPayload::digital_signature(&a, &s).unwrap()),
        ]
        .prop_map(Payload::Auth),
        bytes(NONCE_MIN, NONCE_MAX).prop_map(|data| Payload::Nonce(NoncePayload { data })),
        notify().prop_map(Payload::Notify),
        prop_oneof![
            Just(DeletePayload {
                protocol: ProtocolId::IKE,
                spis: vec![]
            }),
            (
                select(vec![ProtocolId::AH, ProtocolId::ESP]),
                prop::collection::vec(any::<u32>(), 0..5)
            )
                .prop_map(|(protocol, spis)| DeletePayload { protocol, spis }),
        ]
        .prop_map(Payload::Delete),
        bytes(1, 40).prop_map(|data| Payload::VendorId(VendorIdPayload { data })),
        prop::collection::vec(selector(), 0..4)
            .prop_map(|selectors| Payload::TsI(TsPayload { selectors })),
        prop::collection::vec(selector(), 0..4)
            .prop_map(|selectors| Payload::TsR(TsPayload { selectors })),
        (any::<u8>(), prop::collection::vec(cfg_attribute(), 0..6)).prop_map(|(t, attributes)| {
            Payload::Cp(CpPayload {
                cfg_type: CfgType(t),
                attributes,
            })
        }),
        eap().prop_map(Payload::Eap),
        (
            any::<u8>().prop_filter("unknown", |t| *t != 0 && !PayloadType(*t).is_supported()),
            bytes(0, 20)
        )
            .prop_map(|(t, data)| Payload::Unknown(UnknownPayload {
                payload_type: PayloadType(t),
                data
            })),
    ]
}

fn encrypted() -> impl Strategy<Value = Payload> {
    prop_oneof![
        (any::<u8>(), bytes(0, 64)).prop_map(|(n, body)| Payload::Sk(EncryptedPayload {
            inner_next: PayloadType(n),
            body
        })),
        (1..=20u16, any::<u16>(), any::<u8>(), bytes(0, 64)).prop_map(|(total, k, n, body)| {
            let number = 1 + k % total;
            Payload::Skf(EncryptedFragmentPayload {
                info: FragmentInfo {
                    number,
                    total,
                    next_payload: if number == 1 {
                        PayloadType(n)
                    } else {
                        PayloadType::NONE
                    },
                },
                body,
            })
        }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    (
        header(),
        prop::collection::vec(inner_payload(), 0..8),
        prop::option::of(encrypted()),
    )
        .prop_map(|(header, mut payloads, enc)| {
            payloads.extend(enc);
            Message { header, payloads }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn message_roundtrip(m in message()) {
        let bytes = m.emit().unwrap();
        let back = Message::parse(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.emit().unwrap(), bytes.clone());
        // parse_outer agrees: same payloads before SK/SKF, SK body located.
        let outer = Message::parse_outer(&bytes).unwrap();
        prop_assert_eq!(outer.header, m.header);
        match (m.payloads.last(), outer.encrypted) {
            (Some(Payload::Sk(sk)), Some(e)) => {
                prop_assert_eq!(e.body(), &sk.body[..]);
                prop_assert_eq!(e.inner_next(), sk.inner_next);
                prop_assert_eq!(e.kind(), ProtectedKind::Sk);
                prop_assert_eq!(&outer.payloads[..], &m.payloads[..m.payloads.len() - 1]);
            }
            (Some(Payload::Skf(f)), Some(e)) => {
                prop_assert_eq!(e.body(), &f.body[..]);
                prop_assert_eq!(e.kind(), ProtectedKind::Fragment(f.info));
                prop_assert_eq!(&outer.payloads[..], &m.payloads[..m.payloads.len() - 1]);
            }
            (_, None) => prop_assert_eq!(&outer.payloads, &m.payloads),
            (p, e) => prop_assert!(false, "{:?} vs {:?}", p, e),
        }
        // The corpus entry point agrees too.
        fuzz_parse_all(&bytes);
    }

    #[test]
    fn inner_roundtrip(ps in prop::collection::vec(inner_payload(), 0..8)) {
        let (first, bytes) = emit_inner(&ps).unwrap();
        prop_assert_eq!(parse_inner(first, &bytes).unwrap(), ps);
    }

    #[test]
    fn protected_layout_roundtrip(
        h in header(),
        outer in prop::collection::vec(inner_payload(), 0..3),
        inner in prop::collection::vec(inner_payload(), 0..4),
        iv in 0usize..17,
        icv in 0usize..17,
    ) {
        let (first, plain) = emit_inner(&inner).unwrap();
        let mut sb = emit_protected(&h, &outer, ProtectedLayout::Sk(first), iv + plain.len() + icv).unwrap();
        sb.split_mut().1[iv..iv + plain.len()].copy_from_slice(&plain);
        let o = Message::parse_outer(sb.bytes()).unwrap();
        prop_assert_eq!(o.header, h);
        prop_assert_eq!(&o.payloads, &outer);
        let e = o.encrypted.unwrap();
        prop_assert_eq!(e.associated_data(), &sb.bytes()[..sb.body_offset()]);
        let body = e.body();
        prop_assert_eq!(parse_inner(e.inner_next(), &body[iv..body.len() - icv]).unwrap(), inner);
    }

    #[test]
    fn fragments_reassemble_in_any_order(
        ps in prop::collection::vec(inner_payload(), 1..6),
        budget in 1usize..200,
        order in any::<prop::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let (first, plain) = emit_inner(&ps).unwrap();
        let pieces = split_fragments(first, &plain, budget).unwrap();
        prop_assume!(pieces.len() <= 512);
        // A permutation from the seed, with one duplicate.
        let mut idx: Vec<usize> = (0..pieces.len()).collect();
        let mut s = seed;
        for i in (1..idx.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            idx.swap(i, (s >> 33) as usize % (i + 1));
        }
        let dup = order.index(pieces.len());
        idx.insert(0, dup);
        let mut r = Reassembler::new(7, ReassemblyLimits { max_fragments: 512, max_bytes: 1 << 20 });
        let mut done = None;
        for (k, &i) in idx.iter().enumerate() {
            let p = &pieces[i];
            let res = r.insert(7, &p.info, p.plaintext).unwrap();
            match res {
                Progress::Complete(m) => done = Some(m),
                Progress::Duplicate => prop_assert!(k > 0),
                Progress::Stored { .. } => {}
            }
        }
        let m = done.unwrap();
        prop_assert_eq!(m.first_payload, first);
        prop_assert_eq!(m.parse().unwrap(), ps);
    }

    #[test]
    fn mutated_messages_never_panic(m in message(), at in any::<prop::sample::Index>(), x in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut bytes = m.emit().unwrap();
        let i = at.index(bytes.len());
        bytes[i] ^= x;
        let n = cut.index(bytes.len() + 1);
        fuzz_parse_all(&bytes);
        fuzz_parse_all(&bytes[..n]);
        let _ = Message::parse_outer(&bytes[..n]);
    }
}

#[test]
fn shared_messages_roundtrip() {
    for (name, m) in codec_common::plain_messages() {
        let b = m.emit().unwrap();
        assert_eq!(Message::parse(&b).unwrap(), m, "{name}");
    }
    for (name, b) in codec_common::protected_messages() {
        let m = Message::parse(&b).unwrap();
        assert_eq!(m.emit().unwrap(), b, "{name}");
    }
}
