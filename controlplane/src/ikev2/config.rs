//! Configuration of the IKEv2 core: who we are, how peers authenticate,
//! what we propose and accept, timers, and what a responder hands out in
//! configuration payloads.
//!
//! [`Config::validate`] checks everything once; the core never fails later
//! on its own configuration.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use super::auth::{Authenticator, Keyring};
use super::codec::{
    DhGroup as WireDh, EncrId as WireEncr, EsnId, IntegId as WireInteg, PrfId as WirePrf, Proposal,
    ProtocolId, TrafficSelector, Transform, TransformId, TsRange,
};
use super::crypto::{DhGroup, Encr, EspSuite, IkeSuite, Integ, Prf};
use super::identity::{Identity, IdentityMatch};

/// An IPv4 or IPv6 prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpPrefix {
    /// The address (host bits may be set; they are ignored).
    pub addr: IpAddr,
    /// Prefix length.
    pub len: u8,
}

impl IpPrefix {
    /// A prefix; the length is clamped to the family's width.
    #[must_use]
    pub fn new(addr: IpAddr, len: u8) -> Self {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        Self {
            addr,
            len: len.min(max),
        }
    }

    /// A host route (/32 or /128).
    #[must_use]
    pub fn host(addr: IpAddr) -> Self {
        Self::new(addr, if addr.is_ipv4() { 32 } else { 128 })
    }

    /// First and last IPv4 addresses, if IPv4.
    #[must_use]
    pub fn v4_range(&self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        let IpAddr::V4(a) = self.addr else {
            return None;
        };
        let len = u32::from(self.len);
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        let start = u32::from(a) & mask;
        Some((Ipv4Addr::from(start), Ipv4Addr::from(start | !mask)))
    }

    /// First and last IPv6 addresses, if IPv6.
    #[must_use]
    pub fn v6_range(&self) -> Option<(Ipv6Addr, Ipv6Addr)> {
        let IpAddr::V6(a) = self.addr else {
            return None;
        };
        let len = u32::from(self.len);
        let mask = if len == 0 {
            0
        } else {
            u128::MAX << (128 - len)
        };
        let start = u128::from(a) & mask;
        Some((Ipv6Addr::from(start), Ipv6Addr::from(start | !mask)))
    }

    /// The netmask of an IPv4 prefix.
    #[must_use]
    pub fn v4_mask(&self) -> Ipv4Addr {
        let len = u32::from(self.len.min(32));
        Ipv4Addr::from(if len == 0 { 0 } else { u32::MAX << (32 - len) })
    }

    /// The prefix of an IPv4 address and netmask (a non-contiguous mask
    /// gives the length of its leading ones).
    #[must_use]
    pub fn from_v4_mask(addr: Ipv4Addr, mask: Ipv4Addr) -> Self {
        Self::new(IpAddr::V4(addr), u32::from(mask).leading_ones() as u8)
    }

    /// The traffic selector covering this prefix (any protocol, any port).
    #[must_use]
    pub fn to_ts(&self) -> TrafficSelector {
        match (self.v4_range(), self.v6_range()) {
            (Some((s, e)), _) => TrafficSelector::Ipv4(TsRange::addresses(s, e)),
            (_, Some((s, e))) => TrafficSelector::Ipv6(TsRange::addresses(s, e)),
            _ => unreachable!("an address is IPv4 or IPv6"),
        }
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// An IKE SA proposal: one encryption algorithm, PRF, integrity (for
/// AES-CBC) and Diffie-Hellman groups in order of preference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IkeProposal {
    /// Encryption algorithms, preferred first.
    pub encr: Vec<Encr>,
    /// PRFs, preferred first.
    pub prf: Vec<Prf>,
    /// Integrity algorithms (empty for AEAD ciphers).
    pub integ: Vec<Integ>,
    /// Diffie-Hellman groups, preferred first (the initiator's KE payload
    /// uses the first).
    pub dh: Vec<DhGroup>,
}

impl IkeProposal {
    /// AES-GCM-16 256 and 128, HMAC-SHA2-256 PRF, Curve25519 then P-256.
    #[must_use]
    pub fn aead_default() -> Self {
        Self {
            encr: vec![Encr::AesGcm16_256, Encr::AesGcm16_128],
            prf: vec![Prf::HmacSha256, Prf::HmacSha384, Prf::HmacSha512],
            integ: vec![],
            dh: vec![DhGroup::Curve25519, DhGroup::Ecp256],
        }
    }

