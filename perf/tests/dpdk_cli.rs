//! `perf dpdk` as its own process (EAL starts once per process), briefly:
//! every variant is present, moved packets, and dropped none. No timing
//! assertions: the figures depend on the machine.

use std::process::Command;

/// Runs `perf dpdk ARGS` and returns its standard output (the test fails
/// with both outputs if it exits with an error).
fn perf_dpdk(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_perf"))
        .arg("dpdk")
        .args(args)
        .output()
        .expect("run perf dpdk");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "perf dpdk failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

/// The `RESULT` lines.
fn results(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("RESULT "))
        .collect()
}

/// The line of variant `want` among `lines` (the test fails if none).
fn variant<'a>(lines: &[&'a str], want: &str, stdout: &str) -> &'a str {
    lines
        .iter()
        .copied()
        .find(|l| field(l, "variant") == want)
        .unwrap_or_else(|| panic!("variant {want} missing:\n{stdout}"))
}

/// The value of `key=` in a `RESULT` line.
fn field(line: &str, key: &str) -> String {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} missing in {line}"))
        .to_owned()
}

#[test]
fn perf_dpdk_runs_every_variant_without_drops() {
    let md = std::env::temp_dir().join(format!("perf-dpdk-{}.md", std::process::id()));
    let md_s = md.to_string_lossy().into_owned();
    let stdout = perf_dpdk(&[
        "--seconds",
        "0.2",
        "--sizes",
        "64",
        "--modes",
        "fwd,encrypt,decrypt",
        "--algs",
        "aes128gcm",
        "--source",
        "ring",
        "--markdown",
        &md_s,
    ]);
    let results = results(&stdout);
    for want in ["io", "fwd", "encrypt/aes128gcm", "decrypt/aes128gcm"] {
        let line = variant(&results, want, &stdout);
        assert_eq!(field(line, "size"), "64", "{line}");
        let packets: u64 = field(line, "packets").parse().unwrap();
        assert!(packets > 0, "{line}");
        assert_eq!(field(line, "dropped"), "0", "{line}");
        assert_eq!(field(line, "drops"), "none", "{line}");
        let mpps: f64 = field(line, "mpps").parse().unwrap();
        assert!(mpps.is_finite() && mpps > 0.0, "{line}");
        let p50: f64 = field(line, "p50_ns").parse().unwrap();
        let p99: f64 = field(line, "p99_ns").parse().unwrap();
        assert!(p50 > 0.0 && p99 >= p50, "{line}");
    }
    assert_eq!(results.len(), 4, "{stdout}");
    // The bare AEAD of the dataplane's backend (ipsec-mb by default) and
    // of ring, the reference.
    for backend in ["ipsec-mb", "ring"] {
        assert!(
            stdout.contains(&format!("AEAD alg=aes128gcm backend={backend} size=64")),
            "bare AEAD ({backend}) missing:\n{stdout}"
        );
    }
    let table = std::fs::read_to_string(&md).expect("markdown written");
    let _ = std::fs::remove_file(&md);
    for row in [
        "| io | 64 B",
        "| fwd | 64 B",
        "| encrypt aes128gcm | 64 B",
        "| decrypt aes128gcm | 64 B",
    ] {
        assert!(table.contains(row), "{row} missing:\n{table}");
    }
}

/// The default source (looping `net_pcap` into the worker, `net_null` out):
/// every variant moved packets with no drops (decrypt included: the looping
/// ESP stream repeats its sequence numbers, so anti-replay must be off), and
/// no latency is claimed. Two runs: each variant's median is reported too.
#[test]
fn perf_dpdk_pcap_source_runs_every_variant_without_drops() {
    let stdout = perf_dpdk(&[
        "--seconds",
        "0.2",
        "--sizes",
        "64",
        "--modes",
        "fwd,encrypt,decrypt",
        "--algs",
        "aes128gcm",
        "--runs",
        "2",
    ]);
    assert!(stdout.contains("net_pcap"), "{stdout}");
    assert!(stdout.contains("anti-replay off"), "{stdout}");
    assert!(
        stdout.contains("aes128gcm on ipsec-mb (libIPSec_MB"),
        "{stdout}"
    );
    let medians: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("MEDIAN "))
        .filter(|l| l.starts_with("RESULT "))
        .collect();
    assert_eq!(medians.len(), 4, "a median per variant:\n{stdout}");
    let all = results(&stdout);
    assert_eq!(all.len(), 8, "two runs of four variants:\n{stdout}");
    for m in &medians {
        // The median is one of the runs.
        assert!(all.contains(m), "{m} is not one of the runs:\n{stdout}");
    }
    let results = medians;
    for want in ["io", "fwd", "encrypt/aes128gcm", "decrypt/aes128gcm"] {
        let line = variant(&results, want, &stdout);
        let packets: u64 = field(line, "packets").parse().unwrap();
        assert!(packets > 0, "{line}");
        assert_eq!(field(line, "drops"), "none", "{line}");
        assert_eq!(field(line, "p50_ns"), "na", "{line}");
    }
}

/// `--crypto ring`: the dataplane runs AES-GCM on ring, and only ring's bare
/// AEAD is measured.
#[test]
fn perf_dpdk_crypto_ring() {
    let stdout = perf_dpdk(&[
        "--seconds",
        "0.1",
        "--sizes",
        "64",
        "--modes",
        "encrypt",
        "--algs",
        "aes128gcm",
        "--crypto",
        "ring",
    ]);
    assert!(
        stdout.contains("crypto ring: aes128gcm on ring"),
        "{stdout}"
    );
    assert!(
        stdout.contains("AEAD alg=aes128gcm backend=ring size=64"),
        "{stdout}"
    );
    assert!(!stdout.contains("backend=ipsec-mb"), "{stdout}");
    let line = variant(&results(&stdout), "encrypt/aes128gcm", &stdout);
    assert_eq!(field(line, "drops"), "none", "{line}");
}

/// `--workers 2` (pcap source): a line per worker, both moved packets, and
/// a `worker=total` line whose packets are their sum.
#[test]
fn perf_dpdk_two_workers_report_per_worker_and_total() {
    let stdout = perf_dpdk(&[
        "--seconds",
        "0.2",
        "--sizes",
        "64",
        "--modes",
        "fwd",
        "--workers",
        "2",
    ]);
    for variant in ["io", "fwd"] {
        let lines: Vec<&str> = results(&stdout)
            .into_iter()
            .filter(|l| field(l, "variant") == variant)
            .collect();
        assert_eq!(lines.len(), 3, "{variant}:\n{stdout}");
        let packets = |w: &str| -> u64 {
            let l = lines
                .iter()
                .find(|l| field(l, "worker") == w)
                .unwrap_or_else(|| panic!("worker={w} missing:\n{stdout}"));
            assert_eq!(field(l, "drops"), "none", "{l}");
            field(l, "packets").parse().unwrap()
        };
        let (a, b) = (packets("0"), packets("1"));
        assert!(a > 0 && b > 0, "both workers moved packets:\n{stdout}");
        assert_eq!(packets("total"), a + b, "{stdout}");
    }
}
