//! `show` commands: snapshots of a [`Node`] as plain rows (serialisable to
//! JSON for `--json`) and their IOS-like text.
//!
//! The rows are built from the node's state alone, except packet and byte
//! counts of SAs, which the dataplane keeps: [`ipsec_sa`] takes them as a
//! lookup by inbound SPI.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Instant;

use serde::Serialize;

use super::node::Node;
use super::plan::{Encap, TunnelAddress};
use super::rib::{Source, Target};
use crate::ikev2::crypto::{DhGroup, Encr, Prf};
use crate::ikev2::state::IkeState;

/// A row of `show crypto ikev2 sa`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct IkeSaRow {
    /// The IKE SA's handle.
    pub id: u64,
    /// The tunnel interface it holds, if any.
    pub interface: Option<String>,
    /// Our address and port.
    pub local: String,
    /// The peer's.
    pub remote: String,
    /// IOS's status word: READY, IN-NEG, DELETE.
    pub status: &'static str,
    /// The state machine's state.
    pub state: String,
    /// We initiated it.
    pub initiator: bool,
    /// The authenticated peer.
    pub peer: Option<String>,
    /// Encryption, PRF and DH group, once negotiated.
    pub encr: Option<String>,
    /// PRF.
    pub prf: Option<String>,
    /// Diffie-Hellman group number.
    pub dh_group: Option<u16>,
    /// NAT detected on either side.
    pub nat: bool,
    /// Child SAs: inbound and outbound SPIs in hex.
    pub child_sas: Vec<(String, String)>,
    /// Addresses assigned to the peer.
    pub assigned: Vec<String>,
}

fn status(s: IkeState) -> &'static str {
    match s {
        IkeState::Established | IkeState::Rekeying => "READY",
        IkeState::Rekeyed | IkeState::Deleting | IkeState::Closed => "DELETE",
        _ => "IN-NEG",
    }
}

fn encr_name(e: Encr) -> &'static str {
    match e {
        Encr::AesCbc128 => "AES-CBC, keysize: 128",
        Encr::AesCbc256 => "AES-CBC, keysize: 256",
        Encr::AesGcm16_128 => "AES-GCM, keysize: 128",
        Encr::AesGcm16_256 => "AES-GCM, keysize: 256",
        Encr::ChaCha20Poly1305 => "CHACHA20-POLY1305, keysize: 256",
    }
}

fn prf_name(p: Prf) -> String {
    format!("{p:?}").replace("HmacSha", "SHA")
}

fn dh_number(d: DhGroup) -> u16 {
    d.id().0
}

/// `show crypto ikev2 sa`.
#[must_use]
pub fn ikev2_sa(node: &Node) -> Vec<IkeSaRow> {
    let mut v: Vec<IkeSaRow> = node
        .ike()
        .ike_sas()
        .into_iter()
        .map(|s| IkeSaRow {
            id: s.id.0,
            interface: node
                .tunnel_of(s.id)
                .and_then(|t| node.tunnels().find(|x| x.id == t))
                .map(|t| t.name.clone()),
            local: format!("{}/{}", s.local.ip(), s.local.port()),
            remote: format!("{}/{}", s.remote.ip(), s.remote.port()),
            status: status(s.state),
            state: format!("{:?}", s.state),
            initiator: s.initiator,
            peer: s.peer_id.as_ref().map(ToString::to_string),
            encr: s.suite.map(|x| encr_name(x.encr()).to_string()),
            prf: s.suite.map(|x| prf_name(x.prf())),
            dh_group: s.suite.map(|x| dh_number(x.dh())),
            nat: s.nat.any(),
            child_sas: s
                .children
                .iter()
                .map(|c| {
                    (
                        format!("0x{:08X}", c.inbound_spi),
                        format!("0x{:08X}", c.outbound_spi),
                    )
                })
                .collect(),
            assigned: s.assigned.iter().map(ToString::to_string).collect(),
        })
        .collect();
    v.sort_by_key(|r| r.id);
    v
}

