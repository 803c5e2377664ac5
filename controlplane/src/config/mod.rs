//! The IOS-style configuration of the source document, parsed into a typed
//! model, with errors and warnings that name their line.
//!
//! The text is a sequence of top-level commands; some enter a mode
//! (`interface X`, `crypto ikev2 profile X`, `ip access-list standard X`,
//! `router bgp N`, ...) whose sub-commands follow, indented or not, until
//! `!`, `exit`, or the next top-level command. A line that is neither a
//! sub-command of the current mode nor a top-level command is an error.
//!
//! Beyond the source document, the appliance adds statements for key
//! material (`crypto ikev2 keyring`, and `certificate`, `private-key`,
//! `ca-certificate` under `crypto pki trustpoint`) and for the dataplane
//! (`dataplane port IFACE device DEVICE`, `dataplane cores LIST`,
//! `dataplane eal ARGS`). See `docs/CONFIG.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub mod lab;
#[cfg(test)]
mod tests;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The configuration loads; something may not work as the text hopes.
    Warning,
    /// The configuration does not load.
    Error,
}

/// A problem found at a line (1-based; 0 for the file as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Line number.
    pub line: usize,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, and what to do.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        if self.line == 0 {
            write!(f, "{s}: {}", self.message)
        } else {
            write!(f, "line {}: {s}: {}", self.line, self.message)
        }
    }
}

/// `crypto ikev2 authorization policy NAME`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizationPolicy {
    /// `pool NAME` (IPv4), `ipv6 pool NAME`.
    pub pool: Option<String>,
    /// `ipv6 pool NAME`.
    pub ipv6_pool: Option<String>,
    /// `def-domain NAME`.
    pub def_domain: Option<String>,
    /// `dns A [B]`.
    pub dns: Vec<IpAddr>,
    /// `route set interface`: push the tunnel interface's address as a
    /// route.
    pub route_set_interface: bool,
    /// `route set access-list NAME` (IPv4), `route set access-list ipv6 NAME`.
    pub route_set_acl: Vec<String>,
    /// Line of the `crypto ikev2 authorization policy` command.
    pub line: usize,
}

/// An IKEv2 identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// `fqdn NAME`.
    Fqdn(String),
    /// `email NAME`.
    Email(String),
    /// `address IP`.
    Address(IpAddr),
    /// `dn` (the certificate's subject).
    Dn,
    /// `key-id VALUE`.
    KeyId(String),
}

/// `match identity remote ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentityMatch {
    /// `fqdn NAME`: exactly.
    Fqdn(String),
    /// `fqdn domain NAME`: NAME or any name under it.
    FqdnDomain(String),
    /// `email NAME`.
    Email(String),
    /// `email domain NAME`.
    EmailDomain(String),
    /// `address IP [MASK]`.
    Address(IpAddr, u8),
    /// `any`.
    Any,
}

/// An authentication method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// `pre-share`.
    PreShare,
    /// `rsa-sig`.
    RsaSig,
    /// `ecdsa-sig`.
    EcdsaSig,
}

/// `crypto ikev2 profile NAME`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ikev2Profile {
    /// `match identity remote ...` lines.
    pub match_remote: Vec<IdentityMatch>,
    /// `identity local ...`.
    pub identity_local: Option<Identity>,
    /// `authentication local METHOD`.
    pub auth_local: Option<AuthMethod>,
    /// `authentication remote METHOD` (several allowed).
    pub auth_remote: Vec<AuthMethod>,
    /// `pki trustpoint NAME`.
    pub trustpoint: Option<String>,
    /// `keyring local NAME`.
    pub keyring: Option<String>,
    /// `aaa authorization group ... list NAME POLICY`: the authorization
    /// policy used.
    pub authorization_policy: Option<String>,
    /// `virtual-template N`.
    pub virtual_template: Option<u32>,
    /// `dpd INTERVAL RETRY on-demand|periodic`.
    pub dpd: Option<(u32, u32)>,
    /// Line of the command.
    pub line: usize,
}

/// How an interface gets its address.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Ipv4Address {
    /// None configured.
    #[default]
    None,
    /// `ip address A MASK`.
    Static(Ipv4Addr, u8),
    /// `ip address negotiated` (IKEv2 configuration payload).
    Negotiated,
    /// `ip unnumbered IFACE`.
    Unnumbered(String),
}

/// `tunnel mode ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TunnelMode {
    /// GRE over IPv4 (the default).
    #[default]
    GreIp,
    /// `tunnel mode gre ipv6`.
    GreIpv6,
    /// `tunnel mode ipsec ipv4`.
    IpsecIpv4,
    /// `tunnel mode ipsec ipv6`.
    IpsecIpv6,
}

