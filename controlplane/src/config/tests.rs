use super::*;

/// The seed configurations live outside the repository; tests that need
/// them use the copies under `controlplane/tests/configs/`.
fn copy(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/configs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn warnings(p: &Parsed) -> Vec<String> {
    p.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_six_configurations_load() {
    for name in [
        "static-hub.conf",
        "static-spoke1.conf",
        "static-spoke2.conf",
        "bgp-hub.conf",
        "bgp-spoke1.conf",
        "bgp-spoke2.conf",
    ] {
        let text = copy(name);
        if let Ok(original) = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/seed/configs")
                .join(name),
        ) {
            assert_eq!(text, original, "{name}: the copy differs from the source");
        }
        let p = parse(&text);
        let errors: Vec<_> = p
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let cfg = p.config.as_ref().unwrap();
        // Every one references the CA trustpoint without defining it.
        assert!(
            warnings(&p)
                .iter()
                .any(|w| w.contains("trustpoint CA is not defined")),
            "{name}: {:?}",
            warnings(&p)
        );
        assert_eq!(
            cfg.ikev2_profiles["default"].match_remote,
            [IdentityMatch::FqdnDomain("cisco.com".into())]
        );
        assert_eq!(cfg.ipsec_profiles["default"].as_deref(), Some("default"));
        let vt = &cfg.interfaces["Virtual-Template1"];
        assert!(vt.is_template);
        assert_eq!(vt.nhrp_network_id, Some(1));
        assert_eq!(vt.nhrp_redirect, Some(8));
        if name.starts_with("bgp") {
            assert!(!cfg.bgp.is_empty());
            assert!(warnings(&p)
                .iter()
                .any(|w| w.contains("dynamic routing is not supported yet")));
        } else {
            assert!(cfg.bgp.is_empty());
        }
    }
}

#[test]
fn static_hub_model() {
    let p = parse(&copy("static-hub.conf"));
    let cfg = p.config.unwrap();
    assert_eq!(cfg.hostname.as_deref(), Some("hub"));
    let a = &cfg.authorization_policies["default"];
    assert_eq!(a.pool.as_deref(), Some("flex-pool"));
    assert_eq!(a.def_domain.as_deref(), Some("cisco.com"));
    assert!(a.route_set_interface);
    assert_eq!(a.route_set_acl, ["flex-route"]);
    assert_eq!(
        cfg.pools_v4["flex-pool"],
        (
            "172.16.0.1".parse().unwrap(),
            "172.16.0.254".parse().unwrap()
        )
    );
    assert_eq!(
        cfg.acls["flex-route"],
        [AclEntry {
            permit: true,
            network: None
        }]
    );
    let prof = &cfg.ikev2_profiles["default"];
    assert_eq!(
        prof.identity_local,
        Some(Identity::Fqdn("hub.cisco.com".into()))
    );
    assert_eq!(prof.auth_local, Some(AuthMethod::RsaSig));
    assert_eq!(prof.auth_remote, [AuthMethod::RsaSig]);
    assert_eq!(prof.authorization_policy.as_deref(), Some("default"));
    assert_eq!(prof.virtual_template, Some(1));
    assert_eq!(
        cfg.interfaces["Loopback0"].ipv4,
        Ipv4Address::Static("172.16.1.1".parse().unwrap(), 32)
    );
    assert_eq!(
        cfg.interfaces["Virtual-Template1"].ipv4,
        Ipv4Address::Unnumbered("Loopback0".into())
    );
}

#[test]
fn static_spoke_model() {
    let p = parse(&copy("static-spoke1.conf"));
    let cfg = p.config.unwrap();
    let t = &cfg.interfaces["Tunnel0"];
    assert_eq!(t.ipv4, Ipv4Address::Negotiated);
    assert_eq!(t.nhrp_shortcut_template, Some(1));
    assert_eq!(t.tunnel_source.as_deref(), Some("Ethernet0/0"));
    assert_eq!(t.tunnel_destination.as_deref(), Some("10.0.0.100"));
    assert_eq!(t.tunnel_protection.as_deref(), Some("default"));
    assert_eq!(t.tunnel_mode, TunnelMode::GreIp);
    assert_eq!(
        cfg.acls["flex-route"],
        [AclEntry {
            permit: true,
            network: Some(("192.168.110.0".parse().unwrap(), 24))
        }]
    );
}

#[test]
fn undefined_acl_in_bgp_spoke2_is_a_warning() {
    let p = parse(&copy("bgp-spoke2.conf"));
    assert!(p.config.is_some());
    let w = warnings(&p);
    assert!(
        w.iter().any(
            |w| w.starts_with("line 3:") && w.contains("access list flex-route is not defined")
        ),
        "{w:?}"
    );
}

#[test]
fn errors_name_their_line() {
    let text = "hostname x\n!\ninterface Tunnel0\nip address 10.0.0.1 255.0.255.0\nip nhrp network-id abc\nfrobnicate now\ninterface Serial0\n!\nip local pool p 10.0.0.9 10.0.0.1\ncrypto ikev2 profile p\nauthentication local magic\n";
    let p = parse(text);
    assert!(p.config.is_none());
    let errs: Vec<String> = p
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    assert_eq!(errs.len(), 6, "{errs:?}");
    assert!(errs[0].starts_with("line 4: error:") && errs[0].contains("not a contiguous mask"));
    assert!(errs[1].starts_with("line 5: error:") && errs[1].contains("NHRP network id"));
    assert!(
        errs[2].starts_with("line 6: error:")
            && errs[2].contains("frobnicate now")
            && errs[2].contains("interface Tunnel0")
    );
    assert!(errs[3].starts_with("line 7: error:") && errs[3].contains("unknown interface name"));
    assert!(errs[4].starts_with("line 9: error:") && errs[4].contains("after"));
    assert!(errs[5].starts_with("line 11: error:") && errs[5].contains("magic"));
}

#[test]
fn appliance_statements_and_key_material() {
    let text = "\
crypto ikev2 keyring spokes
 peer any
  address 0.0.0.0 0.0.0.0
  pre-shared-key s3cret
!
crypto ikev2 profile default
 match identity remote fqdn domain cisco.com
 identity local fqdn hub.cisco.com
 authentication local pre-share
 authentication remote pre-share
 keyring local spokes
!
crypto pki trustpoint CA
 ca-certificate /etc/flexvpn/ca.pem
 certificate /etc/flexvpn/hub.pem
 private-key /etc/flexvpn/hub.key
!
interface Ethernet0/0
 ip address 10.0.0.100 255.255.255.0
 ipv6 address 2001:db8::100/64
!
interface Virtual-Template2 type tunnel
 ip unnumbered Ethernet0/0
 tunnel mode ipsec ipv4
!
ipv6 local pool v6pool 2001:db8:100::/48 64
ip route 0.0.0.0 0.0.0.0 10.0.0.1
ipv6 route ::/0 2001:db8::1
dataplane port Ethernet0/0 device net_af_packet0,iface=veth0
dataplane cores 0-1
dataplane eal --no-huge -m 256
";
    let p = parse(text);
    assert!(
        p.diagnostics
            .iter()
            .all(|d| d.severity == Severity::Warning),
        "{:?}",
        p.diagnostics
    );
    let cfg = p.config.unwrap();
    let peer = &cfg.keyrings["spokes"]["any"];
    assert_eq!(peer.psk.as_deref(), Some("s3cret"));
    assert_eq!(peer.address, Some(("0.0.0.0".parse().unwrap(), 0)));
    assert_eq!(
        cfg.trustpoints["CA"].certificate.as_deref(),
        Some("/etc/flexvpn/hub.pem")
    );
    assert_eq!(
        cfg.interfaces["Virtual-Template2"].tunnel_mode,
        TunnelMode::IpsecIpv4
    );
    assert_eq!(
        cfg.interfaces["Ethernet0/0"].ipv6,
        [("2001:db8::100".parse().unwrap(), 64)]
    );
    assert_eq!(
        cfg.pools_v6["v6pool"],
        ("2001:db8:100::".parse().unwrap(), 48, 64)
    );
    assert_eq!(cfg.routes.len(), 2);
    assert_eq!(cfg.dataplane_ports[0].device, "net_af_packet0,iface=veth0");
    assert_eq!(cfg.dataplane_cores.as_deref(), Some("0-1"));
    assert_eq!(cfg.dataplane_eal, ["--no-huge", "-m", "256"]);
}

#[test]
fn never_panics_on_junk() {
    let mut seedtext = copy("bgp-hub.conf");
    seedtext.push_str("\n\u{0}\u{7f} interface\n ip address\n dataplane port\n");
    let words: Vec<&str> = seedtext.split_whitespace().collect();
    // Every line made of a window of the file's words, in every mode.
    let mut text = String::new();
    for (i, _) in words.iter().enumerate() {
        for n in 1..5 {
            if let Some(w) = words.get(i..i + n) {
                text.push_str(&w.join(" "));
                text.push('\n');
            }
        }
    }
    let p = parse(&text);
    assert!(!p.diagnostics.is_empty());
}

#[test]
fn ipv6_access_list() {
    let p = parse(
        "ipv6 access-list flex6\n permit ipv6 fd00:110::/64 any\n sequence 20 permit any\n deny host fd00::1\n permit ipv6 any fd00::/8\n",
    );
    // The last entry has a destination other than `any`: an error on its line.
    assert!(p.config.is_none());
    assert_eq!(p.diagnostics.len(), 1, "{:?}", p.diagnostics);
    assert_eq!(p.diagnostics[0].line, 5);
    let p = parse("ipv6 access-list flex6\n permit ipv6 fd00:110::/64 any\n sequence 20 permit any\n deny host fd00::1\n");
    let cfg = p.config.unwrap();
    let acl = &cfg.acls["flex6"];
    assert_eq!(acl.len(), 3);
    assert_eq!(acl[0].network, Some(("fd00:110::".parse().unwrap(), 64)));
    assert_eq!(acl[1].network, Some(("::".parse().unwrap(), 0)));
    assert!(!acl[2].permit);
    assert_eq!(acl[2].network, Some(("fd00::1".parse().unwrap(), 128)));
}

#[test]
fn dataplane_crypto_backend() {
    let p = parse("dataplane crypto ring\ndataplane log-format json\n");
    let c = p.config.unwrap();
    assert_eq!(c.dataplane_crypto.as_deref(), Some("ring"));
    assert_eq!(c.dataplane_log_format.as_deref(), Some("json"));
    assert!(parse("dataplane log-format xml\n").config.is_none());
    let p = parse("hostname x\ndataplane crypto openssl\n");
    assert!(p.config.is_none());
    assert_eq!(p.diagnostics[0].line, 2);
    assert!(
        p.diagnostics[0]
            .message
            .contains("ipsec-mb, ring or rustcrypto"),
        "{}",
        p.diagnostics[0].message
    );
}
