//! `appliance demo` (the README's main command) runs the scenario and
//! prints its timeline. Needs root, iproute2, ethtool and python3.

use std::process::Command;

#[test]
fn demo_prints_the_timeline() {
    let out = Command::new(env!("CARGO_BIN_EXE_appliance"))
        .arg("demo")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    for step in [
        "tunnel up: spoke1 Tunnel0 -> hub, address 172.16.0.",
        "tunnel up: spoke2 Tunnel0 -> hub, address 172.16.0.",
        "first packets host1 -> host2 via the hub",
        "hub sent an NHRP redirect",
        "shortcut up: spoke1 192.168.120.0/24 via 172.16.0.",
        "ms over the shortcut (",
        "throughput over the shortcut (UDP",
        "stopped",
    ] {
        assert!(text.contains(step), "missing {step:?}:\n{text}");
    }
    assert!(!text.contains("0.0 Mbit/s"), "{text}");
}
