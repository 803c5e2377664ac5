//! From the IOS-style [`crate::config::Config`] to what a FlexVPN node
//! runs: the IKEv2 profile as an [`ikev2::Config`], the tunnel interfaces
//! (static ones such as a spoke's `Tunnel0`, and the `Virtual-Template`s
//! that Virtual-Access interfaces are cloned from), their NHRP settings,
//! the addresses of physical and loopback interfaces, and static routes.
//!
//! Everything the configuration leaves open or gets wrong becomes a
//! [`PlanError`] naming the line (or a warning in [`NodePlan::warnings`]);
//! nothing here panics on a configuration.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{
    self, AuthMethod as CfgAuth, Config, Identity as CfgIdentity, IdentityMatch as CfgMatch,
    Ipv4Address, TunnelMode as CfgTunnelMode,
};
use crate::ikev2::config::{CpRequestConfig, DpdConfig, IpPrefix, PoolConfig, RetransmitPolicy};
use crate::ikev2::{self, Authenticator, Identity, IdentityMatch, Keyring, Psk};

/// A configuration that cannot run, with the line it comes from (0: the
/// file as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanError {
    /// Line of the command at fault.
    pub line: usize,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "error: {}", self.message)
        } else {
            write!(f, "line {}: error: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for PlanError {}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, PlanError> {
    Err(PlanError {
        line,
        message: message.into(),
    })
}

/// How packets are carried in a tunnel interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encap {
    /// GRE inside ESP (`tunnel mode gre ip|ipv6`, the default): IPv4, IPv6
    /// and NHRP share the tunnel.
    Gre,
    /// ESP tunnel mode without GRE (`tunnel mode ipsec ipv4|ipv6`): what a
    /// standard IKEv2 client such as strongSwan speaks. No NHRP.
    Ipsec,
}

/// NHRP settings of a tunnel interface or template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NhrpPlan {
    /// `ip nhrp network-id N`.
    pub network_id: u32,
    /// `ip nhrp redirect [timeout S]`.
    pub redirect: Option<Duration>,
    /// `ip nhrp shortcut virtual-template N`.
    pub shortcut_template: Option<u32>,
    /// Holding time put in our CIEs (IOS's default, 7200 s).
    pub holding_time: Duration,
}

/// Where a tunnel interface's own address comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TunnelAddress {
    /// `ip address A MASK`.
    Static(IpAddr),
    /// `ip address negotiated`: from the hub's pool (CFG_REPLY).
    Negotiated,
    /// `ip unnumbered IFACE`: that interface's address (for a tunnel
    /// whose address is negotiated, once it is known).
    Unnumbered(String),
    /// None.
    None,
}

/// A `Tunnel` interface with a destination: IKEv2 is initiated to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticTunnel {
    /// The interface name (`Tunnel0`).
    pub name: String,
    /// Our underlay address (`tunnel source`).
    pub source: IpAddr,
    /// The peer's underlay address (`tunnel destination`).
    pub destination: IpAddr,
    /// GRE or plain IPsec.
    pub encap: Encap,
    /// Its overlay address.
    pub address: TunnelAddress,
    /// NHRP, if configured.
    pub nhrp: Option<NhrpPlan>,
    /// Line of the `interface` command.
    pub line: usize,
}

/// A `Virtual-TemplateN type tunnel`: Virtual-Access interfaces are cloned
/// from it, one per IKEv2 session (hub: per spoke; spoke: per shortcut).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// N.
    pub number: u32,
    /// GRE or plain IPsec.
    pub encap: Encap,
    /// Its overlay address (usually unnumbered to a loopback or to the
    /// spoke's Tunnel0).
    pub address: TunnelAddress,
    /// NHRP, if configured.
    pub nhrp: Option<NhrpPlan>,
    /// Line.
    pub line: usize,
}

/// An Ethernet or loopback interface with an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainInterface {
    /// Name.
    pub name: String,
    /// Addresses with their prefix lengths.
    pub addresses: Vec<(IpAddr, u8)>,
    /// A loopback (no attached subnet beyond its addresses).
    pub loopback: bool,
}

