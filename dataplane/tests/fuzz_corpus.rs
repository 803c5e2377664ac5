//! Replays every file of the fuzz corpora (`fuzz/corpus/<target>/`) through
//! the same entry points the `cargo fuzz` targets call, so CI checks on every
//! run that no input the fuzzers have found or been seeded with panics.

use dataplane::fuzzing::replay_corpus as replay;

#[test]
fn replay_wire_corpus() {
    let n = replay("wire", dataplane::wire::fuzz_parse_all);
    assert!(n >= 10, "the wire corpus has only {n} files");
}

#[test]
fn replay_inbound_corpus() {
    let n = replay("inbound", |d| {
        dataplane::fuzzing::inbound(d);
    });
    assert!(n >= 10, "the inbound corpus has only {n} files");
}
