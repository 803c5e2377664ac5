//! The dataplane process's configuration (its TOML file, `appliance::dp`)
//! derived from the IOS-style configuration: `dataplane port IFACE device
//! DEV` makes a port with that interface's addresses, `dataplane cores`
//! and `dataplane eal` set EAL, and `ip route`/`ipv6 route` through a
//! gateway or a physical interface become the dataplane's static routes
//! (routes into tunnels belong to the control plane, which pushes them at
//! run time).
//!
//! `appliance run` writes the result next to its runtime files and starts
//! `appliance dataplane` on it: the two processes stay separate.

use std::fmt::Write as _;
use std::net::IpAddr;

use controlplane::config::{Config, Ipv4Address};

/// Quotes a TOML string.
fn q(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(o, "\\u{:04x}", u32::from(c));
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Lcores in a list like `2-5` or `1,3,5`.
fn count_cores(list: &str) -> Result<usize, String> {
    let mut n = 0usize;
    for part in list.split(',') {
        let part = part.trim();
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (
                    a.trim().parse().map_err(|_| format!("bad core {a:?}"))?,
                    b.trim().parse().map_err(|_| format!("bad core {b:?}"))?,
                );
                if b < a {
                    return Err(format!("bad core range {part:?}"));
                }
                n += b - a + 1;
            }
            None => {
                let _: usize = part.parse().map_err(|_| format!("bad core {part:?}"))?;
                n += 1;
            }
        }
    }
    Ok(n)
}