/// A static route: prefix, and a next hop address and/or an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticRoutePlan {
    /// Destination.
    pub prefix: IpPrefix,
    /// Next hop address.
    pub gateway: Option<IpAddr>,
    /// Interface name.
    pub interface: Option<String>,
}

/// How the IKEv2 profile authenticates.
#[derive(Clone, Debug)]
pub enum AuthPlan {
    /// Pre-shared keys from `keyring local NAME`.
    Psk(Keyring),
    /// Certificates from `pki trustpoint NAME`.
    Certificates {
        /// Trustpoint name.
        trustpoint: String,
        /// Its files.
        files: config::Trustpoint,
        /// `authentication local`.
        local: CfgAuth,
        /// `authentication remote`.
        remote: Vec<CfgAuth>,
    },
}

/// An IKEv2 profile in use: who it is for and what template its sessions
/// clone.
#[derive(Clone, Debug)]
pub struct ProfilePlan {
    /// Name.
    pub name: String,
    /// `match identity remote ...` (empty: anyone).
    pub matches: Vec<IdentityMatch>,
    /// `virtual-template N`.
    pub template: Option<u32>,
}

/// Everything one node runs.
#[derive(Clone, Debug)]
pub struct NodePlan {
    /// `hostname`.
    pub hostname: String,
    /// The IKEv2 profile (its authenticator set from [`NodePlan::auth`]
    /// when that is a keyring).
    pub ike: ikev2::Config,
    /// How IKE authenticates.
    pub auth: AuthPlan,
    /// `route set interface` in the authorization policy: push (as
    /// responder) or announce (as initiator) our tunnel address.
    pub route_set_interface: bool,
    /// The primary profile's `virtual-template N`.
    pub responder_template: Option<u32>,
    /// The profiles in use, most specific first: an incoming session
    /// clones the template of the first whose match rules accept the peer.
    pub profiles: Vec<ProfilePlan>,
    /// Static tunnel interfaces.
    pub tunnels: Vec<StaticTunnel>,
    /// Virtual templates by number.
    pub templates: BTreeMap<u32, Template>,
    /// Ethernet and loopback interfaces.
    pub interfaces: Vec<PlainInterface>,
    /// `ip route` / `ipv6 route`.
    pub static_routes: Vec<StaticRoutePlan>,
    /// What the plan could not honour fully, for the operator (beyond the
    /// parser's warnings).
    pub warnings: Vec<String>,
}

/// IOS's `ip nhrp redirect` timeout when none is given.
pub const REDIRECT_TIMEOUT_DEFAULT: u32 = 8;
/// IOS's default NHRP holding time.
pub const NHRP_HOLDTIME: Duration = Duration::from_secs(7200);

fn map_identity(id: &CfgIdentity, line: usize) -> Result<Identity, PlanError> {
    Ok(match id {
        CfgIdentity::Fqdn(s) => Identity::Fqdn(s.clone()),
        CfgIdentity::Email(s) => Identity::Email(s.clone()),
        CfgIdentity::Address(a) => Identity::ip(*a),
        CfgIdentity::KeyId(k) => Identity::KeyId(k.as_bytes().to_vec()),
        CfgIdentity::Dn => {
            return err(
                line,
                "`identity local dn` needs the subject of our certificate: use it with certificate authentication",
            )
        }
    })
}

fn map_match(m: &CfgMatch) -> IdentityMatch {
    match m {
        CfgMatch::Fqdn(s) => IdentityMatch::Exact(Identity::Fqdn(s.clone())),
        CfgMatch::FqdnDomain(s) => IdentityMatch::FqdnDomain(s.clone()),
        CfgMatch::Email(s) => IdentityMatch::Exact(Identity::Email(s.clone())),
        CfgMatch::EmailDomain(s) => IdentityMatch::EmailDomain(s.clone()),
        CfgMatch::Address(a, len) => IdentityMatch::AddressPrefix(*a, *len),
        CfgMatch::Any => IdentityMatch::Any,
    }
}

fn nhrp_of(i: &config::Interface) -> Option<NhrpPlan> {
    i.nhrp_network_id.map(|network_id| NhrpPlan {
        network_id,
        redirect: i.nhrp_redirect.map(|s| Duration::from_secs(u64::from(s))),
        shortcut_template: i.nhrp_shortcut_template,
        holding_time: NHRP_HOLDTIME,
    })
}

