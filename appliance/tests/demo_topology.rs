//! The demo's namespaces: built, wired (a temporary kernel address on two
//! appliance ends pings across the WAN bridge; hosts sit on their LAN
//! links), and gone after the drop.
//!
//! Needs root and iproute2; CI runs as root.

use appliance::demo::topology::{must, Topology};

#[test]
fn topology_is_wired_and_cleaned_up() {
    let tag = format!("t{}", std::process::id() % 100_000);
    let names;
    {
        let t = Topology::create(&tag).unwrap();
        names = std::iter::once(t.wan.clone())
            .chain(t.appliances.iter().cloned())
            .chain(t.hosts.iter().map(|h| h.ns.clone()))
            .collect::<Vec<_>>();
        let listed = must(&["ip", "netns", "list"]).unwrap();
        for n in &names {
            assert!(listed.contains(n.as_str()), "{n} missing: {listed}");
        }
        // The appliances' ends have no kernel address.
        let a = must(&[
            "ip",
            "-n",
            &t.appliances[1],
            "-4",
            "addr",
            "show",
            "dev",
            "eth0",
        ])
        .unwrap();
        assert!(!a.contains("inet "), "{a}");
        // Wire check: give the hub's and spoke1's WAN ends a kernel
        // address for a moment and ping across the bridge.
        t.exec(
            &t.appliances[0],
            &["ip", "addr", "add", "10.0.0.100/24", "dev", "eth0"],
        )
        .unwrap();
        t.exec(
            &t.appliances[1],
            &["ip", "addr", "add", "10.0.0.110/24", "dev", "eth0"],
        )
        .unwrap();
        t.exec(
            &t.appliances[1],
            &["ping", "-c", "1", "-W", "5", "10.0.0.100"],
        )
        .unwrap();
        // A LAN link: spoke2's end reaches host2.
        t.exec(
            &t.appliances[2],
            &["ip", "addr", "add", "192.168.120.1/24", "dev", "eth1"],
        )
        .unwrap();
        t.exec(
            &t.appliances[2],
            &["ping", "-c", "1", "-W", "5", &t.hosts[1].addr],
        )
        .unwrap();
        let r = t.exec(&t.hosts[0].ns, &["ip", "route"]).unwrap();
        assert!(r.contains("default via 192.168.110.1"), "{r}");
    }
    let listed = must(&["ip", "netns", "list"]).unwrap();
    for n in &names {
        assert!(!listed.contains(n.as_str()), "{n} left behind: {listed}");
    }
}
