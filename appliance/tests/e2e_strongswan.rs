//! A standard IKEv2 client, strongSwan's charon (userspace ESP), connects
//! to the running hub of the scenario (dataplane and control plane)
//! through a second IKEv2 profile whose Virtual-Template2 is in IPsec mode,
//! gets a virtual IP from the hub's pool, and reaches host1's network
//! behind spoke1 through the hub; host1 answers.
//!
//! Needs root, iproute2, ethtool and charon (scripts/install-deps.sh).

use std::time::Duration;

use appliance::demo::scenario::{strongswan_client, Scenario, Variant, HUB_CLIENT_PROFILE};
use system_tests::charon::{self, Charon};

#[test]
fn strongswan_client_reaches_host1_through_the_hub() {
    if let Some(why) = charon::missing() {
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("skipped: {why}");
        return;
    }
    let tag = format!("s{}", std::process::id() % 100_000);
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut s = Scenario::start_with(
        std::path::Path::new(env!("CARGO_BIN_EXE_appliance")),
        &tag,
        &dir,
        Variant::default(),
        [HUB_CLIENT_PROFILE, "", ""],
    )
    .unwrap();
    let client = s.topo.add_wan_host("c1", "10.0.0.130/24").unwrap();
    s.wait("spoke1 up", Duration::from_secs(30), |s| {
        s.show(1, &["crypto", "ikev2", "client", "flexvpn"])
            .contains("Current State:UP")
    })
    .unwrap();
    let c = Charon::start_with(&client, &dir.join("charon"), true).unwrap();
    c.load(&strongswan_client("192.168.110.0/24")).unwrap();
    let r = c.swanctl(&["--initiate", "--child", "net", "--timeout", "20"]);
    let sas = c.swanctl(&["--list-sas"]).unwrap_or_default();
    assert!(
        r.is_ok() && sas.contains("ESTABLISHED"),
        "{r:?}\n{sas}\n{}\n{}",
        c.log(),
        s.logs()
    );
    let vip = sas
        .split_whitespace()
        .find(|w| w.starts_with("172.16.0."))
        .unwrap_or_else(|| panic!("no virtual IP from flex-pool: {sas}"))
        .trim_end_matches(',')
        .trim_end_matches("/32")
        .to_string();
    // The hub: an IPsec-mode Virtual-Access for the client.
    let ifs = s.show(0, &["interfaces"]);
    assert!(ifs.contains("Tunnel protocol/transport IPSEC/IP"), "{ifs}");
    // The client reaches host1 behind spoke1, from its virtual IP.
    let mut last = String::new();
    let mut ok = false;
    for _ in 0..10 {
        match s.topo.exec(
            &client,
            &[
                "ping",
                "-n",
                "-c",
                "2",
                "-W",
                "2",
                "-I",
                &vip,
                &s.topo.hosts[0].addr,
            ],
        ) {
            Ok(_) => {
                ok = true;
                break;
            }
            Err(e) => last = e.to_string(),
        }
    }
    assert!(
        ok,
        "{last}\n{}\n{}\n{}\n{}",
        s.show(0, &["ip", "route"]),
        s.show(0, &["dataplane"]),
        c.log(),
        s.logs()
    );
    drop(c);
    assert!(s.stop(), "{}", s.logs());
}