fn encap_of(m: CfgTunnelMode) -> Encap {
    match m {
        CfgTunnelMode::GreIp | CfgTunnelMode::GreIpv6 => Encap::Gre,
        CfgTunnelMode::IpsecIpv4 | CfgTunnelMode::IpsecIpv6 => Encap::Ipsec,
    }
}

fn address_of(i: &config::Interface) -> TunnelAddress {
    match &i.ipv4 {
        Ipv4Address::Static(a, _) => TunnelAddress::Static(IpAddr::V4(*a)),
        Ipv4Address::Negotiated => TunnelAddress::Negotiated,
        Ipv4Address::Unnumbered(n) => TunnelAddress::Unnumbered(n.clone()),
        Ipv4Address::None => {
            if let Some((a, _)) = i.ipv6.first() {
                TunnelAddress::Static(IpAddr::V6(*a))
            } else if i.ipv6_negotiated {
                TunnelAddress::Negotiated
            } else if let Some(n) = &i.ipv6_unnumbered {
                TunnelAddress::Unnumbered(n.clone())
            } else {
                TunnelAddress::None
            }
        }
    }
}

/// The first address of a plain interface, for `tunnel source IFACE` and
/// `ip unnumbered IFACE`.
fn iface_address(cfg: &Config, name: &str, v6: bool) -> Option<IpAddr> {
    let i = cfg.interfaces.get(name)?;
    if v6 {
        i.ipv6.first().map(|(a, _)| IpAddr::V6(*a))
    } else if let Ipv4Address::Static(a, _) = i.ipv4 {
        Some(IpAddr::V4(a))
    } else {
        None
    }
}

/// Turns a standard access list into prefixes of one family (`permit any`
/// in an IPv4 standard list is the IPv4 default route).
fn acl_prefixes(cfg: &Config, name: &str, v6: bool) -> Vec<IpPrefix> {
    let Some(acl) = cfg.acls.get(name) else {
        return Vec::new();
    };
    acl.iter()
        .filter(|e| e.permit)
        .filter_map(|e| match e.network {
            Some((a, len)) if a.is_ipv6() == v6 => Some(IpPrefix::new(a, len)),
            Some(_) => None,
            None if v6 => None,
            None => Some(IpPrefix::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)),
        })
        .collect()
}

/// A profile's local identity, authentication, and its keyring's entries.
type ProfileAuth = (Identity, AuthPlan, Vec<(IdentityMatch, Psk)>);

/// The local identity and authentication of one profile.
fn profile_auth(
    cfg: &Config,
    profile_name: &str,
    profile: &config::Ikev2Profile,
) -> Result<ProfileAuth, PlanError> {
    let pl = profile.line;
    let mut entries = Vec::new();
    let Some(local_id) = &profile.identity_local else {
        return err(
            pl,
            format!("ikev2 profile {profile_name}: `identity local ...` is needed"),
        );
    };
    let local_id = map_identity(local_id, pl)?;
    let Some(auth_local) = profile.auth_local else {
        return err(
            pl,
            format!("ikev2 profile {profile_name}: `authentication local` is needed"),
        );
    };
    if profile.auth_remote.is_empty() {
        return err(
            pl,
            format!("ikev2 profile {profile_name}: `authentication remote` is needed"),
        );
    }
    let auth = if auth_local == CfgAuth::PreShare
        && profile.auth_remote.iter().all(|m| *m == CfgAuth::PreShare)
    {
        let Some(kr_name) = &profile.keyring else {
            return err(
                pl,
                format!("ikev2 profile {profile_name}: pre-share authentication needs `keyring local NAME`"),
            );
        };
        let Some(kr) = cfg.keyrings.get(kr_name) else {
            return err(pl, format!("keyring {kr_name} is not defined"));
        };
        let mut keyring = Keyring::new();
        for (peer_name, peer) in kr {
            let Some(psk) = &peer.psk else {
                return err(
                    pl,
                    format!("keyring {kr_name} peer {peer_name}: no `pre-shared-key`"),
                );
            };
            let rule = match (&peer.identity, peer.address) {
                (Some(id), _) => IdentityMatch::Exact(map_identity(id, pl)?),
                (None, Some((_, 0)) | None) => IdentityMatch::Any,
                (None, Some((a, len))) => IdentityMatch::AddressPrefix(a, len),
            };
            keyring = keyring.with(rule.clone(), Psk::new(psk.as_bytes()));
            entries.push((rule, Psk::new(psk.as_bytes())));
        }
        AuthPlan::Psk(keyring)
    } else if profile.auth_remote.contains(&CfgAuth::PreShare) || auth_local == CfgAuth::PreShare {
        return err(
            pl,
            format!("ikev2 profile {profile_name}: mixing pre-share with signatures is not supported; use pre-share on both sides or certificates on both"),
        );
    } else {
        let Some(tp) = &profile.trustpoint else {
            return err(
                pl,
                format!("ikev2 profile {profile_name}: certificate authentication needs `pki trustpoint NAME`"),
            );
        };
        let Some(files) = cfg.trustpoints.get(tp) else {
            return err(
                pl,
                format!("ikev2 profile {profile_name}: trustpoint {tp} is not defined; add `crypto pki trustpoint {tp}` with `ca-certificate`, `certificate` and `private-key` files"),
            );
        };
        AuthPlan::Certificates {
            trustpoint: tp.clone(),
            files: files.clone(),
            local: auth_local,
            remote: profile.auth_remote.clone(),
        }
    };
    Ok((local_id, auth, entries))
}

