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
//! `ip`. Namespace and interface names are unique per run; a guard
//! (`common/charon_lab.rs`) kills charon and removes the namespace (and
//! with it the veth pair) even when an assertion fails. Every wait is
//! bounded.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::charon_lab::{collect, endpoint, skip_reason, tunnel_up, wait_for, Lab, LabNames};
use controlplane::ikev2::config::{ts_any_v4, IpPrefix, PoolConfig};
use controlplane::ikev2::driver::UdpDriver;
use controlplane::ikev2::events::{Event, RouteKind};
use controlplane::ikev2::{Config, Identity, IdentityMatch, Keyring, Psk};

const PSK: &[u8] = b"interop-psk-0123";

/// Apart from the certificate test's lab.
const NAMES: LabNames = LabNames {
    ns: "ikesm",
    veth: "ik",
    net: 201,
};

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
    let r = wait_for(&mut d, &mut events, Duration::from_secs(15), |e| {
        matches!(e, Event::ChildSaInstalled(_) | Event::TunnelDown { .. })
    });
    // Collect what follows (routes).
    collect(&mut d, &mut events, Duration::from_millis(300));
    if r.is_continue() {
        return Err(format!("no Child SA with charon as hub: {events:?}"));
    }
    let up = tunnel_up(&events).ok_or_else(|| format!("no TunnelUp: {events:?}"))?;
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
    let sas = lab.swanctl(&["--list-sas"])?;
    assert!(sas.contains("ESTABLISHED"), "{sas}");
    assert!(
        sas.contains(&format!("{:08x}", child.outbound_spi)),
        "{sas}"
    );
    // We rekey the Child SA, then the IKE SA, through charon.
    d.endpoint()
        .rekey_child_sa(Instant::now(), up.ike_sa, child.inbound_spi)
        .map_err(|e| e.to_string())?;
    let r = wait_for(&mut d, &mut events, Duration::from_secs(10), |e| {
        matches!(e, Event::ChildSaRemoved { .. })
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
    let sas = lab.swanctl(&["--list-sas"])?;
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
    let sas = lab.swanctl(&["--list-sas"])?;
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
    let mut events = Vec::new();
    let (r, out) = lab.swanctl_initiate(&mut d, &mut events, "spoke", "net")?;
    if r.is_continue() {
        return Err(format!(
            "no Child SA with charon as spoke: {events:?} / {out:?}"
        ));
    }
    let out = out?;
    assert!(out.contains("completed successfully"), "{out}");
    let up = tunnel_up(&events).ok_or("no TunnelUp")?;
    assert_eq!(up.peer_id, Identity::Email("spoke1@example.test".into()));
    assert_eq!(
        up.assigned_ips,
        vec![IpAddr::V4(Ipv4Addr::new(10, 99, 1, 1))]
    );
    let sas = lab.swanctl(&["--list-sas"])?;
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
    collect(&mut d, &mut events, Duration::from_millis(2500));
    let log = lab.log();
    assert!(log.contains("sending DPD request"), "{log}");
    assert!(
        !events.iter().any(|e| matches!(e, Event::TunnelDown { .. })),
        "{events:?}"
    );
    // charon rekeys the Child SA through us, then deletes the IKE SA.
    lab.swanctl(&["--rekey", "--child", "net"])?;
    let r = wait_for(&mut d, &mut events, Duration::from_secs(10), |e| {
        matches!(e, Event::ChildSaRemoved { .. })
    });
    assert!(
        r.is_break(),
        "charon's Child SA rekey did not complete: {events:?}"
    );
    // charon rekeys the IKE SA through us: the tunnel moves to the new one.
    lab.swanctl(&["--rekey", "--ike", "spoke"])?;
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
    let term = lab.swanctl_in_background(&["--terminate", "--ike", "spoke", "--timeout", "10"]);
    let r = wait_for(&mut d, &mut events, Duration::from_secs(10), |e| {
        matches!(e, Event::TunnelDown { .. })
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
    if let Some(why) = skip_reason(&[]) {
        eprintln!("interop_strongswan: SKIPPED: {why}");
        return;
    }
    let mut lab = Lab::new(NAMES).expect("namespace setup");
    lab.start_charon("install_routes = yes", "")
        .expect("charon");
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
