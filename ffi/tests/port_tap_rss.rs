//! RSS on a device that supports it: a net_tap port with two receive
//! queues is configured with RSS over IP/UDP (net_tap advertises those hash
//! functions). Needs root and /dev/net/tun (as CI has); without them the
//! test says so and passes without checking.

mod common;

use ffi::{Mempool, MempoolConfig, Port, PortConfig, Rss, RSS_HASH_FUNCTIONS};

#[test]
fn tap_two_queues_use_rss() {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !root || !std::path::Path::new("/dev/net/tun").exists() {
        eprintln!("skipped: needs root and /dev/net/tun");
        return;
    }
    let iface = format!("ffitap{}", std::process::id() % 100_000);
    let eal = common::eal("0")
        .vdev(format!("net_tap0,iface={iface}"))
        .init()
        .expect("EAL init");
    let pool = Mempool::new(&eal, &MempoolConfig::new("tap_pool", 2047)).expect("pool");
    let mut port =
        Port::open_by_name(&eal, "net_tap0", &pool, &PortConfig::with_queues(2, 2)).expect("open");
    eprintln!("{}", port.rss());
    match port.rss() {
        Rss::Enabled { hash_functions } => {
            assert_ne!(hash_functions, 0);
            assert_eq!(hash_functions & !RSS_HASH_FUNCTIONS, 0);
        }
        other => panic!("expected RSS on net_tap, got {other}"),
    }
    port.start().expect("start");
    let _ = port.mac_addr().expect("mac");
    port.stop().expect("stop");
}