impl NodePlan {
    /// Builds the plan of a parsed configuration.
    ///
    /// # Errors
    ///
    /// A [`PlanError`] naming the line of the first thing that cannot run.
    pub fn from_config(cfg: &Config) -> Result<Self, PlanError> {
        let mut warnings = Vec::new();
        // The IKEv2 profile: the one that the tunnel interfaces' ipsec
        // profiles name (all of them must agree: one Endpoint per node).
        let mut used: Vec<(&str, usize)> = Vec::new();
        for i in cfg.interfaces.values() {
            if let Some(ipsec) = &i.tunnel_protection {
                let Some(prof) = cfg.ipsec_profiles.get(ipsec) else {
                    return err(i.line, format!("ipsec profile {ipsec} is not defined"));
                };
                let Some(prof) = prof else {
                    return err(
                        i.line,
                        format!("ipsec profile {ipsec} has no `set ikev2-profile`"),
                    );
                };
                if !used.iter().any(|(p, _)| p == prof) {
                    used.push((prof.as_str(), i.line));
                }
            }
        }
        let names: Vec<&str> = match used.as_slice() {
            [] if cfg.ikev2_profiles.len() == 1 => {
                cfg.ikev2_profiles.keys().map(String::as_str).collect()
            }
            [] => {
                return err(
                    0,
                    "no tunnel interface has `tunnel protection ipsec profile`, so no IKEv2 profile is in use",
                )
            }
            more => more.iter().map(|(n, _)| *n).collect(),
        };
        // The first profile in use is the primary one: its identity,
        // authorization policy and settings serve the whole node; others
        // add their peers (match rules, keys) and their virtual template.
        let profile_name = names[0];
        let Some(profile) = cfg.ikev2_profiles.get(profile_name) else {
            return err(0, format!("ikev2 profile {profile_name} is not defined"));
        };
        let pl = profile.line;
        let (local_id, mut auth, _) = profile_auth(cfg, profile_name, profile)?;
        let mut psk_entries: Vec<(bool, Vec<(IdentityMatch, Psk)>)> = Vec::new();
        let mut catch_all: Vec<(IdentityMatch, Psk)> = Vec::new();
        let mut profiles = Vec::new();
        let mut any_peer = false;
        for name in &names {
            let Some(p) = cfg.ikev2_profiles.get(*name) else {
                return err(0, format!("ikev2 profile {name} is not defined"));
            };
            let (id, a, entries) = profile_auth(cfg, name, p)?;
            if id != local_id {
                return err(
                    p.line,
                    format!("ikev2 profile {name}: `identity local` differs from profile {profile_name}'s; all profiles in use must share the local identity"),
                );
            }
            match (&auth, a) {
                (AuthPlan::Psk(_), AuthPlan::Psk(_)) => {
                    // IOS picks the profile by the peer's identity, then
                    // its keyring: a catch-all key of a specific profile
                    // is for that profile's peers only.
                    let matches: Vec<IdentityMatch> =
                        p.match_remote.iter().map(map_match).collect();
                    let specific = !(matches.is_empty() || matches.contains(&IdentityMatch::Any));
                    // The catch-all itself stays, last of all: an
                    // initiator looks its key up before it knows the
                    // peer's identity.
                    let mut narrowed = Vec::new();
                    for (rule, psk) in entries {
                        if rule == IdentityMatch::Any && specific {
                            for m in &matches {
                                narrowed.push((m.clone(), psk.clone()));
                            }
                            catch_all.push((rule, psk));
                        } else {
                            narrowed.push((rule, psk));
                        }
                    }
                    psk_entries.push((!specific, narrowed));
                }
                (
                    AuthPlan::Certificates { trustpoint, .. },
                    AuthPlan::Certificates { trustpoint: t2, .. },
                ) if *trustpoint == t2 => {}
                _ => {
                    return err(
                        p.line,
                        format!("ikev2 profile {name}: its authentication differs from profile {profile_name}'s; all profiles in use must use the same method (and trustpoint)"),
                    )
                }
            }
            if p.authorization_policy != profile.authorization_policy {
                warnings.push(format!(
                    "ikev2 profile {name}: the authorization policy of profile {profile_name} (pool, routes) serves its peers too"
                ));
            }
            let matches: Vec<IdentityMatch> = p.match_remote.iter().map(map_match).collect();
            any_peer |= matches.is_empty() || matches.contains(&IdentityMatch::Any);
            profiles.push(ProfilePlan {
                name: (*name).to_string(),
                matches,
                template: p.virtual_template,
            });
        }
        // Profiles that accept anyone are tried last, for keys too.
        profiles.sort_by_key(|p| p.matches.is_empty() || p.matches.contains(&IdentityMatch::Any));
        if let AuthPlan::Psk(k) = &mut auth {
            psk_entries.sort_by_key(|(catch_all, _)| *catch_all);
            *k = Keyring::new();
            for (rule, psk) in psk_entries
                .into_iter()
                .flat_map(|(_, e)| e)
                .chain(catch_all)
            {
                *k = std::mem::take(k).with(rule, psk);
            }
        }

        let authz = match &profile.authorization_policy {
            Some(name) => cfg.authorization_policies.get(name).cloned(),
            // IOS applies `default` when the profile names none.
            None => cfg.authorization_policies.get("default").cloned(),
        }
        .unwrap_or_default();

        let mut ike = ikev2::Config::new(local_id, Keyring::new());
        if let AuthPlan::Psk(k) = &auth {
            ike.authenticator = Arc::new(k.clone());
        }
        ike.remote_match = if any_peer {
            Vec::new()
        } else {
            profiles.iter().flat_map(|p| p.matches.clone()).collect()
        };
        if let Some((interval, retry)) = profile.dpd {
            ike.dpd = Some(DpdConfig {
                interval: Duration::from_secs(u64::from(interval.max(1))),
            });
            // IOS's `dpd INTERVAL RETRY`: unanswered requests are sent
            // again every RETRY seconds, five more times, then the peer is
            // dead. The IKEv2 core applies one retransmission policy to
            // every request, so this sets it for all of them.
            let retry = Duration::from_secs(u64::from(retry.clamp(1, 60)));
            ike.retransmit = RetransmitPolicy {
                initial: retry,
                backoff: 1,
                max_interval: retry,
                max_transmissions: 6,
            };
        }

        // Responder side: pool and pushed attributes.
        let v4_pool = match &authz.pool {
            Some(p) => match cfg.pools_v4.get(p) {
                Some(r) => Some(*r),
                None => return err(authz.line, format!("ip local pool {p} is not defined")),
            },
            None => None,
        };
        let v6_pool = match &authz.ipv6_pool {
            Some(p) => match cfg.pools_v6.get(p) {
                Some((prefix, len, assigned)) => {
                    if *assigned != 128 {
                        warnings.push(format!(
                            "ipv6 local pool {p}: each client gets one /128 address, not a /{assigned} prefix"
                        ));
                    }
                    let base = u128::from(*prefix);
                    let host_bits = 128 - u32::from((*len).min(128));
                    let last = base | u128::MAX.checked_shr(128 - host_bits).unwrap_or(0);
                    // The subnet-router anycast address (host part 0) is
                    // not handed out, unless the pool is that one address.
                    let first = if last > base { base + 1 } else { base };
                    Some((Ipv6Addr::from(first), Ipv6Addr::from(last)))
                }
                None => return err(authz.line, format!("ipv6 local pool {p} is not defined")),
            },
            None => None,
        };
        let mut pushed = Vec::new();
        for acl in &authz.route_set_acl {
            // An undefined list pushes nothing (the parser warned).
            pushed.extend(acl_prefixes(cfg, acl, false));
            pushed.extend(acl_prefixes(cfg, acl, true));
        }
        // Addresses of interfaces by name, for unnumbered.
        let responder_template = profile.virtual_template;
        if v4_pool.is_some() || v6_pool.is_some() || !pushed.is_empty() || authz.route_set_interface
        {
            let mut routes = pushed.clone();
            if authz.route_set_interface {
                // The address of the template the sessions are cloned from.
                if let Some(t) = responder_template {
                    if let Some(i) = cfg.interfaces.get(&format!("Virtual-Template{t}")) {
                        if let Ipv4Address::Unnumbered(n) = &i.ipv4 {
                            if let Some(a) = iface_address(cfg, n, false) {
                                routes.push(IpPrefix::host(a));
                            }
                        }
                        if let Some(n) = &i.ipv6_unnumbered {
                            if let Some(a) = iface_address(cfg, n, true) {
                                routes.push(IpPrefix::host(a));
                            }
                        }
                    }
                }
            }
            ike.pool = Some(PoolConfig {
                v4: v4_pool,
                v6: v6_pool,
                dns: authz.dns.clone(),
                domain: authz.def_domain.clone(),
                routes,
            });
        }

        // Tunnels and templates.
        let mut tunnels = Vec::new();
        let mut templates = BTreeMap::new();
        let mut interfaces = Vec::new();
        let mut wants_v4 = false;
        let mut wants_v6 = false;
        for (name, i) in &cfg.interfaces {
            if i.shutdown {
                continue;
            }
            if i.is_template {
                let number: u32 = name
                    .trim_start_matches("Virtual-Template")
                    .parse()
                    .unwrap_or(0);
                templates.insert(
                    number,
                    Template {
                        number,
                        encap: encap_of(i.tunnel_mode),
                        address: address_of(i),
                        nhrp: nhrp_of(i),
                        line: i.line,
                    },
                );
            } else if name.starts_with("Tunnel") {
                let Some(dst) = &i.tunnel_destination else {
                    warnings.push(format!(
                        "interface {name}: no tunnel destination, not brought up"
                    ));
                    continue;
                };
                let Ok(destination) = dst.parse::<IpAddr>() else {
                    return err(
                        i.line,
                        format!("interface {name}: tunnel destination {dst} must be an address (names are not resolved)"),
                    );
                };
                let source = match &i.tunnel_source {
                    Some(s) => match s.parse::<IpAddr>() {
                        Ok(a) => a,
                        Err(_) => match iface_address(cfg, s, destination.is_ipv6()) {
                            Some(a) => a,
                            None => {
                                return err(
                                    i.line,
                                    format!(
                                        "interface {name}: tunnel source {s} has no {} address",
                                        if destination.is_ipv6() {
                                            "IPv6"
                                        } else {
                                            "IPv4"
                                        }
                                    ),
                                )
                            }
                        },
                    },
                    None => {
                        return err(
                            i.line,
                            format!("interface {name}: `tunnel source` is needed"),
                        )
                    }
                };
                if source.is_ipv6() != destination.is_ipv6() {
                    return err(
                        i.line,
                        format!("interface {name}: tunnel source and destination are of different address families"),
                    );
                }
                if matches!(i.ipv4, Ipv4Address::Negotiated) {
                    wants_v4 = true;
                }
                if i.ipv6_negotiated {
                    wants_v6 = true;
                }
                tunnels.push(StaticTunnel {
                    name: name.clone(),
                    source,
                    destination,
                    encap: encap_of(i.tunnel_mode),
                    address: address_of(i),
                    nhrp: nhrp_of(i),
                    line: i.line,
                });
            } else {
                let mut addresses = Vec::new();
                if let Ipv4Address::Static(a, len) = i.ipv4 {
                    addresses.push((IpAddr::V4(a), len));
                }
                for (a, len) in &i.ipv6 {
                    addresses.push((IpAddr::V6(*a), *len));
                }
                interfaces.push(PlainInterface {
                    name: name.clone(),
                    addresses,
                    loopback: name.starts_with("Loopback"),
                });
            }
        }
        for t in &tunnels {
            if let Some(n) = t.nhrp.and_then(|n| n.shortcut_template) {
                if !templates.contains_key(&n) {
                    return err(
                        t.line,
                        format!(
                            "interface {}: shortcut template Virtual-Template{n} is not defined",
                            t.name
                        ),
                    );
                }
            }
        }
        for p in &profiles {
            if let Some(n) = p.template {
                if !templates.contains_key(&n) {
                    return err(
                        cfg.ikev2_profiles.get(&p.name).map_or(pl, |x| x.line),
                        format!(
                            "ikev2 profile {}: interface Virtual-Template{n} is not defined",
                            p.name
                        ),
                    );
                }
            }
        }

        // Initiator side: ask for the addresses our tunnels negotiate and
        // announce the networks of `route set access-list`.
        ike.cp_request = CpRequestConfig {
            ipv4: wants_v4,
            ipv6: wants_v6,
            dns: wants_v4 || wants_v6,
            announce: if v4_pool.is_none() && v6_pool.is_none() {
                pushed
            } else {
                Vec::new()
            },
        };
        ike.accept_peer_routes = true;
        if let Err(e) = ike.validate() {
            return err(pl, format!("ikev2 profile {profile_name}: {e:?}"));
        }

        let mut static_routes = Vec::new();
        for r in &cfg.routes {
            let mut gateway = None;
            let mut interface = None;
            for v in &r.via {
                match v.parse::<IpAddr>() {
                    Ok(a) if a.is_ipv4() == r.prefix.is_ipv4() => gateway = Some(a),
                    Ok(_) => {
                        return err(r.line, "the next hop is not of the route's address family")
                    }
                    Err(_) if cfg.interfaces.contains_key(v) => interface = Some(v.clone()),
                    Err(_) => {
                        return err(
                            r.line,
                            format!("next hop {v} is neither an address nor an interface"),
                        )
                    }
                }
            }
            if gateway.is_none() && interface.is_none() {
                return err(r.line, "a static route needs a next hop or an interface");
            }
            static_routes.push(StaticRoutePlan {
                prefix: IpPrefix::new(r.prefix, r.len),
                gateway,
                interface,
            });
        }

        Ok(Self {
            hostname: cfg.hostname.clone().unwrap_or_else(|| "router".to_string()),
            ike,
            auth,
            route_set_interface: authz.route_set_interface,
            responder_template,
            profiles,
            tunnels,
            templates,
            interfaces,
            static_routes,
            warnings,
        })
    }

    /// Sets the authenticator (certificate authentication is built by the
    /// caller from [`AuthPlan::Certificates`]).
    pub fn set_authenticator(&mut self, a: Arc<dyn Authenticator>) {
        self.ike.authenticator = a;
    }

    /// The profile an authenticated peer falls under, and its template.
    #[must_use]
    pub fn profile_for(&self, peer: &Identity) -> Option<&ProfilePlan> {
        self.profiles
            .iter()
            .find(|p| p.matches.is_empty() || p.matches.iter().any(|m| m.matches(peer)))
    }

    /// The address of a plain interface by name.
    #[must_use]
    pub fn interface_address(&self, name: &str, v6: bool) -> Option<IpAddr> {
        self.interfaces
            .iter()
            .find(|i| i.name == name)?
            .addresses
            .iter()
            .find(|(a, _)| a.is_ipv6() == v6)
            .map(|(a, _)| *a)
    }
}