/// The text of `show crypto ikev2 sa [detail]`.
#[must_use]
pub fn render_ikev2_sa(rows: &[IkeSaRow], detail: bool) -> String {
    let mut s = String::from(" IPv4 Crypto IKEv2  SA\n\n");
    let _ = writeln!(
        s,
        "{:<10}{:<26}{:<26}{:<12}Status",
        "Tunnel-id", "Local", "Remote", "fvrf/ivrf"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<10}{:<26}{:<26}{:<12}{}",
            r.id, r.local, r.remote, "none/none", r.status
        );
        let _ = writeln!(
            s,
            "      Encr: {}, PRF: {}, DH Grp:{}, Auth: {}",
            r.encr.as_deref().unwrap_or("none"),
            r.prf.as_deref().unwrap_or("none"),
            r.dh_group
                .map_or_else(|| "none".to_string(), |g| g.to_string()),
            if r.initiator {
                "initiator"
            } else {
                "responder"
            },
        );
        if detail {
            let _ = writeln!(s, "      State: {}", r.state);
            let _ = writeln!(
                s,
                "      Remote id: {}",
                r.peer.as_deref().unwrap_or("(not authenticated)")
            );
            if let Some(i) = &r.interface {
                let _ = writeln!(s, "      Interface: {i}");
            }
            let _ = writeln!(
                s,
                "      NAT-T is {}",
                if r.nat { "detected" } else { "not detected" }
            );
            for (i, o) in &r.child_sas {
                let _ = writeln!(s, "      Child sa: local spi {i}, remote spi {o}");
            }
            for a in &r.assigned {
                let _ = writeln!(s, "      Assigned host addr: {a}");
            }
        }
        s.push('\n');
    }
    s
}

/// A row of `show crypto ikev2 client flexvpn`: a static tunnel of a
/// FlexVPN client.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ClientRow {
    /// Tunnel interface.
    pub interface: String,
    /// UP or DOWN.
    pub state: &'static str,
    /// The server.
    pub peer: String,
    /// Our underlay address.
    pub source: String,
    /// The address the server gave us.
    pub address: Option<String>,
}

/// `show crypto ikev2 client flexvpn`.
#[must_use]
pub fn client_flexvpn(node: &Node) -> Vec<ClientRow> {
    node.plan()
        .tunnels
        .iter()
        .map(|t| {
            let up = node.tunnels().find(|s| s.name == t.name);
            ClientRow {
                interface: t.name.clone(),
                state: if up.is_some() { "UP" } else { "DOWN" },
                peer: t.destination.to_string(),
                source: t.source.to_string(),
                address: up.and_then(|u| u.address).map(|a| a.to_string()),
            }
        })
        .collect()
}

/// The text of `show crypto ikev2 client flexvpn`.
#[must_use]
pub fn render_client_flexvpn(rows: &[ClientRow], profile: &str) -> String {
    let mut s = String::new();
    for r in rows {
        let _ = writeln!(s, "  Profile : {profile}");
        let _ = writeln!(s, "  Current State:{}", r.state);
        let _ = writeln!(s, "  Peer : {}", r.peer);
        let _ = writeln!(s, "  Source : {}", r.source);
        let _ = writeln!(s, "  Tunnel interface : {}", r.interface);
        let _ = writeln!(
            s,
            "  Assigned address : {}",
            r.address.as_deref().unwrap_or("none")
        );
        let _ = writeln!(s, "  Active Gateway : {}\n", r.peer);
    }
    if rows.is_empty() {
        s.push_str("  No FlexVPN client tunnels configured\n");
    }
    s
}

/// A row of `show ip nhrp` / `show ipv6 nhrp`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct NhrpRow {
    /// Destination network, `A/LEN`.
    pub network: String,
    /// Protocol next hop.
    pub via: String,
    /// Tunnel interface.
    pub interface: String,
    /// NBMA address of the next hop.
    pub nbma: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// `show ip nhrp` (`v6`: `show ipv6 nhrp`).
#[must_use]
pub fn nhrp(node: &Node, now: Instant, v6: bool) -> Vec<NhrpRow> {
    let mut v: Vec<NhrpRow> = node
        .nhrp()
        .cache()
        .filter(|e| e.prefix.is_ipv6() == v6)
        .map(|e| NhrpRow {
            network: format!("{}/{}", e.prefix, e.prefix_len),
            via: e.next_hop.to_string(),
            interface: tunnel_name(node, e.tunnel),
            nbma: e.nbma.to_string(),
            expires_in: e.expires.saturating_duration_since(now).as_secs(),
        })
        .collect();
    v.sort_by(|a, b| a.network.cmp(&b.network));
    v
}

fn tunnel_name(node: &Node, id: u32) -> String {
    node.tunnels()
        .find(|t| t.id == id)
        .map_or_else(|| format!("tunnel {id}"), |t| t.name.clone())
}

