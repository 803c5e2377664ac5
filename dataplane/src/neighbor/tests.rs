use super::*;

const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x99];

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}
fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn table(cfg: Config) -> Neighbors<u32> {
    Neighbors::new(
        cfg,
        vec![
            PortAddrs {
                mac: OUR_MAC,
                v4: vec![(v4("10.0.0.1"), 24), (v4("192.0.2.1"), 24)],
                v6: vec![(v6("2001:db8::1"), 64)],
            },
            // A port without IPv4 addresses.
            PortAddrs {
                mac: [0x02, 0, 0, 0, 0, 0x02],
                v4: vec![],
                v6: vec![],
            },
        ],
    )
}

fn drain(n: &mut Neighbors<u32>) -> Vec<Output<u32>> {
    std::iter::from_fn(|| n.poll_output()).collect()
}

fn frame(dst: [u8; 6], src: [u8; 6], ethertype: EtherType, body: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14 + body.len()];
    EthernetRepr {
        dst,
        src,
        vlan: None,
        ethertype,
    }
    .emit(&mut f)
    .unwrap();
    f[14..].copy_from_slice(body);
    f
}

fn arp_frame(op: ArpOp, src_mac: [u8; 6], src_ip: &str, dst_ip: &str) -> Vec<u8> {
    let mut body = [0u8; arp::PACKET_LEN];
    ArpRepr {
        operation: op,
        source_hw: src_mac,
        source_ip: v4(src_ip).octets(),
        target_hw: if op == ArpOp::REPLY { OUR_MAC } else { [0; 6] },
        target_ip: v4(dst_ip).octets(),
    }
    .emit(&mut body);
    let dst = if op == ArpOp::REQUEST {
        BROADCAST
    } else {
        OUR_MAC
    };
    frame(dst, src_mac, EtherType::ARP, &body)
}

fn nd_frame(src_mac: [u8; 6], nd: NdPacket) -> Vec<u8> {
    let mut body = [0u8; ndp::PACKET_LEN];
    let n = nd.emit(&mut body).unwrap();
    let dst = if ndp::is_multicast(&nd.dst) {
        ndp::multicast_mac(&nd.dst)
    } else {
        OUR_MAC
    };
    frame(dst, src_mac, EtherType::IPV6, &body[..n])
}

/// The ARP packet of a transmitted frame, checking the Ethernet header.
fn sent_arp(o: &Output<u32>, port: u16, dst: [u8; 6]) -> ArpRepr {
    let Output::Transmit { port: p, frame } = o else {
        panic!("expected a frame, got {o:?}");
    };
    assert_eq!(*p, port);
    assert_eq!(frame.len(), MIN_FRAME, "padded to the Ethernet minimum");
    let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
    assert_eq!(eth.dst(), dst);
    assert_eq!(eth.src(), OUR_MAC);
    assert_eq!(eth.ethertype(), EtherType::ARP);
    ArpRepr::parse(eth.payload()).unwrap()
}

fn sent_nd(o: &Output<u32>, dst: [u8; 6]) -> NdPacket {
    let Output::Transmit { port: 0, frame } = o else {
        panic!("expected a frame on port 0, got {o:?}");
    };
    let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
    assert_eq!(eth.dst(), dst);
    assert_eq!(eth.ethertype(), EtherType::IPV6);
    // Parsing checks hop limit 255 and the ICMPv6 checksum.
    NdPacket::parse(eth.payload()).unwrap()
}

#[test]
fn answers_arp_for_our_addresses_and_learns_the_asker() {
    let t0 = Instant::now();
    let mut n = table(Config::default());
    n.handle_frame(
        t0,
        0,
        &arp_frame(ArpOp::REQUEST, HOST_MAC, "10.0.0.9", "10.0.0.1"),
    );
    let out = drain(&mut n);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(
        out[0],
        Output::Resolved {
            port: 0,
            ip: IpAddr::V4(v4("10.0.0.9")),
            mac: HOST_MAC
        }
    );
    let reply = sent_arp(&out[1], 0, HOST_MAC);
    assert_eq!(reply.operation, ArpOp::REPLY);
    assert_eq!(reply.source_hw, OUR_MAC);
    assert_eq!(reply.source_ip, [10, 0, 0, 1]);
    assert_eq!(reply.target_hw, HOST_MAC);
    assert_eq!(reply.target_ip, [10, 0, 0, 9]);
    assert_eq!(n.lookup(0, IpAddr::V4(v4("10.0.0.9"))), Some(HOST_MAC));
    assert_eq!(n.counters().arp_replies, 1);

    // A request for someone else: no reply, nothing learned (RFC 826
    // creates entries only from requests addressed to us).
    n.handle_frame(
        t0,
        0,
        &arp_frame(
            ArpOp::REQUEST,
            [2, 0, 0, 0, 0, 0x55],
            "10.0.0.5",
            "10.0.0.7",
        ),
    );
    assert!(drain(&mut n).is_empty());
    assert_eq!(n.len(), 1);
}

