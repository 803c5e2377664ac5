//! The dataplane process's configuration file (TOML) and its validation.
//!
//! [`Config`] is what the file says, parsed by serde with
//! `deny_unknown_fields` everywhere (a misspelt key is an error naming the
//! key, its line and column). [`Config::plan`] checks what serde cannot
//! (addresses, prefixes, keys, references between sections) and resolves
//! names into indexes: the result, a [`Plan`], is what the process runs.
//! Every error names the key it is about, such as `ports[1].ipv4[0]`.
//! A commented example: `appliance/dataplane.example.toml`.
//!
//! ```toml
//! workers = 1
//! idle = "adaptive"          # or "busy"
//! crypto = "ipsec-mb"        # AEAD backend (default): or "ring", "rustcrypto"
//! log_format = "text"        # or "json": one JSON object per line
//! stats_interval = 10        # seconds; counters are always printed at exit
//!
//! [eal]
//! cores = "0-1"              # main lcore first, then the workers
//! no_huge = true
//! memory = 256
//! no_shconf = true
//!
//! [[ports]]
//! name = "Ethernet0/0"
//! device = "net_af_packet0,iface=veth1"   # or a PCI address, or any net_* vdev
//! ipv4 = ["192.168.1.1/24"]
//! ipv6 = ["2001:db8:1::1/64"]
//!
//! [[ports]]
//! name = "Ethernet0/1"
//! device = "0000:03:00.0"
//! mac = "02:00:00:00:00:20"  # optional override
//! ipv4 = ["203.0.113.1/24"]
//!
//! [[neighbors]]              # static ARP/ND entries (optional)
//! port = "Ethernet0/1"
//! ip = "203.0.113.2"
//! mac = "02:00:00:00:00:21"
//!
//! [[routes]]
//! prefix = "0.0.0.0/0"
//! via = "203.0.113.254"      # a gateway, a port name, TunnelN or Null0
//!
//! [[routes]]
//! prefix = "192.168.2.0/24"
//! via = "Tunnel1"
//!
//! [[tunnels]]                # static tunnels and SAs until IKE installs them
//! id = 1
//! local = "203.0.113.1"
//! remote = "203.0.113.2"
//! mode = "gre"               # or "ipsec"
//! gre_key = 42
//! nat_t = false
//! mtu = 1400
//! outbound = { spi = 0x0c0ffee1, algorithm = "aes-gcm-128", key = "00112233445566778899aabbccddeeff01020304" }
//! inbound = [{ spi = 0x00012345, algorithm = "aes-gcm-128", key = "ffeeddccbbaa99887766554433221100a1a2a3a4" }]
//! ```

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use dataplane::crypto::{Algorithm, Backend};
use dataplane::fib::{Ipv4Prefix, Ipv6Prefix};
use dataplane::tunnel::{NatT, TunnelMode};
use serde::Deserialize;

use super::idle::IdlePolicy;

/// Largest tunnel id (the tunnel table has 2^10 slots).
pub const MAX_TUNNEL_ID: u32 = 1023;

/// The configuration file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// EAL options.
    #[serde(default)]
    pub eal: EalConfig,
    /// Worker lcores (each polls one receive queue of every port).
    #[serde(default = "default_workers")]
    pub workers: u16,
    /// What a worker does while its queues are empty.
    #[serde(default)]
    pub idle: IdleMode,
    /// Longest sleep of the adaptive idle policy, in microseconds.
    pub idle_max_sleep_us: Option<u64>,
    /// AEAD backend: "ipsec-mb" (default: Intel's IPsec Multi-Buffer
    /// library for AES-GCM, ring for ChaCha20-Poly1305), "ring" or
    /// "rustcrypto".
    pub crypto: Option<String>,
    /// The process's output: `key=value` lines (the default) or one JSON
    /// object per line.
    #[serde(default)]
    pub log_format: LogFormat,
    /// Print counters every this many seconds (they are always printed at
    /// exit).
    pub stats_interval: Option<u64>,
    /// Mbufs in the packet pool (default: enough for every queue and ring).
    pub mbufs: Option<u32>,
    /// Receive descriptors per queue.
    pub rx_descriptors: Option<u16>,
    /// Transmit descriptors per queue.
    pub tx_descriptors: Option<u16>,
    /// Ports, in order: the first is port 0.
    pub ports: Vec<PortConfig>,
    /// Static neighbours (ARP/ND entries that never expire).
    #[serde(default)]
    pub neighbors: Vec<NeighborConfig>,
    /// Static routes.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// Static tunnels with static SAs.
    #[serde(default)]
    pub tunnels: Vec<TunnelConfig>,
    /// ARP/ND timers.
    #[serde(default)]
    pub arp: ArpConfig,
    /// The link to the control-plane process.
    pub control: Option<ControlConfig>,
}

/// The control-plane link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlConfig {
    /// Name of the shared-memory region in `/dev/shm` the dataplane
    /// creates and the control plane opens.
    pub shm: String,
}

fn default_workers() -> u16 {
    1
}

/// EAL options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EalConfig {
    /// `-l`: lcores, the main lcore first (e.g. `"0-1"`).
    pub cores: Option<String>,
    /// `--main-lcore`.
    pub main_lcore: Option<u32>,
    /// `--no-huge`.
    #[serde(default)]
    pub no_huge: bool,
    /// `-m`: memory in MB.
    pub memory: Option<u32>,
    /// `--file-prefix`.
    pub file_prefix: Option<String>,
    /// `--no-shconf`.
    #[serde(default)]
    pub no_shconf: bool,
    /// `--in-memory`.
    #[serde(default)]
    pub in_memory: bool,
    /// Keep DPDK's telemetry socket (off by default: `--no-telemetry`).
    #[serde(default)]
    pub telemetry: bool,
    /// `--log-level`.
    pub log_level: Option<String>,
    /// Further EAL arguments, passed as they are.
    #[serde(default)]
    pub args: Vec<String>,
}

