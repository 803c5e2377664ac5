//! The source document's network in Linux network namespaces, for the demo
//! and the end-to-end tests:
//!
//! ```text
//!                     ns WAN: bridge br0 (the 10.0.0.0/24 segment)
//!          +------------------+------------------+
//!        eth0               eth0               eth0
//!   ns HUB (appliance)  ns S1 (appliance)  ns S2 (appliance)
//!   10.0.0.100          10.0.0.110         10.0.0.120
//!                       eth1 192.168.110.1 eth1 192.168.120.1
//!                        |                  |
//!                       eth0               eth0
//!                   ns H1 host1         ns H2 host2
//!                   192.168.110.10      192.168.120.10
//! ```
//!
//! The appliances' ends have no kernel address and IPv6 off: the
//! dataplane owns them (`net_af_packet`), so the kernel of an appliance's
//! namespace stays out of the way. Hosts are plain kernel hosts with a
//! default route to their spoke. Every name carries a tag, so topologies of
//! parallel tests do not meet; dropping the [`Topology`] deletes its
//! namespaces (and with them every veth and the bridge), also when a test
//! fails.

use std::process::Command;

use anyhow::{bail, Context, Result};

/// The nodes.
pub const APPLIANCES: [&str; 3] = ["hub", "spoke1", "spoke2"];

