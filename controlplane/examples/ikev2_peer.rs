//! A tiny IKEv2 peer on real UDP sockets, for trying the core against
//! another implementation by hand:
//!
//! ```sh
//! # a spoke that asks a hub for an address
//! cargo run -p controlplane --example ikev2_peer -- \
//!     --local 10.201.0.1 --remote 10.201.0.2 \
//!     --id spoke1@example.test --peer-id hub@example.test --psk interop-psk-0123 --cp
//! # a hub with a pool, waiting for spokes
//! cargo run -p controlplane --example ikev2_peer -- \
//!     --local 10.201.0.2 --id hub@example.test --psk interop-psk-0123 \
//!     --pool 10.99.0.1-10.99.0.200 --route 10.10.0.0/16
//! ```
//!
//! Identities with an `@` are RFC 822 addresses, others FQDNs. Every event
//! is printed; Ctrl-C ends it (or `--seconds N`).

use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use controlplane::ikev2::config::{IpPrefix, PoolConfig};
use controlplane::ikev2::driver::UdpDriver;
use controlplane::ikev2::events::CounterSpiAllocator;
use controlplane::ikev2::{Config, Endpoint, Identity, IdentityMatch, Keyring, Psk};

fn identity(s: &str) -> Identity {
    if s.contains('@') {
        Identity::Email(s.into())
    } else {
        Identity::Fqdn(s.into())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut local: Option<IpAddr> = None;
    let mut remote: Option<IpAddr> = None;
    let mut id = "peer.example".to_string();
    let mut peer_id: Option<String> = None;
    let mut psk = String::new();
    let mut cp = false;
    let mut pool: Option<(IpAddr, IpAddr)> = None;
    let mut routes = Vec::new();
    let mut seconds = u64::MAX;
    while let Some(a) = args.next() {
        let mut v = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--local" => local = Some(v()?.parse()?),
            "--remote" => remote = Some(v()?.parse()?),
            "--id" => id = v()?,
            "--peer-id" => peer_id = Some(v()?),
            "--psk" => psk = v()?,
            "--cp" => cp = true,
            "--pool" => {
                let s = v()?;
                let (a, b) = s.split_once('-').ok_or("--pool FIRST-LAST")?;
                pool = Some((a.parse()?, b.parse()?));
            }
            "--route" => {
                let s = v()?;
                let (a, l) = s.split_once('/').ok_or("--route ADDR/LEN")?;
                routes.push(IpPrefix::new(a.parse()?, l.parse()?));
            }
            "--seconds" => seconds = v()?.parse()?,
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let local = local.ok_or("--local ADDRESS is needed")?;
    let keyring = Keyring::new().with(IdentityMatch::Any, Psk::new(psk.as_bytes()));
    let mut cfg = Config::new(identity(&id), keyring);
    cfg.cp_request.ipv4 = cp;
    cfg.cp_request.dns = cp;
    if let Some((IpAddr::V4(a), IpAddr::V4(b))) = pool {
        cfg.pool = Some(PoolConfig {
            v4: Some((a, b)),
            routes,
            ..PoolConfig::default()
        });
    }
    let ep = Endpoint::new(cfg, Box::new(CounterSpiAllocator::new(0x1_0000)))?;
    let mut d = UdpDriver::bind(ep, &[local])?;
    if let Some(r) = remote {
        let port = d.endpoint().config().ports.0;
        d.endpoint().initiate(
            Instant::now(),
            SocketAddr::new(local, port),
            SocketAddr::new(r, port),
            peer_id.as_deref().map(identity),
        )?;
    }
    let deadline = Instant::now()
        .checked_add(Duration::from_secs(seconds))
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
    let _ = d.run_until(deadline, |_, e| {
        println!("{e:?}");
        ControlFlow::Continue(())
    });
    Ok(())
}
