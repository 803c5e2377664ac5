//! Messages shaped like the FlexVPN exchanges (hub and spokes of
//! docs/FLEXVPN.md), built with the codec's types, shared by the codec's
//! integration tests and used to seed the `ikev2` fuzz corpus.
#![allow(dead_code, unreachable_pub)]

use std::net::{Ipv4Addr, Ipv6Addr};

use controlplane::ikev2::codec::*;

pub const SPI_I: u64 = 0x8a3c_9d2e_1f4b_5a69;
pub const SPI_R: u64 = 0x41f2_0c3b_9e8d_7a65;

pub fn header(exchange_type: ExchangeType, response: bool, message_id: u32) -> Header {
    Header {
        spi_i: SPI_I,
        spi_r: if exchange_type == ExchangeType::IKE_SA_INIT && !response {
            0
        } else {
            SPI_R
        },
        exchange_type,
        initiator: !response,
        response,
        message_id,
    }
}

fn ike_proposal(number: u8, encr: EncrId, bits: u16, group: DhGroup) -> Proposal {
    Proposal {
        number,
        protocol: ProtocolId::IKE,
        spi: vec![],
        transforms: vec![
            Transform::with_key_length(TransformId::Encr(encr), bits),
            Transform::new(TransformId::Prf(PrfId::HMAC_SHA2_256)),
            Transform::new(TransformId::Integ(IntegId::HMAC_SHA2_256_128)),
            Transform::new(TransformId::Dh(group)),
        ],
    }
}

fn esp_proposal(number: u8, spi: u32) -> Proposal {
    Proposal {
        number,
        protocol: ProtocolId::ESP,
        spi: spi.to_be_bytes().to_vec(),
        transforms: vec![
            Transform::with_key_length(TransformId::Encr(EncrId::AES_GCM_16), 256),
            Transform::new(TransformId::Esn(EsnId::NO_ESN)),
        ],
    }
}

fn nonce(seed: u8) -> Payload {
    Payload::Nonce(NoncePayload {
        data: (0..32).map(|i| seed.wrapping_add(i)).collect(),
    })
}

fn ts_any_gre(a: Ipv4Addr) -> TsPayload {
    TsPayload {
        selectors: vec![TrafficSelector::Ipv4(TsRange {
            ip_protocol: 47,
            start_port: 0,
            end_port: u16::MAX,
            start: a,
            end: a,
        })],
    }
}

/// Spoke -> hub IKE_SA_INIT request.
pub fn ike_sa_init_request() -> Message {
    Message {
        header: header(ExchangeType::IKE_SA_INIT, false, 0),
        payloads: vec![
            Payload::Sa(SaPayload {
                proposals: vec![
                    ike_proposal(1, EncrId::AES_CBC, 256, DhGroup::CURVE25519),
                    ike_proposal(2, EncrId::AES_CBC, 128, DhGroup::MODP_2048),
                ],
            }),
            Payload::Ke(KePayload {
                group: DhGroup::CURVE25519,
                data: vec![0x42; 32],
            }),
            nonce(1),
            Payload::Notify(NotifyPayload::nat_detection_source([0x11; 20])),
            Payload::Notify(NotifyPayload::nat_detection_destination([0x22; 20])),
            Payload::Notify(NotifyPayload::new(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                vec![],
            )),
            Payload::Notify(NotifyPayload::signature_hash_algorithms(&[
                HashAlgorithm::SHA2_256,
                HashAlgorithm::SHA2_384,
                HashAlgorithm::SHA2_512,
            ])),
            Payload::VendorId(VendorIdPayload {
                data: b"FLEXVPN-DP-CODEC".to_vec(),
            }),
        ],
    }
}

/// Hub -> spoke IKE_SA_INIT response.
pub fn ike_sa_init_response() -> Message {
    Message {
        header: header(ExchangeType::IKE_SA_INIT, true, 0),
        payloads: vec![
            Payload::Sa(SaPayload {
                proposals: vec![ike_proposal(1, EncrId::AES_CBC, 256, DhGroup::CURVE25519)],
            }),
            Payload::Ke(KePayload {
                group: DhGroup::CURVE25519,
                data: vec![0x24; 32],
            }),
            nonce(2),
            Payload::Notify(NotifyPayload::nat_detection_source([0x33; 20])),
            Payload::Notify(NotifyPayload::nat_detection_destination([0x44; 20])),
            Payload::CertReq(CertReqPayload {
                encoding: CertEncoding::X509_SIGNATURE,
                data: vec![0xca; 40],
            }),
            Payload::Notify(NotifyPayload::new(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                vec![],
            )),
        ],
    }
}