fn hms(secs: u64) -> String {
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// The text of `show ip nhrp`.
#[must_use]
pub fn render_nhrp(rows: &[NhrpRow]) -> String {
    let mut s = String::new();
    for r in rows {
        let _ = writeln!(s, "{} via {}", r.network, r.via);
        let _ = writeln!(
            s,
            "   {} created, expire {}",
            r.interface,
            hms(r.expires_in)
        );
        let _ = writeln!(s, "   Type: dynamic, Flags: router rib nho");
        let _ = writeln!(s, "   NBMA address: {}", r.nbma);
    }
    s
}

/// A row of `show ip route` / `show ipv6 route`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RouteRow {
    /// IOS code: L, C, S, H (NHRP), S for IKEv2 routes too as IOS does.
    pub code: &'static str,
    /// `A/LEN`.
    pub prefix: String,
    /// Where it goes.
    pub target: String,
    /// Who installed it.
    pub source: String,
}

/// `show ip route` (`v6`: `show ipv6 route`).
#[must_use]
pub fn routes(node: &Node, v6: bool) -> Vec<RouteRow> {
    node.rib()
        .entries()
        .filter(|(p, _, _)| p.addr.is_ipv6() == v6)
        .map(|(p, src, t)| RouteRow {
            code: match src {
                Source::Local => "L",
                Source::Connected => "C",
                Source::Static | Source::Ike => "S",
                Source::Nhrp => "H",
            },
            prefix: format!("{}/{}", p.addr, p.len),
            target: match t {
                Target::Local => "is a local address".to_string(),
                Target::Connected { iface } => format!("is directly connected, {iface}"),
                Target::Gateway { iface, via } => match iface {
                    Some(i) => format!("via {via}, {i}"),
                    None => format!("via {via}"),
                },
                Target::Tunnel(id) => format!("is directly connected, {}", tunnel_name(node, *id)),
            },
            source: format!("{src:?}"),
        })
        .collect()
}

/// The text of `show ip route`.
#[must_use]
pub fn render_routes(rows: &[RouteRow]) -> String {
    let mut s =
        String::from("Codes: L - local, C - connected, S - static (and IKEv2), H - NHRP\n\n");
    for r in rows {
        let _ = writeln!(s, "{:<6}{} {}", r.code, r.prefix, r.target);
    }
    s
}

/// A row of `show interfaces` for tunnel interfaces.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct InterfaceRow {
    /// Name.
    pub name: String,
    /// up or down.
    pub state: &'static str,
    /// Overlay address.
    pub address: Option<String>,
    /// Tunnel source and destination (outer addresses).
    pub tunnel: Option<(String, String)>,
    /// `GRE/IP` or `IPSEC/IP`.
    pub mode: Option<&'static str>,
    /// NHRP network id.
    pub nhrp_network_id: Option<u32>,
}

/// `show interfaces` (plain interfaces, static tunnels, Virtual-Access).
#[must_use]
pub fn interfaces(node: &Node) -> Vec<InterfaceRow> {
    let mode = |e: Encap, v6: bool| match (e, v6) {
        (Encap::Gre, false) => "GRE/IP",
        (Encap::Gre, true) => "GRE/IPv6",
        (Encap::Ipsec, false) => "IPSEC/IP",
        (Encap::Ipsec, true) => "IPSEC/IPv6",
    };
    let mut v = Vec::new();
    for i in &node.plan().interfaces {
        v.push(InterfaceRow {
            name: i.name.clone(),
            state: "up",
            address: i.addresses.first().map(|(a, l)| format!("{a}/{l}")),
            tunnel: None,
            mode: None,
            nhrp_network_id: None,
        });
    }
    for t in &node.plan().tunnels {
        let up = node.tunnels().find(|s| s.name == t.name);
        v.push(InterfaceRow {
            name: t.name.clone(),
            state: if up.is_some() { "up" } else { "down" },
            address: up
                .and_then(|u| u.address)
                .map(|a| a.to_string())
                .or(match &t.address {
                    TunnelAddress::Static(a) => Some(a.to_string()),
                    _ => None,
                }),
            tunnel: Some((t.source.to_string(), t.destination.to_string())),
            mode: Some(mode(t.encap, t.destination.is_ipv6())),
            nhrp_network_id: t.nhrp.map(|n| n.network_id),
        });
    }
    for t in node
        .tunnels()
        .filter(|t| t.name.starts_with("Virtual-Access"))
    {
        v.push(InterfaceRow {
            name: t.name.clone(),
            state: "up",
            address: t.address.map(|a: IpAddr| a.to_string()),
            tunnel: Some((t.local.ip().to_string(), t.remote.ip().to_string())),
            mode: Some(mode(t.encap, t.remote.is_ipv6())),
            nhrp_network_id: t.network_id,
        });
    }
    v
}

