//! The IKEv2 endpoint in a simulated network: spokes and a hub as sans-IO
//! cores on a virtual clock, over links that lose, duplicate and reorder
//! datagrams (seeded), with NAT and partitions. Every datagram is also
//! parsed by ipsec-parser (see `sim_common`).

mod sim_common;

use std::net::IpAddr;
use std::time::Duration;

use controlplane::ikev2::auth::AuthFailure;
use controlplane::ikev2::config::IpPrefix;
use controlplane::ikev2::events::{ChildRemoveReason, DownReason, Event, RouteKind};
use controlplane::ikev2::state::IkeState;
use controlplane::ikev2::{Identity, IdentityMatch, Keyring, Psk};
use sim_common::*;

const SECOND: Duration = Duration::from_secs(1);

fn hub_and_spoke(seed: u64) -> (Sim, usize, usize) {
    let mut sim = Sim::new(seed);
    let hub = sim.add("hub", "10.0.0.100", hub_config());
    let spoke = sim.add("spoke1", "10.0.0.110", spoke_config(1));
    (sim, hub, spoke)
}

fn connect(sim: &mut Sim, spoke: usize, hub: usize) -> controlplane::ikev2::IkeSaId {
    let now = sim.now;
    let (l, r) = (sim.addr(spoke, 500), sim.addr(hub, 500));
    sim.nodes[spoke]
        .ep
        .initiate(now, l, r, Some(Identity::Fqdn("hub.cisco.com".into())))
        .unwrap()
}

fn both_up(sim: &Sim, a: usize, b: usize) -> bool {
    sim.tunnel_up(a) >= 1 && sim.tunnel_up(b) >= 1
}