    /// AES-CBC 256/128 with HMAC-SHA2, MODP-2048 and the ECP groups
    /// (the suite strongSwan and IOS both have).
    #[must_use]
    pub fn cbc_default() -> Self {
        Self {
            encr: vec![Encr::AesCbc256, Encr::AesCbc128],
            prf: vec![Prf::HmacSha256, Prf::HmacSha384, Prf::HmacSha512],
            integ: vec![
                Integ::HmacSha256_128,
                Integ::HmacSha384_192,
                Integ::HmacSha512_256,
            ],
            dh: vec![DhGroup::Modp2048, DhGroup::Ecp256, DhGroup::Ecp384],
        }
    }

    /// The suites this proposal allows, preferred first.
    #[must_use]
    pub fn suites(&self) -> Vec<IkeSuite> {
        let mut v = Vec::new();
        for &e in &self.encr {
            for &p in &self.prf {
                for &d in &self.dh {
                    if e.is_aead() {
                        v.extend(IkeSuite::new(e, p, None, d).ok());
                    } else {
                        for &i in &self.integ {
                            v.extend(IkeSuite::new(e, p, Some(i), d).ok());
                        }
                    }
                }
            }
        }
        v
    }

    /// The wire proposal with this number and SPI (empty for IKE_SA_INIT,
    /// 8 bytes for an IKE SA rekey), `dh_first` moved to the front.
    #[must_use]
    pub fn to_wire(&self, number: u8, spi: Vec<u8>, dh_first: Option<DhGroup>) -> Proposal {
        let mut transforms = Vec::new();
        for e in &self.encr {
            transforms.push(encr_transform(*e));
        }
        for p in &self.prf {
            transforms.push(Transform::new(TransformId::Prf(WirePrf(p.id().0))));
        }
        if self.encr.iter().any(|e| !e.is_aead()) {
            for i in &self.integ {
                transforms.push(Transform::new(TransformId::Integ(WireInteg(i.id().0))));
            }
        }
        let mut groups = self.dh.clone();
        if let Some(first) = dh_first {
            groups.retain(|g| *g != first);
            groups.insert(0, first);
        }
        for d in groups {
            transforms.push(Transform::new(TransformId::Dh(WireDh(d.id().0))));
        }
        Proposal {
            number,
            protocol: ProtocolId::IKE,
            spi,
            transforms,
        }
    }
}

pub(crate) fn encr_transform(e: Encr) -> Transform {
    let id = TransformId::Encr(WireEncr(e.id().0));
    match e.key_length_attribute() {
        Some(bits) => Transform::with_key_length(id, bits),
        None => Transform::new(id),
    }
}

/// Extended sequence numbers for an ESP proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EsnPolicy {
    /// 32-bit sequence numbers only.
    Off,
    /// 64-bit only.
    On,
    /// Either (we propose ESN first, then no ESN).
    Either,
}

/// An ESP proposal for Child SAs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EspProposal {
    /// AEAD ciphers (AES-GCM-16 128/256, ChaCha20-Poly1305), preferred
    /// first.
    pub encr: Vec<Encr>,
    /// Extended sequence numbers.
    pub esn: EsnPolicy,
    /// PFS groups for CREATE_CHILD_SA (empty: no PFS). The first Child
    /// SA, created in IKE_AUTH, never has its own exchange.
    pub pfs: Vec<DhGroup>,
}

impl Default for EspProposal {
    fn default() -> Self {
        Self {
            encr: vec![
                Encr::AesGcm16_256,
                Encr::AesGcm16_128,
                Encr::ChaCha20Poly1305,
            ],
            esn: EsnPolicy::Either,
            pfs: Vec::new(),
        }
    }
}

