//! Two endpoints over real UDP sockets on loopback addresses through the
//! UDP driver (threads only in the driver; the cores see `now` passed
//! in): a spoke brings a tunnel up to a hub with the configuration
//! payload, rekeys its Child SA, and deletes the IKE SA.

mod sim_common;

use std::net::IpAddr;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use controlplane::ikev2::driver::UdpDriver;
use controlplane::ikev2::events::{CounterSpiAllocator, Event};
use controlplane::ikev2::{Endpoint, Identity};
use sim_common::{hub_config, spoke_config};

#[test]
fn udp_driver_tunnel_up_rekey_delete() {
    // Ports unlikely to be used by anything else; two loopback addresses
    // so that both ends have the same ports (NAT-T assumes it).
    let base = 20000 + (std::process::id() % 20000) as u16;
    let ports = (base, base + 1);
    let hub_ip: IpAddr = "127.0.0.1".parse().unwrap();
    let spoke_ip: IpAddr = "127.0.0.2".parse().unwrap();
    let mut h = hub_config();
    h.ports = ports;
    let mut s = spoke_config(1);
    s.ports = ports;
    let mut hub = UdpDriver::bind(
        Endpoint::new(h, Box::new(CounterSpiAllocator::new(0x1000))).unwrap(),
        &[hub_ip],
    )
    .expect("bind hub");
    let mut spoke = UdpDriver::bind(
        Endpoint::new(s, Box::new(CounterSpiAllocator::new(0x8000))).unwrap(),
        &[spoke_ip],
    )
    .expect("bind spoke");
    let id = spoke
        .endpoint()
        .initiate(
            Instant::now(),
            (spoke_ip, ports.0).into(),
            (hub_ip, ports.0).into(),
            Some(Identity::Fqdn("hub.cisco.com".into())),
        )
        .unwrap();
    // The hub runs in a thread of its own; the spoke on this one.
    let hub_thread = std::thread::spawn(move || {
        let mut events = Vec::new();
        let _ = hub.run_until(Instant::now() + Duration::from_secs(20), |_, e| {
            let done = matches!(e, Event::TunnelDown { .. });
            events.push(e);
            if done {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        events
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut child = None;
    let r = spoke.run_until(deadline, |_, e| match e {
        Event::ChildSaInstalled(c) => {
            child = Some(c.inbound_spi);
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    });
    assert!(r.is_break(), "no Child SA over UDP");
    spoke
        .endpoint()
        .rekey_child_sa(Instant::now(), id, child.unwrap())
        .unwrap();
    let r = spoke.run_until(Instant::now() + Duration::from_secs(10), |_, e| {
        if matches!(e, Event::ChildSaRemoved { .. }) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert!(r.is_break(), "no rekey over UDP");
    spoke.endpoint().delete_ike_sa(Instant::now(), id).unwrap();
    let _ = spoke.run_until(Instant::now() + Duration::from_secs(2), |_, _| {
        ControlFlow::Continue(())
    });
    let hub_events = hub_thread.join().unwrap();
    assert!(hub_events.iter().any(|e| matches!(e, Event::TunnelUp(_))));
    assert_eq!(
        hub_events
            .iter()
            .filter(|e| matches!(e, Event::ChildSaInstalled(_)))
            .count(),
        2
    );
    assert!(hub_events
        .iter()
        .any(|e| matches!(e, Event::TunnelDown { .. })));
    assert_eq!(spoke.send_errors, 0);
}
