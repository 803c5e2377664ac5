//! A standard IKEv2 client, strongSwan's charon, connects to the hub's
//! control plane (`appliance controlplane --udp`) through a second IKEv2
//! profile whose Virtual-Template2 is in IPsec mode: it gets a virtual IP
//! from the hub's pool and the pushed routes, and the hub clones an
//! IPsec-mode Virtual-Access for it. The hub runs the source document's
//! `static-hub.conf` with pre-shared keys and the client profile added.
//!
//! Only IKE is checked here (the control plane runs on kernel sockets,
//! without a dataplane; `e2e_strongswan.rs` goes through the dataplane).
//! Needs root, iproute2 and charon (scripts/install-deps.sh).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use appliance::demo::scenario::{strongswan_client, HUB_CLIENT_PROFILE};
use appliance::demo::topology::Topology;
use system_tests::charon::{self, Charon};
use system_tests::Scratch;

fn show(socket: &Path, words: &[&str]) -> String {
    appliance::cp::show_text(socket, words)
}

#[test]
fn strongswan_client_through_an_ipsec_mode_template() {
    if let Some(why) = charon::missing() {
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("skipped: {why}");
        return;
    }
    let tag = format!("c{}", std::process::id() % 100_000);
    let mut topo = Topology::create(&tag).unwrap();
    let hub_ns = topo.appliances[0].clone();
    // The control plane on kernel sockets needs the kernel's address.
    topo.exec(
        &hub_ns,
        &["ip", "addr", "add", "10.0.0.100/24", "dev", "eth0"],
    )
    .unwrap();
    let client_ns = topo.add_wan_host("c1", "10.0.0.130/24").unwrap();
    let dir = Scratch::new("cp-strongswan");
    let seed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../controlplane/tests/configs/static-hub.conf"),
    )
    .unwrap()
    .replace("rsa-sig", "pre-share")
    .replace("pki trustpoint CA", "keyring local spokes");
    let conf = dir.join("hub.conf");
    std::fs::write(
        &conf,
        seed + "!\ncrypto ikev2 keyring spokes\n peer any\n  address 0.0.0.0 0.0.0.0\n  pre-shared-key spoke-key\n" + HUB_CLIENT_PROFILE,
    )
    .unwrap();
    let sock = dir.join("hub.sock");
    let log = dir.join("hub.log");
    let mut hub = Command::new("ip")
        .args([
            "netns",
            "exec",
            &hub_ns,
            env!("CARGO_BIN_EXE_appliance"),
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
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let hub = Kill(&mut hub);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(
            Instant::now() < deadline,
            "hub did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let c = Charon::start(&client_ns, &dir.join("charon")).unwrap();
    c.load(&strongswan_client("0.0.0.0/0")).unwrap();
    let r = c.swanctl(&["--initiate", "--child", "net", "--timeout", "15"]);
    let sas = c.swanctl(&["--list-sas"]).unwrap_or_default();
    assert!(
        r.is_ok() && sas.contains("ESTABLISHED"),
        "{r:?}\n{sas}\n{}\n{}",
        c.log(),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // The virtual IP comes from flex-pool.
    assert!(sas.contains("172.16.0."), "{sas}");
    // The hub: a Virtual-Access in IPsec mode from Virtual-Template2.
    let detail = show(&sock, &["crypto", "ikev2", "sa", "detail"]);
    assert!(detail.contains("READY"), "{detail}");
    assert!(
        detail.contains("Remote id: fqdn:c1.clients.example"),
        "{detail}"
    );
    assert!(detail.contains("Assigned host addr: 172.16.0."), "{detail}");
    let ifs = show(&sock, &["interfaces"]);
    assert!(
        ifs.contains("Virtual-Access1 is up") && ifs.contains("Tunnel protocol/transport IPSEC/IP"),
        "{ifs}"
    );
    // Its address is routed into that Virtual-Access.
    let routes = show(&sock, &["ip", "route"]);
    assert!(
        routes.contains("is directly connected, Virtual-Access1"),
        "{routes}"
    );
    drop(hub);
}