impl EspProposal {
    /// The wire proposal with this number and SPI; D-H transforms for PFS
    /// when `with_dh`.
    #[must_use]
    pub fn to_wire(&self, number: u8, spi: u32, with_dh: bool) -> Proposal {
        let mut transforms: Vec<Transform> = self.encr.iter().map(|e| encr_transform(*e)).collect();
        if with_dh {
            for d in &self.pfs {
                transforms.push(Transform::new(TransformId::Dh(WireDh(d.id().0))));
            }
        }
        let esn = match self.esn {
            EsnPolicy::Off => vec![EsnId::NO_ESN],
            EsnPolicy::On => vec![EsnId::ESN],
            EsnPolicy::Either => vec![EsnId::ESN, EsnId::NO_ESN],
        };
        for e in esn {
            transforms.push(Transform::new(TransformId::Esn(e)));
        }
        Proposal {
            number,
            protocol: ProtocolId::ESP,
            spi: spi.to_be_bytes().to_vec(),
            transforms,
        }
    }

    pub(crate) fn suites(&self) -> Vec<EspSuite> {
        self.encr
            .iter()
            .filter_map(|e| EspSuite::new(*e, None).ok())
            .collect()
    }
}

/// Lifetimes of IKE and Child SAs (time-based; byte and packet limits are
/// the dataplane's, which asks for a rekey through
/// [`super::Endpoint::rekey_child_sa`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// IKE SA rekey after this long (IOS default 86400 s).
    pub ike_rekey: Duration,
    /// Child SA rekey after this long (IOS default 3600 s).
    pub child_rekey: Duration,
    /// A Child SA not rekeyed this long after its rekey time is deleted
    /// (hard lifetime = rekey + margin).
    pub hard_margin: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            ike_rekey: Duration::from_secs(86_400),
            child_rekey: Duration::from_secs(3_600),
            hard_margin: Duration::from_secs(300),
        }
    }
}

/// Retransmission of our requests (RFC 7296 section 2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetransmitPolicy {
    /// First timeout.
    pub initial: Duration,
    /// Each timeout is this many times the previous one.
    pub backoff: u32,
    /// Cap of one timeout.
    pub max_interval: Duration,
    /// Transmissions of one request before the peer is declared dead
    /// (the first one included).
    pub max_transmissions: u32,
}

impl Default for RetransmitPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(2),
            backoff: 2,
            max_interval: Duration::from_secs(30),
            max_transmissions: 6,
        }
    }
}

impl RetransmitPolicy {
    /// The timeout after transmission number `n` (1 for the first).
    #[must_use]
    pub fn timeout(&self, n: u32) -> Duration {
        let mut t = self.initial;
        for _ in 1..n {
            t = t.saturating_mul(self.backoff.max(1));
            if t >= self.max_interval {
                return self.max_interval;
            }
        }
        t.min(self.max_interval)
    }
}

/// A responder's address pool and what it pushes in CFG_REPLY (Cisco `ip
/// local pool` plus `crypto ikev2 authorization policy`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolConfig {
    /// IPv4 addresses to hand out, first and last inclusive.
    pub v4: Option<(Ipv4Addr, Ipv4Addr)>,
    /// IPv6 addresses to hand out (each client gets one /128 out of this
    /// range), first and last inclusive.
    pub v6: Option<(Ipv6Addr, Ipv6Addr)>,
    /// DNS servers (INTERNAL_IP4_DNS / INTERNAL_IP6_DNS).
    pub dns: Vec<IpAddr>,
    /// Default domain (INTERNAL_DNS_DOMAIN, `def-domain`).
    pub domain: Option<String>,
    /// Routes to push (INTERNAL_IP4_SUBNET / INTERNAL_IP6_SUBNET;
    /// `route set access-list`).
    pub routes: Vec<IpPrefix>,
}

/// What an initiator asks for and announces in its CFG_REQUEST.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CpRequestConfig {
    /// Ask for an IPv4 address.
    pub ipv4: bool,
    /// Ask for an IPv6 address.
    pub ipv6: bool,
    /// Ask for DNS servers and the domain.
    pub dns: bool,
    /// Our subnets, announced as INTERNAL_IP4/6_SUBNET (`route set
    /// access-list flex-route` on a spoke).
    pub announce: Vec<IpPrefix>,
}

