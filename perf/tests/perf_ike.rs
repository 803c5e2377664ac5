//! `perf ike` sets up every tunnel it is asked for over both transports
//! and reports them (functional only: no timing is checked).

use std::process::Command;

#[test]
fn perf_ike_reports_every_tunnel_up() {
    let out = Command::new(env!("CARGO_BIN_EXE_perf"))
        .args([
            "ike",
            "--tunnels",
            "40",
            "--window",
            "8",
            "--crypto-iterations",
            "10",
        ])
        .output()
        .expect("run perf ike");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "perf ike failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for transport in ["Memory", "Udp"] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(&format!("| {transport} |")))
            .unwrap_or_else(|| panic!("no {transport} row in {stdout}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[2], "40", "tunnels up: {row}");
        // Two datagrams per tunnel reach the responder (IKE_SA_INIT and
        // IKE_AUTH requests), more only after a retransmission.
        let datagrams: u64 = cells[9].parse().expect("datagram count");
        assert!(datagrams >= 80, "{row}");
        let cpu: f64 = cells[3].parse().expect("CPU per tunnel");
        assert!(cpu > 0.0, "responder CPU time not counted: {row}");
    }
    assert!(stdout.contains("Crypto-only ceiling"), "{stdout}");
}

#[test]
fn perf_ike_rejects_bad_options() {
    let out = Command::new(env!("CARGO_BIN_EXE_perf"))
        .args(["ike", "--transports", "carrier-pigeon"])
        .output()
        .expect("run perf ike");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("memory or udp"));
}
