//! Interoperability with strongSwan's charon (5.9, userspace ESP through
//! kernel-libipsec) in a network namespace, both directions, PSK, with the
//! configuration payload:
//!
//! 1. charon is the hub (address pool, DNS, pushed subnets); our endpoint
//!    is a spoke that asks for an address; over IPv4, then again over
//!    IPv6 outer addresses.
//! 2. our endpoint is the hub; charon is a spoke that asks for a virtual
//!    IP (`vips = 0.0.0.0`).
//!
//! Both directions also rekey: we rekey a Child SA and the IKE SA with
//! charon as hub; charon rekeys a Child SA and the IKE SA through our hub.
//! IKE_AUTH responses are large enough (many pushed subnets) and the
//! fragment sizes small enough that RFC 7383 fragments go both ways.
//! charon's DPD requests (1 s) are answered by our hub.
//!
//! kernel-libipsec makes charon claim a NAT, so both runs also cover NAT
//! detection and the move to port 4500.
//!
//! Skipped, with a message, when not root, or without charon, swanctl or
//! `ip`. Namespace and interface names are unique per run; a guard kills
//! charon and removes the namespace (and with it the veth pair) even when
//! an assertion fails. Every wait is bounded.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use controlplane::ikev2::config::{ts_any_v4, IpPrefix, PoolConfig};
use controlplane::ikev2::driver::UdpDriver;
use controlplane::ikev2::events::{CounterSpiAllocator, Event, RouteKind};
use controlplane::ikev2::{Config, Endpoint, Identity, IdentityMatch, Keyring, Psk};

const CHARON: &str = "/usr/lib/ipsec/charon";
const PSK: &[u8] = b"interop-psk-0123";

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn skip_reason() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root (network namespaces need it)".into());
    }
    if !Path::new(CHARON).exists() {
        return Some(format!(
            "{CHARON} missing (apt-get install strongswan-charon strongswan-swanctl libcharon-extra-plugins)"
        ));
    }
    for c in ["swanctl", "ip"] {
        if !have(c) {
            return Some(format!("{c} missing"));
        }
    }
    None
}

