//! Replays every file of `fuzz/corpus/nhrp/` through the entry point the
//! `nhrp` fuzz target calls. The `seed-*` files are written by the ignored
//! test below (`cargo test -p controlplane --test nhrp_fuzz_corpus --
//! --ignored`); the rest is what libFuzzer kept.

use std::path::{Path, PathBuf};

use controlplane::nhrp::codec::{fuzz_parse_all, samples};

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

#[test]
#[ignore = "writes the seed files of the fuzz corpus"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).expect("corpus dir");
    for (name, p) in samples() {
        std::fs::write(dir.join(format!("seed-{name}")), p.emit().expect("emit"))
            .expect("write seed");
    }
}
