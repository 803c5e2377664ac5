//! Replays every file of `fuzz/corpus/ctl/` through the entry point the
//! `ctl` fuzz target calls. The `seed-*` files are written by the ignored
//! test below (`cargo test -p dataplane --test ctl_fuzz_corpus --
//! --ignored`); the rest is what libFuzzer kept.

use std::path::{Path, PathBuf};

use dataplane::ctl::{fuzz_decode, samples};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ctl")
}

#[test]
fn replay_ctl_corpus() {
    let n = dataplane::fuzzing::replay_corpus("ctl", |data| {
        fuzz_decode(data);
    });
    assert!(n >= samples().len(), "the ctl corpus has only {n} files");
}

#[test]
#[ignore = "writes the seed files of the fuzz corpus"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).expect("corpus dir");
    for (i, s) in samples().iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:02}")), s).expect("write seed");
    }
}