fn run(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{args:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The namespace, its veth pair and charon; removed on drop.
struct Lab {
    ns: String,
    dir: PathBuf,
    charon: Option<Child>,
    ours: Ipv4Addr,
    theirs: Ipv4Addr,
    ours6: Ipv6Addr,
    theirs6: Ipv6Addr,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut c) = self.charon.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.ns])
            .stderr(Stdio::null())
            .status();
        if std::env::var_os("KEEP_INTEROP_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Lab {
    fn new() -> Result<Self, String> {
        let id = std::process::id();
        let tag = format!(
            "{:x}{:x}",
            id,
            Instant::now().elapsed().subsec_nanos() % 0xfff
        );
        let ns = format!("ikesm-{tag}");
        let vh = format!("ik{}h", id % 1_000_000);
        let vn = format!("ik{}n", id % 1_000_000);
        let third = (id % 200 + 20) as u8;
        let ours = Ipv4Addr::new(10, 201, third, 1);
        let theirs = Ipv4Addr::new(10, 201, third, 2);
        let ours6 = Ipv6Addr::new(0xfd00, 0x201, u16::from(third), 0, 0, 0, 0, 1);
        let theirs6 = Ipv6Addr::new(0xfd00, 0x201, u16::from(third), 0, 0, 0, 0, 2);
        let dir = std::env::temp_dir().join(&ns);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let lab = Self {
            ns: ns.clone(),
            dir,
            charon: None,
            ours,
            theirs,
            ours6,
            theirs6,
        };
        run(&["ip", "netns", "add", &ns])?;
        run(&[
            "ip", "link", "add", &vh, "type", "veth", "peer", "name", &vn,
        ])?;
        run(&["ip", "link", "set", &vn, "netns", &ns])?;
        run(&["ip", "addr", "add", &format!("{ours}/24"), "dev", &vh])?;
        run(&[
            "ip",
            "addr",
            "add",
            &format!("{ours6}/64"),
            "dev",
            &vh,
            "nodad",
        ])?;
        run(&["ip", "link", "set", &vh, "up"])?;
        let e = |a: &[&str]| {
            let mut v = vec!["ip", "netns", "exec", &ns];
            v.extend_from_slice(a);
            run(&v)
        };
        e(&["ip", "addr", "add", &format!("{theirs}/24"), "dev", &vn])?;
        e(&[
            "ip",
            "addr",
            "add",
            &format!("{theirs6}/64"),
            "dev",
            &vn,
            "nodad",
        ])?;
        e(&["ip", "link", "set", &vn, "up"])?;
        e(&["ip", "link", "set", "lo", "up"])?;
        // charon's routes for its local_ts need a source address there.
        e(&["ip", "addr", "add", "10.10.0.1/32", "dev", "lo"])?;
        Ok(lab)
    }

    fn uri(&self) -> String {
        format!("unix://{}/charon.vici", self.dir.display())
    }

    fn start_charon(&mut self) -> Result<(), String> {
        let conf = format!(
            r#"charon {{
  load = random nonce openssl aes sha1 sha2 gcm chapoly hmac kdf pem pkcs1 pkcs8 x509 pubkey revocation constraints curve25519 gmp attr kernel-libipsec kernel-netlink socket-default vici updown
  install_routes = yes
  fragment_size = 576
  plugins {{
    vici {{ socket = {uri} }}
    kernel-libipsec {{ allow_peer_ts = yes }}
  }}
  filelog {{
    log {{ path = {dir}/charon.log
          default = 1
          ike = 2
          cfg = 2
          flush_line = yes }}
  }}
  syslog {{ daemon {{ default = -1 }} }}
}}
"#,
            uri = self.uri(),
            dir = self.dir.display()
        );
        let path = self.dir.join("strongswan.conf");
        std::fs::write(&path, conf).map_err(|e| e.to_string())?;
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns,
                "sh",
                "-c",
                &format!(
                    "mount -t tmpfs tmpfs /run && STRONGSWAN_CONF={} exec {CHARON}",
                    path.display()
                ),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        self.charon = Some(child);
        let socket = self.dir.join("charon.vici");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            if Instant::now() > deadline {
                return Err("charon did not open its vici socket".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The socket exists slightly before charon listens.
        std::thread::sleep(Duration::from_millis(300));
        Ok(())
    }

    fn load(&self, swanctl: &str) -> Result<(), String> {
        let path = self.dir.join("swanctl.conf");
        std::fs::write(&path, swanctl).map_err(|e| e.to_string())?;
        run(&[
            "swanctl",
            "--load-all",
            "--file",
            path.to_str().unwrap(),
            "--uri",
            &self.uri(),
        ])
        .map(|_| ())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("charon.log")).unwrap_or_default()
    }
}

fn endpoint(cfg: Config) -> Endpoint {
    Endpoint::new(cfg, Box::new(CounterSpiAllocator::new(0x4000))).unwrap()
}

fn keyring() -> Keyring {
    Keyring::new().with(IdentityMatch::Any, Psk::new(PSK))
}