/// An interface.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interface {
    /// `interface Virtual-TemplateN type tunnel`.
    pub is_template: bool,
    /// IPv4 address.
    pub ipv4: Ipv4Address,
    /// `ipv6 address A/LEN` lines.
    pub ipv6: Vec<(Ipv6Addr, u8)>,
    /// `ipv6 address negotiated` / `ipv6 unnumbered`.
    pub ipv6_negotiated: bool,
    /// `ipv6 unnumbered IFACE`.
    pub ipv6_unnumbered: Option<String>,
    /// `ip nhrp network-id N` (or `ipv6 nhrp network-id`).
    pub nhrp_network_id: Option<u32>,
    /// `ip nhrp redirect [timeout S]`: Some(timeout seconds).
    pub nhrp_redirect: Option<u32>,
    /// `ip nhrp shortcut virtual-template N` (or `ipv6 nhrp shortcut ...`).
    pub nhrp_shortcut_template: Option<u32>,
    /// `ipv6 nhrp ...` lines seen: the IPv6 overlay uses NHRP too.
    pub nhrp_ipv6: bool,
    /// `tunnel source IFACE|IP`.
    pub tunnel_source: Option<String>,
    /// `tunnel destination IP|NAME`.
    pub tunnel_destination: Option<String>,
    /// `tunnel protection ipsec profile NAME`.
    pub tunnel_protection: Option<String>,
    /// `tunnel mode ...`.
    pub tunnel_mode: TunnelMode,
    /// `shutdown`.
    pub shutdown: bool,
    /// `description ...`.
    pub description: Option<String>,
    /// `mtu N` / `ip mtu N`.
    pub mtu: Option<u16>,
    /// Line of the `interface` command.
    pub line: usize,
}

/// One ACL line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclEntry {
    /// Permit or deny.
    pub permit: bool,
    /// The network; `None` for `any`.
    pub network: Option<(IpAddr, u8)>,
}

/// `crypto ikev2 keyring NAME` peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyringPeer {
    /// `address IP [MASK]`.
    pub address: Option<(IpAddr, u8)>,
    /// `identity ...`.
    pub identity: Option<Identity>,
    /// `pre-shared-key KEY` (both directions).
    pub psk: Option<String>,
}

/// `crypto pki trustpoint NAME` with the appliance's file statements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trustpoint {
    /// `ca-certificate FILE` (PEM).
    pub ca_certificate: Option<String>,
    /// `certificate FILE` (PEM): our certificate.
    pub certificate: Option<String>,
    /// `private-key FILE` (PEM, PKCS#8).
    pub private_key: Option<String>,
    /// `revocation-check none` etc., kept.
    pub other: Vec<String>,
    /// Line.
    pub line: usize,
}

/// `ip route` / `ipv6 route`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticRoute {
    /// Destination.
    pub prefix: IpAddr,
    /// Length.
    pub len: u8,
    /// Next hop address, interface name, or both.
    pub via: Vec<String>,
    /// Line.
    pub line: usize,
}

/// `dataplane port IFACE device DEVICE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataplanePort {
    /// The interface name it implements (e.g. Ethernet0/0).
    pub interface: String,
    /// A PCI address or a DPDK vdev string.
    pub device: String,
    /// Line.
    pub line: usize,
}

/// A whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `hostname`.
    pub hostname: Option<String>,
    /// Authorization policies by name.
    pub authorization_policies: BTreeMap<String, AuthorizationPolicy>,
    /// IKEv2 profiles by name.
    pub ikev2_profiles: BTreeMap<String, Ikev2Profile>,
    /// IKEv2 keyrings: name -> peer name -> peer.
    pub keyrings: BTreeMap<String, BTreeMap<String, KeyringPeer>>,
    /// IPsec profiles: name -> IKEv2 profile.
    pub ipsec_profiles: BTreeMap<String, Option<String>>,
    /// Trustpoints.
    pub trustpoints: BTreeMap<String, Trustpoint>,
    /// Interfaces by name.
    pub interfaces: BTreeMap<String, Interface>,
    /// `ip local pool NAME FIRST LAST`.
    pub pools_v4: BTreeMap<String, (Ipv4Addr, Ipv4Addr)>,
    /// `ipv6 local pool NAME PREFIX/LEN ASSIGNED-LEN`.
    pub pools_v6: BTreeMap<String, (Ipv6Addr, u8, u8)>,
    /// Standard access lists.
    pub acls: BTreeMap<String, Vec<AclEntry>>,
    /// `ip route`, `ipv6 route`.
    pub routes: Vec<StaticRoute>,
    /// `router bgp` and `ip prefix-list` lines, kept as written.
    pub bgp: Vec<(usize, String)>,
    /// Dataplane ports.
    pub dataplane_ports: Vec<DataplanePort>,
    /// `dataplane cores LIST`.
    pub dataplane_cores: Option<String>,
    /// `dataplane eal ARGS`.
    pub dataplane_eal: Vec<String>,
    /// `dataplane idle busy|adaptive`: `true` for busy polling.
    pub dataplane_busy: Option<bool>,
    /// `dataplane crypto ipsec-mb|ring|rustcrypto`: the ESP AEAD backend.
    pub dataplane_crypto: Option<String>,
    /// `dataplane log-format text|json`: the dataplane process's output.
    pub dataplane_log_format: Option<String>,
}

