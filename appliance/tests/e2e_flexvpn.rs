//! The source document's scenario end to end: hub, spoke1 and spoke2 each
//! run as two processes (dataplane on `net_af_packet`, control plane over
//! shared memory) in network namespaces, with host1 behind spoke1 and
//! host2 behind spoke2.
//!
//! Needs root and iproute2; CI runs as root.

use std::time::Duration;

use appliance::demo::scenario::Scenario;

fn exe() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_appliance"))
}

#[test]
fn spokes_up_and_hosts_reach_each_other() {
    let tag = format!("e{}", std::process::id() % 100_000);
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{tag}"));
    let mut s = Scenario::start(exe(), &tag, &dir).unwrap();
    s.wait("spokes up", Duration::from_secs(30), |s| {
        (1..3).all(|i| {
            s.show(i, &["crypto", "ikev2", "client", "flexvpn"])
                .contains("Current State:UP")
        })
    })
    .unwrap();
    let out = s.ping(0, "192.168.120.10", &["-c", "3", "-W", "2"]);
    assert!(
        out.is_ok(),
        "{out:?}\n{}\n{}\n{}",
        s.show(1, &["ip", "route"]),
        s.show(0, &["ip", "route"]),
        s.logs()
    );
    s.wait("shortcut", Duration::from_secs(30), |s| {
        s.show(1, &["ip", "nhrp"]).contains("192.168.120.0/24 via")
    })
    .unwrap();
    eprintln!(
        "{}\n{}\n{}",
        s.show(1, &["ip", "nhrp"]),
        s.show(1, &["ip", "route"]),
        s.show(2, &["ip", "nhrp"])
    );
    let out = s.ping(0, "192.168.120.10", &["-c", "3", "-W", "2"]);
    assert!(out.is_ok(), "{out:?}\n{}", s.logs());
    assert!(s.stop(), "{}", s.logs());
}