/// How the process writes its output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `dataplane: ...` lines with `key=value` counters.
    #[default]
    Text,
    /// One JSON object per line (`ts`, `level`, `component`, `msg`, and
    /// the counters as objects), like the control plane's logs.
    Json,
}

/// The idle policy's name in the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdleMode {
    /// Spin on the queues (production cores).
    Busy,
    /// Back off while the queues stay empty (shared test machines).
    #[default]
    Adaptive,
}

/// One port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortConfig {
    /// Interface name, e.g. `Ethernet0/0` (routes and neighbours refer to
    /// it).
    pub name: String,
    /// A PCI address (`0000:03:00.0`, optionally `,devargs`) or a DPDK
    /// vdev (`net_af_packet0,iface=veth1`, `net_pcap0,rx_pcap=...`).
    pub device: String,
    /// MAC address to use instead of the device's.
    pub mac: Option<String>,
    /// IPv4 addresses with prefix lengths.
    #[serde(default)]
    pub ipv4: Vec<String>,
    /// IPv6 addresses with prefix lengths.
    #[serde(default)]
    pub ipv6: Vec<String>,
    /// Promiscuous mode (default: on when `mac` overrides the device's).
    pub promiscuous: Option<bool>,
    /// MTU to set on the device.
    pub mtu: Option<u16>,
}

/// A static neighbour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeighborConfig {
    /// Port name.
    pub port: String,
    /// Its address.
    pub ip: String,
    /// Its MAC.
    pub mac: String,
}

/// A static route.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// `ADDRESS/LENGTH`.
    pub prefix: String,
    /// A gateway address, a port name (attached), `TunnelN`, or `Null0`.
    pub via: String,
}

/// A static tunnel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TunnelConfig {
    /// Tunnel id (`Tunnel1` is id 1), 0 to 1023.
    pub id: u32,
    /// Our outer address (one of the ports' addresses).
    pub local: String,
    /// The peer's outer address.
    pub remote: String,
    /// `gre` or `ipsec`.
    pub mode: TunnelModeConfig,
    /// GRE key (GRE mode only).
    pub gre_key: Option<u32>,
    /// UDP 4500 encapsulation (RFC 3948).
    #[serde(default)]
    pub nat_t: bool,
    /// The peer's UDP port with NAT-T (default 4500).
    pub remote_port: Option<u16>,
    /// Largest inner packet.
    #[serde(default = "default_tunnel_mtu")]
    pub mtu: u16,
    /// Outer TTL / hop limit.
    #[serde(default = "default_ttl")]
    pub ttl: u8,
    /// The SA that protects what we send.
    pub outbound: Option<SaConfigFile>,
    /// The SAs we accept.
    #[serde(default)]
    pub inbound: Vec<SaConfigFile>,
}

fn default_tunnel_mtu() -> u16 {
    1400
}

fn default_ttl() -> u8 {
    64
}

/// Tunnel mode names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelModeConfig {
    /// GRE in ESP.
    Gre,
    /// Plain IPsec tunnel mode.
    Ipsec,
}

/// A static SA.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaConfigFile {
    /// SPI (above 255).
    pub spi: u32,
    /// `aes-gcm-128`, `aes-gcm-256` or `chacha20-poly1305`.
    pub algorithm: String,
    /// Key followed by the 4-byte salt, in hex.
    pub key: String,
    /// Extended sequence numbers.
    #[serde(default)]
    pub esn: bool,
    /// Anti-replay window (inbound), 64 to 4096.
    #[serde(default = "default_window")]
    pub replay_window: u32,
    /// Inbound anti-replay check (default on; `anti_replay = false` turns
    /// it off, e.g. for a looping traffic source).
    #[serde(default = "default_true")]
    pub anti_replay: bool,
    /// First sequence number to send (outbound; for tests).
    pub first_seq: Option<u64>,
}

fn default_window() -> u32 {
    128
}

fn default_true() -> bool {
    true
}

/// ARP/ND timers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArpConfig {
    /// Seconds an answer is trusted before it is probed again.
    #[serde(default = "default_reachable")]
    pub reachable_secs: u64,
    /// Milliseconds between requests.
    #[serde(default = "default_retransmit")]
    pub retransmit_ms: u64,
    /// Requests before giving up.
    #[serde(default = "default_probes")]
    pub max_probes: u32,
    /// Packets held per unresolved neighbour.
    #[serde(default = "default_queue")]
    pub queue_per_entry: usize,
}

fn default_reachable() -> u64 {
    300
}
fn default_retransmit() -> u64 {
    1000
}
fn default_probes() -> u32 {
    3
}
fn default_queue() -> usize {
    8
}

impl Default for ArpConfig {
    fn default() -> Self {
        Self {
            reachable_secs: default_reachable(),
            retransmit_ms: default_retransmit(),
            max_probes: default_probes(),
            queue_per_entry: default_queue(),
        }
    }
}

/// How a port's device is named to EAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    /// A PCI device: `-a DEVARGS`; the port's ethdev name is the address.
    Pci {
        /// What goes to `-a`.
        devargs: String,
        /// `DDDD:BB:DD.F`.
        address: String,
    },
    /// A virtual device: `--vdev DEVARGS`; the ethdev name is the part
    /// before the first comma.
    Vdev {
        /// What goes to `--vdev`.
        devargs: String,
        /// The driver instance name, e.g. `net_pcap0`.
        name: String,
    },
}

impl Device {
    /// The ethdev name EAL gives the port.
    pub fn ethdev_name(&self) -> &str {
        match self {
            Self::Pci { address, .. } => address,
            Self::Vdev { name, .. } => name,
        }
    }
}

