//! Replays every file of the fuzz corpora (`fuzz/corpus/<target>/`) through
//! the same entry points the `cargo fuzz` targets call, so CI checks on every
//! run that no input the fuzzers have found or been seeded with panics.

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in &entries {
        let data = std::fs::read(path).expect("read corpus file");
        f(&data);
    }
    entries.len()
}

#[test]
fn replay_wire_corpus() {
    let n = replay("wire", dataplane::wire::fuzz_parse_all);
    assert!(n >= 10, "the wire corpus has only {n} files");
}

#[test]
fn replay_inbound_corpus() {
    let n = replay("inbound", dataplane::fuzzing::inbound);
    assert!(n >= 10, "the inbound corpus has only {n} files");
}
