//! Replays every file of `fuzz/corpus/ikev2/` through the entry point the
//! `ikev2` fuzz target calls, so that the test suite checks that no input
//! the fuzzer has found or been seeded with panics.
//!
//! The seeds (`seed-*` files) come from the codec's test messages; to write
//! them again after changing those messages:
//! `cargo test -p controlplane --test codec_fuzz_corpus -- --ignored`.

mod codec_common;

use std::path::{Path, PathBuf};

use controlplane::ikev2::codec::{emit_inner, fragment, fuzz_parse_all, Payload, PayloadType};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ikev2")
}

#[test]
fn replay_ikev2_corpus() {
    let n = dataplane::fuzzing::replay_corpus("ikev2", |data| {
        fuzz_parse_all(data);
    });
    assert!(n >= 15, "the ikev2 corpus has only {} files", n);
}

/// The seeds: every test message, their inner chains (first byte the first
/// payload type), and fragment records for the reassembler (Fragment
/// Number, Total Fragments, Next Payload, message ID bit, length, bytes).
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, m) in codec_common::plain_messages() {
        let bytes = m.emit().unwrap();
        let (first, inner) = emit_inner(
            &m.payloads
                .iter()
                .filter(|p| !matches!(p, Payload::Sk(_) | Payload::Skf(_)))
                .cloned()
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let mut chain = vec![first.0];
        chain.extend_from_slice(&inner);
        out.push((format!("seed-{name}"), bytes));
        out.push((format!("seed-{name}-inner"), chain));
    }
    for (name, bytes) in codec_common::protected_messages() {
        out.push((format!("seed-{name}"), bytes));
    }
    let (first, plain) = emit_inner(&codec_common::ike_auth_response_payloads()).unwrap();
    let pieces = fragment::split_fragments(first, &plain, 100).unwrap();
    let mut rec = Vec::new();
    for p in pieces.iter().rev() {
        rec.push(p.info.number as u8);
        rec.push(p.info.total as u8);
        rec.push(p.info.next_payload.0);
        rec.push(0);
        rec.push(p.plaintext.len() as u8);
        rec.extend_from_slice(p.plaintext);
    }
    out.push(("seed-fragment-records".into(), rec));
    out.push((
        "seed-fragment-records-small".into(),
        vec![
            2,
            2,
            0,
            0,
            3,
            0,
            0,
            4, // fragment 2: end of a payload header
            1,
            2,
            PayloadType::VENDOR_ID.0,
            0,
            2,
            0,
            0, // fragment 1: start of it
        ],
    ));
    out
}

#[test]
#[ignore = "writes the seed corpus"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in seeds() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
