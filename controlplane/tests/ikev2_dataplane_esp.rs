//! The Child SAs the IKE core reports, installed in the dataplane's ESP:
//! for each AEAD and with and without ESN, a packet sealed with one end's
//! outbound SA opens with the other end's inbound SA (and not with the
//! wrong direction). This is what the driver does with
//! `Event::ChildSaInstalled`.

mod sim_common;

use std::time::Duration;

use controlplane::ikev2::config::EsnPolicy;
use controlplane::ikev2::crypto::Encr;
use controlplane::ikev2::events::{ChildSaInstalled, Event};
use controlplane::ikev2::Identity;
use dataplane::buffer::VecBuf;
use dataplane::crypto::{Algorithm, Backend};
use dataplane::esp::{self, Sa, SaConfig};
use sim_common::*;

fn algorithm(e: Encr) -> Algorithm {
    match e {
        Encr::AesGcm16_128 => Algorithm::AesGcm128,
        Encr::AesGcm16_256 => Algorithm::AesGcm256,
        Encr::ChaCha20Poly1305 => Algorithm::ChaCha20Poly1305,
        other => panic!("not an ESP AEAD here: {other:?}"),
    }
}

fn outbound(c: &ChildSaInstalled) -> Sa {
    Sa::new(SaConfig {
        spi: c.outbound_spi,
        algorithm: algorithm(c.encr),
        backend: Backend::Ring,
        key: c.outbound_key.as_bytes().to_vec(),
        esn: c.esn,
        replay_window: c.replay_window,
    })
    .unwrap()
}

fn inbound(c: &ChildSaInstalled) -> Sa {
    Sa::new(SaConfig {
        spi: c.inbound_spi,
        algorithm: algorithm(c.encr),
        backend: Backend::Ring,
        key: c.inbound_key.as_bytes().to_vec(),
        esn: c.esn,
        replay_window: c.replay_window,
    })
    .unwrap()
}

fn child(events: &[Event]) -> ChildSaInstalled {
    events
        .iter()
        .find_map(|e| match e {
            Event::ChildSaInstalled(c) => Some((**c).clone()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn child_sa_keys_work_in_the_dataplane() {
    for encr in [
        Encr::AesGcm16_128,
        Encr::AesGcm16_256,
        Encr::ChaCha20Poly1305,
    ] {
        for esn in [EsnPolicy::Off, EsnPolicy::On] {
            let mut sim = Sim::new(40);
            let mut h = hub_config();
            h.esp_proposals[0].encr = vec![encr];
            h.esp_proposals[0].esn = esn;
            let hub = sim.add("hub", "10.0.0.100", h);
            let spoke = sim.add("spoke1", "10.0.0.110", spoke_config(1));
            let now = sim.now;
            let (l, r) = (sim.addr(spoke, 500), sim.addr(hub, 500));
            sim.nodes[spoke]
                .ep
                .initiate(now, l, r, Some(Identity::Fqdn("hub.cisco.com".into())))
                .unwrap();
            assert!(
                sim.run_until(Duration::from_secs(10), |s| s.tunnel_up(hub) == 1
                    && s.tunnel_up(spoke) == 1)
            );
            let (s, h) = (child(sim.events(spoke)), child(sim.events(hub)));
            assert_eq!((s.encr, h.encr), (encr, encr));
            assert_eq!(s.esn, esn == EsnPolicy::On);
            for (from, to) in [(&s, &h), (&h, &s)] {
                let tx = outbound(from);
                let rx = inbound(to);
                let payload = b"GRE over ESP between spoke and hub".to_vec();
                let mut buf = VecBuf::from_slice(&payload, 64, 64);
                esp::seal(&tx, &mut buf, 47).unwrap();
                assert_eq!(
                    esp::peek_spi(dataplane::buffer::PacketBuf::data(&buf)),
                    Some(rx.spi())
                );
                let sealed = buf.to_vec();
                let opened = esp::open(&rx, &mut buf).unwrap();
                assert_eq!(opened.next_header, 47);
                assert_eq!(buf.to_vec(), payload);
                // The wrong direction's key refuses it.
                let wrong = Sa::new(SaConfig {
                    spi: rx.spi(),
                    algorithm: algorithm(to.encr),
                    backend: Backend::Ring,
                    key: to.outbound_key.as_bytes().to_vec(),
                    esn: to.esn,
                    replay_window: 64,
                })
                .unwrap();
                let mut again = VecBuf::from_slice(&sealed, 64, 64);
                assert!(esp::open(&wrong, &mut again).is_err());
            }
        }
    }
}
