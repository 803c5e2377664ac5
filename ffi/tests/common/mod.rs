//! Shared by the EAL integration tests. Each test file is its own process
//! (EAL initialises once per process) and holds exactly one `#[test]`.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use ffi::EalBuilder;

/// EAL arguments that work here: no hugepages, no NIC, no shared files,
/// so tests run side by side; add vdevs on top.
pub fn eal(cores: &str) -> EalBuilder {
    ffi::Eal::builder()
        .program("ffi-test")
        .cores(cores)
        .no_huge()
        .no_shconf()
        .memory_mb(256)
        .no_pci()
        .no_telemetry()
}

/// A fresh directory under the target dir for files of one test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ffi-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}