/// Runs `ip` (or another command) and fails with its output.
pub fn must(args: &[&str]) -> Result<String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .with_context(|| format!("running {args:?}"))?;
    if !out.status.success() {
        bail!(
            "{args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A host behind a spoke.
#[derive(Debug, Clone)]
pub struct Host {
    /// Namespace.
    pub ns: String,
    /// Its IPv4 address.
    pub addr: String,
    /// Its IPv6 address.
    pub addr6: String,
}

/// The namespaces; deleted on drop.
#[derive(Debug)]
pub struct Topology {
    /// The tag in every name.
    pub tag: String,
    /// The WAN segment's namespace (the bridge).
    pub wan: String,
    /// Appliance namespaces: hub, spoke1, spoke2.
    pub appliances: [String; 3],
    /// host1 (behind spoke1) and host2 (behind spoke2).
    pub hosts: [Host; 2],
    /// Extra namespaces on the WAN (clients), by name.
    pub extra: Vec<String>,
    created: Vec<String>,
}

impl Drop for Topology {
    fn drop(&mut self) {
        for ns in self.created.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

fn sysctl(ns: &str, key: &str) -> Result<()> {
    must(&["ip", "netns", "exec", ns, "sysctl", "-qw", key]).map(|_| ())
}

impl Topology {
    /// Builds it. `tag`: a few characters unique to the caller (namespace
    /// names are `fv{tag}-hub` and so on).
    ///
    /// # Errors
    ///
    /// An `ip` command failed (not root, iproute2 missing, names taken).
    pub fn create(tag: &str) -> Result<Self> {
        let n = |s: &str| format!("fv{tag}-{s}");
        let mut t = Self {
            tag: tag.to_string(),
            wan: n("wan"),
            appliances: APPLIANCES.map(n),
            hosts: [
                Host {
                    ns: n("h1"),
                    addr: "192.168.110.10".into(),
                    addr6: "fd00:110::10".into(),
                },
                Host {
                    ns: n("h2"),
                    addr: "192.168.120.10".into(),
                    addr6: "fd00:120::10".into(),
                },
            ],
            extra: Vec::new(),
            created: Vec::new(),
        };
        let all: Vec<String> = std::iter::once(t.wan.clone())
            .chain(t.appliances.iter().cloned())
            .chain(t.hosts.iter().map(|h| h.ns.clone()))
            .collect();
        for ns in &all {
            must(&["ip", "netns", "add", ns])?;
            t.created.push(ns.clone());
            must(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
        }
        must(&["ip", "-n", &t.wan, "link", "add", "br0", "type", "bridge"])?;
        must(&["ip", "-n", &t.wan, "link", "set", "br0", "up"])?;
        for (i, a) in t.appliances.clone().iter().enumerate() {
            t.attach_wan(a, &format!("w{i}"))?;
        }
        for (i, h) in t.hosts.clone().iter().enumerate() {
            let spoke = &t.appliances[i + 1];
            must(&[
                "ip", "link", "add", "eth1", "netns", spoke, "type", "veth", "peer", "name",
                "eth0", "netns", &h.ns,
            ])?;
            appliance_end(spoke, "eth1")?;
            let net = if i == 0 { "110" } else { "120" };
            sysctl(&h.ns, "net.ipv6.conf.eth0.accept_dad=0")?;
            must(&[
                "ip",
                "-n",
                &h.ns,
                "addr",
                "add",
                &format!("{}/24", h.addr),
                "dev",
                "eth0",
            ])?;
            must(&[
                "ip",
                "-n",
                &h.ns,
                "addr",
                "add",
                &format!("{}/64", h.addr6),
                "dev",
                "eth0",
                "nodad",
            ])?;
            must(&["ip", "-n", &h.ns, "link", "set", "eth0", "up"])?;
            // The kernel would leave UDP/TCP checksums for the (virtual)
            // NIC to fill in; net_af_packet on the other end reads them
            // unfilled. Hosts compute them themselves, as behind a real NIC.
            must(&[
                "ip", "netns", "exec", &h.ns, "ethtool", "-K", "eth0", "tx", "off",
            ])?;
            must(&[
                "ip",
                "-n",
                &h.ns,
                "route",
                "add",
                "default",
                "via",
                &format!("192.168.{net}.1"),
            ])?;
            must(&[
                "ip",
                "-n",
                &h.ns,
                "-6",
                "route",
                "add",
                "default",
                "via",
                &format!("fd00:{net}::1"),
            ])?;
        }
        Ok(t)
    }

    /// Connects namespace `ns`'s `eth0` to the WAN bridge (the bridge side
    /// is named `port`).
    fn attach_wan(&self, ns: &str, port: &str) -> Result<()> {
        must(&[
            "ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port,
            "netns", &self.wan,
        ])?;
        must(&[
            "ip", "-n", &self.wan, "link", "set", port, "master", "br0", "up",
        ])?;
        appliance_end(ns, "eth0")
    }

    /// Adds a namespace on the WAN (a strongSwan client, say) whose `eth0`
    /// has the kernel address `addr` (with its prefix length).
    ///
    /// # Errors
    ///
    /// As [`Topology::create`].
    pub fn add_wan_host(&mut self, name: &str, addr: &str) -> Result<String> {
        let ns = format!("fv{}-{name}", self.tag);
        must(&["ip", "netns", "add", &ns])?;
        self.created.push(ns.clone());
        self.extra.push(ns.clone());
        must(&["ip", "-n", &ns, "link", "set", "lo", "up"])?;
        let port = format!("w{}", 3 + self.extra.len());
        must(&[
            "ip", "link", "add", "eth0", "netns", &ns, "type", "veth", "peer", "name", &port,
            "netns", &self.wan,
        ])?;
        must(&[
            "ip", "-n", &self.wan, "link", "set", &port, "master", "br0", "up",
        ])?;
        sysctl(&ns, "net.ipv6.conf.eth0.accept_dad=0")?;
        let fam = if addr.contains(':') { "-6" } else { "-4" };
        must(&[
            "ip", "-n", &ns, fam, "addr", "add", addr, "dev", "eth0", "nodad",
        ])
        .or_else(|_| must(&["ip", "-n", &ns, fam, "addr", "add", addr, "dev", "eth0"]))?;
        must(&["ip", "-n", &ns, "link", "set", "eth0", "up"])?;
        must(&[
            "ip", "netns", "exec", &ns, "ethtool", "-K", "eth0", "tx", "off",
        ])?;
        Ok(ns)
    }

    /// Runs a command inside a namespace.
    ///
    /// # Errors
    ///
    /// The command failed.
    pub fn exec(&self, ns: &str, args: &[&str]) -> Result<String> {
        let mut v = vec!["ip", "netns", "exec", ns];
        v.extend_from_slice(args);
        must(&v)
    }
}

/// An appliance's end of a link: up, no kernel address, no IPv6, so the
/// dataplane (`net_af_packet`) alone answers on it.
fn appliance_end(ns: &str, dev: &str) -> Result<()> {
    sysctl(ns, &format!("net.ipv6.conf.{dev}.disable_ipv6=1"))?;
    must(&["ip", "-n", ns, "link", "set", dev, "up"]).map(|_| ())
}