/// Hub -> spoke IKE_SA_INIT response asking for a cookie.
pub fn ike_sa_init_cookie() -> Message {
    Message {
        header: header(ExchangeType::IKE_SA_INIT, true, 0),
        payloads: vec![Payload::Notify(NotifyPayload::new(
            NotifyType::COOKIE,
            vec![0xc0; 24],
        ))],
    }
}

/// The payloads of the spoke's IKE_AUTH request (inside SK on the wire).
pub fn ike_auth_request_payloads() -> Vec<Payload> {
    vec![
        Payload::IdI(IdPayload::fqdn("spoke1.cisco.com")),
        Payload::Cert(CertPayload {
            encoding: CertEncoding::X509_SIGNATURE,
            data: vec![0x30, 0x82, 0x01, 0x0a, 0x02, 0x01, 0x01],
        }),
        Payload::CertReq(CertReqPayload {
            encoding: CertEncoding::X509_SIGNATURE,
            data: vec![0xca; 20],
        }),
        Payload::Notify(NotifyPayload::new(NotifyType::INITIAL_CONTACT, vec![])),
        Payload::IdR(IdPayload::fqdn("hub.cisco.com")),
        Payload::Auth(
            AuthPayload::digital_signature(sig_alg::SHA256_WITH_RSA, &[0x5a; 64]).unwrap(),
        ),
        Payload::Cp(CpPayload {
            cfg_type: CfgType::REQUEST,
            attributes: vec![
                CfgAttribute::request(CfgAttributeType::INTERNAL_IP4_ADDRESS),
                CfgAttribute::request(CfgAttributeType::INTERNAL_IP4_SUBNET),
                CfgAttribute::request(CfgAttributeType::INTERNAL_IP6_ADDRESS),
                CfgAttribute {
                    attr_type: CfgAttributeType(28674),
                    value: b"cisco.com".to_vec(),
                },
            ],
        }),
        Payload::Sa(SaPayload {
            proposals: vec![esp_proposal(1, 0xc001_0001)],
        }),
        Payload::TsI(ts_any_gre(Ipv4Addr::new(10, 0, 0, 110))),
        Payload::TsR(ts_any_gre(Ipv4Addr::new(10, 0, 0, 100))),
        Payload::Notify(NotifyPayload::window_size(4)),
    ]
}

/// The payloads of the hub's IKE_AUTH response.
pub fn ike_auth_response_payloads() -> Vec<Payload> {
    vec![
        Payload::IdR(IdPayload::fqdn("hub.cisco.com")),
        Payload::Auth(AuthPayload {
            method: AuthMethod::RSA_SIG,
            data: vec![0xa5; 64],
        }),
        Payload::Cp(CpPayload {
            cfg_type: CfgType::REPLY,
            attributes: vec![
                CfgAttribute::ipv4(
                    CfgAttributeType::INTERNAL_IP4_ADDRESS,
                    Ipv4Addr::new(172, 16, 0, 2),
                ),
                CfgAttribute::ipv4_subnet(
                    Ipv4Addr::new(192, 168, 0, 0),
                    Ipv4Addr::new(255, 255, 0, 0),
                ),
                CfgAttribute::ipv6_prefix(
                    CfgAttributeType::INTERNAL_IP6_ADDRESS,
                    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2),
                    64,
                ),
            ],
        }),
        Payload::Sa(SaPayload {
            proposals: vec![esp_proposal(1, 0xd002_0002)],
        }),
        Payload::TsI(TsPayload {
            selectors: vec![
                TrafficSelector::Ipv4(TsRange::addresses(
                    Ipv4Addr::new(10, 0, 0, 110),
                    Ipv4Addr::new(10, 0, 0, 110),
                )),
                TrafficSelector::Ipv6(TsRange::addresses(
                    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
                    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0xffff, 0xffff, 0xffff, 0xffff),
                )),
            ],
        }),
        Payload::TsR(ts_any_gre(Ipv4Addr::new(10, 0, 0, 100))),
    ]
}

/// An IKE_AUTH request with its payloads unencrypted (the shape the
/// ipsec-parser cross-check needs).
pub fn ike_auth_request_plain() -> Message {
    Message {
        header: header(ExchangeType::IKE_AUTH, false, 1),
        payloads: ike_auth_request_payloads(),
    }
}

/// An IKE_AUTH response with its payloads unencrypted.
pub fn ike_auth_response_plain() -> Message {
    Message {
        header: header(ExchangeType::IKE_AUTH, true, 1),
        payloads: ike_auth_response_payloads(),
    }
}