impl CpRequestConfig {
    /// Whether a CFG_REQUEST is sent at all.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.ipv4 || self.ipv6 || self.dns || !self.announce.is_empty()
    }
}

/// Traffic selectors of the Child SA, from our point of view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsConfig {
    /// Our side (TSi for the initiator, TSr for the responder).
    pub local: Vec<TrafficSelector>,
    /// The peer's side.
    pub remote: Vec<TrafficSelector>,
    /// As a responder that assigned a virtual IP: narrow the peer's
    /// selectors to that address (strongSwan's `dynamic`).
    pub narrow_to_virtual_ip: bool,
}

/// Any IPv4 address, any protocol and port.
#[must_use]
pub fn ts_any_v4() -> TrafficSelector {
    TrafficSelector::Ipv4(TsRange::addresses(
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::BROADCAST,
    ))
}

/// Any IPv6 address, any protocol and port.
#[must_use]
pub fn ts_any_v6() -> TrafficSelector {
    TrafficSelector::Ipv6(TsRange::addresses(
        Ipv6Addr::UNSPECIFIED,
        Ipv6Addr::from(u128::MAX),
    ))
}

impl Default for TsConfig {
    /// Any to any, both families (a route-based tunnel).
    fn default() -> Self {
        Self {
            local: vec![ts_any_v4(), ts_any_v6()],
            remote: vec![ts_any_v4(), ts_any_v6()],
            narrow_to_virtual_ip: false,
        }
    }
}

/// Dead peer detection (Cisco `dpd interval retry on-demand|periodic`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DpdConfig {
    /// Send an empty INFORMATIONAL after this long without anything from
    /// the peer. The peer is dead when that request's retransmissions
    /// ([`RetransmitPolicy`]) go unanswered.
    pub interval: Duration,
}

/// Defences of a responder against floods of IKE_SA_INIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DosConfig {
    /// Half-open IKE SAs above which a COOKIE is required (RFC 7296
    /// section 2.6).
    pub cookie_threshold: usize,
    /// Half-open IKE SAs above which new IKE_SA_INIT requests are dropped.
    pub max_half_open: usize,
    /// An IKE SA not authenticated this long after IKE_SA_INIT is
    /// dropped.
    pub half_open_timeout: Duration,
    /// How long one cookie secret is used before a new one is made (the
    /// previous one is still accepted for as long again).
    pub cookie_secret_lifetime: Duration,
}

impl Default for DosConfig {
    fn default() -> Self {
        Self {
            cookie_threshold: 1000,
            max_half_open: 50_000,
            half_open_timeout: Duration::from_secs(30),
            cookie_secret_lifetime: Duration::from_secs(60),
        }
    }
}

/// RFC 7383 fragmentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragmentationConfig {
    /// Offer IKEV2_FRAGMENTATION_SUPPORTED and use it when the peer does.
    pub enabled: bool,
    /// Largest IP datagram we send: protected messages larger than this
    /// are sent as fragments. RFC 7383 section 2.5.1 suggests 1280 for
    /// IPv6 and 576 for IPv4 where unknown.
    pub mtu: usize,
}

impl Default for FragmentationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            mtu: 1280,
        }
    }
}

