//! Two hosts in network namespaces ping each other through the running
//! dataplane process, which owns two veth ends (`net_af_packet` or `net_af_xdp`,
//! one test file each: `dp_netns_ping.rs`, `dp_netns_ping_xdp.rs`):
//!
//! ```text
//!  ns A (kernel host)          ns DP (dataplane process)          ns C (kernel host)
//!  a0 192.0.2.10/24 ---veth--- a1 [port 0: 192.0.2.1/24]
//!  default via 192.0.2.1                [port 1: 198.51.100.1/24] c1 ---veth--- c0 198.51.100.10/24
//!                                                                  default via 198.51.100.1
//! ```
//!
//! The kernels of A and C ARP for the dataplane's addresses (answered by
//! the main lcore), and the dataplane ARPs for both hosts (a held packet is
//! released on the answer, and a host route installed). `ping -c 3 -W 1`
//! from A to C must succeed. The veth ends the dataplane opens have no
//! kernel address (and IPv6 off), so the kernel of ns DP stays out of the
//! way. A static route to 10.99.0.0/16 via host C (a gateway) is
//! installed once the main lcore resolves C, and a ping to 10.99.0.1 (on
//! C's loopback) goes through it. Host A also pings the dataplane's own
//! addresses (IPv4 on the near port, IPv6 on the far one), which the
//! workers answer, and sends a probe with TTL (hop limit) 1 towards C,
//! which the dataplane answers with time exceeded. Then host C loses its addresses, and the dataplane's entries for
//! it time out (unanswered probes) and its host routes are removed. Names
//! carry the test's pid; a guard deletes the namespaces (and
//! with them the veths) even when the test fails.
//!
//! Needs root and `ip` (iproute2); CI runs as root.

use std::process::Command;
use std::time::{Duration, Instant};

use super::common::{counter, Dataplane, Scratch, EAL};

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
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Deletes the namespaces on drop.
struct Netns(Vec<String>);

impl Drop for Netns {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = sh(&["ip", "netns", "del", ns]);
        }
    }
}

