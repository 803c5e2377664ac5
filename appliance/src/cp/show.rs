//! `show` commands of the running control plane: the words of the
//! request, IOS-like text or JSON (`--json`).

use std::time::Instant;

use controlplane::flexvpn::show as s;
use controlplane::flexvpn::Node;
use serde::Serialize;

use super::Link;

/// The commands, for help and errors.
pub const COMMANDS: &str = "show crypto ikev2 sa [detail] | crypto ikev2 client flexvpn | crypto ipsec sa | ip nhrp | ipv6 nhrp | ip route | ipv6 route | interfaces | dataplane | metrics  [--json]";

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")) + "\n"
}

/// Answers one request (its words, `show` optional at the front).
///
/// # Errors
///
/// An unknown command, with the list of known ones.
pub fn dispatch(
    node: &Node,
    link: &dyn Link,
    now: Instant,
    words: &[&str],
) -> Result<String, String> {
    let as_json = words.contains(&"--json");
    let w: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| *w != "--json")
        .skip_while(|w| *w == "show")
        .collect();
    let profile = node
        .plan()
        .profiles
        .first()
        .map_or("default", |p| p.name.as_str());
    Ok(match w.as_slice() {
        ["crypto", "ikev2", "sa"] | ["crypto", "ikev2", "sa", "detail"] => {
            let rows = s::ikev2_sa(node);
            if as_json {
                json(&rows)
            } else {
                s::render_ikev2_sa(&rows, w.len() == 4)
            }
        }
        ["crypto", "ikev2", "client", "flexvpn"] => {
            let rows = s::client_flexvpn(node);
            if as_json {
                json(&rows)
            } else {
                s::render_client_flexvpn(&rows, profile)
            }
        }
        ["crypto", "ipsec", "sa"] => {
            let traffic = link.sa_traffic();
            let rows = s::ipsec_sa(node, |spi| {
                traffic.iter().find(|t| t.inbound_spi == spi).map(|t| {
                    (
                        s::SaCounters {
                            packets: t.in_packets,
                            bytes: t.in_bytes,
                            errors: 0,
                        },
                        s::SaCounters {
                            packets: t.out_packets,
                            bytes: t.out_bytes,
                            errors: 0,
                        },
                    )
                })
            });
            if as_json {
                json(&rows)
            } else {
                s::render_ipsec_sa(&rows)
            }
        }
        [fam @ ("ip" | "ipv6"), "nhrp"] => {
            let rows = s::nhrp(node, now, *fam == "ipv6");
            if as_json {
                json(&rows)
            } else {
                s::render_nhrp(&rows)
            }
        }
        [fam @ ("ip" | "ipv6"), "route"] => {
            let rows = s::routes(node, *fam == "ipv6");
            if as_json {
                json(&rows)
            } else {
                s::render_routes(&rows)
            }
        }
        ["interfaces"] => {
            let rows = s::interfaces(node);
            if as_json {
                json(&rows)
            } else {
                s::render_interfaces(&rows)
            }
        }
        ["metrics"] => super::metrics_text(node, &link.dataplane_counters(), &link.sa_traffic()),
        ["dataplane"] => {
            let t = link.describe();
            if as_json {
                json(&serde_json::json!({ "dataplane": t }))
            } else {
                t
            }
        }
        _ => {
            return Err(format!(
                "unknown command {:?}; known: {COMMANDS}",
                w.join(" ")
            ))
        }
    })
}