#[test]
fn sim_establish_with_configuration_payload() {
    let (mut sim, hub, spoke) = hub_and_spoke(1);
    connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
    sim.run_for(SECOND);
    let up = sim.events(spoke).iter().find_map(|e| match e {
        Event::TunnelUp(u) => Some(u.clone()),
        _ => None,
    });
    let up = up.unwrap();
    assert_eq!(up.peer_id, Identity::Fqdn("hub.cisco.com".into()));
    assert_eq!(up.virtual_ips.len(), 2);
    assert_eq!(up.virtual_ips[0], "172.16.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(up.dns.len(), 2);
    assert_eq!(up.domain.as_deref(), Some("cisco.com"));
    assert!(!up.nat.any());
    // Spoke routes: its address and the pushed routes.
    let routes: Vec<_> = sim
        .events(spoke)
        .iter()
        .filter_map(|e| match e {
            Event::RoutesAdd(r) => Some(r.routes.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(routes.iter().any(|r| r.kind == RouteKind::AssignedToUs));
    assert!(routes.iter().any(|r| r.kind == RouteKind::Pushed
        && r.prefix == IpPrefix::new("2001:db8:100::".parse().unwrap(), 48)));
    assert!(routes.iter().any(|r| r.kind == RouteKind::Pushed
        && r.prefix == IpPrefix::new("192.168.0.0".parse().unwrap(), 16)));
    // Hub routes: the assigned addresses and the spoke's LAN.
    let hub_routes: Vec<_> = sim
        .events(hub)
        .iter()
        .filter_map(|e| match e {
            Event::RoutesAdd(r) => Some(r.routes.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(hub_routes.iter().any(|r| r.kind == RouteKind::Accepted
        && r.prefix == IpPrefix::new("192.168.101.0".parse().unwrap(), 24)));
    assert_eq!(
        hub_routes
            .iter()
            .filter(|r| r.kind == RouteKind::AssignedToPeer)
            .count(),
        2
    );
    // One Child SA each, mirrored, same keys.
    assert_eq!(live_children(sim.events(spoke)).len(), 1);
    assert!(children_consistent(sim.events(spoke), sim.events(hub)));
    keys_match(sim.events(spoke), sim.events(hub));
    keys_match(sim.events(hub), sim.events(spoke));
    assert_eq!(sim.nodes[hub].ep.pool_in_use(), 2);
    assert_eq!(sim.nodes[hub].ep.half_open(), 0);
    // Order on both ends: TunnelUp, then the Child SA, then routes.
    for n in [hub, spoke] {
        let pos = |f: fn(&Event) -> bool| sim.events(n).iter().position(f).unwrap();
        let up = pos(|e| matches!(e, Event::TunnelUp(_)));
        let child = pos(|e| matches!(e, Event::ChildSaInstalled(_)));
        let routes = pos(|e| matches!(e, Event::RoutesAdd(_)));
        assert!(up < child && child < routes, "{n}: {up} {child} {routes}");
    }
}

/// Drops, duplicates and reorders on many seeds: the setup either
/// completes with consistent Child SAs on both sides, or the initiator
/// reports a clean TunnelDown.
#[test]
fn sim_lossy_links_many_seeds() {
    let mut completed = 0;
    for seed in 0..60u64 {
        let (mut sim, hub, spoke) = hub_and_spoke(seed);
        sim.faults = Faults {
            drop: 0.25,
            duplicate: 0.15,
            jitter_ms: 400,
        };
        connect(&mut sim, spoke, hub);
        let done = sim.run_until(300 * SECOND, |s| {
            both_up(s, hub, spoke) || s.tunnel_down(spoke) > 0
        });
        assert!(done, "seed {seed}: neither up nor down");
        // Let retransmissions and duplicates settle.
        sim.faults = Faults::default();
        sim.run_for(5 * SECOND);
        if both_up(&sim, hub, spoke) && sim.tunnel_down(spoke) == 0 {
            completed += 1;
            assert!(
                children_consistent(sim.events(spoke), sim.events(hub)),
                "seed {seed}: {:?} vs {:?}",
                live_children(sim.events(spoke)),
                live_children(sim.events(hub))
            );
            keys_match(sim.events(spoke), sim.events(hub));
            assert_eq!(sim.tunnel_up(spoke), 1, "seed {seed}");
            assert_eq!(sim.tunnel_up(hub), 1, "seed {seed}");
        } else {
            let down = sim.events(spoke).iter().find_map(|e| match e {
                Event::TunnelDown { reason, .. } => Some(reason.clone()),
                _ => None,
            });
            assert!(
                matches!(down, Some(DownReason::SetupTimeout | DownReason::PeerDead)),
                "seed {seed}: {down:?}"
            );
        }
    }
    assert!(completed >= 50, "only {completed} of 60 completed");
}

/// A hub with several spokes at once: distinct addresses, O(1) lookups by
/// SPI, every tunnel up; deleting one releases its addresses.
#[test]
fn sim_hub_with_spokes() {
    let mut sim = Sim::new(7);
    let hub = sim.add("hub", "10.0.0.100", hub_config());
    let spokes: Vec<usize> = (1..=6)
        .map(|n| {
            sim.add(
                &format!("spoke{n}"),
                &format!("10.0.0.{}", 110 + n),
                spoke_config(n),
            )
        })
        .collect();
    let ids: Vec<_> = spokes.iter().map(|&s| connect(&mut sim, s, hub)).collect();
    assert!(sim.run_until(20 * SECOND, |s| spokes
        .iter()
        .all(|&sp| s.tunnel_up(sp) == 1)));
    sim.run_for(SECOND);
    assert_eq!(sim.tunnel_up(hub), 6);
    let mut vips: Vec<IpAddr> = spokes
        .iter()
        .flat_map(|&s| {
            sim.events(s).iter().filter_map(|e| match e {
                Event::TunnelUp(u) => Some(u.virtual_ips.clone()),
                _ => None,
            })
        })
        .flatten()
        .collect();
    vips.sort();
    let n = vips.len();
    vips.dedup();
    assert_eq!(vips.len(), n);
    assert_eq!(n, 12);
    for &s in &spokes {
        assert!(children_consistent(sim.events(s), &sim.nodes[hub].events.iter().filter(|e| !matches!(e, Event::ChildSaInstalled(c) if !live_children(sim.events(s)).iter().any(|(i, o)| c.inbound_spi == *o && c.outbound_spi == *i))).cloned().collect::<Vec<_>>()));
    }
    assert_eq!(sim.nodes[hub].ep.pool_in_use(), 12);
    // The first spoke leaves.
    let now = sim.now;
    sim.nodes[spokes[0]].ep.delete_ike_sa(now, ids[0]).unwrap();
    assert!(sim.run_until(10 * SECOND, |s| s.tunnel_down(hub) == 1));
    sim.run_for(SECOND);
    assert_eq!(sim.nodes[hub].ep.pool_in_use(), 10);
    assert_eq!(sim.count(hub, |e| matches!(e, Event::RoutesRemove(_))), 1);
    let down = sim.events(hub).iter().find_map(|e| match e {
        Event::TunnelDown {
            reason, peer_id, ..
        } => Some((reason.clone(), peer_id.clone())),
        _ => None,
    });
    assert_eq!(
        down,
        Some((
            DownReason::DeletedByPeer,
            Some(Identity::Fqdn("spoke1.cisco.com".into()))
        ))
    );
    assert_eq!(sim.tunnel_down(spokes[0]), 1);
}

/// Above the half-open threshold the hub answers with a COOKIE; spokes
/// retry with it and get through.
#[test]
fn sim_cookies_under_load() {
    let mut sim = Sim::new(3);
    let mut cfg = hub_config();
    cfg.dos.cookie_threshold = 2;
    let hub = sim.add("hub", "10.0.0.100", cfg);
    let spokes: Vec<usize> = (1..=5)
        .map(|n| {
            sim.add(
                &format!("spoke{n}"),
                &format!("10.0.0.{}", 110 + n),
                spoke_config(n),
            )
        })
        .collect();
    for &s in &spokes {
        connect(&mut sim, s, hub);
    }
    assert!(sim.run_until(30 * SECOND, |s| spokes
        .iter()
        .all(|&sp| s.tunnel_up(sp) == 1)));
    assert!(sim.nodes[hub].ep.stats().cookies_sent >= 1);
    // Every cookie was retried by its spoke.
    let cookie_requests = sim
        .sent
        .iter()
        .filter(|(n, _, _, p)| {
            spokes.contains(n)
                && controlplane::ikev2::codec::Message::parse(p)
                    .map(|m| matches!(m.payloads.first(), Some(controlplane::ikev2::codec::Payload::Notify(n)) if n.notify_type == controlplane::ikev2::codec::NotifyType::COOKIE))
                    .unwrap_or(false)
        })
        .count();
    assert!(cookie_requests >= 1);
    assert_eq!(sim.nodes[hub].ep.half_open(), 0);
}

/// The hub only takes P-256: the spoke's Curve25519 KE gets
/// INVALID_KE_PAYLOAD and the spoke retries with group 19.
#[test]
fn sim_invalid_ke_retry() {
    let mut sim = Sim::new(4);
    let mut cfg = hub_config();
    for p in &mut cfg.ike_proposals {
        p.dh = vec![controlplane::ikev2::crypto::DhGroup::Ecp256];
    }
    let hub = sim.add("hub", "10.0.0.100", cfg);
    let spoke = sim.add("spoke1", "10.0.0.110", spoke_config(1));
    connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
    let info = &sim.nodes[spoke].ep.ike_sas()[0];
    assert_eq!(
        info.suite.unwrap().dh(),
        controlplane::ikev2::crypto::DhGroup::Ecp256
    );
    let invalid_ke = sim
        .sent
        .iter()
        .filter(|(n, _, _, p)| {
            *n == hub
                && controlplane::ikev2::codec::Message::parse(p)
                    .map(|m| {
                        m.notify(controlplane::ikev2::codec::NotifyType::INVALID_KE_PAYLOAD)
                            .is_some()
                    })
                    .unwrap_or(false)
        })
        .count();
    assert_eq!(invalid_ke, 1);
}

/// With a small MTU the IKE_AUTH messages go as RFC 7383 fragments and are
/// reassembled, also with loss and reordering.
#[test]
fn sim_fragmentation() {
    for seed in 0..8 {
        let mut sim = Sim::new(100 + seed);
        let mut hub_cfg = hub_config();
        hub_cfg.fragmentation.mtu = 576;
        if let Some(p) = &mut hub_cfg.pool {
            for i in 0..40u8 {
                p.routes.push(IpPrefix::new(
                    IpAddr::V4(std::net::Ipv4Addr::new(10, 50, i, 0)),
                    24,
                ));
            }
        }
        let mut spoke_cfg = spoke_config(1);
        spoke_cfg.fragmentation.mtu = 576;
        for i in 0..40u8 {
            spoke_cfg.cp_request.announce.push(IpPrefix::new(
                IpAddr::V4(std::net::Ipv4Addr::new(10, 60, i, 0)),
                24,
            ));
        }
        let hub = sim.add("hub", "10.0.0.100", hub_cfg);
        let spoke = sim.add("spoke1", "10.0.0.110", spoke_cfg);
        if seed > 0 {
            sim.faults = Faults {
                drop: 0.1,
                duplicate: 0.1,
                jitter_ms: 50,
            };
        }
        connect(&mut sim, spoke, hub);
        assert!(sim.run_until(200 * SECOND, |s| both_up(s, hub, spoke)
            || s.tunnel_down(spoke) > 0));
        assert!(both_up(&sim, hub, spoke), "seed {seed}");
        let skf = sim
            .sent
            .iter()
            .filter(|(_, _, _, p)| {
                let ike = if p.len() > 4 && p[..4] == [0; 4] {
                    &p[4..]
                } else {
                    &p[..]
                };
                ike.len() > 16 && ike[16] == 53
            })
            .count();
        assert!(skf >= 4, "seed {seed}: {skf} fragments");
        assert!(sim
            .sent
            .iter()
            .all(|(_, _, _, p)| p.len() + 28 <= 576 || p.len() < 400));
        assert!(sim.nodes[spoke].ep.ike_sas()[0].fragmentation);
        let pushed = sim
            .events(spoke)
            .iter()
            .filter_map(|e| match e {
                Event::RoutesAdd(r) => Some(r.routes.len()),
                _ => None,
            })
            .sum::<usize>();
        assert!(pushed >= 42);
    }
}

/// Child SA rekey: the new SA is installed before the old one is removed.
#[test]
fn sim_child_rekey() {
    let (mut sim, hub, spoke) = hub_and_spoke(9);
    let id = connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
    let (old_in, _) = live_children(sim.events(spoke))[0];
    let now = sim.now;
    sim.nodes[spoke].ep.rekey_child_sa(now, id, old_in).unwrap();
    assert!(sim.run_until(10 * SECOND, |s| s
        .count(spoke, |e| matches!(e, Event::ChildSaRemoved { .. }))
        == 1
        && s.count(hub, |e| matches!(e, Event::ChildSaRemoved { .. })) == 1));
    // Installed before removed, on both sides.
    for n in [spoke, hub] {
        let ev = sim.events(n);
        let inst = ev
            .iter()
            .rposition(|e| matches!(e, Event::ChildSaInstalled(c) if c.replaces.is_some()));
        let rem = ev.iter().position(|e| {
            matches!(
                e,
                Event::ChildSaRemoved {
                    reason: ChildRemoveReason::Rekeyed,
                    ..
                }
            )
        });
        assert!(inst.unwrap() < rem.unwrap());
    }
    assert_eq!(live_children(sim.events(spoke)).len(), 1);
    assert!(children_consistent(sim.events(spoke), sim.events(hub)));
    keys_match(sim.events(spoke), sim.events(hub));
    keys_match(sim.events(hub), sim.events(spoke));
    assert_ne!(live_children(sim.events(spoke))[0].0, old_in);
}

/// Child SA rekey with PFS (a KE in CREATE_CHILD_SA), started by the hub.
#[test]
fn sim_child_rekey_pfs_by_responder() {
    let mut sim = Sim::new(10);
    let mut h = hub_config();
    let mut s = spoke_config(1);
    for c in [&mut h, &mut s] {
        c.esp_proposals[0].pfs = vec![controlplane::ikev2::crypto::DhGroup::Curve25519];
    }
    let hub = sim.add("hub", "10.0.0.100", h);
    let spoke = sim.add("spoke1", "10.0.0.110", s);
    connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
    let hub_id = sim.nodes[hub].ep.ike_sas()[0].id;
    let (old_in, _) = live_children(sim.events(hub))[0];
    let now = sim.now;
    sim.nodes[hub]
        .ep
        .rekey_child_sa(now, hub_id, old_in)
        .unwrap();
    assert!(sim.run_until(10 * SECOND, |s| s
        .count(spoke, |e| matches!(e, Event::ChildSaRemoved { .. }))
        == 1));
    sim.run_for(SECOND);
    assert!(children_consistent(sim.events(spoke), sim.events(hub)));
    keys_match(sim.events(spoke), sim.events(hub));
    keys_match(sim.events(hub), sim.events(spoke));
    let ke_in_create_child = sim
        .sent
        .iter()
        .any(|(_, _, _, p)| p.len() > 18 && p[18] == 36);
    assert!(ke_in_create_child);
}

/// Both ends rekey the same Child SA at the same instant (RFC 7296
/// section 2.8.1): exactly one new SA survives, on both sides.
#[test]
fn sim_simultaneous_child_rekey() {
    for seed in 0..10 {
        let (mut sim, hub, spoke) = hub_and_spoke(200 + seed);
        let id = connect(&mut sim, spoke, hub);
        assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
        sim.run_for(SECOND);
        let hub_id = sim.nodes[hub].ep.ike_sas()[0].id;
        let (s_in, h_in) = live_children(sim.events(spoke))[0];
        let now = sim.now;
        sim.nodes[spoke].ep.rekey_child_sa(now, id, s_in).unwrap();
        sim.nodes[hub].ep.rekey_child_sa(now, hub_id, h_in).unwrap();
        sim.run_for(20 * SECOND);
        let a = live_children(sim.events(spoke));
        assert_eq!(a.len(), 1, "seed {seed}: {a:?}");
        assert!(
            children_consistent(sim.events(spoke), sim.events(hub)),
            "seed {seed}"
        );
        assert_ne!(a[0].0, s_in);
        keys_match(sim.events(spoke), sim.events(hub));
        assert_eq!(sim.tunnel_down(spoke) + sim.tunnel_down(hub), 0);
    }
}

/// IKE SA rekey: new SPIs, Child SAs move to the new SA, the old one is
/// deleted; the tunnel stays up and DPD still works on the new SA.
#[test]
fn sim_ike_rekey() {
    for initiator_side in [true, false] {
        let (mut sim, hub, spoke) = hub_and_spoke(11);
        let id = connect(&mut sim, spoke, hub);
        assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
        let children_before = live_children(sim.events(spoke));
        let (n, sa) = if initiator_side {
            (spoke, id)
        } else {
            (hub, sim.nodes[hub].ep.ike_sas()[0].id)
        };
        let old_spis = (
            sim.nodes[n].ep.ike_sas()[0].spi_i,
            sim.nodes[n].ep.ike_sas()[0].spi_r,
        );
        let now = sim.now;
        sim.nodes[n].ep.rekey_ike_sa(now, sa).unwrap();
        assert!(sim.run_until(10 * SECOND, |s| s
            .count(spoke, |e| matches!(e, Event::IkeSaRekeyed { .. }))
            == 1
            && s.count(hub, |e| matches!(e, Event::IkeSaRekeyed { .. })) == 1));
        sim.run_for(40 * SECOND);
        for node in [spoke, hub] {
            let sas: Vec<_> = sim.nodes[node]
                .ep
                .ike_sas()
                .into_iter()
                .filter(|i| i.state != IkeState::Closed)
                .collect();
            assert_eq!(sas.len(), 1, "{:?}", sas);
            assert_eq!(sas[0].state, IkeState::Established);
            assert_ne!((sas[0].spi_i, sas[0].spi_r), old_spis);
            assert_eq!(sas[0].children.len(), 1);
            assert!(sas[0].owns_tunnel);
        }
        assert_eq!(live_children(sim.events(spoke)), children_before);
        assert_eq!(sim.tunnel_down(spoke) + sim.tunnel_down(hub), 0);
        // The new SA works: a Child SA rekey through it.
        let new_id = sim.nodes[spoke]
            .ep
            .ike_sas()
            .into_iter()
            .find(|i| i.state == IkeState::Established)
            .unwrap()
            .id;
        let now = sim.now;
        sim.nodes[spoke]
            .ep
            .rekey_child_sa(now, new_id, children_before[0].0)
            .unwrap();
        sim.run_for(5 * SECOND);
        assert!(children_consistent(sim.events(spoke), sim.events(hub)));
        assert_ne!(live_children(sim.events(spoke)), children_before);
        // Delete from the hub through the rekeyed SA.
        let hub_sa = sim.nodes[hub]
            .ep
            .ike_sas()
            .into_iter()
            .find(|i| i.state == IkeState::Established)
            .unwrap()
            .id;
        let now = sim.now;
        sim.nodes[hub].ep.delete_ike_sa(now, hub_sa).unwrap();
        sim.run_for(5 * SECOND);
        assert_eq!(sim.tunnel_down(spoke), 1);
        assert_eq!(sim.tunnel_down(hub), 1);
        assert!(live_children(sim.events(spoke)).is_empty());
        assert!(live_children(sim.events(hub)).is_empty());
        assert_eq!(sim.nodes[hub].ep.pool_in_use(), 0);
    }
}

/// Both ends rekey the IKE SA at once: one new IKE SA survives on both
/// sides with the Child SAs.
#[test]
fn sim_simultaneous_ike_rekey() {
    for seed in 0..10 {
        let (mut sim, hub, spoke) = hub_and_spoke(300 + seed);
        let id = connect(&mut sim, spoke, hub);
        assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
        sim.run_for(SECOND);
        let hub_id = sim.nodes[hub].ep.ike_sas()[0].id;
        let children = live_children(sim.events(spoke));
        let now = sim.now;
        sim.nodes[spoke].ep.rekey_ike_sa(now, id).unwrap();
        sim.nodes[hub].ep.rekey_ike_sa(now, hub_id).unwrap();
        sim.run_for(60 * SECOND);
        let a: Vec<_> = sim.nodes[spoke]
            .ep
            .ike_sas()
            .into_iter()
            .filter(|i| i.state != IkeState::Closed)
            .collect();
        let b: Vec<_> = sim.nodes[hub]
            .ep
            .ike_sas()
            .into_iter()
            .filter(|i| i.state != IkeState::Closed)
            .collect();
        assert_eq!(a.len(), 1, "seed {seed}: {a:?}");
        assert_eq!(b.len(), 1, "seed {seed}: {b:?}");
        assert_eq!(
            (a[0].spi_i, a[0].spi_r),
            (b[0].spi_i, b[0].spi_r),
            "seed {seed}"
        );
        assert_eq!(a[0].children.len(), 1, "seed {seed}");
        assert_eq!(b[0].children.len(), 1, "seed {seed}");
        assert!(a[0].owns_tunnel && b[0].owns_tunnel);
        assert_eq!(live_children(sim.events(spoke)), children);
        assert_eq!(
            sim.tunnel_down(spoke) + sim.tunnel_down(hub),
            0,
            "seed {seed}"
        );
        // Still alive: DPD from both ends over the surviving SA.
        sim.run_for(120 * SECOND);
        assert_eq!(
            sim.tunnel_down(spoke) + sim.tunnel_down(hub),
            0,
            "seed {seed}"
        );
    }
}

/// DPD: a silent peer (partitioned) is declared dead after the
/// retransmissions of the DPD request.
#[test]
fn sim_dpd_declares_silent_peer_dead() {
    let (mut sim, hub, spoke) = hub_and_spoke(12);
    connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
    // Both answer DPD while connected.
    sim.run_for(200 * SECOND);
    assert_eq!(sim.tunnel_down(spoke) + sim.tunnel_down(hub), 0);
    assert!(sim.nodes[spoke].ep.stats().retransmits == 0);
    sim.partitioned.push(hub);
    assert!(sim.run_until(600 * SECOND, |s| s.tunnel_down(spoke) == 1
        && s.tunnel_down(hub) == 1));
    for n in [spoke, hub] {
        let reason = sim.events(n).iter().find_map(|e| match e {
            Event::TunnelDown { reason, .. } => Some(reason.clone()),
            _ => None,
        });
        assert_eq!(reason, Some(DownReason::PeerDead));
        assert!(live_children(sim.events(n)).is_empty());
    }
    assert_eq!(sim.nodes[hub].ep.pool_in_use(), 0);
    // Lingering entries go away.
    sim.run_for(120 * SECOND);
    assert!(sim.nodes[hub].ep.is_empty());
    assert!(sim.nodes[spoke].ep.is_empty());
}

/// Deletes in both directions: a Child SA by the spoke, a Child SA by the
/// hub, the IKE SA by the hub.
#[test]
fn sim_deletes() {
    let (mut sim, hub, spoke) = hub_and_spoke(13);
    let id = connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
    let (s_in, h_in) = live_children(sim.events(spoke))[0];
    let now = sim.now;
    sim.nodes[spoke].ep.delete_child_sa(now, id, s_in).unwrap();
    sim.run_for(5 * SECOND);
    assert!(live_children(sim.events(spoke)).is_empty());
    assert!(live_children(sim.events(hub)).is_empty());
    assert_eq!(
        sim.count(hub, |e| matches!(e, Event::ChildSaRemoved { reason: ChildRemoveReason::DeletedByPeer, inbound_spi, .. } if *inbound_spi == h_in)),
        1
    );
    assert!(sim.nodes[spoke]
        .ep
        .delete_child_sa(sim.now, id, s_in)
        .is_err());
    // The IKE SA stays up without Child SAs; the hub deletes it.
    let hub_id = sim.nodes[hub].ep.ike_sas()[0].id;
    let now = sim.now;
    sim.nodes[hub].ep.delete_ike_sa(now, hub_id).unwrap();
    sim.run_for(5 * SECOND);
    assert_eq!(sim.tunnel_down(spoke), 1);
    assert_eq!(sim.tunnel_down(hub), 1);
    assert_eq!(sim.nodes[hub].ep.pool_in_use(), 0);
    assert_eq!(sim.count(spoke, |e| matches!(e, Event::RoutesRemove(_))), 1);
}

/// The spoke behind a NAT: both ends detect it, IKE floats to port 4500,
/// ESP is UDP-encapsulated, and the NAT's port is followed.
#[test]
fn sim_nat_detection() {
    let (mut sim, hub, spoke) = hub_and_spoke(14);
    sim.put_behind_nat(spoke, "198.51.100.7");
    connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
    let s = &sim.nodes[spoke].ep.ike_sas()[0];
    assert!(s.nat.local_behind_nat && !s.nat.remote_behind_nat);
    assert_eq!(s.local.port(), 4500);
    assert_eq!(s.remote.port(), 4500);
    let h = &sim.nodes[hub].ep.ike_sas()[0];
    assert!(h.nat.remote_behind_nat && !h.nat.local_behind_nat);
    assert_eq!(h.local.port(), 4500);
    assert_eq!(h.remote.ip(), "198.51.100.7".parse::<IpAddr>().unwrap());
    assert_ne!(h.remote.port(), 4500);
    for n in [spoke, hub] {
        let c = sim.events(n).iter().find_map(|e| match e {
            Event::ChildSaInstalled(c) => Some(c.clone()),
            _ => None,
        });
        let c = c.unwrap();
        assert!(c.udp_encap);
        assert_eq!(c.local.port(), 4500);
    }
    let up = sim.events(spoke).iter().find_map(|e| match e {
        Event::TunnelUp(u) => Some(u.nat),
        _ => None,
    });
    assert!(up.unwrap().local_behind_nat);
    // IKE_AUTH and later went over 4500 with the marker.
    assert!(sim
        .sent
        .iter()
        .filter(|(n, ..)| *n == spoke)
        .skip(1)
        .all(|(_, l, _, p)| l.port() == 4500 && p[..4] == [0; 4]));
    // The NAT mapping changes (new public port): the hub follows it.
    if let Some(nat) = &mut sim.nodes[spoke].nat {
        nat.map.clear();
        nat.next_port = 40000;
    }
    let id = sim.nodes[spoke].ep.ike_sas()[0].id;
    let now = sim.now;
    let (c_in, _) = live_children(sim.events(spoke))[0];
    sim.nodes[spoke].ep.rekey_child_sa(now, id, c_in).unwrap();
    sim.run_for(5 * SECOND);
    assert_eq!(
        sim.count(hub, |e| matches!(e, Event::PeerAddressChanged { .. })),
        1
    );
    assert!(children_consistent(sim.events(spoke), sim.events(hub)));
}

/// A wrong PSK: the hub answers AUTHENTICATION_FAILED and reports why; the
/// spoke reports the rejection. Nothing is installed.
#[test]
fn sim_auth_failure_wrong_psk() {
    let mut sim = Sim::new(15);
    let hub = sim.add("hub", "10.0.0.100", hub_config());
    let mut cfg = spoke_config(1);
    cfg.authenticator =
        std::sync::Arc::new(Keyring::new().with(IdentityMatch::Any, Psk::new(b"wrong")));
    let spoke = sim.add("spoke1", "10.0.0.110", cfg);
    connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| s.tunnel_down(spoke) == 1));
    sim.run_for(SECOND);
    let hub_reason = sim.events(hub).iter().find_map(|e| match e {
        Event::AuthFailed {
            reason, peer_id, ..
        } => Some((reason.clone(), peer_id.clone())),
        _ => None,
    });
    assert_eq!(
        hub_reason,
        Some((
            AuthFailure::BadAuthData,
            Some(Identity::Fqdn("spoke1.cisco.com".into()))
        ))
    );
    let spoke_reason = sim.events(spoke).iter().find_map(|e| match e {
        Event::AuthFailed { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(spoke_reason, Some(AuthFailure::RejectedByPeer));
    assert_eq!(sim.tunnel_up(hub) + sim.tunnel_up(spoke), 0);
    assert!(live_children(sim.events(hub)).is_empty());
    assert_eq!(sim.nodes[hub].ep.pool_in_use(), 0);
    let down = sim.events(spoke).iter().find_map(|e| match e {
        Event::TunnelDown { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(down, Some(DownReason::AuthFailed));
}

/// Identity mismatches: a spoke outside `match identity remote fqdn
/// domain cisco.com`, and a responder that is not who the initiator
/// expects.
#[test]
fn sim_auth_failure_identity() {
    let mut sim = Sim::new(16);
    let mut hub_cfg = hub_config();
    hub_cfg.authenticator =
        std::sync::Arc::new(Keyring::new().with(IdentityMatch::Any, Psk::new(PSK)));
    let hub = sim.add("hub", "10.0.0.100", hub_cfg);
    let mut cfg = spoke_config(1);
    cfg.local_id = Identity::Fqdn("intruder.example.com".into());
    cfg.authenticator = std::sync::Arc::new(Keyring::new().with(IdentityMatch::Any, Psk::new(PSK)));
    let spoke = sim.add("spoke1", "10.0.0.110", cfg);
    connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| s.tunnel_down(spoke) == 1));
    let r = sim.events(hub).iter().find_map(|e| match e {
        Event::AuthFailed { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(
        r,
        Some(AuthFailure::IdentityNotAccepted(Identity::Fqdn(
            "intruder.example.com".into()
        )))
    );
    // The initiator expects another responder identity: the hub refuses
    // the IDr it does not own.
    let s2 = sim.add("spoke2", "10.0.0.120", spoke_config(2));
    let now = sim.now;
    let (l, r) = (sim.addr(s2, 500), sim.addr(hub, 500));
    sim.nodes[s2]
        .ep
        .initiate(
            now,
            l,
            r,
            Some(Identity::Fqdn("other-hub.cisco.com".into())),
        )
        .unwrap();
    assert!(sim.run_until(10 * SECOND, |s| s.tunnel_down(s2) == 1));
    let r = sim
        .events(hub)
        .iter()
        .filter_map(|e| match e {
            Event::AuthFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .nth(1);
    assert!(
        matches!(r, Some(AuthFailure::UnexpectedIdentity { .. })),
        "{r:?}"
    );
}

/// A responder that does not answer at all: the initiator gives up after
/// its retransmissions (SetupTimeout), and the half-open SA on a hub that
/// never sees IKE_AUTH times out.
#[test]
fn sim_setup_timeouts() {
    let (mut sim, hub, spoke) = hub_and_spoke(17);
    sim.partitioned.push(hub);
    connect(&mut sim, spoke, hub);
    assert!(sim.run_until(300 * SECOND, |s| s.tunnel_down(spoke) == 1));
    assert!(sim.nodes[spoke].ep.stats().retransmits >= 1);
    // Half-open on the hub: the spoke's IKE_AUTH never arrives.
    let (mut sim, hub, spoke) = hub_and_spoke(18);
    connect(&mut sim, spoke, hub);
    assert!(sim.run_until(SECOND, |s| s.nodes[hub].ep.half_open() == 1));
    sim.partitioned.push(spoke);
    sim.run_for(60 * SECOND);
    assert_eq!(sim.nodes[hub].ep.half_open(), 0);
    assert_eq!(sim.tunnel_up(hub), 0);
}

/// Time-driven rekeying: short lifetimes, both ends rekey by themselves
/// for a while (with collisions possible), the tunnel never drops.
#[test]
fn sim_lifetimes_drive_rekeys() {
    let mut sim = Sim::new(19);
    let mut h = hub_config();
    let mut s = spoke_config(1);
    for c in [&mut h, &mut s] {
        c.lifetimes.ike_rekey = 120 * SECOND;
        c.lifetimes.child_rekey = 50 * SECOND;
        c.lifetimes.hard_margin = 30 * SECOND;
    }
    let hub = sim.add("hub", "10.0.0.100", h);
    let spoke = sim.add("spoke1", "10.0.0.110", s);
    connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
    sim.run_for(1000 * SECOND);
    assert_eq!(sim.tunnel_down(spoke) + sim.tunnel_down(hub), 0);
    assert!(sim.count(spoke, |e| matches!(e, Event::IkeSaRekeyed { .. })) >= 5);
    assert!(sim.count(spoke, |e| matches!(e, Event::ChildSaRemoved { .. })) >= 10);
    assert!(children_consistent(sim.events(spoke), sim.events(hub)));
    assert!(!live_children(sim.events(spoke)).is_empty());
    assert!(
        sim.count(spoke, |e| matches!(
            e,
            Event::ChildSaRemoved {
                reason: ChildRemoveReason::Expired,
                ..
            }
        )) == 0
    );
}

/// An IKE_SA_INIT request with an unknown payload marked critical gets
/// UNSUPPORTED_CRITICAL_PAYLOAD naming the type; garbage and unknown SPIs
/// get nothing.
#[test]
fn sim_unsupported_critical_and_garbage() {
    use controlplane::ikev2::codec::{Header, Message, NotifyType, Payload, UnknownPayload};
    let (mut sim, hub, _spoke) = hub_and_spoke(20);
    let m = Message {
        header: Header {
            spi_i: 0x1122_3344_5566_7788,
            spi_r: 0,
            exchange_type: controlplane::ikev2::codec::ExchangeType::IKE_SA_INIT,
            initiator: true,
            response: false,
            message_id: 0,
        },
        payloads: vec![Payload::Unknown(UnknownPayload {
            payload_type: controlplane::ikev2::codec::PayloadType::GSPM,
            data: vec![1, 2, 3],
        })],
    };
    let mut bytes = m.emit().unwrap();
    // Set the critical bit of the first payload.
    bytes[28 + 1] |= 0x80;
    let now = sim.now;
    let (l, r) = (sim.addr(hub, 500), "10.0.0.9:500".parse().unwrap());
    sim.nodes[hub].ep.handle_datagram(now, l, r, &bytes);
    let t = sim.nodes[hub].ep.poll_transmit().expect("an answer");
    let answer = Message::parse(&t.payload).unwrap();
    let n = answer
        .notify(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD)
        .unwrap();
    assert_eq!(
        n.unsupported_critical_type(),
        Some(controlplane::ikev2::codec::PayloadType::GSPM)
    );
    assert!(answer.header.response);
    // Garbage, a truncated header, an unknown SPI, a NAT-T datagram without
    // the marker: silence.
    let mut unknown = bytes.clone();
    unknown[8..16].copy_from_slice(&[9; 8]);
    unknown[18] = 37;
    for d in [&b"garbage"[..], &bytes[..20], &unknown[..]] {
        sim.nodes[hub].ep.handle_datagram(now, l, r, d);
    }
    let natt = sim.addr(hub, 4500);
    sim.nodes[hub]
        .ep
        .handle_datagram(now, natt, r, &[1, 2, 3, 4, 5, 6]);
    assert!(sim.nodes[hub].ep.poll_transmit().is_none());
    assert!(sim.nodes[hub].ep.stats().dropped >= 4);
    assert!(sim.nodes[hub].ep.is_empty());
    // A NAT-keepalive (RFC 3948) is neither answered nor a drop.
    let dropped = sim.nodes[hub].ep.stats().dropped;
    sim.nodes[hub].ep.handle_datagram(now, natt, r, &[0xff]);
    assert!(sim.nodes[hub].ep.poll_transmit().is_none());
    assert_eq!(sim.nodes[hub].ep.stats().dropped, dropped);
}

/// The pool runs out: the IKE SA comes up, the Child SA is refused with
/// INTERNAL_ADDRESS_FAILURE, and no address leaks.
#[test]
fn sim_pool_exhausted() {
    let mut sim = Sim::new(21);
    let mut cfg = hub_config();
    if let Some(p) = &mut cfg.pool {
        p.v4 = Some(("172.16.0.1".parse().unwrap(), "172.16.0.1".parse().unwrap()));
        p.v6 = None;
    }
    let hub = sim.add("hub", "10.0.0.100", cfg);
    let mut s = spoke_config(1);
    s.cp_request.ipv6 = false;
    let s1 = sim.add("spoke1", "10.0.0.111", s.clone());
    s.local_id = Identity::Fqdn("spoke2.cisco.com".into());
    let s2 = sim.add("spoke2", "10.0.0.112", s);
    connect(&mut sim, s1, hub);
    assert!(sim.run_until(10 * SECOND, |s| s.tunnel_up(s1) == 1));
    connect(&mut sim, s2, hub);
    assert!(sim.run_until(10 * SECOND, |s| s.tunnel_up(s2) == 1));
    sim.run_for(SECOND);
    assert_eq!(live_children(sim.events(s1)).len(), 1);
    assert!(live_children(sim.events(s2)).is_empty());
    assert_eq!(sim.nodes[hub].ep.pool_in_use(), 1);
    assert_eq!(live_children(sim.events(hub)).len(), 1);
}

/// A hub with 300 spokes: every tunnel up, one IKE SA each, lookups by
/// SPI; then half of them leave.
#[test]
fn sim_hub_300_spokes() {
    let mut sim = Sim::new(22);
    let hub = sim.add("hub", "10.0.0.1", hub_config());
    let spokes: Vec<usize> = (0..300u32)
        .map(|n| {
            let mut c = spoke_config(1);
            c.local_id = Identity::Fqdn(format!("s{n}.cisco.com"));
            c.cp_request.ipv6 = false;
            c.dpd = None;
            sim.add(
                &format!("s{n}"),
                &format!("10.1.{}.{}", n / 200, n % 200 + 2),
                c,
            )
        })
        .collect();
    let ids: Vec<_> = spokes.iter().map(|&s| connect(&mut sim, s, hub)).collect();
    assert!(sim.run_until(60 * SECOND, |s| s.tunnel_up(hub) == 300
        && spokes.iter().all(|&sp| s.tunnel_up(sp) == 1)));
    assert_eq!(sim.nodes[hub].ep.pool_in_use(), 300 - 46);
    let now = sim.now;
    for (&s, &id) in spokes.iter().zip(&ids).step_by(2) {
        sim.nodes[s].ep.delete_ike_sa(now, id).unwrap();
    }
    let ok = sim.run_until(60 * SECOND, |s| s.tunnel_down(hub) == 150);
    assert!(ok, "{} down", sim.tunnel_down(hub));
    let held: usize = sim.nodes[hub]
        .ep
        .ike_sas()
        .iter()
        .filter(|i| i.state != IkeState::Closed)
        .map(|i| i.assigned.len())
        .sum();
    assert_eq!(sim.nodes[hub].ep.pool_in_use(), held);
    assert!(held < 254);
}

/// A spoke restarts (a new endpoint, same identity) and comes back with
/// INITIAL_CONTACT: the hub drops the stale tunnel and its address.
#[test]
fn sim_initial_contact_replaces_stale_tunnel() {
    let (mut sim, hub, spoke) = hub_and_spoke(23);
    connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
    // The "rebooted" spoke: same identity, another address.
    let again = sim.add("spoke1-again", "10.0.0.119", spoke_config(1));
    sim.partitioned.push(spoke);
    connect(&mut sim, again, hub);
    assert!(sim.run_until(10 * SECOND, |s| s.tunnel_up(again) == 1
        && s.tunnel_down(hub) == 1));
    let reason = sim.events(hub).iter().find_map(|e| match e {
        Event::TunnelDown { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(reason, Some(DownReason::ReplacedByInitialContact));
    assert_eq!(sim.nodes[hub].ep.pool_in_use(), 2);
    assert_eq!(live_children(sim.events(hub)).len(), 1);
    assert!(children_consistent(sim.events(again), sim.events(hub)));
}

/// Retransmission: exponential back-off (2, 4, 8, 16, 30 s on the virtual
/// clock with the default policy) and a limit of 6 transmissions, then
/// the initiator gives up.
#[test]
fn sim_retransmission_backoff_and_limit() {
    let (mut sim, hub, spoke) = hub_and_spoke(24);
    sim.partitioned.push(hub);
    let start = sim.now;
    connect(&mut sim, spoke, hub);
    assert!(sim.run_until(300 * SECOND, |s| s.tunnel_down(spoke) == 1));
    // The partition drops datagrams after they are recorded as sent.
    let times: Vec<Duration> = sim
        .sent
        .iter()
        .zip(&sim.sent_at)
        .filter(|((n, ..), _)| *n == spoke)
        .map(|(_, t)| t.duration_since(start))
        .collect();
    assert_eq!(times.len(), 6, "6 transmissions of IKE_SA_INIT");
    let gaps: Vec<u64> = times.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    assert_eq!(gaps, [2, 4, 8, 16, 30]);
    let down_at = sim.events(spoke).len();
    assert!(down_at > 0);
    assert_eq!(sim.nodes[spoke].ep.stats().retransmits, 5);
    // Every copy is bitwise identical.
    let copies: Vec<&Vec<u8>> = sim
        .sent
        .iter()
        .filter(|(n, ..)| *n == spoke)
        .map(|(_, _, _, p)| p)
        .collect();
    assert!(copies.windows(2).all(|w| w[0] == w[1]));
}

/// Every datagram duplicated: retransmitted requests get the cached
/// response (the same bytes), and nothing is processed twice.
#[test]
fn sim_duplicates_get_cached_responses() {
    let (mut sim, hub, spoke) = hub_and_spoke(25);
    sim.faults = Faults {
        drop: 0.0,
        duplicate: 1.0,
        jitter_ms: 0,
    };
    let id = connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
    let (c, _) = live_children(sim.events(spoke))[0];
    let now = sim.now;
    sim.nodes[spoke].ep.rekey_child_sa(now, id, c).unwrap();
    sim.run_for(5 * SECOND);
    assert!(sim.nodes[hub].ep.stats().responses_resent >= 2);
    assert_eq!(sim.tunnel_up(hub), 1);
    assert_eq!(live_children(sim.events(hub)).len(), 1);
    assert!(children_consistent(sim.events(spoke), sim.events(hub)));
    // Responses to a request: the hub answered each message ID with one
    // distinct datagram.
    let mut answers: Vec<(u32, Vec<u8>)> = sim
        .sent
        .iter()
        .filter(|(n, ..)| *n == hub)
        .filter_map(|(_, _, _, p)| {
            let m = controlplane::ikev2::codec::Message::parse(p).ok()?;
            m.header.response.then(|| (m.header.message_id, p.clone()))
        })
        .collect();
    answers.sort();
    answers.dedup();
    let ids: Vec<u32> = answers.iter().map(|a| a.0).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids, unique, "one response per message ID");
}

/// A replayed old request (outside the window) is dropped without an
/// answer; a replayed IKE_SA_INIT of an established SA opens nothing.
#[test]
fn sim_out_of_window_replay_dropped() {
    let (mut sim, hub, spoke) = hub_and_spoke(26);
    let id = connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
    let (c, _) = live_children(sim.events(spoke))[0];
    let now = sim.now;
    sim.nodes[spoke].ep.rekey_child_sa(now, id, c).unwrap();
    sim.run_for(5 * SECOND);
    let spoke_requests: Vec<(std::net::SocketAddr, std::net::SocketAddr, Vec<u8>)> = sim
        .sent
        .iter()
        .filter(|(n, ..)| *n == spoke)
        .map(|(_, l, r, p)| (*l, *r, p.clone()))
        .collect();
    let before = sim.nodes[hub].ep.stats().dropped;
    let now = sim.now;
    let (last, older) = spoke_requests.split_last().unwrap();
    for (l, r, p) in older {
        sim.nodes[hub].ep.handle_datagram(now, *r, *l, p);
    }
    assert!(sim.nodes[hub].ep.poll_transmit().is_none());
    assert!(sim.nodes[hub].ep.stats().dropped >= before + 2);
    // The latest request is a retransmission: the cached response again.
    sim.nodes[hub]
        .ep
        .handle_datagram(now, last.1, last.0, &last.2);
    let again = sim.nodes[hub].ep.poll_transmit().expect("cached response");
    let original = sim
        .sent
        .iter()
        .rev()
        .find(|(n, ..)| *n == hub)
        .map(|(_, _, _, p)| p.clone())
        .unwrap();
    assert_eq!(again.payload, original);
    assert_eq!(sim.nodes[hub].ep.half_open(), 0);
    assert_eq!(sim.nodes[hub].ep.len(), 1);
}

/// DPD stays quiet while the dataplane reports inbound traffic.
#[test]
fn sim_no_dpd_with_traffic() {
    let (mut sim, hub, spoke) = hub_and_spoke(27);
    let id = connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
    let hub_id = sim.nodes[hub].ep.ike_sas()[0].id;
    let sent = sim.sent.len();
    for _ in 0..20 {
        sim.run_for(10 * SECOND);
        let now = sim.now;
        sim.nodes[spoke].ep.note_inbound_traffic(now, id);
        sim.nodes[hub].ep.note_inbound_traffic(now, hub_id);
    }
    assert_eq!(sim.sent.len(), sent, "no INFORMATIONAL while ESP flows");
    // Without traffic, DPD starts.
    sim.run_for(40 * SECOND);
    assert!(sim.sent.len() > sent);
}

/// IPv6 outer addresses, ChaCha20-Poly1305 with ESN for ESP, AES-CBC with
/// HMAC-SHA2 and MODP-2048 for IKE.
#[test]
fn sim_ipv6_chacha_cbc_modp() {
    use controlplane::ikev2::config::{EsnPolicy, IkeProposal};
    use controlplane::ikev2::crypto::{DhGroup, Encr};
    let mut sim = Sim::new(28);
    let mut h = hub_config();
    h.ike_proposals = vec![IkeProposal {
        dh: vec![DhGroup::Modp2048],
        ..IkeProposal::cbc_default()
    }];
    let mut s = spoke_config(1);
    s.ike_proposals = vec![IkeProposal::aead_default(), IkeProposal::cbc_default()];
    s.esp_proposals[0].encr = vec![Encr::ChaCha20Poly1305];
    s.esp_proposals[0].esn = EsnPolicy::On;
    let hub = sim.add("hub", "2001:db8::100", h);
    let spoke = sim.add("spoke1", "2001:db8::110", s);
    connect(&mut sim, spoke, hub);
    assert!(sim.run_until(20 * SECOND, |s| both_up(s, hub, spoke)));
    let info = &sim.nodes[spoke].ep.ike_sas()[0];
    let suite = info.suite.unwrap();
    assert_eq!(
        (suite.encr(), suite.dh()),
        (Encr::AesCbc256, DhGroup::Modp2048)
    );
    assert!(suite.integ().is_some());
    let c = sim.events(hub).iter().find_map(|e| match e {
        Event::ChildSaInstalled(c) => Some(c.clone()),
        _ => None,
    });
    let c = c.unwrap();
    assert_eq!(c.encr, Encr::ChaCha20Poly1305);
    assert!(c.esn);
    assert_eq!(c.inbound_key.len(), 36);
    assert!(c.local.is_ipv6());
    keys_match(sim.events(spoke), sim.events(hub));
}

/// Short lifetimes on lossy, duplicating, reordering links for many
/// seeds: rekeys of both kinds from both ends (collisions included), DPD
/// and deletes keep the two ends consistent (the same IKE SA holds the
/// tunnel, the Child SAs pair up with the same keys, at least one exists),
/// or the tunnel goes down on both ends (an exchange whose six
/// transmissions or their answers were all lost declares the peer dead).
#[test]
fn sim_rekeys_on_lossy_links() {
    let mut kept = 0;
    let seeds = 80u64;
    for seed in 0..seeds {
        let mut sim = Sim::new(9000 + seed);
        let mut h = hub_config();
        let mut s = spoke_config(1);
        for c in [&mut h, &mut s] {
            c.lifetimes.ike_rekey = 70 * SECOND;
            c.lifetimes.child_rekey = 30 * SECOND;
            c.lifetimes.hard_margin = 30 * SECOND;
            c.dpd = Some(controlplane::ikev2::config::DpdConfig {
                interval: 20 * SECOND,
            });
        }
        let hub = sim.add("hub", "10.0.0.100", h);
        let spoke = sim.add("spoke1", "10.0.0.110", s);
        connect(&mut sim, spoke, hub);
        assert!(
            sim.run_until(20 * SECOND, |s| both_up(s, hub, spoke)),
            "seed {seed}"
        );
        sim.faults = Faults {
            drop: 0.15,
            duplicate: 0.2,
            jitter_ms: 800,
        };
        sim.run_for(400 * SECOND);
        // Quiesce: a clean link, then let every exchange finish.
        sim.faults = Faults::default();
        sim.run_for(30 * SECOND);
        let down = (sim.tunnel_down(spoke), sim.tunnel_down(hub));
        if down == (0, 0) {
            kept += 1;
            assert!(
                children_consistent(sim.events(spoke), sim.events(hub)),
                "seed {seed}: {:?} / {:?}",
                live_children(sim.events(spoke)),
                live_children(sim.events(hub))
            );
            assert!(!live_children(sim.events(spoke)).is_empty(), "seed {seed}");
            keys_match(sim.events(spoke), sim.events(hub));
            let a: Vec<_> = sim.nodes[spoke]
                .ep
                .ike_sas()
                .into_iter()
                .filter(|i| i.owns_tunnel)
                .collect();
            let b: Vec<_> = sim.nodes[hub]
                .ep
                .ike_sas()
                .into_iter()
                .filter(|i| i.owns_tunnel)
                .collect();
            assert_eq!(a.len(), 1, "seed {seed}");
            assert_eq!(b.len(), 1, "seed {seed}");
            assert_eq!(
                (a[0].spi_i, a[0].spi_r),
                (b[0].spi_i, b[0].spi_r),
                "seed {seed}"
            );
        } else {
            // Down on one end: the other follows through DPD.
            sim.run_for(300 * SECOND);
            for n in [spoke, hub] {
                assert_eq!(sim.tunnel_down(n), 1, "seed {seed}");
                assert!(live_children(sim.events(n)).is_empty(), "seed {seed}");
            }
            assert_eq!(sim.nodes[hub].ep.pool_in_use(), 0);
        }
    }
    assert!(kept >= seeds - 3, "only {kept} of {seeds} kept the tunnel");
}

/// The hub deletes the spoke's only Child SA: the spoke (an always-on
/// initiator) creates a new one with CREATE_CHILD_SA; after the spoke's
/// own operator delete it does not.
#[test]
fn sim_initiator_replaces_lost_child() {
    let (mut sim, hub, spoke) = hub_and_spoke(29);
    let id = connect(&mut sim, spoke, hub);
    assert!(sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)));
    let hub_id = sim.nodes[hub].ep.ike_sas()[0].id;
    let (h_in, _) = live_children(sim.events(hub))[0];
    let now = sim.now;
    sim.nodes[hub]
        .ep
        .delete_child_sa(now, hub_id, h_in)
        .unwrap();
    sim.run_for(5 * SECOND);
    let now_children = live_children(sim.events(spoke));
    assert_eq!(now_children.len(), 1);
    assert!(children_consistent(sim.events(spoke), sim.events(hub)));
    let new = sim.events(spoke).iter().rev().find_map(|e| match e {
        Event::ChildSaInstalled(c) => Some(c.replaces),
        _ => None,
    });
    assert_eq!(new, Some(None), "a new Child SA, not a rekey");
    // The spoke's operator deletes it: it stays deleted.
    let now = sim.now;
    sim.nodes[spoke]
        .ep
        .delete_child_sa(now, id, now_children[0].0)
        .unwrap();
    sim.run_for(30 * SECOND);
    assert!(live_children(sim.events(spoke)).is_empty());
    assert!(live_children(sim.events(hub)).is_empty());
    assert_eq!(sim.tunnel_down(spoke) + sim.tunnel_down(hub), 0);
}

/// Identities other than names: KEY_ID, an IPv4 address and an opaque DN,
/// each matched exactly by the keyring and the profile.
#[test]
fn sim_identity_types() {
    for (spoke_id, hub_id) in [
        (
            Identity::KeyId(b"spoke-key-1".to_vec()),
            Identity::KeyId(vec![0xde, 0xad]),
        ),
        (
            Identity::Ipv4("10.0.0.110".parse().unwrap()),
            Identity::Ipv4("10.0.0.100".parse().unwrap()),
        ),
        (
            Identity::Dn(vec![0x30, 0x0b, 0x31, 0x09]),
            Identity::Ipv6("2001:db8::100".parse().unwrap()),
        ),
    ] {
        let mut sim = Sim::new(30);
        let mut h = hub_config();
        h.local_id = hub_id.clone();
        h.remote_match = vec![IdentityMatch::Exact(spoke_id.clone())];
        h.authenticator = std::sync::Arc::new(Keyring::new().with(
            IdentityMatch::Exact(spoke_id.clone()),
            Psk::new(b"per-peer"),
        ));
        let mut s = spoke_config(1);
        s.local_id = spoke_id.clone();
        s.authenticator = std::sync::Arc::new(
            Keyring::new().with(IdentityMatch::Exact(hub_id.clone()), Psk::new(b"per-peer")),
        );
        let hub = sim.add("hub", "10.0.0.100", h);
        let spoke = sim.add("spoke1", "10.0.0.110", s);
        let now = sim.now;
        let (l, r) = (sim.addr(spoke, 500), sim.addr(hub, 500));
        sim.nodes[spoke]
            .ep
            .initiate(now, l, r, Some(hub_id.clone()))
            .unwrap();
        assert!(
            sim.run_until(10 * SECOND, |s| both_up(s, hub, spoke)),
            "{spoke_id}"
        );
        let peer = sim.events(hub).iter().find_map(|e| match e {
            Event::TunnelUp(u) => Some(u.peer_id.clone()),
            _ => None,
        });
        assert_eq!(peer, Some(spoke_id));
        let peer = sim.events(spoke).iter().find_map(|e| match e {
            Event::TunnelUp(u) => Some(u.peer_id.clone()),
            _ => None,
        });
        assert_eq!(peer, Some(hub_id));
    }
}

/// Harsher still, with a NAT on every other seed: 20 % loss, 30 %
/// duplication, jitter up to 2.5 s (beyond the first retransmission
/// timeout, so requests, retransmissions and answers overtake each
/// other), lifetimes of 40 s (IKE) and 20 s (Child), DPD every 10 s. Every
/// seed ends consistent, or down on both ends with nothing left installed.
#[test]
fn sim_rekeys_on_hostile_links() {
    for seed in 0..60u64 {
        let mut sim = Sim::new(123_000 + seed);
        let mut h = hub_config();
        h.lifetimes.ike_rekey = 40 * SECOND;
        h.lifetimes.child_rekey = 20 * SECOND;
        h.lifetimes.hard_margin = 30 * SECOND;
        h.dpd = Some(controlplane::ikev2::config::DpdConfig {
            interval: 10 * SECOND,
        });
        let mut s = spoke_config(1);
        s.lifetimes = h.lifetimes;
        s.dpd = h.dpd;
        let hub = sim.add("hub", "10.0.0.100", h);
        let spoke = sim.add("spoke1", "10.0.0.111", s);
        if seed % 2 == 0 {
            sim.put_behind_nat(spoke, "198.51.100.9");
        }
        connect(&mut sim, spoke, hub);
        assert!(
            sim.run_until(30 * SECOND, |s| both_up(s, hub, spoke)),
            "seed {seed}"
        );
        sim.faults = Faults {
            drop: 0.2,
            duplicate: 0.3,
            jitter_ms: 2500,
        };
        sim.run_for(300 * SECOND);
        sim.faults = Faults::default();
        sim.run_for(60 * SECOND);
        if (sim.tunnel_down(spoke), sim.tunnel_down(hub)) != (0, 0) {
            sim.run_for(300 * SECOND);
            for n in [spoke, hub] {
                assert_eq!(sim.tunnel_down(n), 1, "seed {seed}");
                assert!(live_children(sim.events(n)).is_empty(), "seed {seed}");
            }
            assert_eq!(sim.nodes[hub].ep.pool_in_use(), 0, "seed {seed}");
            continue;
        }
        assert!(
            children_consistent(sim.events(spoke), sim.events(hub)),
            "seed {seed}: {:?} / {:?}",
            live_children(sim.events(spoke)),
            live_children(sim.events(hub))
        );
        // One Child SA, or two while a rekey is between its install and
        // the old SA's delete: no accumulation.
        let n = live_children(sim.events(spoke)).len();
        assert!((1..=2).contains(&n), "seed {seed}: {n}");
        keys_match(sim.events(spoke), sim.events(hub));
    }
}

/// The FlexVPN sequence's IKE part: both spokes come up to the hub (with
/// addresses from its pool), then spoke2 opens a shortcut straight to
/// spoke1, which answers as a responder without a pool; each spoke's
/// routes toward the other (its LAN) arrive through the configuration
/// payload.
#[test]
fn sim_spoke_to_spoke_shortcut() {
    let mut sim = Sim::new(31);
    let hub = sim.add("hub", "10.0.0.100", hub_config());
    let mut s1 = spoke_config(1);
    s1.remote_match = vec![IdentityMatch::FqdnDomain("cisco.com".into())];
    let mut s2 = spoke_config(2);
    s2.remote_match = vec![IdentityMatch::FqdnDomain("cisco.com".into())];
    let spoke1 = sim.add("spoke1", "10.0.0.110", s1);
    let spoke2 = sim.add("spoke2", "10.0.0.120", s2);
    connect(&mut sim, spoke1, hub);
    connect(&mut sim, spoke2, hub);
    assert!(sim.run_until(10 * SECOND, |s| s.tunnel_up(spoke1) == 1
        && s.tunnel_up(spoke2) == 1));
    // The shortcut: spoke2 -> spoke1 (NHRP's resolution triggers it).
    let now = sim.now;
    let (l, r) = (sim.addr(spoke2, 500), sim.addr(spoke1, 500));
    let shortcut = sim.nodes[spoke2]
        .ep
        .initiate(now, l, r, Some(Identity::Fqdn("spoke1.cisco.com".into())))
        .unwrap();
    assert!(sim.run_until(10 * SECOND, |s| s.tunnel_up(spoke1) == 2
        && s.tunnel_up(spoke2) == 2));
    sim.run_for(SECOND);
    let up = sim.events(spoke1).iter().rev().find_map(|e| match e {
        Event::TunnelUp(u) => Some(u.clone()),
        _ => None,
    });
    let up = up.unwrap();
    assert_eq!(up.peer_id, Identity::Fqdn("spoke2.cisco.com".into()));
    assert!(!up.initiator);
    assert!(up.assigned_ips.is_empty(), "spoke1 has no pool");
    // spoke1 learnt spoke2's LAN as a route toward the shortcut.
    let accepted: Vec<_> = sim
        .events(spoke1)
        .iter()
        .filter_map(|e| match e {
            Event::RoutesAdd(r) if r.ike_sa == up.ike_sa => Some(r.routes.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(accepted.iter().any(|r| r.kind == RouteKind::Accepted
        && r.prefix == IpPrefix::new("192.168.102.0".parse().unwrap(), 24)));
    // Three tunnels on each spoke's side in total: hub and shortcut.
    assert_eq!(sim.nodes[spoke1].ep.ike_sas().len(), 2);
    assert_eq!(sim.nodes[spoke2].ep.ike_sas().len(), 2);
    // The shortcut goes away; the hub tunnels stay.
    let now = sim.now;
    sim.nodes[spoke2].ep.delete_ike_sa(now, shortcut).unwrap();
    sim.run_for(5 * SECOND);
    assert_eq!(sim.tunnel_down(spoke1), 1);
    assert_eq!(sim.tunnel_down(spoke2), 1);
    assert_eq!(sim.tunnel_down(hub), 0);
}
