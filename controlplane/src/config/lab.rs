//! Lab variants of the source document's configurations (its six files
//! reference certificates that live on real routers, and use IPv4
//! everywhere). The demo, the simulations and the end-to-end tests derive
//! their configurations from the seed files with these rewrites, so that
//! what runs is the document's text with the smallest changes.

/// Pre-shared keys instead of the certificates the file references:
/// `pre-share` authentication, the `keyring local NAME` with one `peer
/// any` entry holding `key`, and the DPD `dpd` (`INTERVAL RETRY`) if given.
#[must_use]
pub fn with_psk(text: &str, keyring: &str, key: &str, dpd: Option<(u32, u32)>) -> String {
    let mut profile_lines = format!("keyring local {keyring}");
    if let Some((i, r)) = dpd {
        profile_lines.push_str(&format!("\n dpd {i} {r} periodic"));
    }
    let t = text
        .replace(
            "authentication local rsa-sig",
            "authentication local pre-share",
        )
        .replace(
            "authentication remote rsa-sig",
            "authentication remote pre-share",
        )
        .replace("pki trustpoint CA", &profile_lines)
        .replace(
            "aaa authorization group cert list default default",
            "aaa authorization group psk list default default",
        );
    format!(
        "{t}\n!\ncrypto ikev2 keyring {keyring}\n peer any\n  address 0.0.0.0 0.0.0.0\n  pre-shared-key {key}\n!\n"
    )
}

/// An IPv6 overlay: tunnel addresses from an IPv6 pool (`ipv6 address
/// negotiated`, `ipv6 local pool flex-pool6 fd00:16::/64 128`), `ipv6
/// nhrp`, IPv6 access lists for the routes, and the LANs as fd00:110::/64
/// and fd00:120::/64; the hub's loopback fd00:16:1::1.
#[must_use]
pub fn ipv6_overlay(text: &str) -> String {
    text.replace(
        "ip address 172.16.1.1 255.255.255.255",
        "ipv6 address fd00:16:1::1/128",
    )
    .replace("ip unnumbered ", "ipv6 unnumbered ")
    .replace("ip nhrp ", "ipv6 nhrp ")
    .replace("ip address negotiated", "ipv6 address negotiated")
    .replace("pool flex-pool\n", "ipv6 pool flex-pool6\n")
    .replace(
        "ip local pool flex-pool 172.16.0.1 172.16.0.254",
        "ipv6 local pool flex-pool6 fd00:16::/64 128",
    )
    .replace(
        "route set access-list flex-route",
        "route set access-list ipv6 flex-route",
    )
    .replace(
        "ip access-list standard flex-route\npermit any",
        "ipv6 access-list flex-route\npermit ipv6 any any",
    )
    .replace(
        "ip address 192.168.110.1 255.255.255.0",
        "ipv6 address fd00:110::1/64",
    )
    .replace(
        "ip address 192.168.120.1 255.255.255.0",
        "ipv6 address fd00:120::1/64",
    )
    .replace(
        "ip access-list standard flex-route\npermit 192.168.110.0 0.0.0.255",
        "ipv6 access-list flex-route\npermit ipv6 fd00:110::/64 any",
    )
    .replace(
        "ip access-list standard flex-route\npermit 192.168.120.0 0.0.0.255",
        "ipv6 access-list flex-route\npermit ipv6 fd00:120::/64 any",
    )
}

/// An IPv6 underlay: 2001:db8::/64 in place of 10.0.0.0/24 (the hub
/// 2001:db8::100, the spokes ::110 and ::120), `tunnel mode gre ipv6`.
#[must_use]
pub fn ipv6_underlay(text: &str) -> String {
    let mut t = text.to_string();
    for n in ["100", "110", "120"] {
        t = t
            .replace(
                &format!("ip address 10.0.0.{n} 255.255.255.0"),
                &format!("ipv6 address 2001:db8::{n}/64"),
            )
            .replace(
                &format!("tunnel destination 10.0.0.{n}"),
                &format!("tunnel destination 2001:db8::{n}"),
            );
    }
    t.replace(
        "tunnel protection ipsec profile default",
        "tunnel protection ipsec profile default\ntunnel mode gre ipv6",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_variants_load_and_plan() {
        for (name, text) in [
            ("hub", include_str!("../../tests/configs/static-hub.conf")),
            (
                "spoke1",
                include_str!("../../tests/configs/static-spoke1.conf"),
            ),
        ] {
            let base = with_psk(text, "k", "secret", Some((5, 2)));
            for t in [
                base.clone(),
                ipv6_overlay(&base),
                ipv6_underlay(&base),
                ipv6_underlay(&ipv6_overlay(&base)),
            ] {
                let p = crate::config::parse(&t);
                let cfg = p
                    .config
                    .unwrap_or_else(|| panic!("{name}: {:?}", p.diagnostics));
                crate::flexvpn::NodePlan::from_config(&cfg)
                    .unwrap_or_else(|e| panic!("{name}: {e}\n{t}"));
            }
        }
    }
}