/// The result of a parse: the configuration if it has no error, and every
/// diagnostic.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The configuration; `None` if any diagnostic is an error.
    pub config: Option<Config>,
    /// Errors and warnings, by line.
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Mode {
    Top,
    Authz(String),
    Profile(String),
    Keyring(String),
    KeyringPeer(String, String),
    Ipsec(String),
    Trustpoint(String),
    Interface(String),
    Acl(String),
    Acl6(String),
    Bgp,
    BgpAf,
}

fn prefix_of_mask(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    let len = m.leading_ones();
    (m.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
}

fn prefix_of_wildcard(w: Ipv4Addr) -> Option<u8> {
    prefix_of_mask(Ipv4Addr::from(!u32::from(w)))
}

struct Parser {
    cfg: Config,
    diags: Vec<Diagnostic>,
    mode: Mode,
    line: usize,
}

fn ip4(s: &str) -> Result<Ipv4Addr, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not an IPv4 address"))
}

fn ip6_prefix(s: &str) -> Result<(Ipv6Addr, u8), String> {
    let (a, l) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: expected ADDRESS/LENGTH"))?;
    let a: Ipv6Addr = a
        .parse()
        .map_err(|_| format!("{a:?} is not an IPv6 address"))?;
    let l: u8 = l
        .parse()
        .ok()
        .filter(|l| *l <= 128)
        .ok_or_else(|| format!("{l:?} is not a prefix length"))?;
    Ok((a, l))
}

fn number<T: std::str::FromStr>(s: Option<&&str>, what: &str) -> Result<T, String> {
    let s = s.ok_or_else(|| format!("missing {what}"))?;
    s.parse()
        .map_err(|_| format!("{s:?} is not a valid {what}"))
}

fn identity(w: &[&str]) -> Result<Identity, String> {
    match w {
        ["fqdn", n] => Ok(Identity::Fqdn((*n).to_string())),
        ["email", n] => Ok(Identity::Email((*n).to_string())),
        ["address", a] => a
            .parse()
            .map(Identity::Address)
            .map_err(|_| format!("{a:?} is not an IP address")),
        ["dn"] => Ok(Identity::Dn),
        ["key-id", k] => Ok(Identity::KeyId((*k).to_string())),
        _ => Err("expected fqdn NAME, email NAME, address IP, dn or key-id VALUE".into()),
    }
}

fn auth_method(s: Option<&&str>) -> Result<AuthMethod, String> {
    match s.copied() {
        Some("pre-share") => Ok(AuthMethod::PreShare),
        Some("rsa-sig") => Ok(AuthMethod::RsaSig),
        Some("ecdsa-sig") => Ok(AuthMethod::EcdsaSig),
        Some(other) => Err(format!(
            "unknown authentication method {other:?} (pre-share, rsa-sig, ecdsa-sig)"
        )),
        None => Err("missing authentication method".into()),
    }
}

impl Parser {
    fn warn(&mut self, line: usize, message: String) {
        self.diags.push(Diagnostic {
            line,
            severity: Severity::Warning,
            message,
        });
    }

    fn iface(&mut self) -> Option<&mut Interface> {
        match &self.mode {
            Mode::Interface(n) => self.cfg.interfaces.get_mut(n),
            _ => None,
        }
    }

