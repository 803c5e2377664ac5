//! Clean shutdown: the dataplane process forwards (here: receives blank
//! frames from `net_null` as fast as it can, and drops them as
//! unsupported), exits 0 on SIGTERM, and prints final counters in which
//! every received packet is accounted for.

mod common;

use std::time::Duration;

use common::{counter, Dataplane, Scratch, EAL};

/// A configuration with one `net_null` port (blank 64-byte frames, which
/// the pipeline drops as unsupported), stats every second, and `extra`
/// top-level keys.
fn null_port_config(dir: &Scratch, extra: &str) -> std::path::PathBuf {
    let cfg = dir.join("dp.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
workers = 1
idle = "adaptive"
stats_interval = 1
{extra}
{EAL}
[[ports]]
name = "Ethernet0/0"
device = "net_null0,size=64"
ipv4 = ["192.0.2.1/24"]
"#
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn sigterm_exits_zero_with_final_counters() {
    let dir = Scratch::new("shutdown");
    let cfg = null_port_config(&dir, "");
    let mut dp = Dataplane::start(&cfg, &[]);
    dp.wait_running();
    // Some traffic went through the worker (the mirror shows it).
    dp.wait_stdout("rx in the periodic stats", Duration::from_secs(30), |s| {
        common::last_stat(s, "rx_packets").is_some_and(|n| n > 0)
    });
    let (status, out) = dp.terminate(Duration::from_secs(30));
    assert!(status.success(), "exit {status}\n{out}\n{}", dp.stderr());
    println!("{out}");
    assert!(out.contains("dataplane: final counters"), "{out}");
    assert!(
        out.contains("crypto: ipsec-mb (libIPSec_MB"),
        "the default backend, and the library's version and code path: {out}"
    );
    let rx = counter(&out, "total:", "rx_packets").expect("rx_packets");
    assert!(rx > 0, "{out}");
    let accounted: u64 = ["tx_packets", "punted", "consumed", "dropped"]
        .iter()
        .map(|k| counter(&out, "total:", k).expect(k))
        .sum();
    assert_eq!(rx, accounted, "every packet is counted once\n{out}");
    assert!(out.contains("worker 0 (lcore 1):"), "{out}");
    let ipackets = counter(&out, "port Ethernet0/0", "ipackets").expect("port stats");
    assert!(ipackets >= rx, "{out}");
}

/// A bad configuration stops the process before EAL, with exit status 1
/// and a message naming the key; `--check` accepts a good one.
#[test]
fn config_errors_name_the_key() {
    let dir = Scratch::new("cli");
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[ports]]\nname = \"Ethernet0/0\"\ndevice = \"net_null0\"\nipv4 = [\"10.0.0.1/40\"]\n",
    )
    .unwrap();
    let out = std::process::Command::new(common::appliance())
        .args(["dataplane", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ports[0].ipv4[0]") && err.contains("40"),
        "{err}"
    );
    assert!(!err.contains("EAL:"), "EAL must not start: {err}");

    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "[[ports]]\nname = \"Ethernet0/0\"\ndevice = \"net_null0\"\nipv4 = [\"10.0.0.1/24\"]\n",
    )
    .unwrap();
    let out = std::process::Command::new(common::appliance())
        .args(["dataplane", "--check", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = std::process::Command::new(common::appliance())
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
}

/// `log_format = "json"`: every line the process writes is one JSON object
/// (the running line, periodic stats, the final counters), with the
/// counters as objects, and every received packet accounted for.
#[test]
fn json_log_lines() {
    let dir = Scratch::new("json");
    let cfg = null_port_config(&dir, "log_format = \"json\"");
    let mut dp = Dataplane::start(&cfg, &[]);
    dp.wait_stdout("a stats line", Duration::from_secs(60), |s| {
        s.contains("\"msg\":\"stats\"")
    });
    let (status, out) = dp.terminate(Duration::from_secs(30));
    assert!(status.success(), "exit {status}\n{out}\n{}", dp.stderr());
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let msg = |m: &str| {
        lines
            .iter()
            .find(|v| v["msg"] == m)
            .unwrap_or_else(|| panic!("no {m:?} line:\n{out}"))
    };
    for v in &lines {
        assert_eq!(v["component"], "dataplane", "{v}");
        assert!(v["ts"].as_f64().is_some_and(|t| t > 1.6e9), "{v}");
    }
    let running = msg("running");
    assert_eq!(running["workers"], 1);
    assert_eq!(running["ports"][0]["name"], "Ethernet0/0");
    assert_eq!(
        running["ports"][0]["rss"], "single receive queue",
        "one worker"
    );
    assert!(
        running["crypto"]
            .as_str()
            .is_some_and(|c| c.contains("for AES-GCM") && c.contains("ring for ChaCha20-Poly1305")),
        "{running}"
    );
    let stats = msg("stats");
    assert!(stats["total"]["rx_packets"].as_u64().is_some(), "{stats}");
    assert_eq!(stats["ports"][0]["device"], "net_null0");
    let fin = msg("final counters");
    let total = &fin["total"];
    let rx = total["rx_packets"].as_u64().unwrap();
    assert!(rx > 0, "{fin}");
    let accounted: u64 = ["tx_packets", "punted", "consumed", "fragmented", "dropped"]
        .iter()
        .map(|k| total[*k].as_u64().unwrap())
        .sum();
    assert_eq!(rx, accounted, "{fin}");
    assert_eq!(fin["workers"][0]["lcore"], 1);
    assert!(
        fin["drops"]["unsupported"].as_u64().is_some_and(|n| n > 0),
        "blank frames are dropped as unsupported: {fin}"
    );
}