/// The whole configuration of an [`super::Endpoint`].
#[derive(Clone, Debug)]
pub struct Config {
    /// Our identity (IDi / IDr); `identity local fqdn hub.cisco.com`.
    pub local_id: Identity,
    /// Computes and checks AUTH payloads; a [`Keyring`] for pre-shared
    /// keys.
    pub authenticator: Arc<dyn Authenticator>,
    /// Peers we accept (`match identity remote ...`); empty accepts any
    /// peer the authenticator has a key for.
    pub remote_match: Vec<IdentityMatch>,
    /// IKE proposals, preferred first.
    pub ike_proposals: Vec<IkeProposal>,
    /// ESP proposals, preferred first.
    pub esp_proposals: Vec<EspProposal>,
    /// SA lifetimes.
    pub lifetimes: Lifetimes,
    /// Dead peer detection; `None` disables it.
    pub dpd: Option<DpdConfig>,
    /// Request retransmission.
    pub retransmit: RetransmitPolicy,
    /// Message ID window (RFC 7296 section 2.3); only 1 is supported.
    pub window_size: u32,
    /// Responder address pools and pushed attributes. Addresses of a
    /// family the pool does not have are not assigned (`None`: CFG_REQUEST
    /// is answered without addresses); an exhausted pool answers
    /// INTERNAL_ADDRESS_FAILURE and creates no Child SA.
    pub pool: Option<PoolConfig>,
    /// What an initiator asks for.
    pub cp_request: CpRequestConfig,
    /// Child SA traffic selectors.
    pub ts: TsConfig,
    /// As a responder, accept the initiator's INTERNAL_IP4/6_SUBNET as
    /// routes toward it (`route accept any`).
    pub accept_peer_routes: bool,
    /// Replay window the dataplane should use for inbound SAs (packets).
    pub replay_window: u32,
    /// Responder DoS defences.
    pub dos: DosConfig,
    /// IKE fragmentation.
    pub fragmentation: FragmentationConfig,
    /// Send INITIAL_CONTACT in IKE_AUTH as initiator.
    pub initial_contact: bool,
    /// The IKE port (500) and the NAT-T port (4500): on the latter every
    /// IKE message carries the 4-byte non-ESP marker.
    pub ports: (u16, u16),
}

impl Config {
    /// A configuration with defaults around an identity and keyring.
    #[must_use]
    pub fn new(local_id: Identity, keyring: Keyring) -> Self {
        Self {
            local_id,
            authenticator: Arc::new(keyring),
            remote_match: Vec::new(),
            ike_proposals: vec![IkeProposal::aead_default(), IkeProposal::cbc_default()],
            esp_proposals: vec![EspProposal::default()],
            lifetimes: Lifetimes::default(),
            dpd: Some(DpdConfig {
                interval: Duration::from_secs(30),
            }),
            retransmit: RetransmitPolicy::default(),
            window_size: 1,
            pool: None,
            cp_request: CpRequestConfig::default(),
            ts: TsConfig::default(),
            accept_peer_routes: true,
            replay_window: 1024,
            dos: DosConfig::default(),
            fragmentation: FragmentationConfig::default(),
            initial_contact: true,
            ports: (500, 4500),
        }
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// The first [`ConfigError`] found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.window_size != 1 {
            return Err(ConfigError::WindowSize(self.window_size));
        }
        if self.ike_proposals.is_empty() || self.ike_proposals.iter().any(|p| p.suites().is_empty())
        {
            return Err(ConfigError::EmptyProposal("IKE"));
        }
        if self.esp_proposals.is_empty()
            || self
                .esp_proposals
                .iter()
                .any(|p| p.suites().is_empty() || p.encr.iter().any(|e| !e.is_aead()))
        {
            return Err(ConfigError::EmptyProposal("ESP (AEAD ciphers only)"));
        }
        let r = &self.retransmit;
        if r.max_transmissions == 0 || r.initial.is_zero() {
            return Err(ConfigError::Retransmit);
        }
        if self.lifetimes.ike_rekey.is_zero() || self.lifetimes.child_rekey.is_zero() {
            return Err(ConfigError::Lifetime);
        }
        if let Some(d) = self.dpd {
            if d.interval.is_zero() {
                return Err(ConfigError::Dpd);
            }
        }
        if let Some(p) = &self.pool {
            if p.v4.is_some_and(|(a, b)| a > b) || p.v6.is_some_and(|(a, b)| a > b) {
                return Err(ConfigError::Pool);
            }
        }
        if self.fragmentation.mtu < 576 {
            return Err(ConfigError::Mtu(self.fragmentation.mtu));
        }
        if self.ports.0 == self.ports.1 {
            return Err(ConfigError::Ports);
        }
        if self.ts.local.is_empty() || self.ts.remote.is_empty() {
            return Err(ConfigError::TrafficSelectors);
        }
        Ok(())
    }
}

