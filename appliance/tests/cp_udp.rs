//! The control-plane process on its own (`appliance controlplane --udp`):
//! the source document's hub and two spokes, from their configuration
//! files with pre-shared keys, each a process, IKE over kernel UDP in a
//! network namespace of the test's own (the three underlay addresses on
//! its loopback). The spokes come up with addresses from the hub's pool
//! and the pushed routes; `appliance show` answers over the Unix sockets,
//! in text and JSON; the logs are JSON lines; SIGTERM stops each cleanly.
//!
//! Needs root and `ip` (iproute2); CI runs as root.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{appliance, Scratch};

fn sh(args: &[&str]) -> std::process::Output {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"))
}

fn must(args: &[&str]) {
    let out = sh(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", &self.0]);
    }
}

struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn stop(&mut self) -> (bool, String) {
        let _ = sh(&["kill", "-TERM", &self.child.id().to_string()]);
        let end = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break Some(s);
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        (status.is_some_and(|s| s.success()), log)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn psk(file: &str) -> String {
    let t = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../controlplane/tests/configs")
            .join(file),
    )
    .unwrap()
    .replace("rsa-sig", "pre-share")
    .replace("pki trustpoint CA", "keyring local k");
    format!("{t}\ncrypto ikev2 keyring k\n peer any\n  address 0.0.0.0 0.0.0.0\n  pre-shared-key cp-udp-test\n")
}

fn show(socket: &Path, words: &[&str]) -> String {
    appliance::cp::show_text(socket, words)
}

#[test]
fn hub_and_spokes_control_planes() {
    let ns = format!("fvcp{}", std::process::id());
    must(&["ip", "netns", "add", &ns]);
    let _ns = Netns(ns.clone());
    must(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
    for a in ["10.0.0.100/24", "10.0.0.110/24", "10.0.0.120/24"] {
        must(&["ip", "-n", &ns, "addr", "add", a, "dev", "lo"]);
    }
    let dir = Scratch::new("cp-udp");
    let mut procs = Vec::new();
    let mut sockets = Vec::new();
    for name in [
        "static-hub.conf",
        "static-spoke1.conf",
        "static-spoke2.conf",
    ] {
        let conf = dir.join(name);
        std::fs::write(&conf, psk(name)).unwrap();
        let sock = dir.join(&format!("{name}.sock"));
        let log = dir.join(&format!("{name}.log"));
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns,
                appliance(),
                "controlplane",
                "--udp",
                "--config",
            ])
            .arg(&conf)
            .arg("--socket")
            .arg(&sock)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        procs.push(Proc { child, log });
        sockets.push(sock);
    }
    let (hub, s1, s2) = (&sockets[0], &sockets[1], &sockets[2]);
    // Up within seconds: both clients UP with a pool address.
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let a = show(s1, &["crypto", "ikev2", "client", "flexvpn"]);
        let b = show(s2, &["crypto", "ikev2", "client", "flexvpn"]);
        if a.contains("Current State:UP") && b.contains("Current State:UP") {
            assert!(a.contains("Assigned address : 172.16.0."), "{a}");
            break;
        }
        assert!(
            Instant::now() < end,
            "spokes not up:\n{a}\n{b}\n{}",
            procs
                .iter()
                .map(|p| std::fs::read_to_string(&p.log).unwrap_or_default())
                .collect::<String>()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The hub: two READY IKE SAs on Virtual-Access interfaces.
    let sa = show(hub, &["crypto", "ikev2", "sa", "detail"]);
    assert_eq!(sa.matches("READY").count(), 2, "{sa}");
    assert!(sa.contains("Interface: Virtual-Access"), "{sa}");
    let j: serde_json::Value =
        serde_json::from_str(&show(hub, &["crypto", "ikev2", "sa", "--json"])).unwrap();
    assert_eq!(j.as_array().unwrap().len(), 2);
    // The hub routes the spokes' LANs into their Virtual-Access.
    let r = show(hub, &["ip", "route"]);
    assert!(
        r.contains("192.168.110.0/24 is directly connected, Virtual-Access"),
        "{r}"
    );
    assert!(
        r.contains("192.168.120.0/24 is directly connected, Virtual-Access"),
        "{r}"
    );
    // A spoke: the pushed routes into Tunnel0, and what the dataplane
    // would hold.
    let r = show(s1, &["ip", "route"]);
    assert!(
        r.contains("S     0.0.0.0/0 is directly connected, Tunnel0"),
        "{r}"
    );
    assert!(
        r.contains("172.16.1.1/32 is directly connected, Tunnel0"),
        "{r}"
    );
    let d = show(s1, &["dataplane"]);
    assert!(
        d.contains("Tunnel0 id 0 Gre 10.0.0.110:500 -> 10.0.0.100:500 SAs 1"),
        "{d}"
    );
    let m = show(hub, &["metrics"]);
    assert!(
        m.contains("flexvpn_ike_sas{state=\"Established\"} 2"),
        "{m}"
    );
    assert!(m.contains("flexvpn_virtual_access 2"), "{m}");
    let bad = show(hub, &["ip", "bogus"]);
    assert!(bad.starts_with("% unknown command"), "{bad}");
    // Clean stops, JSON logs that tell the story.
    for p in procs.iter_mut().rev() {
        let (ok, log) = p.stop();
        assert!(ok, "{log}");
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect();
        assert!(lines.iter().any(|l| l["msg"] == "started"));
        assert!(lines.iter().any(|l| l["msg"] == "stopped"));
        assert!(
            lines
                .iter()
                .any(|l| l["msg"].as_str().is_some_and(|m| m.contains(" up to "))),
            "{log}"
        );
    }
    for s in &sockets {
        assert!(!s.exists(), "{} left behind", s.display());
    }
}