/// CREATE_CHILD_SA rekeying an ESP SA (unencrypted).
pub fn create_child_sa_plain() -> Message {
    Message {
        header: header(ExchangeType::CREATE_CHILD_SA, false, 2),
        payloads: vec![
            Payload::Notify(NotifyPayload::with_spi(
                NotifyType::REKEY_SA,
                ProtocolId::ESP,
                0xc001_0001,
                vec![],
            )),
            Payload::Sa(SaPayload {
                proposals: vec![esp_proposal(1, 0xc001_0002)],
            }),
            nonce(3),
            Payload::Ke(KePayload {
                group: DhGroup::CURVE25519,
                data: vec![0x77; 32],
            }),
            Payload::TsI(ts_any_gre(Ipv4Addr::new(10, 0, 0, 110))),
            Payload::TsR(ts_any_gre(Ipv4Addr::new(10, 0, 0, 100))),
        ],
    }
}

/// INFORMATIONAL deleting two ESP SAs (unencrypted).
pub fn informational_delete_plain() -> Message {
    Message {
        header: header(ExchangeType::INFORMATIONAL, false, 3),
        payloads: vec![Payload::Delete(DeletePayload {
            protocol: ProtocolId::ESP,
            spis: vec![0xc001_0001, 0xd002_0002],
        })],
    }
}

/// Payloads only the codec (not the ipsec-parser oracle) handles in full:
/// IKE delete, EAP, an unknown non-critical payload, other TS types.
pub fn odds_and_ends_plain() -> Message {
    Message {
        header: header(ExchangeType::INFORMATIONAL, true, 4),
        payloads: vec![
            Payload::Delete(DeletePayload {
                protocol: ProtocolId::IKE,
                spis: vec![],
            }),
            Payload::Eap(EapPayload {
                message: vec![1, 7, 0, 10, 1, b's', b'p', b'o', b'k', b'e'],
            }),
            Payload::Unknown(UnknownPayload {
                payload_type: PayloadType(200),
                data: vec![1, 2, 3],
            }),
            Payload::TsI(TsPayload {
                selectors: vec![TrafficSelector::Other {
                    ts_type: TsType::SECLABEL,
                    second: 0,
                    data: b"system_u".to_vec(),
                }],
            }),
            Payload::Notify(NotifyPayload::invalid_ke(DhGroup::ECP_256)),
            Payload::Notify(NotifyPayload::unsupported_critical(PayloadType(201))),
        ],
    }
}

/// Every plaintext test message, named.
pub fn plain_messages() -> Vec<(&'static str, Message)> {
    vec![
        ("ike_sa_init_request", ike_sa_init_request()),
        ("ike_sa_init_response", ike_sa_init_response()),
        ("ike_sa_init_cookie", ike_sa_init_cookie()),
        ("ike_auth_request_plain", ike_auth_request_plain()),
        ("ike_auth_response_plain", ike_auth_response_plain()),
        ("create_child_sa_plain", create_child_sa_plain()),
        ("informational_delete_plain", informational_delete_plain()),
        ("odds_and_ends_plain", odds_and_ends_plain()),
    ]
}

/// IKE_AUTH as SK and as three SKF fragments, "sealed" with a null cipher
/// (4-byte IV of zeroes, the plaintext, a 4-byte ICV of ones): datagrams
/// whose SK bodies are readable by [`parse_inner`] at offset 4.
pub fn protected_messages() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let (first, plain) = emit_inner(&ike_auth_request_payloads()).unwrap();
    let seal = |layout, piece: &[u8]| {
        let mut sb = emit_protected(
            &header(ExchangeType::IKE_AUTH, false, 1),
            &[],
            layout,
            piece.len() + 8,
        )
        .unwrap();
        let (_, body) = sb.split_mut();
        body[4..4 + piece.len()].copy_from_slice(piece);
        let n = body.len();
        body[n - 4..].fill(1);
        sb.into_bytes()
    };
    out.push((
        "ike_auth_request_sk",
        seal(ProtectedLayout::Sk(first), &plain),
    ));
    let budget = plain.len().div_ceil(3);
    for (i, p) in fragment::split_fragments(first, &plain, budget)
        .unwrap()
        .iter()
        .enumerate()
    {
        let name = [
            "ike_auth_request_skf1",
            "ike_auth_request_skf2",
            "ike_auth_request_skf3",
        ][i];
        out.push((name, seal(ProtectedLayout::Fragment(p.info), p.plaintext)));
    }
    out
}