/// The dataplane TOML of a configuration.
///
/// # Errors
///
/// No `dataplane port`, or statements that cannot be expressed (a message
/// naming the line).
pub fn dataplane_toml(cfg: &Config) -> Result<String, String> {
    if cfg.dataplane_ports.is_empty() {
        return Err(
            "no `dataplane port IFACE device DEVICE` statement: the dataplane has no ports"
                .to_string(),
        );
    }
    let mut t = String::from("# Generated from the IOS-style configuration by `appliance run`.\n");
    let mut eal = String::from("[eal]\n");
    let mut workers = 1usize;
    if let Some(c) = &cfg.dataplane_cores {
        let n = count_cores(c).map_err(|e| format!("dataplane cores {c}: {e}"))?;
        if n < 2 {
            return Err(format!(
                "dataplane cores {c}: a main lcore and at least one worker are needed"
            ));
        }
        workers = n - 1;
        let _ = writeln!(eal, "cores = {}", q(c));
    }
    let mut args = Vec::new();
    let mut it = cfg.dataplane_eal.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-huge" => eal.push_str("no_huge = true\n"),
            "--no-shconf" => eal.push_str("no_shconf = true\n"),
            "--in-memory" => eal.push_str("in_memory = true\n"),
            "-m" => {
                let m = it.next().ok_or("dataplane eal: -m needs a size in MB")?;
                let m: u32 = m.parse().map_err(|_| format!("dataplane eal: -m {m}"))?;
                let _ = writeln!(eal, "memory = {m}");
            }
            "--file-prefix" => {
                let p = it
                    .next()
                    .ok_or("dataplane eal: --file-prefix needs a name")?;
                let _ = writeln!(eal, "file_prefix = {}", q(p));
            }
            other => args.push(q(other)),
        }
    }
    if !args.is_empty() {
        let _ = writeln!(eal, "args = [{}]", args.join(", "));
    }
    let _ = writeln!(t, "workers = {workers}");
    // Busy polling for dedicated cores; adaptive (the default) backs off
    // when idle, for shared machines.
    if let Some(busy) = cfg.dataplane_busy {
        let _ = writeln!(t, "idle = {}", q(if busy { "busy" } else { "adaptive" }));
    }
    if let Some(b) = &cfg.dataplane_crypto {
        let _ = writeln!(t, "crypto = {}", q(b));
    }
    if let Some(f) = &cfg.dataplane_log_format {
        let _ = writeln!(t, "log_format = {}", q(f));
    }
    t.push('\n');
    t.push_str(&eal);
    for p in &cfg.dataplane_ports {
        let Some(i) = cfg.interfaces.get(&p.interface) else {
            return Err(format!(
                "line {}: dataplane port for {}, which is not defined",
                p.line, p.interface
            ));
        };
        let _ = writeln!(
            t,
            "\n[[ports]]\nname = {}\ndevice = {}",
            q(&p.interface),
            q(&p.device)
        );
        if let Ipv4Address::Static(a, len) = i.ipv4 {
            let _ = writeln!(t, "ipv4 = [{}]", q(&format!("{a}/{len}")));
        }
        if !i.ipv6.is_empty() {
            let v: Vec<String> = i.ipv6.iter().map(|(a, l)| q(&format!("{a}/{l}"))).collect();
            let _ = writeln!(t, "ipv6 = [{}]", v.join(", "));
        }
        if let Some(m) = i.mtu {
            let _ = writeln!(t, "mtu = {m}");
        }
    }
    let ports: Vec<&str> = cfg
        .dataplane_ports
        .iter()
        .map(|p| p.interface.as_str())
        .collect();
    for r in &cfg.routes {
        // Through a gateway, or out of a port: the dataplane's. Into a
        // tunnel: the control plane's.
        let via = r.via.iter().find_map(|v| {
            if v.parse::<IpAddr>().is_ok() || ports.contains(&v.as_str()) || v == "Null0" {
                Some(v.clone())
            } else {
                None
            }
        });
        let Some(via) = via else { continue };
        let _ = writeln!(
            t,
            "\n[[routes]]\nprefix = {}\nvia = {}",
            q(&format!("{}/{}", r.prefix, r.len)),
            q(&via)
        );
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/../controlplane/tests/configs/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn test_hub_dataplane_config() {
        let text = seed("static-hub.conf")
            + "dataplane port Ethernet0/0 device net_af_packet0,iface=veth-hub\ndataplane cores 0-2\ndataplane eal --no-huge -m 256 --no-shconf --log-level 4\ndataplane idle busy\ndataplane crypto ring\ndataplane log-format json\nip route 198.51.100.0 255.255.255.0 10.0.0.1\nip route 10.9.0.0 255.255.0.0 Tunnel5\n";
        let cfg = controlplane::config::parse(&text).config.unwrap();
        let toml = dataplane_toml(&cfg).unwrap();
        let dp = crate::dp::config::Config::parse(&toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
        let plan = dp.plan().unwrap_or_else(|e| panic!("{e}\n{toml}"));
        assert_eq!(dp.workers, 2);
        assert_eq!(dp.idle, crate::dp::config::IdleMode::Busy);
        assert_eq!(plan.crypto, dataplane::crypto::Backend::Ring);
        assert_eq!(plan.log_format, crate::dp::config::LogFormat::Json);
        assert_eq!(dp.ports.len(), 1);
        assert_eq!(dp.ports[0].name, "Ethernet0/0");
        assert_eq!(dp.ports[0].ipv4, vec!["10.0.0.100/24".to_string()]);
        assert!(dp.eal.no_huge && dp.eal.no_shconf);
        assert_eq!(dp.eal.memory, Some(256));
        assert_eq!(
            dp.eal.args,
            vec!["--log-level".to_string(), "4".to_string()]
        );
        // The gateway route is the dataplane's; the tunnel route is not.
        assert_eq!(dp.routes.len(), 1);
        assert_eq!(dp.routes[0].via, "10.0.0.1");
        let _ = plan;
    }

    #[test]
    fn test_errors() {
        let cfg = controlplane::config::parse(&seed("static-hub.conf"))
            .config
            .unwrap();
        assert!(dataplane_toml(&cfg)
            .unwrap_err()
            .contains("no `dataplane port"));
        let text = seed("static-hub.conf")
            + "dataplane port Ethernet0/0 device net_null0\ndataplane cores 3\n";
        let cfg = controlplane::config::parse(&text).config.unwrap();
        assert!(dataplane_toml(&cfg)
            .unwrap_err()
            .contains("at least one worker"));
        assert_eq!(count_cores("1,3-5").unwrap(), 4);
        assert!(count_cores("5-3").is_err());
        // A quote in a device string stays a string.
        let text =
            seed("static-hub.conf") + "dataplane port Ethernet0/0 device net_pcap0,rx_pcap=\"x\n";
        let cfg = controlplane::config::parse(&text).config.unwrap();
        let toml = dataplane_toml(&cfg).unwrap();
        let dp = crate::dp::config::Config::parse(&toml).unwrap();
        assert_eq!(dp.ports[0].device, "net_pcap0,rx_pcap=\"x");
    }
}