/// A configuration the core cannot run with (local configuration errors).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// Only a window size of 1 is implemented.
    WindowSize(u32),
    /// A proposal list is empty or a proposal allows no suite.
    EmptyProposal(&'static str),
    /// Retransmission needs a non-zero first timeout and transmission
    /// count.
    Retransmit,
    /// A lifetime is zero.
    Lifetime,
    /// A DPD interval is zero.
    Dpd,
    /// A pool range ends before it starts.
    Pool,
    /// The fragmentation MTU is below 576.
    Mtu(usize),
    /// The IKE and NAT-T ports are the same.
    Ports,
    /// No traffic selectors.
    TrafficSelectors,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WindowSize(w) => write!(f, "window size {w}: only 1 is supported"),
            Self::EmptyProposal(w) => write!(f, "{w} proposal allows no algorithm suite"),
            Self::Retransmit => f.write_str("retransmission policy needs a timeout and a count"),
            Self::Lifetime => f.write_str("SA lifetimes must not be zero"),
            Self::Dpd => f.write_str("DPD interval must not be zero"),
            Self::Pool => f.write_str("address pool ends before it starts"),
            Self::Mtu(m) => write!(f, "fragmentation MTU {m} is below 576"),
            Self::Ports => f.write_str("IKE and NAT-T ports must differ"),
            Self::TrafficSelectors => f.write_str("traffic selectors must not be empty"),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikev2::auth::Psk;

    fn cfg() -> Config {
        Config::new(
            Identity::Fqdn("hub.cisco.com".into()),
            Keyring::new().with(IdentityMatch::Any, Psk::new(b"k")),
        )
    }

    #[test]
    fn test_validate() {
        cfg().validate().unwrap();
        let mut c = cfg();
        c.window_size = 2;
        assert_eq!(c.validate(), Err(ConfigError::WindowSize(2)));
        let mut c = cfg();
        c.esp_proposals[0].encr = vec![Encr::AesCbc128];
        assert!(c.validate().is_err());
        let mut c = cfg();
        c.ike_proposals[1].integ.clear();
        assert!(matches!(c.validate(), Err(ConfigError::EmptyProposal(_))));
        let mut c = cfg();
        c.pool = Some(PoolConfig {
            v4: Some((Ipv4Addr::new(10, 0, 0, 9), Ipv4Addr::new(10, 0, 0, 1))),
            ..PoolConfig::default()
        });
        assert_eq!(c.validate(), Err(ConfigError::Pool));
    }

    #[test]
    fn test_prefix() {
        let p = IpPrefix::new("192.168.110.7".parse().unwrap(), 24);
        assert_eq!(
            p.v4_range(),
            Some((
                Ipv4Addr::new(192, 168, 110, 0),
                Ipv4Addr::new(192, 168, 110, 255)
            ))
        );
        assert_eq!(p.v4_mask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(
            IpPrefix::from_v4_mask(Ipv4Addr::new(10, 0, 0, 0), Ipv4Addr::new(255, 0, 0, 0)).len,
            8
        );
        let v6 = IpPrefix::new("2001:db8::".parse().unwrap(), 32);
        assert_eq!(
            v6.v6_range().unwrap().1,
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
                .parse::<Ipv6Addr>()
                .unwrap()
        );
        assert_eq!(
            IpPrefix::new("0.0.0.0".parse().unwrap(), 0).to_ts(),
            ts_any_v4()
        );
    }

    #[test]
    fn test_retransmit_timeouts() {
        let r = RetransmitPolicy::default();
        assert_eq!(r.timeout(1), Duration::from_secs(2));
        assert_eq!(r.timeout(2), Duration::from_secs(4));
        assert_eq!(r.timeout(5), Duration::from_secs(30));
        assert_eq!(r.timeout(100), Duration::from_secs(30));
    }

    #[test]
    fn test_proposal_wire() {
        let p = IkeProposal::aead_default();
        let w = p.to_wire(1, vec![], Some(DhGroup::Ecp256));
        let dh: Vec<_> = w
            .transforms_of(crate::ikev2::codec::TransformType::DH)
            .map(|t| t.id.raw_id())
            .collect();
        assert_eq!(dh, [19, 31]);
        assert!(w
            .transforms_of(crate::ikev2::codec::TransformType::INTEG)
            .next()
            .is_none());
        assert_eq!(p.suites().len(), 2 * 3 * 2);
    }
}