/// A port, resolved.
#[derive(Debug, Clone)]
pub struct PortPlan {
    /// Interface name.
    pub name: String,
    /// The device.
    pub device: Device,
    /// MAC override.
    pub mac: Option<[u8; 6]>,
    /// Promiscuous mode.
    pub promiscuous: bool,
    /// MTU to set.
    pub mtu: Option<u16>,
    /// IPv4 addresses.
    pub v4: Vec<(Ipv4Addr, u8)>,
    /// IPv6 addresses.
    pub v6: Vec<(Ipv6Addr, u8)>,
}

/// A prefix of either family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpPrefix {
    /// IPv4.
    V4(Ipv4Prefix),
    /// IPv6.
    V6(Ipv6Prefix),
}

impl IpPrefix {
    /// Parses `ADDRESS/LENGTH`.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.contains(':') {
            Ok(Self::V6(s.parse().map_err(|e| anyhow!("{s:?}: {e}"))?))
        } else {
            Ok(Self::V4(s.parse().map_err(|e| anyhow!("{s:?}: {e}"))?))
        }
    }

    /// The host prefix (/32 or /128) of an address.
    pub fn host(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Self::V4(Ipv4Prefix::new(a.octets(), 32).expect("/32")),
            IpAddr::V6(a) => Self::V6(Ipv6Prefix::new(a.octets(), 128).expect("/128")),
        }
    }

    /// True if `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self, ip) {
            (Self::V4(p), IpAddr::V4(a)) => p.contains(&a.octets()),
            (Self::V6(p), IpAddr::V6(a)) => p.contains(&a.octets()),
            _ => false,
        }
    }
}

impl std::fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::V4(p) => p.fmt(f),
            Self::V6(p) => p.fmt(f),
        }
    }
}

/// Where a static route points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A gateway on an attached subnet of `port`: installed once ARP/ND
    /// resolves it (or at once with a static neighbour).
    Gateway {
        /// The port whose subnet holds the gateway.
        port: u16,
        /// The gateway.
        ip: IpAddr,
    },
    /// Directly out of a port (hosts resolved one by one).
    Attached {
        /// Port index.
        port: u16,
    },
    /// Into a tunnel.
    Tunnel(u32),
    /// Dropped.
    Blackhole,
}

/// A static route, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutePlan {
    /// Destination.
    pub prefix: IpPrefix,
    /// Next hop.
    pub via: Via,
}

/// A static neighbour, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborPlan {
    /// Port index.
    pub port: u16,
    /// Address.
    pub ip: IpAddr,
    /// MAC.
    pub mac: [u8; 6],
}

/// An SA, resolved.
#[derive(Clone)]
pub struct SaPlan {
    /// SPI.
    pub spi: u32,
    /// AEAD.
    pub algorithm: Algorithm,
    /// Key || salt.
    pub key: Vec<u8>,
    /// ESN.
    pub esn: bool,
    /// Replay window.
    pub replay_window: u32,
    /// Inbound anti-replay check on.
    pub anti_replay: bool,
    /// First sequence number to send.
    pub first_seq: u64,
}

impl std::fmt::Debug for SaPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaPlan")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("algorithm", &self.algorithm)
            .field("esn", &self.esn)
            .finish_non_exhaustive()
    }
}

/// A tunnel, resolved.
#[derive(Debug, Clone)]
pub struct TunnelPlan {
    /// Id.
    pub id: u32,
    /// Our outer address.
    pub local: IpAddr,
    /// Peer's outer address.
    pub remote: IpAddr,
    /// GRE or IPsec.
    pub mode: TunnelMode,
    /// NAT-T.
    pub nat_t: Option<NatT>,
    /// MTU.
    pub mtu: u16,
    /// Outer TTL.
    pub ttl: u8,
    /// Outbound SA.
    pub outbound: Option<SaPlan>,
    /// Inbound SAs.
    pub inbound: Vec<SaPlan>,
}

/// What the process runs: the configuration checked and resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    /// EAL options.
    pub eal: EalConfig,
    /// Worker lcores.
    pub workers: u16,
    /// Idle policy.
    pub idle: IdlePolicy,
    /// AEAD backend of every SA (static ones and those the control plane
    /// installs).
    pub crypto: Backend,
    /// Output format.
    pub log_format: LogFormat,
    /// Periodic counters.
    pub stats_interval: Option<Duration>,
    /// Pool size, if given.
    pub mbufs: Option<u32>,
    /// Receive descriptors per queue.
    pub rx_descriptors: u16,
    /// Transmit descriptors per queue.
    pub tx_descriptors: u16,
    /// Ports (index = port number in the pipeline).
    pub ports: Vec<PortPlan>,
    /// Static neighbours.
    pub neighbors: Vec<NeighborPlan>,
    /// Static routes.
    pub routes: Vec<RoutePlan>,
    /// Tunnels.
    pub tunnels: Vec<TunnelPlan>,
    /// Neighbour timers.
    pub arp: dataplane::neighbor::Config,
    /// The shared-memory region for the control plane, if any.
    pub control_shm: Option<String>,
}

