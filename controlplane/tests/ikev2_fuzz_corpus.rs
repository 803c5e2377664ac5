//! Replays every file of `fuzz/corpus/ikev2_responder/` through the entry
//! point of the `ikev2_responder` fuzz target, so that the suite checks
//! that no input the fuzzer found or was seeded with panics.
//!
//! To write the seeds again:
//! `cargo test -p controlplane --test ikev2_fuzz_corpus -- --ignored`.

use std::path::{Path, PathBuf};

use controlplane::ikev2::codec::{
    emit_inner, CfgAttribute, CfgAttributeType, CfgType, CpPayload, DeletePayload, KePayload,
    Message, NoncePayload, NotifyPayload, NotifyType, Payload, ProtocolId, SaPayload, TsPayload,
};
use controlplane::ikev2::config::{ts_any_v4, EspProposal, IkeProposal};
use controlplane::ikev2::fuzz_responder;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ikev2_responder")
}

#[test]
fn replay_ikev2_responder_corpus() {
    let n = dataplane::fuzzing::replay_corpus("ikev2_responder", |data| {
        fuzz_responder(data);
    });
    assert!(n >= 8, "only {} corpus files", n);
}

fn record(kind: u8, bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![kind];
    v.extend_from_slice(&u16::try_from(bytes.len()).unwrap().to_be_bytes());
    v.extend_from_slice(bytes);
    v
}

/// A sealed-request record: exchange (34 + x), the inner chain.
fn inner(exchange: u8, payloads: &[Payload], consume: bool) -> Vec<u8> {
    let (first, plain) = emit_inner(payloads).unwrap();
    let mut b = vec![exchange - 34, first.0];
    b.extend_from_slice(&plain);
    record(if consume { 6 } else { 2 }, &b)
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    out.push(("seed-empty".into(), vec![0]));
    // An IKE_SA_INIT request from another initiator, as on the wire.
    let init = {
        let m = Message {
            header: controlplane::ikev2::codec::Header {
                spi_i: 0x0102_0304_0506_0708,
                spi_r: 0,
                exchange_type: controlplane::ikev2::codec::ExchangeType::IKE_SA_INIT,
                initiator: true,
                response: false,
                message_id: 0,
            },
            payloads: vec![
                Payload::Sa(SaPayload {
                    proposals: vec![IkeProposal::aead_default().to_wire(1, vec![], None)],
                }),
                Payload::Ke(KePayload {
                    group: controlplane::ikev2::codec::DhGroup::CURVE25519,
                    data: vec![9; 32],
                }),
                Payload::Nonce(NoncePayload { data: vec![7; 32] }),
                Payload::Notify(NotifyPayload::new(
                    NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                    vec![],
                )),
            ],
        };
        m.emit().unwrap()
    };
    out.push((
        "seed-ike-sa-init".into(),
        [vec![1], record(0, &init)].concat(),
    ));
    let mut natt = vec![0, 0, 0, 0];
    natt.extend_from_slice(&init);
    out.push((
        "seed-ike-sa-init-natt".into(),
        [vec![3], record(1, &natt)].concat(),
    ));
    out.push((
        "seed-dpd".into(),
        [vec![0], inner(37, &[], true), inner(37, &[], false)].concat(),
    ));
    out.push((
        "seed-delete-child".into(),
        [
            vec![0],
            inner(
                37,
                &[Payload::Delete(DeletePayload {
                    protocol: ProtocolId::ESP,
                    spis: vec![0x9000],
                })],
                true,
            ),
        ]
        .concat(),
    ));
    out.push((
        "seed-delete-ike".into(),
        [
            vec![0],
            inner(
                37,
                &[Payload::Delete(DeletePayload {
                    protocol: ProtocolId::IKE,
                    spis: vec![],
                })],
                true,
            ),
            record(3, &[60]),
        ]
        .concat(),
    ));
    let ts = || TsPayload {
        selectors: vec![ts_any_v4()],
    };
    out.push((
        "seed-rekey-child".into(),
        [
            vec![0],
            inner(
                36,
                &[
                    Payload::Notify(NotifyPayload::with_spi(
                        NotifyType::REKEY_SA,
                        ProtocolId::ESP,
                        0x9000,
                        vec![],
                    )),
                    Payload::Sa(SaPayload {
                        proposals: vec![EspProposal::default().to_wire(1, 0x9999, false)],
                    }),
                    Payload::Nonce(NoncePayload { data: vec![3; 32] }),
                    Payload::TsI(ts()),
                    Payload::TsR(ts()),
                ],
                true,
            ),
        ]
        .concat(),
    ));
    let mut ike = IkeProposal::aead_default().to_wire(1, vec![], None);
    ike.spi = vec![5; 8];
    out.push((
        "seed-rekey-ike".into(),
        [
            vec![0],
            inner(
                36,
                &[
                    Payload::Sa(SaPayload {
                        proposals: vec![ike],
                    }),
                    Payload::Nonce(NoncePayload { data: vec![4; 32] }),
                    Payload::Ke(KePayload {
                        group: controlplane::ikev2::codec::DhGroup::CURVE25519,
                        data: vec![9; 32],
                    }),
                ],
                true,
            ),
            record(3, &[200]),
        ]
        .concat(),
    ));
    out.push((
        "seed-cp-in-informational".into(),
        [
            vec![0],
            inner(
                37,
                &[Payload::Cp(CpPayload {
                    cfg_type: CfgType::REQUEST,
                    attributes: vec![CfgAttribute::request(
                        CfgAttributeType::INTERNAL_IP4_ADDRESS,
                    )],
                })],
                true,
            ),
        ]
        .concat(),
    ));
    out.push((
        "seed-time".into(),
        [
            vec![0],
            record(3, &[30]),
            record(3, &[250]),
            record(3, &[250]),
        ]
        .concat(),
    ));
    out
}

#[test]
#[ignore = "writes the seed corpus"]
fn write_ikev2_responder_seeds() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in seeds() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn seeds_run() {
    for (_, s) in seeds() {
        fuzz_responder(&s);
    }
}
