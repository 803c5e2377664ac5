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
    let n = dataplane::fuzzing::replay_corpus("nhrp", |data| {
        fuzz_parse_all(data);
    });
    assert!(n >= 4, "the nhrp corpus has only {} files", n);
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