impl Config {
    /// Reads and parses a file (no semantic checks: see [`Config::plan`]).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses TOML text.
    pub fn parse(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| anyhow!("{e}"))
    }

    /// Checks everything and resolves names into indexes.
    pub fn plan(&self) -> Result<Plan> {
        if self.workers == 0 {
            bail!("workers: must be at least 1");
        }
        if self.ports.is_empty() {
            bail!("ports: at least one port is needed");
        }
        if self.ports.len() > usize::from(dataplane::fib::MAX_PORT) {
            bail!("ports: at most {} ports", dataplane::fib::MAX_PORT);
        }
        if let Some(0) = self.stats_interval {
            bail!("stats_interval: must be at least 1 second (leave it out for none)");
        }
        if self.eal.no_huge && self.eal.in_memory {
            bail!("eal: no_huge and in_memory cannot be combined (use no_shconf or file_prefix)");
        }
        let idle = match self.idle {
            IdleMode::Busy => IdlePolicy::Busy,
            IdleMode::Adaptive => {
                let mut p = IdlePolicy::adaptive();
                if let Some(us) = self.idle_max_sleep_us {
                    if !(1..=100_000).contains(&us) {
                        bail!("idle_max_sleep_us: {us} outside 1..=100000");
                    }
                    p = p.with_max_sleep(Duration::from_micros(us));
                }
                p
            }
        };
        let crypto = match self.crypto.as_deref() {
            None => Backend::IpsecMb,
            Some(name) => Backend::from_name(name).ok_or_else(|| {
                anyhow!("crypto: {name:?} is not a backend (ipsec-mb, ring or rustcrypto)")
            })?,
        };
        if self.idle == IdleMode::Busy && self.idle_max_sleep_us.is_some() {
            bail!("idle_max_sleep_us: only meaningful with idle = \"adaptive\"");
        }

        let mut ports = Vec::new();
        let mut names = HashSet::new();
        let mut devices = HashSet::new();
        for (i, p) in self.ports.iter().enumerate() {
            let key = format!("ports[{i}]");
            let name = p.name.trim();
            if name.is_empty() {
                bail!("{key}.name: empty");
            }
            if !names.insert(name.to_owned()) {
                bail!("{key}.name: {name:?} is used by an earlier port");
            }
            let device = parse_device(&p.device).with_context(|| format!("{key}.device"))?;
            if !devices.insert(device.ethdev_name().to_owned()) {
                bail!(
                    "{key}.device: {:?} names the same device as an earlier port",
                    device.ethdev_name()
                );
            }
            let mac = p
                .mac
                .as_deref()
                .map(parse_mac)
                .transpose()
                .with_context(|| format!("{key}.mac"))?;
            let mut v4 = Vec::new();
            for (j, a) in p.ipv4.iter().enumerate() {
                let (addr, len) =
                    parse_addr_len(a, false).with_context(|| format!("{key}.ipv4[{j}]"))?;
                let IpAddr::V4(addr) = addr else {
                    unreachable!("parse_addr_len(.., false) gives IPv4")
                };
                v4.push((addr, len));
            }
            let mut v6 = Vec::new();
            for (j, a) in p.ipv6.iter().enumerate() {
                let (addr, len) =
                    parse_addr_len(a, true).with_context(|| format!("{key}.ipv6[{j}]"))?;
                let IpAddr::V6(addr) = addr else {
                    unreachable!("parse_addr_len(.., true) gives IPv6")
                };
                v6.push((addr, len));
            }
            ports.push(PortPlan {
                name: name.to_owned(),
                device,
                promiscuous: p.promiscuous.unwrap_or(mac.is_some()),
                mac,
                mtu: p.mtu,
                v4,
                v6,
            });
        }
        // An address may belong to one port only.
        let mut owned: HashSet<IpAddr> = HashSet::new();
        for (i, p) in ports.iter().enumerate() {
            for a in
                p.v4.iter()
                    .map(|(a, _)| IpAddr::V4(*a))
                    .chain(p.v6.iter().map(|(a, _)| IpAddr::V6(*a)))
            {
                if !owned.insert(a) {
                    bail!("ports[{i}]: address {a} is configured twice");
                }
            }
        }
        let port_index = |what: &str, name: &str| -> Result<u16> {
            ports
                .iter()
                .position(|p| p.name == name.trim())
                .map(|i| i as u16)
                .ok_or_else(|| {
                    anyhow!(
                        "{what}: no port named {name:?} (ports: {})",
                        ports
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
        };
        // The port whose attached subnet holds `ip`.
        let attached_port = |ip: IpAddr| -> Option<u16> {
            ports
                .iter()
                .position(|p| match ip {
                    IpAddr::V4(a) => p.v4.iter().any(|(o, len)| {
                        IpPrefix::V4(Ipv4Prefix::new(o.octets(), *len).expect("checked"))
                            .contains(IpAddr::V4(a))
                    }),
                    IpAddr::V6(a) => p.v6.iter().any(|(o, len)| {
                        IpPrefix::V6(Ipv6Prefix::new(o.octets(), *len).expect("checked"))
                            .contains(IpAddr::V6(a))
                    }),
                })
                .map(|i| i as u16)
        };

        let mut neighbors = Vec::new();
        for (i, n) in self.neighbors.iter().enumerate() {
            let key = format!("neighbors[{i}]");
            let port = port_index(&format!("{key}.port"), &n.port)?;
            let ip: IpAddr =
                n.ip.trim()
                    .parse()
                    .map_err(|_| anyhow!("{key}.ip: {:?} is not an IP address", n.ip))?;
            if owned.contains(&ip) {
                bail!("{key}.ip: {ip} is one of our own addresses");
            }
            let mac = parse_mac(&n.mac).with_context(|| format!("{key}.mac"))?;
            neighbors.push(NeighborPlan { port, ip, mac });
        }

        let mut tunnels = Vec::new();
        let mut ids = HashSet::new();
        let mut spis = HashSet::new();
        for (i, t) in self.tunnels.iter().enumerate() {
            let key = format!("tunnels[{i}]");
            if t.id > MAX_TUNNEL_ID {
                bail!("{key}.id: {} above {MAX_TUNNEL_ID}", t.id);
            }
            if !ids.insert(t.id) {
                bail!("{key}.id: tunnel {} is defined twice", t.id);
            }
            let ip = |k: &str, s: &str| -> Result<IpAddr> {
                s.trim()
                    .parse()
                    .map_err(|_| anyhow!("{key}.{k}: {s:?} is not an IP address"))
            };
            let local = ip("local", &t.local)?;
            let remote = ip("remote", &t.remote)?;
            if local.is_ipv4() != remote.is_ipv4() {
                bail!("{key}: local {local} and remote {remote} differ in family");
            }
            if !owned.contains(&local) {
                bail!("{key}.local: {local} is not an address of any port");
            }
            let mode = match (t.mode, t.gre_key) {
                (TunnelModeConfig::Gre, key) => TunnelMode::Gre { key },
                (TunnelModeConfig::Ipsec, None) => TunnelMode::Ipsec,
                (TunnelModeConfig::Ipsec, Some(_)) => {
                    bail!("{key}.gre_key: only for mode = \"gre\"")
                }
            };
            if t.remote_port.is_some() && !t.nat_t {
                bail!("{key}.remote_port: only with nat_t = true");
            }
            let nat_t = t.nat_t.then(|| NatT {
                local_port: 4500,
                remote_port: t.remote_port.unwrap_or(4500),
            });
            if !(68..=9000).contains(&t.mtu) {
                bail!("{key}.mtu: {} outside 68..=9000", t.mtu);
            }
            let outbound = t
                .outbound
                .as_ref()
                .map(|s| sa_plan(s).with_context(|| format!("{key}.outbound")))
                .transpose()?;
            let mut inbound = Vec::new();
            for (j, s) in t.inbound.iter().enumerate() {
                let sa = sa_plan(s).with_context(|| format!("{key}.inbound[{j}]"))?;
                if !spis.insert(sa.spi) {
                    bail!(
                        "{key}.inbound[{j}].spi: {:#x} is used by another inbound SA",
                        sa.spi
                    );
                }
                inbound.push(sa);
            }
            tunnels.push(TunnelPlan {
                id: t.id,
                local,
                remote,
                mode,
                nat_t,
                mtu: t.mtu,
                ttl: t.ttl,
                outbound,
                inbound,
            });
        }

        let mut routes = Vec::new();
        for (i, r) in self.routes.iter().enumerate() {
            let key = format!("routes[{i}]");
            let prefix = IpPrefix::parse(&r.prefix).with_context(|| format!("{key}.prefix"))?;
            let via = r.via.trim();
            let via = if let Ok(gw) = via.parse::<IpAddr>() {
                if gw.is_ipv4() != matches!(prefix, IpPrefix::V4(_)) {
                    bail!("{key}.via: gateway {gw} is not of the prefix's family");
                }
                if owned.contains(&gw) {
                    bail!("{key}.via: gateway {gw} is one of our own addresses");
                }
                let port = attached_port(gw).ok_or_else(|| {
                    anyhow!("{key}.via: gateway {gw} is not in an attached subnet of any port")
                })?;
                Via::Gateway { port, ip: gw }
            } else if let Some(id) = strip_prefix_ci(via, "tunnel") {
                let id: u32 = id
                    .trim()
                    .parse()
                    .map_err(|_| anyhow!("{key}.via: {via:?}: expected TunnelN"))?;
                if !ids.contains(&id) {
                    bail!("{key}.via: {via}: no tunnel with id {id} in [[tunnels]]");
                }
                Via::Tunnel(id)
            } else if via.eq_ignore_ascii_case("null0") || via.eq_ignore_ascii_case("blackhole") {
                Via::Blackhole
            } else if let Some(port) = ports.iter().position(|p| p.name == via) {
                Via::Attached { port: port as u16 }
            } else {
                bail!(
                    "{key}.via: {via:?} is neither an IP address, a port name ({}), TunnelN nor Null0",
                    ports
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            routes.push(RoutePlan { prefix, via });
        }

        let arp = &self.arp;
        if arp.retransmit_ms == 0 || arp.reachable_secs == 0 || arp.max_probes == 0 {
            bail!("arp: reachable_secs, retransmit_ms and max_probes must be at least 1");
        }
        let arp = dataplane::neighbor::Config {
            retransmit: Duration::from_millis(arp.retransmit_ms),
            max_probes: arp.max_probes,
            reachable: Duration::from_secs(arp.reachable_secs),
            queue_per_entry: arp.queue_per_entry.max(1),
            ..dataplane::neighbor::Config::default()
        };
        let desc = |v: Option<u16>, k: &str| -> Result<u16> {
            match v {
                None => Ok(512),
                Some(n) if (32..=16384).contains(&n) => Ok(n),
                Some(n) => bail!("{k}: {n} outside 32..=16384"),
            }
        };
        Ok(Plan {
            eal: self.eal.clone(),
            workers: self.workers,
            idle,
            crypto,
            log_format: self.log_format,
            stats_interval: self.stats_interval.map(Duration::from_secs),
            mbufs: self.mbufs,
            rx_descriptors: desc(self.rx_descriptors, "rx_descriptors")?,
            tx_descriptors: desc(self.tx_descriptors, "tx_descriptors")?,
            ports,
            neighbors,
            routes,
            tunnels,
            arp,
            control_shm: self.control.as_ref().map(|c| c.shm.clone()),
        })
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn sa_plan(s: &SaConfigFile) -> Result<SaPlan> {
    if s.spi <= 255 {
        bail!("spi: {} is reserved (RFC 4303: SPIs 0 to 255)", s.spi);
    }
    let algorithm = match s.algorithm.trim().to_ascii_lowercase().as_str() {
        "aes-gcm-128" | "aes128gcm16" => Algorithm::AesGcm128,
        "aes-gcm-256" | "aes256gcm16" => Algorithm::AesGcm256,
        "chacha20-poly1305" | "chacha20poly1305" => Algorithm::ChaCha20Poly1305,
        other => {
            bail!("algorithm: {other:?} is not one of aes-gcm-128, aes-gcm-256, chacha20-poly1305")
        }
    };
    let key = hex::decode(s.key.trim()).map_err(|e| anyhow!("key: not hex ({e})"))?;
    if key.len() != algorithm.keymat_len() {
        bail!(
            "key: {} bytes expected for {} ({}-byte key and 4-byte salt), got {}",
            algorithm.keymat_len(),
            s.algorithm.trim(),
            algorithm.key_len(),
            key.len()
        );
    }
    if !(64..=4096).contains(&s.replay_window) {
        bail!("replay_window: {} outside 64..=4096", s.replay_window);
    }
    if s.first_seq == Some(0) {
        bail!("first_seq: sequence numbers start at 1");
    }
    Ok(SaPlan {
        spi: s.spi,
        algorithm,
        key,
        esn: s.esn,
        replay_window: s.replay_window,
        anti_replay: s.anti_replay,
        first_seq: s.first_seq.unwrap_or(1),
    })
}

/// `02:00:00:00:00:10`.
pub fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let parts: Vec<&str> = s.trim().split(':').collect();
    let bad = || anyhow!("{s:?} is not a MAC address (expected 02:00:00:00:00:10)");
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut m = [0u8; 6];
    for (b, p) in m.iter_mut().zip(&parts) {
        if p.len() != 2 {
            return Err(bad());
        }
        *b = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    if m[0] & 1 != 0 {
        bail!("{s:?} is a multicast MAC address");
    }
    Ok(m)
}

/// `ADDRESS/LENGTH` of the given family; the host part must be non-zero.
fn parse_addr_len(s: &str, v6: bool) -> Result<(IpAddr, u8)> {
    let s = s.trim();
    let (a, l) = s
        .split_once('/')
        .ok_or_else(|| anyhow!("{s:?}: expected ADDRESS/LENGTH, e.g. 10.0.0.1/24"))?;
    let addr: IpAddr = a
        .parse()
        .map_err(|_| anyhow!("{s:?}: {a:?} is not an IP address"))?;
    if addr.is_ipv6() != v6 {
        bail!(
            "{s:?} is an {} address in the {} list",
            if addr.is_ipv6() { "IPv6" } else { "IPv4" },
            if v6 { "ipv6" } else { "ipv4" }
        );
    }
    let len: u8 = l
        .parse()
        .map_err(|_| anyhow!("{s:?}: {l:?} is not a prefix length"))?;
    let max = if v6 { 128 } else { 32 };
    if len > max {
        bail!("{s:?}: prefix length {len} longer than {max}");
    }
    if addr.is_unspecified() || addr.is_multicast() {
        bail!("{s:?}: not a unicast address");
    }
    Ok((addr, len))
}

/// Recognises a PCI address (`0000:03:00.0` or `03:00.0`, optionally
/// followed by `,devargs`) or a `net_*` vdev.
pub fn parse_device(s: &str) -> Result<Device> {
    let s = s.trim();
    let head = s.split(',').next().unwrap_or("");
    if head.starts_with("net_") {
        if head.len() <= 4 {
            bail!("{s:?}: vdev without a driver name");
        }
        return Ok(Device::Vdev {
            devargs: s.to_owned(),
            name: head.to_owned(),
        });
    }
    if let Some(address) = pci_address(head) {
        let rest = &s[head.len()..];
        return Ok(Device::Pci {
            devargs: format!("{address}{rest}"),
            address,
        });
    }
    bail!(
        "{s:?} is neither a PCI address (0000:03:00.0) nor a DPDK net_* vdev \
         (net_af_packet0,iface=IF; net_af_xdp0,iface=IF; net_pcap0,rx_pcap=IN,tx_pcap=OUT; \
         net_null0; net_tap0,iface=IF)"
    )
}

/// `DDDD:BB:DD.F` (domain optional, added as 0000).
fn pci_address(s: &str) -> Option<String> {
    let hex = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit());
    let (dev, func) = s.rsplit_once('.')?;
    if !(func.len() == 1 && matches!(func.as_bytes()[0], b'0'..=b'7')) {
        return None;
    }
    let parts: Vec<&str> = dev.split(':').collect();
    let (domain, bus, slot) = match parts[..] {
        [d, b, s] => (d, b, s),
        [b, s] => ("0000", b, s),
        _ => return None,
    };
    (hex(domain, 4) && hex(bus, 2) && hex(slot, 2))
        .then(|| format!("{}:{}:{}.{func}", domain, bus, slot).to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
workers = 1
idle = "adaptive"
stats_interval = 5

[eal]
cores = "0-1"
no_huge = true
memory = 256
no_shconf = true
args = ["--log-level=pmd.net.pcap:info"]

[[ports]]
name = "Ethernet0/0"
device = "net_pcap0,rx_pcap=/tmp/in.pcap,tx_pcap=/tmp/out.pcap"
mac = "02:00:00:00:00:10"
ipv4 = ["192.168.1.1/24"]
ipv6 = ["2001:db8:1::1/64"]

[[ports]]
name = "Ethernet0/1"
device = "03:00.1,rxq_cqe_comp_en=0"
ipv4 = ["203.0.113.1/24"]

[[neighbors]]
port = "Ethernet0/1"
ip = "203.0.113.2"
mac = "02:00:00:00:00:21"

[[routes]]
prefix = "0.0.0.0/0"
via = "203.0.113.254"

[[routes]]
prefix = "192.168.2.0/24"
via = "Tunnel1"

[[routes]]
prefix = "10.99.0.0/16"
via = "Null0"

[[routes]]
prefix = "2001:db8:5::/48"
via = "Ethernet0/0"

[[tunnels]]
id = 1
local = "203.0.113.1"
remote = "203.0.113.2"
mode = "gre"
gre_key = 42
nat_t = true
mtu = 1400
outbound = { spi = 0x0c0ffee1, algorithm = "aes-gcm-128", key = "00112233445566778899aabbccddeeff01020304", esn = true, first_seq = 4294967294 }
inbound = [{ spi = 0x12345, algorithm = "chacha20-poly1305", key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223" }]
"#;

    fn plan_err(text: &str) -> String {
        match Config::parse(text).and_then(|c| c.plan()) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => format!("{e:#}"),
        }
    }

    fn edit(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from), "{from}");
        GOOD.replacen(from, to, 1)
    }

    #[test]
    fn test_good_config() {
        let plan = Config::parse(GOOD).unwrap().plan().unwrap();
        assert_eq!(plan.workers, 1);
        assert_eq!(plan.stats_interval, Some(Duration::from_secs(5)));
        assert_eq!(plan.ports.len(), 2);
        let p0 = &plan.ports[0];
        assert_eq!(p0.name, "Ethernet0/0");
        assert_eq!(p0.device.ethdev_name(), "net_pcap0");
        assert_eq!(p0.mac, Some([2, 0, 0, 0, 0, 0x10]));
        assert!(p0.promiscuous, "a MAC override turns promiscuous mode on");
        assert_eq!(p0.v4, vec![(Ipv4Addr::new(192, 168, 1, 1), 24)]);
        assert_eq!(p0.v6, vec![("2001:db8:1::1".parse().unwrap(), 64)]);
        assert_eq!(
            plan.ports[1].device,
            Device::Pci {
                devargs: "0000:03:00.1,rxq_cqe_comp_en=0".into(),
                address: "0000:03:00.1".into()
            }
        );
        assert_eq!(
            plan.neighbors,
            vec![NeighborPlan {
                port: 1,
                ip: "203.0.113.2".parse().unwrap(),
                mac: [2, 0, 0, 0, 0, 0x21]
            }]
        );
        let vias: Vec<Via> = plan.routes.iter().map(|r| r.via).collect();
        assert_eq!(
            vias,
            vec![
                Via::Gateway {
                    port: 1,
                    ip: "203.0.113.254".parse().unwrap()
                },
                Via::Tunnel(1),
                Via::Blackhole,
                Via::Attached { port: 0 },
            ]
        );
        let t = &plan.tunnels[0];
        assert_eq!(t.mode, TunnelMode::Gre { key: Some(42) });
        assert_eq!(
            t.nat_t,
            Some(NatT {
                local_port: 4500,
                remote_port: 4500
            })
        );
        let out = t.outbound.as_ref().unwrap();
        assert_eq!(out.spi, 0x0c0f_fee1);
        assert!(out.esn);
        assert_eq!(out.first_seq, 4_294_967_294);
        assert_eq!(t.inbound[0].algorithm, Algorithm::ChaCha20Poly1305);
        assert_eq!(t.inbound[0].replay_window, 128);
        assert!(t.inbound[0].anti_replay, "anti-replay on by default");
        assert!(matches!(plan.idle, IdlePolicy::Adaptive { .. }));
    }

    #[test]
    fn test_inbound_anti_replay_can_be_turned_off() {
        let text = |flag: &str| {
            format!(
                r#"
[[ports]]
name = "wan"
device = "net_null0"
ipv4 = ["203.0.113.1/24"]

[[tunnels]]
id = 1
local = "203.0.113.1"
remote = "203.0.113.2"
mode = "ipsec"
inbound = [{{ spi = 0x1001, algorithm = "aes-gcm-128", key = "{k}"{flag} }}]
"#,
                k = "11".repeat(20)
            )
        };
        for (flag, want) in [
            ("", true),
            (", anti_replay = false", false),
            (", anti_replay = true", true),
        ] {
            let plan = Config::parse(&text(flag)).unwrap().plan().unwrap();
            assert_eq!(plan.tunnels[0].inbound[0].anti_replay, want, "{flag:?}");
            let (sas, _) = crate::dp::build_tunnels(&plan).unwrap();
            let sa = sas.get(0x1001).expect("SA installed");
            assert_eq!(sa.sa.anti_replay(), want, "{flag:?}");
        }
    }

    #[test]
    fn test_minimal_config_defaults() {
        let c = Config::parse("[[ports]]\nname = \"e0\"\ndevice = \"net_null0\"\n").unwrap();
        let plan = c.plan().unwrap();
        assert_eq!(plan.workers, 1);
        assert!(matches!(plan.idle, IdlePolicy::Adaptive { .. }));
        assert!(!plan.ports[0].promiscuous);
        assert_eq!(plan.rx_descriptors, 512);
        assert!(plan.routes.is_empty());
    }

    #[test]
    fn test_unknown_key_is_named() {
        let e = plan_err(&edit("mtu = 1400", "mtu = 1400\nmtuu = 1"));
        assert!(e.contains("unknown field `mtuu`"), "{e}");
        let e = plan_err(&edit("no_huge = true", "no_hugepages = true"));
        assert!(e.contains("no_hugepages"), "{e}");
    }

    #[test]
    fn test_wrong_type_and_enum_value() {
        let e = plan_err(&edit("workers = 1", "workers = \"one\""));
        assert!(e.contains("workers"), "{e}");
        let e = plan_err(&edit("idle = \"adaptive\"", "idle = \"lazy\""));
        assert!(e.contains("busy") && e.contains("adaptive"), "{e}");
        let e = plan_err(&edit("mode = \"gre\"", "mode = \"vti\""));
        assert!(e.contains("gre") && e.contains("ipsec"), "{e}");
    }

    #[test]
    fn test_missing_ports() {
        let e = plan_err("workers = 1\n");
        assert!(e.contains("ports"), "{e}");
        let e = plan_err("ports = []\n");
        assert!(e.contains("ports: at least one port"), "{e}");
    }

    #[test]
    fn test_bad_addresses() {
        let e = plan_err(&edit("\"192.168.1.1/24\"", "\"192.168.1.1/33\""));
        assert!(e.contains("ports[0].ipv4[0]") && e.contains("33"), "{e}");
        let e = plan_err(&edit("\"192.168.1.1/24\"", "\"192.168.1.1\""));
        assert!(
            e.contains("ports[0].ipv4[0]") && e.contains("ADDRESS/LENGTH"),
            "{e}"
        );
        let e = plan_err(&edit("\"2001:db8:1::1/64\"", "\"10.0.0.1/8\""));
        assert!(e.contains("ports[0].ipv6[0]") && e.contains("IPv4"), "{e}");
        let e = plan_err(&edit("\"203.0.113.1/24\"", "\"192.168.1.1/24\""));
        assert!(e.contains("configured twice"), "{e}");
    }

    #[test]
    fn test_bad_device_and_mac() {
        let e = plan_err(&edit(
            "device = \"03:00.1,rxq_cqe_comp_en=0\"",
            "device = \"eth0\"",
        ));
        assert!(e.contains("ports[1].device") && e.contains("PCI"), "{e}");
        let e = plan_err(&edit(
            "device = \"03:00.1,rxq_cqe_comp_en=0\"",
            "device = \"net_pcap0\"",
        ));
        assert!(
            e.contains("ports[1].device") && e.contains("same device"),
            "{e}"
        );
        let e = plan_err(&edit(
            "mac = \"02:00:00:00:00:10\"",
            "mac = \"02:00:00:00:10\"",
        ));
        assert!(e.contains("ports[0].mac"), "{e}");
        let e = plan_err(&edit(
            "mac = \"02:00:00:00:00:10\"",
            "mac = \"01:00:5e:00:00:10\"",
        ));
        assert!(e.contains("multicast"), "{e}");
    }

    #[test]
    fn test_bad_routes() {
        let e = plan_err(&edit("via = \"Tunnel1\"", "via = \"Tunnel7\""));
        assert!(
            e.contains("routes[1].via") && e.contains("no tunnel with id 7"),
            "{e}"
        );
        let e = plan_err(&edit("via = \"Tunnel1\"", "via = \"Ethernet9/9\""));
        assert!(
            e.contains("routes[1].via") && e.contains("Ethernet0/0"),
            "{e}"
        );
        let e = plan_err(&edit("via = \"203.0.113.254\"", "via = \"198.51.100.1\""));
        assert!(
            e.contains("routes[0].via") && e.contains("not in an attached subnet"),
            "{e}"
        );
        let e = plan_err(&edit("prefix = \"10.99.0.0/16\"", "prefix = \"10.99.0.0\""));
        assert!(e.contains("routes[2].prefix"), "{e}");
        let e = plan_err(&edit("prefix = \"0.0.0.0/0\"", "prefix = \"::/0\""));
        assert!(e.contains("routes[0].via") && e.contains("family"), "{e}");
    }

    #[test]
    fn test_bad_tunnels() {
        let e = plan_err(&edit("local = \"203.0.113.1\"", "local = \"203.0.113.9\""));
        assert!(e.contains("tunnels[0].local"), "{e}");
        let e = plan_err(&edit(
            "key = \"00112233445566778899aabbccddeeff01020304\"",
            "key = \"00112233445566778899aabbccddeeff\"",
        ));
        assert!(
            e.contains("tunnels[0].outbound") && e.contains("20 bytes expected"),
            "{e}"
        );
        let e = plan_err(&edit("algorithm = \"aes-gcm-128\"", "algorithm = \"des\""));
        assert!(
            e.contains("tunnels[0].outbound") && e.contains("des"),
            "{e}"
        );
        let e = plan_err(&edit("spi = 0x12345", "spi = 7"));
        assert!(
            e.contains("tunnels[0].inbound[0]") && e.contains("reserved"),
            "{e}"
        );
        let e = plan_err(&edit("mode = \"gre\"", "mode = \"ipsec\""));
        assert!(e.contains("tunnels[0].gre_key"), "{e}");
        let e = plan_err(&edit("id = 1\n", "id = 5000\n"));
        assert!(e.contains("tunnels[0].id"), "{e}");
    }

    #[test]
    fn test_bad_neighbor() {
        let e = plan_err(&edit("port = \"Ethernet0/1\"", "port = \"Gi0\""));
        assert!(e.contains("neighbors[0].port") && e.contains("Gi0"), "{e}");
        let e = plan_err(&edit("ip = \"203.0.113.2\"", "ip = \"203.0.113.1\""));
        assert!(
            e.contains("neighbors[0].ip") && e.contains("our own"),
            "{e}"
        );
    }

    #[test]
    fn test_bad_scalars() {
        let e = plan_err(&edit("workers = 1", "workers = 0"));
        assert!(e.contains("workers"), "{e}");
        let e = plan_err(&edit("stats_interval = 5", "stats_interval = 0"));
        assert!(e.contains("stats_interval"), "{e}");
        let e = plan_err(&edit(
            "idle = \"adaptive\"",
            "idle = \"busy\"\nidle_max_sleep_us = 5",
        ));
        assert!(e.contains("idle_max_sleep_us"), "{e}");
        let e = plan_err(&edit("no_shconf = true", "in_memory = true"));
        assert!(e.contains("in_memory"), "{e}");
    }

    #[test]
    fn test_example_file() {
        let text = include_str!("../../dataplane.example.toml");
        let plan = Config::parse(text).unwrap().plan().unwrap();
        assert_eq!(plan.ports.len(), 2);
        assert_eq!(plan.tunnels[0].inbound[0].spi, 0x12345);
        assert_eq!(
            plan.routes[0].via,
            Via::Gateway {
                port: 1,
                ip: "203.0.113.254".parse().unwrap()
            }
        );
    }

    #[test]
    fn test_pci_addresses() {
        assert_eq!(pci_address("0000:03:00.0").as_deref(), Some("0000:03:00.0"));
        assert_eq!(pci_address("3b:00.7").as_deref(), Some("0000:3b:00.7"));
        assert_eq!(pci_address("03:00.8"), None);
        assert_eq!(pci_address("3:00.0"), None);
        assert_eq!(pci_address("net_null0"), None);
    }
}