/// charon as the hub, our endpoint as a spoke asking for an address.
fn charon_hub(lab: &Lab, ours: IpAddr, theirs: IpAddr) -> Result<(), String> {
    lab.load(&format!(
        r#"connections {{
  hub {{
    version = 2
    local_addrs = {theirs}
    proposals = aes128gcm16-prfsha256-curve25519,aes256-sha256-modp2048
    pools = spokes
    local {{
      auth = psk
      id = hub@example.test
    }}
    remote {{
      auth = psk
      id = %any
    }}
    children {{
      net {{
        esp_proposals = aes128gcm16,chacha20poly1305
        local_ts = 10.10.0.0/16
      }}
    }}
  }}
}}
pools {{
  spokes {{
    addrs = 10.99.0.0/24
    subnet = 10.10.0.0/16, 10.20.0.0/16, {more}
    dns = 10.10.0.53
  }}
}}
secrets {{
  ike-1 {{
    id-a = spoke1@example.test
    id-b = hub@example.test
    secret = "interop-psk-0123"
  }}
}}
"#,
        theirs = theirs,
        // Enough pushed subnets that charon's IKE_AUTH response is sent
        // as fragments (fragment_size = 576), which we reassemble.
        more = (0..60)
            .map(|i| format!("10.60.{i}.0/24"))
            .collect::<Vec<_>>()
            .join(", ")
    ))?;
    let mut cfg = Config::new(Identity::Email("spoke1@example.test".into()), keyring());
    cfg.cp_request.ipv4 = true;
    cfg.cp_request.dns = true;
    cfg.ts.local = vec![ts_any_v4()];
    cfg.ts.remote = vec![ts_any_v4()];
    let mut d = UdpDriver::bind(endpoint(cfg), &[ours]).map_err(|e| format!("bind: {e}"))?;
    d.endpoint()
        .initiate(
            Instant::now(),
            SocketAddr::new(ours, 500),
            SocketAddr::new(theirs, 500),
            Some(Identity::Email("hub@example.test".into())),
        )
        .map_err(|e| e.to_string())?;
    let mut events = Vec::new();
    let r = d.run_until(Instant::now() + Duration::from_secs(15), |_, e| {
        let done = matches!(e, Event::ChildSaInstalled(_) | Event::TunnelDown { .. });
        events.push(e);
        if done {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    // Collect what follows (routes).
    let _ = d.run_until(Instant::now() + Duration::from_millis(300), |_, e| {
        events.push(e);
        ControlFlow::Continue(())
    });
    if r.is_continue() {
        return Err(format!("no Child SA with charon as hub: {events:?}"));
    }
    let up = events
        .iter()
        .find_map(|e| match e {
            Event::TunnelUp(u) => Some(u.clone()),
            _ => None,
        })
        .ok_or_else(|| format!("no TunnelUp: {events:?}"))?;
    assert!(
        up.virtual_ips
            .iter()
            .any(|v| matches!(v, IpAddr::V4(a) if a.octets()[..3] == [10, 99, 0])),
        "{up:?}"
    );
    assert!(up.dns.contains(&"10.10.0.53".parse().unwrap()), "{up:?}");
    assert!(up.nat.any(), "kernel-libipsec fakes a NAT: {up:?}");
    let routes: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::RoutesAdd(r) => Some(r.routes.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(
        lab.log().contains("splitting IKE message"),
        "charon sent fragments"
    );
    assert_eq!(
        routes
            .iter()
            .filter(|r| r.kind == RouteKind::Pushed)
            .count(),
        62,
        "{routes:?}"
    );
    for p in ["10.10.0.0", "10.20.0.0"] {
        assert!(
            routes.iter().any(|r| r.kind == RouteKind::Pushed
                && r.prefix == IpPrefix::new(p.parse().unwrap(), 16)),
            "{routes:?}"
        );
    }
    let child = events.iter().find_map(|e| match e {
        Event::ChildSaInstalled(c) => Some(c.clone()),
        _ => None,
    });
    let child = child.unwrap();
    assert!(child.udp_encap);
    assert_eq!(child.remote.port(), 4500);
    let sas = run(&["swanctl", "--list-sas", "--uri", &lab.uri()])?;
    assert!(sas.contains("ESTABLISHED"), "{sas}");
    assert!(
        sas.contains(&format!("{:08x}", child.outbound_spi)),
        "{sas}"
    );
    // We rekey the Child SA, then the IKE SA, through charon.
    d.endpoint()
        .rekey_child_sa(Instant::now(), up.ike_sa, child.inbound_spi)
        .map_err(|e| e.to_string())?;
    let r = d.run_until(Instant::now() + Duration::from_secs(10), |_, e| {
        let done = matches!(e, Event::ChildSaRemoved { .. });
        events.push(e);
        if done {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert!(r.is_break(), "our Child SA rekey with charon: {events:?}");
    d.endpoint()
        .rekey_ike_sa(Instant::now(), up.ike_sa)
        .map_err(|e| e.to_string())?;
    let mut new_id = None;
    let r = d.run_until(Instant::now() + Duration::from_secs(10), |ep, e| {
        if let Event::IkeSaRekeyed { new, .. } = &e {
            new_id = Some(*new);
        }
        events.push(e);
        // Done when the old SA is gone (its Delete answered).
        if new_id.is_some()
            && ep
                .ike_sas()
                .iter()
                .filter(|s| s.state != controlplane::ikev2::state::IkeState::Closed)
                .count()
                == 1
        {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert!(r.is_break(), "our IKE SA rekey with charon: {events:?}");
    let sas = run(&["swanctl", "--list-sas", "--uri", &lab.uri()])?;
    assert_eq!(sas.matches("ESTABLISHED").count(), 1, "{sas}");
    assert!(sas.contains("INSTALLED"), "{sas}");
    // Delete from our side; charon must see the SA go.
    let id = new_id.ok_or("no new IKE SA")?;
    d.endpoint()
        .delete_ike_sa(Instant::now(), id)
        .map_err(|e| e.to_string())?;
    let _ = d.run_until(Instant::now() + Duration::from_secs(2), |ep, _| {
        if ep
            .ike_sas()
            .iter()
            .all(|s| s.state == controlplane::ikev2::state::IkeState::Closed)
        {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    let sas = run(&["swanctl", "--list-sas", "--uri", &lab.uri()])?;
    assert!(!sas.contains("ESTABLISHED"), "{sas}");
    Ok(())
}

/// Our endpoint as the hub, charon as a spoke asking for a virtual IP.
fn our_hub(lab: &Lab) -> Result<(), String> {
    let mut cfg = Config::new(Identity::Email("hub@example.test".into()), keyring());
    cfg.pool = Some(PoolConfig {
        v4: Some((Ipv4Addr::new(10, 99, 1, 1), Ipv4Addr::new(10, 99, 1, 200))),
        v6: None,
        dns: vec!["10.10.0.53".parse().unwrap()],
        domain: Some("example.test".into()),
        routes: vec![IpPrefix::new("10.10.0.0".parse().unwrap(), 16)],
    });
    // Many pushed routes and a small MTU: our IKE_AUTH response goes out
    // as RFC 7383 fragments, which charon must reassemble.
    if let Some(p) = &mut cfg.pool {
        for i in 0..60u8 {
            p.routes
                .push(IpPrefix::new(IpAddr::V4(Ipv4Addr::new(10, 50, i, 0)), 24));
        }
    }
    cfg.fragmentation.mtu = 576;
    cfg.ts.local = vec![IpPrefix::new("10.10.0.0".parse().unwrap(), 16).to_ts()];
    cfg.ts.remote = vec![ts_any_v4()];
    cfg.ts.narrow_to_virtual_ip = true;
    cfg.remote_match = vec![IdentityMatch::EmailDomain("example.test".into())];
    cfg.authenticator = Arc::new(keyring());
    let mut d = UdpDriver::bind(endpoint(cfg), &[IpAddr::V4(lab.ours)])
        .map_err(|e| format!("bind: {e}"))?;
    lab.load(&format!(
        r#"connections {{
  spoke {{
    version = 2
    local_addrs = {theirs}
    remote_addrs = {ours}
    proposals = aes256-sha256-modp2048
    vips = 0.0.0.0
    dpd_delay = 1s
    local {{
      auth = psk
      id = spoke1@example.test
    }}
    remote {{
      auth = psk
      id = hub@example.test
    }}
    children {{
      net {{
        esp_proposals = aes128gcm16
        remote_ts = 10.10.0.0/16
        start_action = none
      }}
    }}
  }}
}}
secrets {{
  ike-1 {{
    id-a = spoke1@example.test
    id-b = hub@example.test
    secret = "interop-psk-0123"
  }}
}}
"#,
        theirs = lab.theirs,
        ours = lab.ours
    ))?;
    let uri = lab.uri();
    let initiator = std::thread::spawn(move || {
        run(&[
            "swanctl",
            "--initiate",
            "--ike",
            "spoke",
            "--child",
            "net",
            "--timeout",
            "15",
            "--uri",
            &uri,
        ])
    });
    let mut events = Vec::new();
    let r = d.run_until(Instant::now() + Duration::from_secs(15), |_, e| {
        let done = matches!(e, Event::ChildSaInstalled(_) | Event::AuthFailed { .. });
        events.push(e);
        if done {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    // Keep answering while swanctl finishes.
    let _ = d.run_until(Instant::now() + Duration::from_millis(500), |_, e| {
        events.push(e);
        ControlFlow::Continue(())
    });
    let out = initiator.join().map_err(|_| "swanctl thread".to_string())?;
    if r.is_continue() {
        return Err(format!(
            "no Child SA with charon as spoke: {events:?} / {out:?}"
        ));
    }
    let out = out?;
    assert!(out.contains("completed successfully"), "{out}");
    let up = events.iter().find_map(|e| match e {
        Event::TunnelUp(u) => Some(u.clone()),
        _ => None,
    });
    let up = up.ok_or("no TunnelUp")?;
    assert_eq!(up.peer_id, Identity::Email("spoke1@example.test".into()));
    assert_eq!(
        up.assigned_ips,
        vec![IpAddr::V4(Ipv4Addr::new(10, 99, 1, 1))]
    );
    let sas = run(&["swanctl", "--list-sas", "--uri", &lab.uri()])?;
    assert!(sas.contains("ESTABLISHED"), "{sas}");
    assert!(
        sas.contains("10.99.1.1"),
        "charon got its virtual IP: {sas}"
    );
    let log = lab.log();
    assert!(
        log.contains("received fragment #"),
        "charon reassembled our fragments: {log}"
    );
    // charon's DPD (1 s without traffic) gets answered.
    let _ = d.run_until(Instant::now() + Duration::from_millis(2500), |_, e| {
        events.push(e);
        ControlFlow::Continue(())
    });
    let log = lab.log();
    assert!(log.contains("sending DPD request"), "{log}");
    assert!(
        !events.iter().any(|e| matches!(e, Event::TunnelDown { .. })),
        "{events:?}"
    );
    // charon rekeys the Child SA through us, then deletes the IKE SA.
    run(&["swanctl", "--rekey", "--child", "net", "--uri", &lab.uri()])?;
    let r = d.run_until(Instant::now() + Duration::from_secs(10), |_, e| {
        let done = matches!(e, Event::ChildSaRemoved { .. });
        events.push(e);
        if done {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert!(
        r.is_break(),
        "charon's Child SA rekey did not complete: {events:?}"
    );
    // charon rekeys the IKE SA through us: the tunnel moves to the new one.
    run(&["swanctl", "--rekey", "--ike", "spoke", "--uri", &lab.uri()])?;
    let r = d.run_until(Instant::now() + Duration::from_secs(10), |ep, e| {
        events.push(e);
        let rekeyed = events
            .iter()
            .any(|e| matches!(e, Event::IkeSaRekeyed { .. }));
        let live = ep
            .ike_sas()
            .iter()
            .filter(|s| s.state != controlplane::ikev2::state::IkeState::Closed)
            .count();
        // Done when the old SA is gone (charon deleted it).
        if rekeyed && live == 1 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert!(
        r.is_break(),
        "charon's IKE SA rekey did not complete: {events:?}"
    );
    let owning: Vec<_> = d
        .endpoint()
        .ike_sas()
        .into_iter()
        .filter(|s| s.owns_tunnel)
        .collect();
    assert_eq!(owning.len(), 1);
    assert_eq!(owning[0].children.len(), 1);
    let uri = lab.uri();
    let term = std::thread::spawn(move || {
        run(&[
            "swanctl",
            "--terminate",
            "--ike",
            "spoke",
            "--timeout",
            "10",
            "--uri",
            &uri,
        ])
    });
    let r = d.run_until(Instant::now() + Duration::from_secs(10), |_, e| {
        let done = matches!(e, Event::TunnelDown { .. });
        events.push(e);
        if done {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    let _ = term.join();
    assert!(
        r.is_break(),
        "no TunnelDown after charon's delete: {events:?}"
    );
    assert_eq!(d.endpoint().pool_in_use(), 0);
    Ok(())
}

#[test]
fn interop_strongswan_both_directions() {
    if let Some(why) = skip_reason() {
        eprintln!("interop_strongswan: SKIPPED: {why}");
        return;
    }
    let mut lab = Lab::new().expect("namespace setup");
    lab.start_charon().expect("charon");
    let r1 = charon_hub(&lab, IpAddr::V4(lab.ours), IpAddr::V4(lab.theirs));
    // The same over IPv6 outer addresses (IPv4 inside).
    let r6 = r1.as_ref().map_or(Ok(()), |_| {
        charon_hub(&lab, IpAddr::V6(lab.ours6), IpAddr::V6(lab.theirs6))
    });
    let r2 = r6.as_ref().map_or(Ok(()), |_| our_hub(&lab));
    if r1.is_err() || r6.is_err() || r2.is_err() {
        eprintln!("--- charon.log\n{}", lab.log());
    }
    r1.expect("charon as hub");
    r6.expect("charon as hub over IPv6");
    r2.expect("our endpoint as hub");
}