    /// A sub-command of the current mode; `Ok(false)` if it is not one.
    fn sub(&mut self, w: &[&str]) -> Result<bool, String> {
        let line = self.line;
        match self.mode.clone() {
            Mode::Top => Ok(false),
            Mode::Authz(name) => {
                let p = self.cfg.authorization_policies.entry(name).or_default();
                match w {
                    ["pool", n] => p.pool = Some((*n).to_string()),
                    ["ipv6", "pool", n] => p.ipv6_pool = Some((*n).to_string()),
                    ["def-domain", d] => p.def_domain = Some((*d).to_string()),
                    ["dns", rest @ ..] if !rest.is_empty() && rest.len() <= 2 => {
                        for a in rest {
                            p.dns.push(
                                a.parse()
                                    .map_err(|_| format!("{a:?} is not an IP address"))?,
                            );
                        }
                    }
                    ["route", "set", "interface", ..] => p.route_set_interface = true,
                    ["route", "set", "access-list", "ipv6", n]
                    | ["route", "set", "access-list", n] => p.route_set_acl.push((*n).to_string()),
                    _ => return Ok(false),
                }
                Ok(true)
            }
            Mode::Profile(name) => {
                let p = self.cfg.ikev2_profiles.entry(name).or_default();
                match w {
                    ["match", "identity", "remote", rest @ ..] => {
                        let m = match rest {
                            ["fqdn", "domain", d] => IdentityMatch::FqdnDomain((*d).to_string()),
                            ["fqdn", n] => IdentityMatch::Fqdn((*n).to_string()),
                            ["email", "domain", d] => IdentityMatch::EmailDomain((*d).to_string()),
                            ["email", n] => IdentityMatch::Email((*n).to_string()),
                            ["address", a] => {
                                let ip: IpAddr =
                                    a.parse().map_err(|_| format!("{a:?} is not an IP address"))?;
                                IdentityMatch::Address(ip, if ip.is_ipv4() { 32 } else { 128 })
                            }
                            ["address", a, m] => {
                                let len = prefix_of_mask(ip4(m)?)
                                    .ok_or_else(|| format!("{m:?} is not a contiguous mask"))?;
                                IdentityMatch::Address(IpAddr::V4(ip4(a)?), len)
                            }
                            ["any"] => IdentityMatch::Any,
                            _ => {
                                return Err("expected match identity remote fqdn [domain] NAME, email [domain] NAME, address IP [MASK] or any".into())
                            }
                        };
                        p.match_remote.push(m);
                    }
                    ["identity", "local", rest @ ..] => p.identity_local = Some(identity(rest)?),
                    ["authentication", "local", m] => p.auth_local = Some(auth_method(Some(m))?),
                    ["authentication", "remote", m] => p.auth_remote.push(auth_method(Some(m))?),
                    ["pki", "trustpoint", n, ..] => p.trustpoint = Some((*n).to_string()),
                    ["keyring", "local", n] => p.keyring = Some((*n).to_string()),
                    ["aaa", "authorization", "group", ..] => {
                        // `aaa authorization group (cert|psk) list LIST POLICY`
                        p.authorization_policy = w.last().map(|s| (*s).to_string());
                    }
                    ["virtual-template", n] => {
                        p.virtual_template = Some(number(Some(n), "virtual template")?)
                    }
                    ["dpd", i, r, _] => {
                        p.dpd = Some((
                            number(Some(i), "DPD interval")?,
                            number(Some(r), "DPD retry")?,
                        ))
                    }
                    _ => return Ok(false),
                }
                Ok(true)
            }
            Mode::Keyring(ring) => match w {
                ["peer", name] => {
                    self.cfg
                        .keyrings
                        .entry(ring.clone())
                        .or_default()
                        .entry((*name).to_string())
                        .or_default();
                    self.mode = Mode::KeyringPeer(ring, (*name).to_string());
                    Ok(true)
                }
                _ => Ok(false),
            },
            Mode::KeyringPeer(ring, peer) => {
                let entry = self
                    .cfg
                    .keyrings
                    .entry(ring.clone())
                    .or_default()
                    .entry(peer)
                    .or_default();
                match w {
                    ["address", a] => {
                        let ip: IpAddr = a
                            .parse()
                            .map_err(|_| format!("{a:?} is not an IP address"))?;
                        entry.address = Some((ip, if ip.is_ipv4() { 32 } else { 128 }));
                    }
                    ["address", a, m] => {
                        let len = prefix_of_mask(ip4(m)?)
                            .ok_or_else(|| format!("{m:?} is not a contiguous mask"))?;
                        entry.address = Some((IpAddr::V4(ip4(a)?), len));
                    }
                    ["identity", rest @ ..] => entry.identity = Some(identity(rest)?),
                    ["pre-shared-key", k] | ["pre-shared-key", "local" | "remote", k] => {
                        entry.psk = Some((*k).to_string())
                    }
                    ["peer", name] => {
                        self.mode = Mode::Keyring(ring);
                        return self.sub(&["peer", name]);
                    }
                    _ => return Ok(false),
                }
                Ok(true)
            }
            Mode::Ipsec(name) => match w {
                ["set", "ikev2-profile", p] => {
                    self.cfg.ipsec_profiles.insert(name, Some((*p).to_string()));
                    Ok(true)
                }
                ["set", "transform-set", ..]
                | ["set", "pfs", ..]
                | ["set", "security-association", ..] => Ok(true),
                _ => Ok(false),
            },
            Mode::Trustpoint(name) => {
                let t = self.cfg.trustpoints.entry(name).or_default();
                match w {
                    ["ca-certificate", f] => t.ca_certificate = Some((*f).to_string()),
                    ["certificate", f] => t.certificate = Some((*f).to_string()),
                    ["private-key", f] => t.private_key = Some((*f).to_string()),
                    ["enrollment", ..]
                    | ["revocation-check", ..]
                    | ["subject-name", ..]
                    | ["rsakeypair", ..] => t.other.push(w.join(" ")),
                    _ => return Ok(false),
                }
                Ok(true)
            }
            Mode::Interface(_) => self.interface_sub(w),
            Mode::Acl(name) => {
                let permit = match w.first() {
                    Some(&"permit") => true,
                    Some(&"deny") => false,
                    _ => return Ok(false),
                };
                let network = match &w[1..] {
                    ["any"] => None,
                    ["host", a] => Some((IpAddr::V4(ip4(a)?), 32)),
                    [a] => Some((IpAddr::V4(ip4(a)?), 32)),
                    [a, wc] => {
                        let len = prefix_of_wildcard(ip4(wc)?)
                            .ok_or_else(|| format!("{wc:?} is not a contiguous wildcard"))?;
                        Some((IpAddr::V4(ip4(a)?), len))
                    }
                    _ => return Err("expected permit|deny any | host A | A WILDCARD".into()),
                };
                self.cfg
                    .acls
                    .entry(name)
                    .or_default()
                    .push(AclEntry { permit, network });
                Ok(true)
            }
            Mode::Acl6(name) => {
                // `[sequence N] permit|deny [ipv6] any|host A|PREFIX/LEN [any]`:
                // the source network is what a route set access-list uses.
                let w = match w {
                    ["sequence", _, rest @ ..] => rest,
                    _ => w,
                };
                let permit = match w.first() {
                    Some(&"permit") => true,
                    Some(&"deny") => false,
                    _ => return Ok(false),
                };
                let rest = match &w[1..] {
                    ["ipv6", rest @ ..] => rest,
                    rest => rest,
                };
                let (network, rest) = match rest {
                    ["any", rest @ ..] => ((IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0), rest),
                    ["host", a, rest @ ..] => {
                        let a: Ipv6Addr = a
                            .parse()
                            .map_err(|_| format!("{a:?} is not an IPv6 address"))?;
                        ((IpAddr::V6(a), 128), rest)
                    }
                    [p, rest @ ..] => {
                        let (a, len) = ip6_prefix(p)?;
                        ((IpAddr::V6(a), len), rest)
                    }
                    [] => {
                        return Err(
                            "expected permit|deny [ipv6] any | host A | PREFIX/LEN [any]".into(),
                        )
                    }
                };
                if !matches!(rest, [] | ["any"]) {
                    return Err(format!(
                        "only `any` is supported as the destination of an IPv6 access list entry used by route set, not {:?}",
                        rest.join(" ")
                    ));
                }
                self.cfg.acls.entry(name).or_default().push(AclEntry {
                    permit,
                    network: Some(network),
                });
                Ok(true)
            }
            Mode::Bgp | Mode::BgpAf => {
                let known = matches!(
                    w.first().copied(),
                    Some(
                        "bgp"
                            | "neighbor"
                            | "network"
                            | "redistribute"
                            | "timers"
                            | "maximum-paths"
                    )
                ) || (self.mode == Mode::Bgp && w.first() == Some(&"address-family"))
                    || (self.mode == Mode::BgpAf && w.first() == Some(&"exit-address-family"));
                if !known {
                    return Ok(false);
                }
                match w.first().copied() {
                    Some("address-family") => self.mode = Mode::BgpAf,
                    Some("exit-address-family") => self.mode = Mode::Bgp,
                    _ => {}
                }
                self.cfg.bgp.push((line, w.join(" ")));
                Ok(true)
            }
        }
    }

