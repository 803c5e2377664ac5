//! `appliance run --config FILE`: the hub's configuration (pre-shared keys,
//! `dataplane` statements added) starts both processes in a namespace of
//! the test's own; `show` answers; the control plane is killed and comes
//! back while the dataplane keeps running; SIGTERM stops everything.
//!
//! Needs root and iproute2; CI runs as root.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sh(args: &[&str]) -> std::process::Output {
    Command::new(args[0]).args(&args[1..]).output().unwrap()
}

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", &self.0]);
    }
}

fn pids(pattern: &str) -> Vec<String> {
    let out = sh(&["pgrep", "-f", pattern]);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn wait(what: &str, limit: Duration, log: &Path, cond: impl Fn() -> bool) {
    let end = Instant::now() + limit;
    while !cond() {
        assert!(
            Instant::now() < end,
            "{what}: not within {limit:?}\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn run_supervises_both_processes() {
    let id = std::process::id();
    let ns = format!("fvrun{id}");
    assert!(sh(&["ip", "netns", "add", &ns]).status.success());
    let _ns = Netns(ns.clone());
    assert!(sh(&[
        "ip", "link", "add", "eth0", "netns", &ns, "type", "veth", "peer", "name", "peer0",
        "netns", &ns
    ])
    .status
    .success());
    for dev in ["eth0", "peer0", "lo"] {
        assert!(sh(&["ip", "-n", &ns, "link", "set", dev, "up"])
            .status
            .success());
    }
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("run-{id}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let seed = include_str!("../../controlplane/tests/configs/static-hub.conf");
    let mut conf = controlplane::config::lab::with_psk(seed, "k", "run-test", None);
    conf.push_str("dataplane port Ethernet0/0 device net_af_packet0,iface=eth0\ndataplane cores 0-1\ndataplane eal --no-huge -m 256 --no-shconf\n");
    let cfg = dir.join(format!("hub-{id}.conf"));
    std::fs::write(&cfg, conf).unwrap();
    let sock = dir.join("hub.sock");
    let log = dir.join("run.log");
    let mut run = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns,
            env!("CARGO_BIN_EXE_appliance"),
            "run",
            "--config",
        ])
        .arg(&cfg)
        .arg("--runtime-dir")
        .arg(&dir)
        .arg("--socket")
        .arg(&sock)
        .stdout(std::fs::File::create(dir.join("run.out")).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let show = |w: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_appliance"))
            .arg("show")
            .arg("--socket")
            .arg(&sock)
            .args(w)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let guard = Kill(&mut run);
    wait("show answers", Duration::from_secs(60), &log, || {
        show(&["interfaces"]).contains("Ethernet0/0 is up")
    });
    assert!(show(&["dataplane"]).contains("Dataplane: shared memory flexvpn-hub"));
    // The derived dataplane configuration is there.
    let toml = std::fs::read_to_string(dir.join("dataplane.toml")).unwrap();
    assert!(toml.contains("net_af_packet0,iface=eth0"), "{toml}");

    let pattern = format!("controlplane --config {}", cfg.display());
    let cp = pids(&pattern);
    assert_eq!(cp.len(), 1, "{cp:?}");
    let dp_before = pids(&format!(
        "dataplane --config {}",
        dir.join("dataplane.toml").display()
    ));
    assert_eq!(dp_before.len(), 1);
    assert!(sh(&["kill", "-KILL", &cp[0]]).status.success());
    wait(
        "control plane restarted",
        Duration::from_secs(30),
        &log,
        || {
            let now = pids(&pattern);
            now.len() == 1 && now[0] != cp[0] && show(&["interfaces"]).contains("Ethernet0/0 is up")
        },
    );
    // The dataplane was not touched.
    assert_eq!(
        pids(&format!(
            "dataplane --config {}",
            dir.join("dataplane.toml").display()
        )),
        dp_before
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("control plane exited"), "{text}");

    assert!(sh(&["kill", "-TERM", &guard.0.id().to_string()])
        .status
        .success());
    let end = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = guard.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "appliance run did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert!(pids(&pattern).is_empty());
    assert!(!sock.exists());
    assert!(!Path::new("/dev/shm/flexvpn-hub").exists());
}