#[test]
fn resolves_holds_and_releases_in_order() {
    let t0 = Instant::now();
    let mut n = table(Config::default());
    let host = IpAddr::V4(v4("192.0.2.50"));
    n.resolve(t0, 0, host, 1);
    n.resolve(t0, 0, host, 2);
    let out = drain(&mut n);
    assert_eq!(out.len(), 1, "one request for both packets");
    let req = sent_arp(&out[0], 0, BROADCAST);
    assert_eq!(req.operation, ArpOp::REQUEST);
    assert_eq!(
        req.source_ip,
        [192, 0, 2, 1],
        "the address in the same subnet"
    );
    assert_eq!(req.target_ip, [192, 0, 2, 50]);
    assert_eq!(n.lookup(0, host), None);

    n.handle_frame(
        t0,
        0,
        &arp_frame(ArpOp::REPLY, HOST_MAC, "192.0.2.50", "192.0.2.1"),
    );
    let out = drain(&mut n);
    assert_eq!(
        out,
        vec![
            Output::Send {
                port: 0,
                mac: HOST_MAC,
                packet: 1
            },
            Output::Send {
                port: 0,
                mac: HOST_MAC,
                packet: 2
            },
            Output::Resolved {
                port: 0,
                ip: host,
                mac: HOST_MAC
            },
        ]
    );
    // Known now: sent at once.
    n.resolve(t0, 0, host, 3);
    assert_eq!(
        drain(&mut n),
        vec![Output::Send {
            port: 0,
            mac: HOST_MAC,
            packet: 3
        }]
    );
}