    fn interface_sub(&mut self, w: &[&str]) -> Result<bool, String> {
        let Some(i) = self.iface() else {
            return Ok(false);
        };
        match w {
            ["ip", "address", "negotiated"] => i.ipv4 = Ipv4Address::Negotiated,
            ["ip", "address", a, m] => {
                let len = prefix_of_mask(ip4(m)?)
                    .ok_or_else(|| format!("{m:?} is not a contiguous mask"))?;
                i.ipv4 = Ipv4Address::Static(ip4(a)?, len);
            }
            ["ip", "unnumbered", n] => i.ipv4 = Ipv4Address::Unnumbered((*n).to_string()),
            ["ipv6", "address", "negotiated"] => i.ipv6_negotiated = true,
            ["ipv6", "address", p] => i.ipv6.push(ip6_prefix(p)?),
            ["ipv6", "unnumbered", n] => i.ipv6_unnumbered = Some((*n).to_string()),
            ["ipv6", "enable"] => {}
            ["ip" | "ipv6", "nhrp", "network-id", n] => {
                i.nhrp_network_id = Some(number(Some(n), "NHRP network id")?);
                i.nhrp_ipv6 |= w[0] == "ipv6";
            }
            ["ip" | "ipv6", "nhrp", "redirect"] => {
                i.nhrp_redirect = Some(i.nhrp_redirect.unwrap_or(8));
                i.nhrp_ipv6 |= w[0] == "ipv6";
            }
            ["ip" | "ipv6", "nhrp", "redirect", "timeout", s] => {
                i.nhrp_redirect = Some(number(Some(s), "redirect timeout")?);
                i.nhrp_ipv6 |= w[0] == "ipv6";
            }
            ["ip" | "ipv6", "nhrp", "shortcut", "virtual-template", n] => {
                i.nhrp_shortcut_template = Some(number(Some(n), "virtual template")?);
                i.nhrp_ipv6 |= w[0] == "ipv6";
            }
            ["ipv6", "nhrp", "shortcut"] | ["ip", "nhrp", "shortcut"] => {
                i.nhrp_ipv6 |= w[0] == "ipv6"
            }
            ["tunnel", "source", s] => i.tunnel_source = Some((*s).to_string()),
            ["tunnel", "destination", d] => i.tunnel_destination = Some((*d).to_string()),
            ["tunnel", "protection", "ipsec", "profile", p, ..] => {
                i.tunnel_protection = Some((*p).to_string())
            }
            ["tunnel", "mode", "gre", "ip"] => i.tunnel_mode = TunnelMode::GreIp,
            ["tunnel", "mode", "gre", "ipv6"] => i.tunnel_mode = TunnelMode::GreIpv6,
            ["tunnel", "mode", "ipsec", "ipv4"] => i.tunnel_mode = TunnelMode::IpsecIpv4,
            ["tunnel", "mode", "ipsec", "ipv6"] => i.tunnel_mode = TunnelMode::IpsecIpv6,
            ["shutdown"] => i.shutdown = true,
            ["no", "shutdown"] => i.shutdown = false,
            ["description", ..] => i.description = Some(w[1..].join(" ")),
            ["mtu", n] | ["ip", "mtu", n] => i.mtu = Some(number(Some(n), "MTU")?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// A top-level command; `Ok(false)` if it is not one.
    fn top(&mut self, w: &[&str]) -> Result<bool, String> {
        let line = self.line;
        let mode = match w {
            ["hostname", h] => {
                self.cfg.hostname = Some((*h).to_string());
                Mode::Top
            }
            ["crypto", "ikev2", "authorization", "policy", n] => {
                self.cfg
                    .authorization_policies
                    .entry((*n).to_string())
                    .or_default()
                    .line = line;
                Mode::Authz((*n).to_string())
            }
            ["crypto", "ikev2", "profile", n] => {
                self.cfg
                    .ikev2_profiles
                    .entry((*n).to_string())
                    .or_default()
                    .line = line;
                Mode::Profile((*n).to_string())
            }
            ["crypto", "ikev2", "keyring", n] => {
                self.cfg.keyrings.entry((*n).to_string()).or_default();
                Mode::Keyring((*n).to_string())
            }
            ["crypto", "ipsec", "profile", n] => {
                self.cfg.ipsec_profiles.entry((*n).to_string()).or_default();
                Mode::Ipsec((*n).to_string())
            }
            ["crypto", "pki", "trustpoint", n] => {
                self.cfg
                    .trustpoints
                    .entry((*n).to_string())
                    .or_default()
                    .line = line;
                Mode::Trustpoint((*n).to_string())
            }
            ["interface", name, rest @ ..] => {
                let is_template = name.starts_with("Virtual-Template");
                match rest {
                    [] if !is_template => {}
                    ["type", "tunnel"] if is_template => {}
                    _ if is_template => {
                        return Err(format!("expected `interface {name} type tunnel`"))
                    }
                    _ => return Err(format!("unexpected words after `interface {name}`")),
                }
                let known = [
                    "Ethernet",
                    "GigabitEthernet",
                    "TenGigabitEthernet",
                    "Loopback",
                    "Tunnel",
                    "Virtual-Template",
                ];
                if !known.iter().any(|k| {
                    name.strip_prefix(k).is_some_and(|n| {
                        !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '/')
                    })
                }) {
                    return Err(format!(
                        "unknown interface name {name:?} (Ethernet, GigabitEthernet, TenGigabitEthernet, Loopback, Tunnel or Virtual-Template followed by its number)"
                    ));
                }
                let i = self.cfg.interfaces.entry((*name).to_string()).or_default();
                i.is_template = is_template;
                i.line = line;
                Mode::Interface((*name).to_string())
            }
            ["ip", "local", "pool", n, a, b] => {
                let (a, b) = (ip4(a)?, ip4(b)?);
                if u32::from(a) > u32::from(b) {
                    return Err(format!("pool {n}: {a} is after {b}"));
                }
                self.cfg.pools_v4.insert((*n).to_string(), (a, b));
                Mode::Top
            }
            ["ipv6", "local", "pool", n, p, l] => {
                let (a, len) = ip6_prefix(p)?;
                let assign: u8 = number(Some(l), "assigned prefix length")?;
                if assign < len || assign > 128 {
                    return Err(format!(
                        "pool {n}: assigned length {assign} outside {len}..=128"
                    ));
                }
                self.cfg.pools_v6.insert((*n).to_string(), (a, len, assign));
                Mode::Top
            }
            ["ip", "access-list", "standard", n] => {
                self.cfg.acls.entry((*n).to_string()).or_default();
                Mode::Acl((*n).to_string())
            }
            ["ipv6", "access-list", n] => {
                self.cfg.acls.entry((*n).to_string()).or_default();
                Mode::Acl6((*n).to_string())
            }
            ["ip", "route", p, m, via @ ..] if !via.is_empty() => {
                let len = prefix_of_mask(ip4(m)?)
                    .ok_or_else(|| format!("{m:?} is not a contiguous mask"))?;
                self.cfg.routes.push(StaticRoute {
                    prefix: IpAddr::V4(ip4(p)?),
                    len,
                    via: via.iter().map(|s| (*s).to_string()).collect(),
                    line,
                });
                Mode::Top
            }
            ["ipv6", "route", p, via @ ..] if !via.is_empty() => {
                let (a, len) = ip6_prefix(p)?;
                self.cfg.routes.push(StaticRoute {
                    prefix: IpAddr::V6(a),
                    len,
                    via: via.iter().map(|s| (*s).to_string()).collect(),
                    line,
                });
                Mode::Top
            }
            ["ipv6", "unicast-routing"] => Mode::Top,
            ["router", "bgp", asn] => {
                let _: u32 = number(Some(asn), "AS number")?;
                self.cfg.bgp.push((line, w.join(" ")));
                Mode::Bgp
            }
            ["ip", "prefix-list", ..] | ["ipv6", "prefix-list", ..] => {
                self.cfg.bgp.push((line, w.join(" ")));
                Mode::Top
            }
            ["dataplane", "port", iface, "device", dev] => {
                self.cfg.dataplane_ports.push(DataplanePort {
                    interface: (*iface).to_string(),
                    device: (*dev).to_string(),
                    line,
                });
                Mode::Top
            }
            ["dataplane", "cores", list] => {
                self.cfg.dataplane_cores = Some((*list).to_string());
                Mode::Top
            }
            ["dataplane", "idle", mode] => {
                self.cfg.dataplane_busy = Some(match *mode {
                    "busy" => true,
                    "adaptive" => false,
                    m => return Err(format!("dataplane idle {m:?}: busy or adaptive")),
                });
                Mode::Top
            }
            ["dataplane", "crypto", b] => {
                if !["ipsec-mb", "ring", "rustcrypto"].contains(b) {
                    return Err(format!(
                        "dataplane crypto {b:?}: ipsec-mb, ring or rustcrypto"
                    ));
                }
                self.cfg.dataplane_crypto = Some((*b).to_string());
                Mode::Top
            }
            ["dataplane", "log-format", f] => {
                if !["text", "json"].contains(f) {
                    return Err(format!("dataplane log-format {f:?}: text or json"));
                }
                self.cfg.dataplane_log_format = Some((*f).to_string());
                Mode::Top
            }
            ["dataplane", "eal", args @ ..] if !args.is_empty() => {
                self.cfg
                    .dataplane_eal
                    .extend(args.iter().map(|s| (*s).to_string()));
                Mode::Top
            }
            _ => return Ok(false),
        };
        self.mode = mode;
        Ok(true)
    }

    fn line(&mut self, text: &str) {
        let text = text.split('#').next().unwrap_or("").trim_end();
        let w: Vec<&str> = text.split_whitespace().collect();
        if w.is_empty() {
            return;
        }
        if w == ["!"] || w[0].starts_with('!') {
            // IOS prints `!` between the parts of a `router bgp` section
            // too: the section goes on until a top-level command.
            self.mode = match self.mode {
                Mode::Bgp | Mode::BgpAf => Mode::Bgp,
                _ => Mode::Top,
            };
            return;
        }
        if w == ["exit"] || w == ["end"] {
            self.mode = match &self.mode {
                Mode::KeyringPeer(r, _) => Mode::Keyring(r.clone()),
                Mode::BgpAf => Mode::Bgp,
                _ => Mode::Top,
            };
            return;
        }
        let result = match self.sub(&w) {
            Ok(true) => Ok(()),
            Ok(false) => match self.top(&w) {
                Ok(true) => Ok(()),
                Ok(false) => Err(self.unknown(&w)),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if let Err(message) = result {
            self.diags.push(Diagnostic {
                line: self.line,
                severity: Severity::Error,
                message,
            });
        }
    }

    fn unknown(&self, w: &[&str]) -> String {
        let ctx = match &self.mode {
            Mode::Top => String::new(),
            Mode::Interface(n) => format!(" in interface {n}"),
            Mode::Profile(n) => format!(" in crypto ikev2 profile {n}"),
            Mode::Authz(n) => format!(" in crypto ikev2 authorization policy {n}"),
            Mode::Keyring(n) | Mode::KeyringPeer(n, _) => format!(" in crypto ikev2 keyring {n}"),
            Mode::Ipsec(n) => format!(" in crypto ipsec profile {n}"),
            Mode::Trustpoint(n) => format!(" in crypto pki trustpoint {n}"),
            Mode::Acl(n) => format!(" in ip access-list standard {n}"),
            Mode::Acl6(n) => format!(" in ipv6 access-list {n}"),
            Mode::Bgp | Mode::BgpAf => " in router bgp".to_string(),
        };
        format!("unknown or unsupported command {:?}{ctx}", w.join(" "))
    }

    /// Cross-references, once everything is read.
    fn check(&mut self) {
        let cfg = self.cfg.clone();
        for (name, p) in &cfg.ikev2_profiles {
            if let Some(tp) = &p.trustpoint {
                if !cfg.trustpoints.contains_key(tp) {
                    let uses_certs = p.auth_local.is_some_and(|m| m != AuthMethod::PreShare)
                        || p.auth_remote.iter().any(|m| *m != AuthMethod::PreShare);
                    self.warn(
                        p.line,
                        format!(
                            "ikev2 profile {name}: trustpoint {tp} is not defined{}; add `crypto pki trustpoint {tp}` with `ca-certificate`, `certificate` and `private-key` files",
                            if uses_certs { ", so certificate authentication cannot work" } else { "" }
                        ),
                    );
                }
            }
            if let Some(k) = &p.keyring {
                if !cfg.keyrings.contains_key(k) {
                    self.warn(
                        p.line,
                        format!("ikev2 profile {name}: keyring {k} is not defined"),
                    );
                }
            }
            if let Some(a) = &p.authorization_policy {
                if !cfg.authorization_policies.contains_key(a) {
                    self.warn(
                        p.line,
                        format!("ikev2 profile {name}: authorization policy {a} is not defined"),
                    );
                }
            }
            if let Some(v) = p.virtual_template {
                if !cfg.interfaces.contains_key(&format!("Virtual-Template{v}")) {
                    self.warn(
                        p.line,
                        format!(
                            "ikev2 profile {name}: interface Virtual-Template{v} is not defined"
                        ),
                    );
                }
            }
            if p.auth_local.is_none() || p.auth_remote.is_empty() {
                self.warn(p.line, format!("ikev2 profile {name}: `authentication local` and `authentication remote` are both needed"));
            }
            let psk = p.auth_local == Some(AuthMethod::PreShare)
                || p.auth_remote.contains(&AuthMethod::PreShare);
            if psk && p.keyring.is_none() {
                self.warn(
                    p.line,
                    format!(
                        "ikev2 profile {name}: pre-share authentication needs `keyring local NAME`"
                    ),
                );
            }
        }
        for (name, a) in &cfg.authorization_policies {
            if let Some(pool) = &a.pool {
                if !cfg.pools_v4.contains_key(pool) {
                    self.warn(
                        a.line,
                        format!("authorization policy {name}: pool {pool} is not defined"),
                    );
                }
            }
            if let Some(pool) = &a.ipv6_pool {
                if !cfg.pools_v6.contains_key(pool) {
                    self.warn(
                        a.line,
                        format!("authorization policy {name}: ipv6 pool {pool} is not defined"),
                    );
                }
            }
            for acl in &a.route_set_acl {
                if !cfg.acls.contains_key(acl) {
                    self.warn(a.line, format!("authorization policy {name}: access list {acl} is not defined, so no routes are pushed from it"));
                }
            }
        }
        for (name, prof) in &cfg.ipsec_profiles {
            match prof {
                Some(p) if !cfg.ikev2_profiles.contains_key(p) => self.warn(
                    0,
                    format!("ipsec profile {name}: ikev2 profile {p} is not defined"),
                ),
                None => self.warn(0, format!("ipsec profile {name}: no `set ikev2-profile`")),
                _ => {}
            }
        }
        for (name, i) in &cfg.interfaces {
            if let Some(p) = &i.tunnel_protection {
                if !cfg.ipsec_profiles.contains_key(p) {
                    self.warn(
                        i.line,
                        format!("interface {name}: ipsec profile {p} is not defined"),
                    );
                }
            }
            if let Ipv4Address::Unnumbered(u) = &i.ipv4 {
                if !cfg.interfaces.contains_key(u) {
                    self.warn(
                        i.line,
                        format!("interface {name}: unnumbered to {u}, which is not defined"),
                    );
                }
            }
            if let Some(s) = &i.tunnel_source {
                if s.parse::<IpAddr>().is_err() && !cfg.interfaces.contains_key(s) {
                    self.warn(
                        i.line,
                        format!("interface {name}: tunnel source {s} is not defined"),
                    );
                }
            }
            if let Some(t) = i.nhrp_shortcut_template {
                if !cfg.interfaces.contains_key(&format!("Virtual-Template{t}")) {
                    self.warn(i.line, format!("interface {name}: shortcut template Virtual-Template{t} is not defined"));
                }
            }
            if name.starts_with("Tunnel") && !i.is_template && i.tunnel_destination.is_none() {
                self.warn(i.line, format!("interface {name}: no tunnel destination"));
            }
        }
        for p in &cfg.dataplane_ports {
            if !cfg.interfaces.contains_key(&p.interface) {
                self.warn(
                    p.line,
                    format!("dataplane port for {}, which is not defined", p.interface),
                );
            }
        }
        if let Some((line, _)) = cfg.bgp.first() {
            self.warn(
                *line,
                "router bgp and ip prefix-list are parsed and kept, but dynamic routing is not supported yet: no BGP session runs, and routes come from IKEv2 and NHRP only".to_string(),
            );
        }
    }
}

/// Parses a configuration.
pub fn parse(text: &str) -> Parsed {
    let mut p = Parser {
        cfg: Config::default(),
        diags: Vec::new(),
        mode: Mode::Top,
        line: 0,
    };
    for (i, l) in text.lines().enumerate() {
        p.line = i + 1;
        p.line(l);
    }
    p.check();
    p.diags.sort_by_key(|d| (d.line, d.severity));
    let ok = p.diags.iter().all(|d| d.severity == Severity::Warning);
    Parsed {
        config: ok.then_some(p.cfg),
        diagnostics: p.diags,
    }
}
