//! Receive-side spreading on a multi-queue device: a net_tap port with two
//! receive queues (and RSS configured, as `port_tap_rss.rs` checks) gets 64
//! UDP flows from the kernel, and both queues receive packets, each flow on
//! one queue only, none lost.
//!
//! The queue of a packet is chosen by the kernel's tun driver from the
//! flow's hash (a multi-queue tap has one file descriptor per queue); this
//! is the path a worker per queue sees on a NIC with RSS.
//!
//! The test runs itself again under `unshare --net`, so the tap interface
//! and the traffic live in a network namespace of their own that vanishes
//! with the child process. Needs root, /dev/net/tun and unshare (CI has
//! them); without them it says so and passes without checking.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::UdpSocket;
use std::process::Command;
use std::time::{Duration, Instant};

use dataplane::buffer::PacketBuf;
use ffi::{MbufBurst, Mempool, MempoolConfig, Port, PortConfig, Rss};

const CHILD_ENV: &str = "FFI_TAP_SPREAD_CHILD";
const FLOWS: u16 = 64;
const PER_FLOW: usize = 4;
const DST: &str = "10.99.0.2";

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn tap_flows_spread_over_two_queues() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
        return;
    }
    let unshare_ok = Command::new("unshare")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !is_root() || !std::path::Path::new("/dev/net/tun").exists() || !unshare_ok {
        eprintln!("skipped: needs root, /dev/net/tun and unshare");
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new("unshare")
        .arg("--net")
        .arg(&exe)
        .args(["--exact", "tap_flows_spread_over_two_queues", "--nocapture"])
        .env(CHILD_ENV, "1")
        .output()
        .expect("run the child under unshare");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "child failed");
    assert!(text.contains("spread:"), "the child did not run the check");
}

/// Inside the private namespace.
fn child() {
    let iface = "spreadtap0";
    let eal = common::eal("0")
        .vdev(format!("net_tap0,iface={iface}"))
        .init()
        .expect("EAL init");
    let pool = Mempool::new(&eal, &MempoolConfig::new("spread_pool", 4095)).expect("pool");
    let mut port =
        Port::open_by_name(&eal, "net_tap0", &pool, &PortConfig::with_queues(2, 2)).expect("open");
    assert!(
        matches!(port.rss(), Rss::Enabled { .. }),
        "RSS not configured: {}",
        port.rss()
    );
    port.start().expect("start");
    let mut queues = [
        port.rx_queue(0).expect("rxq 0"),
        port.rx_queue(1).expect("rxq 1"),
    ];

    // The kernel side: an address on the tap, and a static neighbour for
    // the destination so that the kernel sends without ARP.
    ip(&["link", "set", "lo", "up"]);
    ip(&["addr", "add", "10.99.0.1/24", "dev", iface]);
    ip(&["link", "set", iface, "up"]);
    ip(&[
        "neigh",
        "add",
        DST,
        "lladdr",
        "02:00:00:00:99:02",
        "dev",
        iface,
        "nud",
        "permanent",
    ]);

    let mut sockets = Vec::new();
    for i in 0..FLOWS {
        let s = UdpSocket::bind(("10.99.0.1", 40_000 + i)).expect("bind");
        sockets.push(s);
    }
    for _ in 0..PER_FLOW {
        for s in &sockets {
            s.send_to(b"spread", (DST, 9)).expect("send");
        }
    }

    // Source port -> queues it arrived on; bounded polling.
    let mut seen: HashMap<u16, HashSet<usize>> = HashMap::new();
    let mut per_queue = [0usize; 2];
    let want = usize::from(FLOWS) * PER_FLOW;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut burst: MbufBurst<32> = MbufBurst::new();
    while per_queue.iter().sum::<usize>() < want && Instant::now() < deadline {
        let mut got = 0;
        for (q, rx) in queues.iter_mut().enumerate() {
            got += rx.rx_burst(&mut burst);
            for m in burst.drain() {
                if let Some(sport) = udp_to_dst(m.data()) {
                    per_queue[q] += 1;
                    seen.entry(sport).or_default().insert(q);
                }
            }
        }
        if got == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    println!(
        "spread: queue 0 {} packets, queue 1 {}",
        per_queue[0], per_queue[1]
    );
    assert_eq!(
        per_queue.iter().sum::<usize>(),
        want,
        "every packet arrives"
    );
    assert!(
        per_queue[0] > 0 && per_queue[1] > 0,
        "both queues receive: {per_queue:?}"
    );
    assert_eq!(seen.len(), usize::from(FLOWS), "every flow arrives");
    for (sport, qs) in &seen {
        assert_eq!(qs.len(), 1, "flow {sport} stays on one queue: {qs:?}");
    }
    drop(queues);
    port.stop().expect("stop");
}

/// The UDP source port of an Ethernet/IPv4/UDP frame to `DST` port 9.
fn udp_to_dst(f: &[u8]) -> Option<u16> {
    if f.len() < 42 || f[12..14] != [0x08, 0x00] || f[23] != 17 {
        return None;
    }
    let ihl = usize::from(f[14] & 0x0f) * 4;
    let dst: std::net::Ipv4Addr = DST.parse().ok()?;
    if f[30..34] != dst.octets() {
        return None;
    }
    let udp = f.get(14 + ihl..14 + ihl + 8)?;
    if udp[2..4] != [0, 9] {
        return None;
    }
    Some(u16::from_be_bytes([udp[0], udp[1]]))
}
