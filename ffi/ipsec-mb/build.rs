//! Compiles `shim/shim.c` against the system's IPsec Multi-Buffer library
//! (Debian: `libipsec-mb-dev`, which `libdpdk-dev` depends on) and links it.
//!
//! The header declares `struct gcm_key_data` 64-byte aligned only when
//! `LINUX` is defined, as the library itself was built; the shim defines it
//! so that its layout checks see the library's layout.

use std::env;
use std::path::{Path, PathBuf};

const HEADER: &str = "intel-ipsec-mb.h";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    for f in ["build.rs", "shim/shim.c"] {
        println!("cargo:rerun-if-changed={}", manifest.join(f).display());
    }
    let found = ["/usr/include", "/usr/local/include"]
        .iter()
        .any(|d| Path::new(d).join(HEADER).exists());
    if !found {
        println!(
            "cargo:warning={HEADER} not found in /usr/include or /usr/local/include: \
             apt-get install libipsec-mb-dev (libdpdk-dev depends on it)"
        );
    }
    cc::Build::new()
        .file(manifest.join("shim/shim.c"))
        .define("LINUX", None)
        .opt_level(3)
        .warnings(true)
        .compile("ipsec_mb_shim");
    println!("cargo:rustc-link-lib=IPSec_MB");
}
