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

/// Writes a classic pcap (microsecond timestamps, Ethernet link type).
pub fn write_pcap(path: &std::path::Path, frames: &[Vec<u8>]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&(i as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).expect("write pcap");
}

/// Reads the frames of a classic little-endian pcap (either timestamp
/// precision); `None` if it is malformed.
pub fn read_pcap(path: &std::path::Path) -> Option<Vec<Vec<u8>>> {
    let b = std::fs::read(path).ok()?;
    let magic = u32::from_le_bytes(b.get(..4)?.try_into().ok()?);
    if magic != 0xa1b2_c3d4 && magic != 0xa1b2_3c4d {
        return None;
    }
    let mut frames = Vec::new();
    let mut at = 24;
    while at < b.len() {
        let hdr = b.get(at..at + 16)?;
        let incl = u32::from_le_bytes(hdr[8..12].try_into().ok()?) as usize;
        frames.push(b.get(at + 16..at + 16 + incl)?.to_vec());
        at += 16 + incl;
    }
    Some(frames)
}
