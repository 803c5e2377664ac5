//! Helpers for the system tests: locating the external tools the suite
//! runs against (scapy in the project's venv, tshark), scratch directories,
//! and a tiny hub/spoke dataplane fixture.
//!
//! The external tools are required, not optional: `scripts/install-deps.sh`
//! installs them, and a test that cannot find them fails with a message
//! saying so rather than passing silently.

pub mod charon;
pub mod fixture;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The Python interpreter of the project's venv (with scapy).
pub fn python() -> PathBuf {
    let p = repo_root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} not found: run scripts/install-deps.sh (it creates the venv with scapy)",
        p.display()
    );
    p
}

/// Path of a file under `tests/py/`.
pub fn py_script(name: &str) -> PathBuf {
    repo_root().join("tests/py").join(name)
}

/// The tshark binary.
pub fn tshark() -> PathBuf {
    let p = PathBuf::from("/usr/bin/tshark");
    assert!(p.exists(), "tshark not found: run scripts/install-deps.sh");
    p
}

/// A scratch directory removed on drop (also when a test fails).
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// A fresh directory named after `tag` and the process id.
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("flexvpn-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create scratch dir");
        Self(p)
    }
    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_SCRATCH").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Runs a command, returning stdout; fails the test with stderr on error.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let tail = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        let cut = s.len().saturating_sub(3000);
        let cut = (cut..s.len())
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(s.len());
        s[cut..].to_string()
    };
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout (tail): {}\nstderr (tail): {}",
        out.status,
        tail(&out.stdout),
        tail(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