/// The text of `show interfaces`.
#[must_use]
pub fn render_interfaces(rows: &[InterfaceRow]) -> String {
    let mut s = String::new();
    for r in rows {
        let _ = writeln!(s, "{} is {}, line protocol is {}", r.name, r.state, r.state);
        if let Some(a) = &r.address {
            let _ = writeln!(s, "  Internet address is {a}");
        }
        if let (Some((src, dst)), Some(m)) = (&r.tunnel, r.mode) {
            let _ = writeln!(s, "  Tunnel source {src}, destination {dst}");
            let _ = writeln!(s, "  Tunnel protocol/transport {m}");
        }
        if let Some(n) = r.nhrp_network_id {
            let _ = writeln!(s, "  NHRP network-id {n}");
        }
    }
    s
}

/// Packets and bytes of one SA direction, from the dataplane.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SaCounters {
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// Drops (authentication failures, replays).
    pub errors: u64,
}

/// A row of `show crypto ipsec sa`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct IpsecSaRow {
    /// Tunnel interface.
    pub interface: String,
    /// Local crypto endpoint.
    pub local: String,
    /// Remote crypto endpoint.
    pub remote: String,
    /// UDP-encapsulated.
    pub udp_encap: bool,
    /// Inbound SPI.
    pub inbound_spi: String,
    /// Outbound SPI.
    pub outbound_spi: String,
    /// Inbound counters (decaps), if the dataplane reported them.
    pub inbound: Option<SaCounters>,
    /// Outbound counters (encaps).
    pub outbound: Option<SaCounters>,
}

/// `show crypto ipsec sa`; `counters(inbound_spi)` gives the dataplane's
/// (inbound, outbound) counters of an SA.
pub fn ipsec_sa(
    node: &Node,
    counters: impl Fn(u32) -> Option<(SaCounters, SaCounters)>,
) -> Vec<IpsecSaRow> {
    let mut v = Vec::new();
    for sa in node.ike().ike_sas() {
        let Some(t) = node
            .tunnel_of(sa.id)
            .and_then(|id| node.tunnels().find(|t| t.id == id))
        else {
            continue;
        };
        for c in &sa.children {
            let cs = counters(c.inbound_spi);
            v.push(IpsecSaRow {
                interface: t.name.clone(),
                local: t.local.ip().to_string(),
                remote: t.remote.ip().to_string(),
                udp_encap: t.udp_encap,
                inbound_spi: format!("0x{:08X}", c.inbound_spi),
                outbound_spi: format!("0x{:08X}", c.outbound_spi),
                inbound: cs.map(|x| x.0),
                outbound: cs.map(|x| x.1),
            });
        }
    }
    v
}

/// The text of `show crypto ipsec sa`.
#[must_use]
pub fn render_ipsec_sa(rows: &[IpsecSaRow]) -> String {
    let mut s = String::new();
    for r in rows {
        let _ = writeln!(s, "interface: {}", r.interface);
        let _ = writeln!(
            s,
            "    local crypto endpt.: {}, remote crypto endpt.: {}",
            r.local, r.remote
        );
        let n = |c: Option<SaCounters>, f: fn(&SaCounters) -> u64| {
            c.map_or_else(|| "n/a".to_string(), |c| f(&c).to_string())
        };
        let _ = writeln!(
            s,
            "    #pkts encaps: {}, #pkts encrypt: {}",
            n(r.outbound, |c| c.packets),
            n(r.outbound, |c| c.packets)
        );
        let _ = writeln!(
            s,
            "    #pkts decaps: {}, #pkts decrypt: {}, #recv errors {}",
            n(r.inbound, |c| c.packets),
            n(r.inbound, |c| c.packets),
            n(r.inbound, |c| c.errors)
        );
        let _ = writeln!(
            s,
            "    current outbound spi: {} ({})",
            r.outbound_spi,
            if r.udp_encap {
                "Tunnel UDP-Encaps"
            } else {
                "Tunnel"
            }
        );
        let _ = writeln!(s, "    inbound esp sas:\n      spi: {}", r.inbound_spi);
        let _ = writeln!(s, "    outbound esp sas:\n      spi: {}\n", r.outbound_spi);
    }
    s
}