#[test]
fn gives_up_after_max_probes_and_drops_what_it_held() {
    let t0 = Instant::now();
    let cfg = Config::default();
    let mut n = table(cfg.clone());
    let host = IpAddr::V4(v4("10.0.0.77"));
    n.resolve(t0, 0, host, 7);
    assert_eq!(drain(&mut n).len(), 1);
    let mut t = t0;
    let mut requests = 1;
    while let Some(at) = n.poll_timeout() {
        assert!(at > t, "timers move forward");
        assert!(requests < 10, "bounded");
        t = at;
        n.handle_timeout(t);
        for o in drain(&mut n) {
            match o {
                Output::Transmit { .. } => requests += 1,
                Output::Drop { packet, reason } => {
                    assert_eq!((packet, reason), (7, DropCause::Unresolved));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(requests, cfg.max_probes);
    assert_eq!(t - t0, cfg.retransmit * cfg.max_probes);
    assert!(n.is_empty());
    let c = n.counters();
    assert_eq!((c.failed, c.held_dropped, c.arp_requests), (1, 1, 3));
}

#[test]
fn queue_overflow_drops_the_oldest() {
    let t0 = Instant::now();
    let mut n = table(Config {
        queue_per_entry: 2,
        ..Config::default()
    });
    let host = IpAddr::V4(v4("10.0.0.8"));
    for p in 1..=3 {
        n.resolve(t0, 0, host, p);
    }
    let out = drain(&mut n);
    assert!(out.contains(&Output::Drop {
        packet: 1,
        reason: DropCause::QueueFull
    }));
    n.handle_frame(
        t0,
        0,
        &arp_frame(ArpOp::REPLY, HOST_MAC, "10.0.0.8", "10.0.0.1"),
    );
    let sent: Vec<u32> = drain(&mut n)
        .into_iter()
        .filter_map(|o| match o {
            Output::Send { packet, .. } => Some(packet),
            _ => None,
        })
        .collect();
    assert_eq!(sent, vec![2, 3]);
}

#[test]
fn refresh_probes_unicast_then_loses_a_silent_neighbour() {
    let t0 = Instant::now();
    let cfg = Config::default();
    let mut n = table(cfg.clone());
    let host = IpAddr::V4(v4("10.0.0.9"));
    n.handle_frame(
        t0,
        0,
        &arp_frame(ArpOp::REQUEST, HOST_MAC, "10.0.0.9", "10.0.0.1"),
    );
    drain(&mut n);
    // Trust runs out: a unicast probe to the known MAC.
    let t1 = n.poll_timeout().unwrap();
    assert_eq!(t1 - t0, cfg.reachable);
    n.handle_timeout(t1);
    let out = drain(&mut n);
    let probe = sent_arp(&out[0], 0, HOST_MAC);
    assert_eq!(probe.target_ip, [10, 0, 0, 9]);
    // Still usable while probing.
    assert_eq!(n.lookup(0, host), Some(HOST_MAC));
    // It answers with the same MAC: no new event, trusted again.
    n.handle_frame(
        t1,
        0,
        &arp_frame(ArpOp::REPLY, HOST_MAC, "10.0.0.9", "10.0.0.1"),
    );
    assert!(drain(&mut n).is_empty());
    assert_eq!(n.poll_timeout().unwrap() - t1, cfg.reachable);
    // Next time it stays silent: Lost after max_probes probes.
    let mut events = Vec::new();
    while let Some(at) = n.poll_timeout() {
        assert!(events.len() < 20, "bounded");
        n.handle_timeout(at);
        events.extend(drain(&mut n));
    }
    let probes = events
        .iter()
        .filter(|o| matches!(o, Output::Transmit { .. }))
        .count();
    assert_eq!(probes as u32, cfg.max_probes);
    assert_eq!(events.last(), Some(&Output::Lost { port: 0, ip: host }));
    assert_eq!(n.lookup(0, host), None);
}

#[test]
fn mac_change_is_reported() {
    let t0 = Instant::now();
    let mut n = table(Config::default());
    let host = IpAddr::V4(v4("10.0.0.9"));
    n.handle_frame(
        t0,
        0,
        &arp_frame(ArpOp::REQUEST, HOST_MAC, "10.0.0.9", "10.0.0.1"),
    );
    drain(&mut n);
    let moved = [2, 0, 0, 0, 0, 0x42];
    // A gratuitous ARP (request for itself) updates the known entry.
    n.handle_frame(
        t0,
        0,
        &arp_frame(ArpOp::REQUEST, moved, "10.0.0.9", "10.0.0.9"),
    );
    assert_eq!(
        drain(&mut n),
        vec![Output::Resolved {
            port: 0,
            ip: host,
            mac: moved
        }]
    );
}

#[test]
fn ipv6_resolution_and_answers() {
    let t0 = Instant::now();
    let mut n = table(Config::default());
    let host = v6("2001:db8::99");
    n.resolve(t0, 0, IpAddr::V6(host), 1);
    let out = drain(&mut n);
    let group = ndp::solicited_node(&host.octets());
    let ns = sent_nd(&out[0], ndp::multicast_mac(&group));
    assert_eq!(ns.dst, group);
    assert_eq!(ns.src, v6("2001:db8::1").octets());
    assert_eq!(ns.repr.kind, NdKind::Solicitation);
    assert_eq!(ns.repr.lladdr, Some(OUR_MAC));

    let na = NdPacket {
        src: host.octets(),
        dst: v6("2001:db8::1").octets(),
        repr: NdRepr {
            kind: NdKind::Advertisement {
                router: false,
                solicited: true,
                override_: true,
            },
            target: host.octets(),
            lladdr: Some(HOST_MAC),
        },
    };
    n.handle_frame(t0, 0, &nd_frame(HOST_MAC, na));
    assert_eq!(
        drain(&mut n),
        vec![
            Output::Send {
                port: 0,
                mac: HOST_MAC,
                packet: 1
            },
            Output::Resolved {
                port: 0,
                ip: IpAddr::V6(host),
                mac: HOST_MAC
            }
        ]
    );

    // Someone asks for our global address.
    let asker = v6("2001:db8::5");
    let ns = NdPacket {
        src: asker.octets(),
        dst: ndp::solicited_node(&v6("2001:db8::1").octets()),
        repr: NdRepr {
            kind: NdKind::Solicitation,
            target: v6("2001:db8::1").octets(),
            lladdr: Some([2, 0, 0, 0, 0, 5]),
        },
    };
    n.handle_frame(t0, 0, &nd_frame([2, 0, 0, 0, 0, 5], ns));
    let out = drain(&mut n);
    assert!(matches!(out[0], Output::Resolved { .. }));
    let na = sent_nd(&out[1], [2, 0, 0, 0, 0, 5]);
    assert_eq!(na.dst, asker.octets());
    assert_eq!(
        na.repr.kind,
        NdKind::Advertisement {
            router: true,
            solicited: true,
            override_: true
        }
    );
    assert_eq!(na.repr.lladdr, Some(OUR_MAC));

    // Duplicate address detection for our link-local address: the answer
    // goes to all nodes, not solicited.
    let ll = PortAddrs {
        mac: OUR_MAC,
        ..PortAddrs::default()
    }
    .link_local();
    assert_eq!(ll, v6("fe80::ff:fe00:1"));
    let dad = NdPacket {
        src: [0; 16],
        dst: ndp::solicited_node(&ll.octets()),
        repr: NdRepr {
            kind: NdKind::Solicitation,
            target: ll.octets(),
            lladdr: None,
        },
    };
    n.handle_frame(t0, 0, &nd_frame([2, 0, 0, 0, 0, 6], dad));
    let out = drain(&mut n);
    assert_eq!(out.len(), 1);
    let na = sent_nd(&out[0], [0x33, 0x33, 0, 0, 0, 1]);
    assert_eq!(
        na.repr.kind,
        NdKind::Advertisement {
            router: true,
            solicited: false,
            override_: true
        }
    );
    // Link-local targets are asked from our link-local address.
    n.resolve(t0, 0, IpAddr::V6(v6("fe80::1234")), 9);
    let out = drain(&mut n);
    let group = ndp::solicited_node(&v6("fe80::1234").octets());
    assert_eq!(
        sent_nd(&out[0], ndp::multicast_mac(&group)).src,
        ll.octets()
    );
}

#[test]
fn unsolicited_answers_do_not_create_entries() {
    let t0 = Instant::now();
    let mut n = table(Config::default());
    n.handle_frame(
        t0,
        0,
        &arp_frame(ArpOp::REPLY, HOST_MAC, "10.0.0.66", "10.0.0.1"),
    );
    let na = NdPacket {
        src: v6("2001:db8::66").octets(),
        dst: v6("ff02::1").octets(),
        repr: NdRepr {
            kind: NdKind::Advertisement {
                router: false,
                solicited: false,
                override_: true,
            },
            target: v6("2001:db8::66").octets(),
            lladdr: Some(HOST_MAC),
        },
    };
    n.handle_frame(t0, 0, &nd_frame(HOST_MAC, na));
    assert!(drain(&mut n).is_empty());
    assert!(n.is_empty());
}

#[test]
fn conflicts_limits_and_bad_input() {
    let t0 = Instant::now();
    let mut n = table(Config {
        max_entries: 1,
        ..Config::default()
    });
    // Someone else claims 10.0.0.1.
    n.handle_frame(
        t0,
        0,
        &arp_frame(ArpOp::REQUEST, HOST_MAC, "10.0.0.1", "10.0.0.1"),
    );
    assert!(drain(&mut n).is_empty());
    assert_eq!(n.counters().conflicts, 1);
    // No IPv4 address on port 1, and no port 7.
    n.resolve(t0, 1, IpAddr::V4(v4("10.9.9.9")), 1);
    n.resolve(t0, 7, IpAddr::V4(v4("10.9.9.9")), 2);
    assert_eq!(
        drain(&mut n),
        vec![
            Output::Drop {
                packet: 1,
                reason: DropCause::NoSource
            },
            Output::Drop {
                packet: 2,
                reason: DropCause::NoSource
            }
        ]
    );
    // The table holds one neighbour.
    n.resolve(t0, 0, IpAddr::V4(v4("10.0.0.2")), 3);
    n.resolve(t0, 0, IpAddr::V4(v4("10.0.0.3")), 4);
    let out = drain(&mut n);
    assert_eq!(
        out.last(),
        Some(&Output::Drop {
            packet: 4,
            reason: DropCause::TableFull
        })
    );
    // Every truncation of valid frames, and junk, is counted, never a panic.
    let frames = [
        arp_frame(ArpOp::REQUEST, HOST_MAC, "10.0.0.9", "10.0.0.1"),
        nd_frame(
            HOST_MAC,
            NdPacket {
                src: v6("2001:db8::5").octets(),
                dst: v6("2001:db8::1").octets(),
                repr: NdRepr {
                    kind: NdKind::Solicitation,
                    target: v6("2001:db8::1").octets(),
                    lladdr: Some(HOST_MAC),
                },
            },
        ),
    ];
    let before = n.counters().bad_frames;
    let mut cuts = 0;
    for f in &frames {
        for len in 0..f.len() - 1 {
            n.handle_frame(t0, 0, &f[..len]);
            cuts += 1;
        }
    }
    drain(&mut n);
    // ARP ignores bytes past its 28 and Ethernet pads, so only cuts that
    // remove needed bytes must count; every ND cut breaks the checksum.
    assert!(n.counters().bad_frames - before >= cuts - 2);
    n.handle_frame(t0, 9, &frames[0]);
    assert!(n.counters().bad_frames > before);
}