/// The whole scenario with the dataplane's ports on `driver`
/// (`net_af_packet` or `net_af_xdp`).
pub(crate) fn kernel_host_pings_through_the_dataplane(driver: &str) {
    let id = std::process::id();
    let (ns_a, ns_dp, ns_c) = (format!("dpA{id}"), format!("dpX{id}"), format!("dpC{id}"));
    // Interface names: at most 15 bytes.
    let (a0, a1, c0, c1) = (
        format!("va{id}"),
        format!("vb{id}"),
        format!("vc{id}"),
        format!("vd{id}"),
    );
    let _guard = Netns(vec![ns_a.clone(), ns_dp.clone(), ns_c.clone()]);
    for ns in [&ns_a, &ns_dp, &ns_c] {
        must(&["ip", "netns", "add", ns]);
        must(&["ip", "-n", ns, "link", "set", "lo", "up"]);
    }
    for (host_ns, host_if, dp_if, addr, gw, addr6, gw6) in [
        (
            &ns_a,
            &a0,
            &a1,
            "192.0.2.10/24",
            "192.0.2.1",
            "2001:db8:a::10/64",
            "2001:db8:a::1",
        ),
        (
            &ns_c,
            &c0,
            &c1,
            "198.51.100.10/24",
            "198.51.100.1",
            "2001:db8:c::10/64",
            "2001:db8:c::1",
        ),
    ] {
        must(&[
            "ip", "link", "add", host_if, "netns", host_ns, "type", "veth", "peer", "name", dp_if,
            "netns", &ns_dp,
        ]);
        // The dataplane's end: up, no address, no IPv6 (so the kernel of
        // its namespace neither answers ARP nor takes part in ND there).
        let sysctl =
            |ns: &str, key: String| must(&["ip", "netns", "exec", ns, "sysctl", "-qw", &key]);
        sysctl(&ns_dp, format!("net.ipv6.conf.{dp_if}.disable_ipv6=1"));
        must(&["ip", "-n", &ns_dp, "link", "set", dp_if, "up"]);
        // The host: no duplicate address detection, so its addresses are
        // usable at once.
        sysctl(host_ns, format!("net.ipv6.conf.{host_if}.accept_dad=0"));
        must(&["ip", "-n", host_ns, "addr", "add", addr, "dev", host_if]);
        must(&[
            "ip", "-n", host_ns, "addr", "add", addr6, "dev", host_if, "nodad",
        ]);
        must(&["ip", "-n", host_ns, "link", "set", host_if, "up"]);
        must(&["ip", "-n", host_ns, "route", "add", "default", "via", gw]);
        must(&[
            "ip", "-n", host_ns, "-6", "route", "add", "default", "via", gw6,
        ]);
    }

    let dir = Scratch::new("netns");
    let cfg = dir.join("dp.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
workers = 1
idle = "adaptive"
stats_interval = 1
{EAL}
[[ports]]
name = "Ethernet0/0"
device = "{driver}0,iface={a1}"
ipv4 = ["192.0.2.1/24"]
ipv6 = ["2001:db8:a::1/64"]

[[ports]]
name = "Ethernet0/1"
device = "{driver}1,iface={c1}"
ipv4 = ["198.51.100.1/24"]
ipv6 = ["2001:db8:c::1/64"]

# A network behind host C, reached through it as a gateway: installed once
# the main lcore has resolved 198.51.100.10 (asked for at start).
[[routes]]
prefix = "10.99.0.0/16"
via = "198.51.100.10"

# Short timers, so that a host that goes away is noticed within seconds.
[arp]
reachable_secs = 1
retransmit_ms = 300
max_probes = 2
"#
        ),
    )
    .unwrap();
    // Host C owns 10.99.0.1 (on its loopback): the far end of the static
    // route through it.
    must(&[
        "ip",
        "-n",
        &ns_c,
        "addr",
        "add",
        "10.99.0.1/32",
        "dev",
        "lo",
    ]);
    let mut dp = Dataplane::start(&cfg, &["ip", "netns", "exec", &ns_dp]);
    dp.wait_running();

    // A few tries each, bounded: the first exchange also waits for ARP
    // (or ND) on both sides (the dataplane holds the packet meanwhile).
    let ping = |args: &[&str]| -> (bool, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut cmd = vec!["ip", "netns", "exec", &ns_a, "ping"];
            cmd.extend_from_slice(args);
            let out = sh(&cmd);
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if out.status.success() || Instant::now() > deadline {
                return (out.status.success(), text);
            }
        }
    };
    let (ok4, text4) = ping(&["-c", "3", "-W", "1", "198.51.100.10"]);
    let (ok6, text6) = ping(&["-6", "-c", "3", "-W", "1", "2001:db8:c::10"]);
    let (ok_gw, text_gw) = ping(&["-c", "3", "-W", "1", "10.99.0.1"]);
    // The dataplane's own addresses answer: the near port's, and the far
    // port's over IPv6.
    let (ok_me4, text_me4) = ping(&["-c", "2", "-W", "1", "192.0.2.1"]);
    let (ok_me6, text_me6) = ping(&["-6", "-c", "2", "-W", "1", "2001:db8:c::1"]);
    // TTL and hop limit 1 (traceroute's first probe): the dataplane answers
    // with time exceeded from the near port's address. One probe each, no
    // reply expected, so ping exits non-zero.
    let expire = |args: &[&str]| -> String {
        let mut cmd = vec!["ip", "netns", "exec", &ns_a, "ping"];
        cmd.extend_from_slice(args);
        let out = sh(&cmd);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let ttl4 = expire(&["-c", "1", "-t", "1", "-W", "2", "198.51.100.10"]);
    let ttl6 = expire(&["-6", "-c", "1", "-t", "1", "-W", "2", "2001:db8:c::10"]);
    // Host C loses its addresses: it stops answering the dataplane's
    // probes, whose entries for it time out (Lost), and its host routes go.
    if ok4 && ok6 && ok_gw && ok_me4 && ok_me6 {
        must(&["ip", "-n", &ns_c, "addr", "flush", "dev", &c0]);
        dp.wait_stdout("host routes removed", Duration::from_secs(30), |s| {
            counter(s, "dataplane: stats", "routes_removed").is_some_and(|n| n >= 3)
        });
    }
    let (status, out) = dp.terminate(Duration::from_secs(30));
    for (ok, text) in [
        (ok4, &text4),
        (ok6, &text6),
        (ok_gw, &text_gw),
        (ok_me4, &text_me4),
        (ok_me6, &text_me6),
    ] {
        assert!(
            ok,
            "ping failed: {text}\ndataplane stdout:\n{out}\nstderr:\n{}",
            dp.stderr()
        );
    }
    assert!(status.success(), "exit {status}\n{out}\n{}", dp.stderr());
    println!("{out}");
    // Forwarded both ways, ARP answered and resolved on both ports.
    let tx = counter(&out, "total:", "tx_packets").unwrap();
    assert!(tx >= 8, "{out}");
    assert!(
        ttl4.contains("From 192.0.2.1") && ttl4.contains("Time to live exceeded"),
        "IPv4 time exceeded from the dataplane: {ttl4}\n{out}"
    );
    assert!(
        ttl6.contains("From 2001:db8:a::1") && ttl6.contains("Time exceeded"),
        "ICMPv6 time exceeded from the dataplane: {ttl6}\n{out}"
    );
    assert!(
        counter(&out, "total:", "icmp_errors").unwrap() >= 2,
        "{out}"
    );
    let echo = counter(&out, "total:", "echo_replies").unwrap();
    assert!(
        echo >= 4,
        "echo replies from the dataplane's addresses\n{out}"
    );
    let replies = counter(&out, "main:", "arp_replies").unwrap();
    let resolved = counter(&out, "main:", "neighbors_resolved").unwrap();
    assert!(replies >= 1 && resolved >= 2, "{out}");
    let installed = counter(&out, "main:", "routes_installed").unwrap();
    assert!(
        installed >= 4,
        "host routes for A and C, IPv4 and IPv6\n{out}"
    );
    // ND: a Neighbor Solicitation sent (for host C) and a Neighbor
    // Advertisement for our address.
    assert!(counter(&out, "main:", "ns_sent").unwrap() >= 1, "{out}");
    assert!(counter(&out, "main:", "na_sent").unwrap() >= 1, "{out}");
    // Host C timed out, for IPv4 and IPv6: its host routes and the route
    // through it are removed.
    let removed = counter(&out, "main:", "routes_removed").unwrap();
    assert!(removed >= 3, "{out}");
    assert!(
        counter(&out, "main:", "neighbors_failed").unwrap() >= 2,
        "{out}"
    );
}
