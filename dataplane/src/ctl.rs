//! Messages between the control plane and the dataplane process, carried
//! in the shared-memory rings (`ffi::shm`): explicit little-endian
//! encoding, no memory reinterpretation, every field checked when read.
//! A message from the other process that does not decode is an error the
//! reader counts and skips; nothing panics on it.
//!
//! Every message starts with an 8-byte header: version (1), type, two
//! reserved bytes (zero), and a sequence number the sender chooses; an
//! [`Msg::Ack`] echoes the sequence number of the command it answers.
//!
//! | type | direction | message |
//! | --- | --- | --- |
//! | 1 | cp -> dp | [`Msg::Hello`]: a control plane attached (its generation) |
//! | 2 | cp -> dp | [`Msg::TunnelSet`]: create or update a tunnel |
//! | 3 | cp -> dp | [`Msg::TunnelRemove`] |
//! | 4 | cp -> dp | [`Msg::SaInstall`]: both directions of a Child SA |
//! | 5 | cp -> dp | [`Msg::SaRemove`] |
//! | 6 | cp -> dp | [`Msg::RouteSet`]: install or replace a route |
//! | 7 | cp -> dp | [`Msg::RouteDelete`] |
//! | 8 | cp -> dp | [`Msg::Inject`]: send a packet (routed, or into a tunnel) |
//! | 9 | cp -> dp | [`Msg::DumpRequest`]: stream back the installed state |
//! | 32 | dp -> cp | [`Msg::HelloAck`]: the dataplane's generation and sizes |
//! | 33 | dp -> cp | [`Msg::Ack`]: a command applied, or why not |
//! | 34 | dp -> cp | [`Msg::Punt`]: IKE or NHRP for the control plane |
//! | 35 | dp -> cp | [`Msg::Redirect`]: a packet crossed tunnels of one NHRP network |
//! | 36..38 | dp -> cp | [`Msg::DumpTunnel`], [`Msg::DumpSa`], [`Msg::DumpRoute`] |
//! | 39 | dp -> cp | [`Msg::DumpDone`] |
//! | 40 | dp -> cp | [`Msg::Stats`]: one worker's counters, every second |
//! | 41 | dp -> cp | [`Msg::SaStats`]: packets and bytes of some SAs |

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::crypto::Algorithm;

/// The version this code speaks.
pub const VERSION: u8 = 1;
/// Header bytes.
pub const HEADER_LEN: usize = 8;
/// Largest key-and-salt this format carries.
pub const MAX_KEY: usize = 64;

/// A message that does not decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtlError {
    /// Shorter than its fields.
    Truncated,
    /// Another version.
    Version(u8),
    /// Unknown type.
    Type(u8),
    /// A field with a value it cannot have.
    Field(&'static str),
    /// Bytes left after the last field.
    Trailing(usize),
}

impl fmt::Display for CtlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("truncated message"),
            Self::Version(v) => write!(f, "message version {v}, expected {VERSION}"),
            Self::Type(t) => write!(f, "unknown message type {t}"),
            Self::Field(n) => write!(f, "bad value in field {n}"),
            Self::Trailing(n) => write!(f, "{n} bytes after the message"),
        }
    }
}

impl std::error::Error for CtlError {}

/// How a tunnel carries packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encap {
    /// GRE in ESP.
    Gre,
    /// Plain ESP tunnel mode.
    Ipsec,
}

/// A tunnel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelMsg {
    /// Id (the tunnel table's index).
    pub id: u32,
    /// GRE or plain IPsec.
    pub encap: Encap,
    /// ESP in UDP.
    pub udp_encap: bool,
    /// This tunnel redirects (hub): report packets that leave through
    /// another tunnel of the same network.
    pub redirect: bool,
    /// Largest inner packet.
    pub mtu: u16,
    /// NHRP network id (0: none).
    pub network_id: u32,
    /// Our outer address.
    pub local: IpAddr,
    /// The peer's.
    pub remote: IpAddr,
    /// Our UDP port with NAT-T.
    pub local_port: u16,
    /// The peer's UDP port with NAT-T.
    pub remote_port: u16,
}

/// Both directions of a Child SA.
#[derive(Clone, PartialEq, Eq)]
pub struct SaMsg {
    /// The tunnel.
    pub tunnel: u32,
    /// Our inbound SPI.
    pub inbound_spi: u32,
    /// The peer's (outbound) SPI.
    pub outbound_spi: u32,
    /// AEAD.
    pub alg: Algorithm,
    /// Extended sequence numbers.
    pub esn: bool,
    /// Anti-replay window (packets; 0: off).
    pub replay_window: u32,
    /// The inbound SPI of the SA this one replaces (0: none): outbound
    /// traffic switches to this SA.
    pub replaces: u32,
    /// Inbound key then salt.
    pub inbound_key: Vec<u8>,
    /// Outbound key then salt.
    pub outbound_key: Vec<u8>,
}

impl fmt::Debug for SaMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaMsg")
            .field("tunnel", &self.tunnel)
            .field("inbound_spi", &format_args!("{:#010x}", self.inbound_spi))
            .field("outbound_spi", &format_args!("{:#010x}", self.outbound_spi))
            .field("alg", &self.alg)
            .field("esn", &self.esn)
            .field("replay_window", &self.replay_window)
            .field("replaces", &self.replaces)
            .finish_non_exhaustive()
    }
}

/// Where a route leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteTarget {
    /// Into a tunnel.
    Tunnel(u32),
    /// To us (the control plane): punted.
    Local,
    /// Dropped.
    Drop,
}

/// Why a packet is punted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PuntReason {
    /// IKE (UDP 500, or 4500 with the non-ESP marker): the IP packet.
    Ike,
    /// NHRP through a tunnel: the NHRP packet.
    Nhrp,
    /// Other traffic to one of our addresses: the IP packet.
    Local,
}

/// How an injected packet leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectVia {
    /// An IP packet routed by the FIB (IKE from our address).
    Route,
    /// Into a tunnel (NHRP: the packet is the NHRP payload of GRE).
    Tunnel(u32),
}

/// A message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// A control plane attached.
    Hello {
        /// Its generation.
        generation: u64,
    },
    /// Create or update a tunnel.
    TunnelSet(TunnelMsg),
    /// Remove a tunnel (and whatever still uses it).
    TunnelRemove {
        /// Id.
        id: u32,
    },
    /// Install an SA.
    SaInstall(SaMsg),
    /// Remove an SA.
    SaRemove {
        /// Tunnel.
        tunnel: u32,
        /// Inbound SPI.
        inbound_spi: u32,
        /// Outbound SPI.
        outbound_spi: u32,
    },
    /// Install or replace a route.
    RouteSet {
        /// Prefix address.
        prefix: IpAddr,
        /// Length.
        len: u8,
        /// Target.
        target: RouteTarget,
    },
    /// Remove a route.
    RouteDelete {
        /// Prefix address.
        prefix: IpAddr,
        /// Length.
        len: u8,
    },
    /// Send a packet.
    Inject {
        /// How.
        via: InjectVia,
        /// The packet.
        packet: Vec<u8>,
    },
    /// Stream back the installed state.
    DumpRequest,
    /// The dataplane's answer to Hello.
    HelloAck {
        /// Its generation.
        generation: u64,
    },
    /// A command's result.
    Ack {
        /// The command's sequence number.
        of: u32,
        /// 0: applied; otherwise an error code.
        code: u8,
        /// What went wrong.
        text: String,
    },
    /// A packet for the control plane.
    Punt {
        /// Why.
        reason: PuntReason,
        /// Ingress port.
        port: u16,
        /// Ingress tunnel (NHRP), else `u32::MAX`.
        tunnel: u32,
        /// The packet.
        packet: Vec<u8>,
    },
    /// A packet entered tunnel `ingress` and left through `egress`.
    Redirect {
        /// Ingress tunnel.
        ingress: u32,
        /// Egress tunnel.
        egress: u32,
        /// Its first bytes (IP header and some payload).
        packet: Vec<u8>,
    },
    /// A tunnel the dataplane holds.
    DumpTunnel(TunnelMsg),
    /// An SA the dataplane holds (no keys).
    DumpSa {
        /// Tunnel.
        tunnel: u32,
        /// Inbound SPI.
        inbound_spi: u32,
        /// Outbound SPI (0: inbound only).
        outbound_spi: u32,
    },
    /// A route the control plane installed.
    DumpRoute {
        /// Prefix address.
        prefix: IpAddr,
        /// Length.
        len: u8,
        /// Target.
        target: RouteTarget,
    },
    /// End of a dump.
    DumpDone {
        /// Messages in it.
        count: u32,
    },
    /// Traffic of some SAs (all of them over a few messages).
    SaStats(Vec<SaTraffic>),
    /// One worker's counters (`crate::counters::WorkerCounters::to_values`).
    Stats {
        /// Worker index.
        worker: u16,
        /// Its lcore.
        lcore: u32,
        /// The values.
        values: Vec<u64>,
    },
}

/// One SA's traffic in a [`Msg::SaStats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SaTraffic {
    /// Our inbound SPI (the SA's key).
    pub inbound_spi: u32,
    /// Packets opened.
    pub in_packets: u64,
    /// Bytes opened.
    pub in_bytes: u64,
    /// Packets sealed.
    pub out_packets: u64,
    /// Bytes sealed.
    pub out_bytes: u64,
}

/// Most SAs a [`Msg::SaStats`] carries (it fits a 2 KiB slot).
pub const MAX_SA_STATS: usize = 48;

/// Most values a [`Msg::Stats`] carries.
pub const MAX_STATS: usize = 256;

struct W<'a>(&'a mut Vec<u8>);

impl W<'_> {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn ip(&mut self, a: IpAddr) {
        match a {
            IpAddr::V4(v) => {
                self.u8(4);
                self.0.extend_from_slice(&v.octets());
            }
            IpAddr::V6(v) => {
                self.u8(6);
                self.0.extend_from_slice(&v.octets());
            }
        }
    }
    /// Length-prefixed (u16) bytes.
    fn bytes(&mut self, b: &[u8]) {
        let n = u16::try_from(b.len()).unwrap_or(u16::MAX);
        self.u16(n);
        self.0.extend_from_slice(&b[..usize::from(n)]);
    }
}

struct R<'a>(&'a [u8]);

impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CtlError> {
        if self.0.len() < n {
            return Err(CtlError::Truncated);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, CtlError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, CtlError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, CtlError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, CtlError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn bool(&mut self, name: &'static str) -> Result<bool, CtlError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(CtlError::Field(name)),
        }
    }
    fn ip(&mut self) -> Result<IpAddr, CtlError> {
        match self.u8()? {
            4 => {
                let mut a = [0u8; 4];
                a.copy_from_slice(self.take(4)?);
                Ok(IpAddr::V4(Ipv4Addr::from(a)))
            }
            6 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(self.take(16)?);
                Ok(IpAddr::V6(Ipv6Addr::from(a)))
            }
            _ => Err(CtlError::Field("address family")),
        }
    }
    fn bytes(&mut self) -> Result<Vec<u8>, CtlError> {
        let n = self.u16()?;
        Ok(self.take(usize::from(n))?.to_vec())
    }
    fn prefix(&mut self) -> Result<(IpAddr, u8), CtlError> {
        let a = self.ip()?;
        let len = self.u8()?;
        if len > if a.is_ipv4() { 32 } else { 128 } {
            return Err(CtlError::Field("prefix length"));
        }
        Ok((a, len))
    }
}

fn alg_code(a: Algorithm) -> u8 {
    match a {
        Algorithm::AesGcm128 => 1,
        Algorithm::AesGcm256 => 2,
        Algorithm::ChaCha20Poly1305 => 3,
    }
}

fn alg_of(c: u8) -> Result<Algorithm, CtlError> {
    Ok(match c {
        1 => Algorithm::AesGcm128,
        2 => Algorithm::AesGcm256,
        3 => Algorithm::ChaCha20Poly1305,
        _ => return Err(CtlError::Field("algorithm")),
    })
}

fn put_target(w: &mut W<'_>, t: RouteTarget) {
    match t {
        RouteTarget::Tunnel(id) => {
            w.u8(0);
            w.u32(id);
        }
        RouteTarget::Local => w.u8(1),
        RouteTarget::Drop => w.u8(2),
    }
}

fn get_target(r: &mut R<'_>) -> Result<RouteTarget, CtlError> {
    Ok(match r.u8()? {
        0 => RouteTarget::Tunnel(r.u32()?),
        1 => RouteTarget::Local,
        2 => RouteTarget::Drop,
        _ => return Err(CtlError::Field("route target")),
    })
}

fn put_tunnel(w: &mut W<'_>, t: &TunnelMsg) {
    w.u32(t.id);
    w.u8(match t.encap {
        Encap::Gre => 0,
        Encap::Ipsec => 1,
    });
    w.u8(u8::from(t.udp_encap) | u8::from(t.redirect) << 1);
    w.u16(t.mtu);
    w.u32(t.network_id);
    w.ip(t.local);
    w.ip(t.remote);
    w.u16(t.local_port);
    w.u16(t.remote_port);
}

fn get_tunnel(r: &mut R<'_>) -> Result<TunnelMsg, CtlError> {
    let id = r.u32()?;
    let encap = match r.u8()? {
        0 => Encap::Gre,
        1 => Encap::Ipsec,
        _ => return Err(CtlError::Field("encapsulation")),
    };
    let flags = r.u8()?;
    if flags & !3 != 0 {
        return Err(CtlError::Field("tunnel flags"));
    }
    let t = TunnelMsg {
        id,
        encap,
        udp_encap: flags & 1 != 0,
        redirect: flags & 2 != 0,
        mtu: r.u16()?,
        network_id: r.u32()?,
        local: r.ip()?,
        remote: r.ip()?,
        local_port: r.u16()?,
        remote_port: r.u16()?,
    };
    if t.local.is_ipv4() != t.remote.is_ipv4() {
        return Err(CtlError::Field("tunnel address families"));
    }
    if t.mtu < 576 {
        return Err(CtlError::Field("tunnel mtu"));
    }
    Ok(t)
}

fn key(r: &mut R<'_>, alg: Algorithm, name: &'static str) -> Result<Vec<u8>, CtlError> {
    let k = r.bytes()?;
    let want = match alg {
        Algorithm::AesGcm128 => 20,
        Algorithm::AesGcm256 | Algorithm::ChaCha20Poly1305 => 36,
    };
    if k.len() != want {
        return Err(CtlError::Field(name));
    }
    Ok(k)
}

impl Msg {
    fn code(&self) -> u8 {
        match self {
            Self::Hello { .. } => 1,
            Self::TunnelSet(_) => 2,
            Self::TunnelRemove { .. } => 3,
            Self::SaInstall(_) => 4,
            Self::SaRemove { .. } => 5,
            Self::RouteSet { .. } => 6,
            Self::RouteDelete { .. } => 7,
            Self::Inject { .. } => 8,
            Self::DumpRequest => 9,
            Self::HelloAck { .. } => 32,
            Self::Ack { .. } => 33,
            Self::Punt { .. } => 34,
            Self::Redirect { .. } => 35,
            Self::DumpTunnel(_) => 36,
            Self::DumpSa { .. } => 37,
            Self::DumpRoute { .. } => 38,
            Self::DumpDone { .. } => 39,
            Self::Stats { .. } => 40,
            Self::SaStats(_) => 41,
        }
    }

    /// Appends the encoding with sequence number `seq` to `out`.
    pub fn encode(&self, seq: u32, out: &mut Vec<u8>) {
        let mut w = W(out);
        w.u8(VERSION);
        w.u8(self.code());
        w.u16(0);
        w.u32(seq);
        match self {
            Self::Hello { generation } | Self::HelloAck { generation } => w.u64(*generation),
            Self::TunnelSet(t) | Self::DumpTunnel(t) => put_tunnel(&mut w, t),
            Self::TunnelRemove { id } => w.u32(*id),
            Self::SaInstall(s) => {
                w.u32(s.tunnel);
                w.u32(s.inbound_spi);
                w.u32(s.outbound_spi);
                w.u8(alg_code(s.alg));
                w.u8(u8::from(s.esn));
                w.u32(s.replay_window);
                w.u32(s.replaces);
                w.bytes(&s.inbound_key);
                w.bytes(&s.outbound_key);
            }
            Self::SaRemove {
                tunnel,
                inbound_spi,
                outbound_spi,
            }
            | Self::DumpSa {
                tunnel,
                inbound_spi,
                outbound_spi,
            } => {
                w.u32(*tunnel);
                w.u32(*inbound_spi);
                w.u32(*outbound_spi);
            }
            Self::RouteSet {
                prefix,
                len,
                target,
            }
            | Self::DumpRoute {
                prefix,
                len,
                target,
            } => {
                w.ip(*prefix);
                w.u8(*len);
                put_target(&mut w, *target);
            }
            Self::RouteDelete { prefix, len } => {
                w.ip(*prefix);
                w.u8(*len);
            }
            Self::Inject { via, packet } => {
                match via {
                    InjectVia::Route => w.u8(0),
                    InjectVia::Tunnel(t) => {
                        w.u8(1);
                        w.u32(*t);
                    }
                }
                w.bytes(packet);
            }
            Self::DumpRequest => {}
            Self::Ack { of, code, text } => {
                w.u32(*of);
                w.u8(*code);
                w.bytes(text.as_bytes());
            }
            Self::Punt {
                reason,
                port,
                tunnel,
                packet,
            } => {
                w.u8(match reason {
                    PuntReason::Ike => 1,
                    PuntReason::Nhrp => 2,
                    PuntReason::Local => 3,
                });
                w.u16(*port);
                w.u32(*tunnel);
                w.bytes(packet);
            }
            Self::Redirect {
                ingress,
                egress,
                packet,
            } => {
                w.u32(*ingress);
                w.u32(*egress);
                w.bytes(packet);
            }
            Self::DumpDone { count } => w.u32(*count),
            Self::SaStats(v) => {
                let n = v.len().min(MAX_SA_STATS);
                w.u16(n as u16);
                for t in &v[..n] {
                    w.u32(t.inbound_spi);
                    w.u64(t.in_packets);
                    w.u64(t.in_bytes);
                    w.u64(t.out_packets);
                    w.u64(t.out_bytes);
                }
            }
            Self::Stats {
                worker,
                lcore,
                values,
            } => {
                w.u16(*worker);
                w.u32(*lcore);
                let n = values.len().min(MAX_STATS);
                w.u16(n as u16);
                for v in &values[..n] {
                    w.u64(*v);
                }
            }
        }
    }

    /// The encoding as a new vector.
    #[must_use]
    pub fn to_bytes(&self, seq: u32) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(seq, &mut v);
        v
    }

    /// Decodes one message: its sequence number and the message.
    ///
    /// # Errors
    ///
    /// A [`CtlError`] for anything that does not fit the format.
    pub fn decode(b: &[u8]) -> Result<(u32, Self), CtlError> {
        let mut r = R(b);
        let version = r.u8()?;
        if version != VERSION {
            return Err(CtlError::Version(version));
        }
        let code = r.u8()?;
        if r.u16()? != 0 {
            return Err(CtlError::Field("reserved"));
        }
        let seq = r.u32()?;
        let m = match code {
            1 => Self::Hello {
                generation: r.u64()?,
            },
            2 => Self::TunnelSet(get_tunnel(&mut r)?),
            3 => Self::TunnelRemove { id: r.u32()? },
            4 => {
                let tunnel = r.u32()?;
                let inbound_spi = r.u32()?;
                let outbound_spi = r.u32()?;
                let alg = alg_of(r.u8()?)?;
                let esn = r.bool("esn")?;
                let replay_window = r.u32()?;
                let replaces = r.u32()?;
                if inbound_spi < 256 || outbound_spi < 256 {
                    return Err(CtlError::Field("spi"));
                }
                Self::SaInstall(SaMsg {
                    tunnel,
                    inbound_spi,
                    outbound_spi,
                    alg,
                    esn,
                    replay_window,
                    replaces,
                    inbound_key: key(&mut r, alg, "inbound key")?,
                    outbound_key: key(&mut r, alg, "outbound key")?,
                })
            }
            5 | 37 => {
                let (tunnel, inbound_spi, outbound_spi) = (r.u32()?, r.u32()?, r.u32()?);
                if code == 5 {
                    Self::SaRemove {
                        tunnel,
                        inbound_spi,
                        outbound_spi,
                    }
                } else {
                    Self::DumpSa {
                        tunnel,
                        inbound_spi,
                        outbound_spi,
                    }
                }
            }
            6 | 38 => {
                let (prefix, len) = r.prefix()?;
                let target = get_target(&mut r)?;
                if code == 6 {
                    Self::RouteSet {
                        prefix,
                        len,
                        target,
                    }
                } else {
                    Self::DumpRoute {
                        prefix,
                        len,
                        target,
                    }
                }
            }
            7 => {
                let (prefix, len) = r.prefix()?;
                Self::RouteDelete { prefix, len }
            }
            8 => {
                let via = match r.u8()? {
                    0 => InjectVia::Route,
                    1 => InjectVia::Tunnel(r.u32()?),
                    _ => return Err(CtlError::Field("inject via")),
                };
                let packet = r.bytes()?;
                if packet.is_empty() {
                    return Err(CtlError::Field("packet"));
                }
                Self::Inject { via, packet }
            }
            9 => Self::DumpRequest,
            32 => Self::HelloAck {
                generation: r.u64()?,
            },
            33 => {
                let of = r.u32()?;
                let code = r.u8()?;
                let text = String::from_utf8(r.bytes()?).map_err(|_| CtlError::Field("text"))?;
                Self::Ack { of, code, text }
            }
            34 => {
                let reason = match r.u8()? {
                    1 => PuntReason::Ike,
                    2 => PuntReason::Nhrp,
                    3 => PuntReason::Local,
                    _ => return Err(CtlError::Field("punt reason")),
                };
                Self::Punt {
                    reason,
                    port: r.u16()?,
                    tunnel: r.u32()?,
                    packet: r.bytes()?,
                }
            }
            35 => Self::Redirect {
                ingress: r.u32()?,
                egress: r.u32()?,
                packet: r.bytes()?,
            },
            36 => Self::DumpTunnel(get_tunnel(&mut r)?),
            39 => Self::DumpDone { count: r.u32()? },
            41 => {
                let n = usize::from(r.u16()?);
                if n > MAX_SA_STATS {
                    return Err(CtlError::Field("SA stats count"));
                }
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(SaTraffic {
                        inbound_spi: r.u32()?,
                        in_packets: r.u64()?,
                        in_bytes: r.u64()?,
                        out_packets: r.u64()?,
                        out_bytes: r.u64()?,
                    });
                }
                Self::SaStats(v)
            }
            40 => {
                let worker = r.u16()?;
                let lcore = r.u32()?;
                let n = usize::from(r.u16()?);
                if n > MAX_STATS {
                    return Err(CtlError::Field("stats count"));
                }
                let mut values = Vec::with_capacity(n);
                for _ in 0..n {
                    values.push(r.u64()?);
                }
                Self::Stats {
                    worker,
                    lcore,
                    values,
                }
            }
            t => return Err(CtlError::Type(t)),
        };
        if !r.0.is_empty() {
            return Err(CtlError::Trailing(r.0.len()));
        }
        Ok((seq, m))
    }
}

/// Runs a decode on arbitrary bytes and checks that what decodes encodes
/// back to the same bytes (for the fuzz target and its corpus replay).
pub fn fuzz_decode(data: &[u8]) {
    if let Ok((seq, m)) = Msg::decode(data) {
        assert_eq!(m.to_bytes(seq), data, "{m:?} does not encode back");
    }
}

/// One encoded sample of every message type (fuzz seeds and tests).
#[must_use]
pub fn samples() -> Vec<Vec<u8>> {
    let t = TunnelMsg {
        id: 7,
        encap: Encap::Gre,
        udp_encap: true,
        redirect: true,
        mtu: 1400,
        network_id: 1,
        local: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)),
        remote: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 110)),
        local_port: 4500,
        remote_port: 4500,
    };
    let v6: IpAddr = "2001:db8::1"
        .parse()
        .unwrap_or(IpAddr::V6(Ipv6Addr::LOCALHOST));
    let msgs = vec![
        Msg::Hello { generation: 3 },
        Msg::TunnelSet(t.clone()),
        Msg::TunnelRemove { id: 7 },
        Msg::SaInstall(SaMsg {
            tunnel: 7,
            inbound_spi: 0x1000,
            outbound_spi: 0x2000,
            alg: Algorithm::AesGcm128,
            esn: true,
            replay_window: 1024,
            replaces: 0,
            inbound_key: vec![1; 20],
            outbound_key: vec![2; 20],
        }),
        Msg::SaRemove {
            tunnel: 7,
            inbound_spi: 0x1000,
            outbound_spi: 0x2000,
        },
        Msg::RouteSet {
            prefix: IpAddr::V4(Ipv4Addr::new(192, 168, 120, 0)),
            len: 24,
            target: RouteTarget::Tunnel(7),
        },
        Msg::RouteDelete {
            prefix: v6,
            len: 64,
        },
        Msg::Inject {
            via: InjectVia::Tunnel(7),
            packet: vec![0, 1, 0, 0, 8, 0],
        },
        Msg::DumpRequest,
        Msg::HelloAck { generation: 1 },
        Msg::Ack {
            of: 5,
            code: 2,
            text: "no such tunnel".into(),
        },
        Msg::Punt {
            reason: PuntReason::Ike,
            port: 0,
            tunnel: u32::MAX,
            packet: vec![0x45; 28],
        },
        Msg::Redirect {
            ingress: 1,
            egress: 2,
            packet: vec![0x45; 20],
        },
        Msg::DumpTunnel(t),
        Msg::DumpSa {
            tunnel: 7,
            inbound_spi: 0x1000,
            outbound_spi: 0,
        },
        Msg::DumpRoute {
            prefix: v6,
            len: 48,
            target: RouteTarget::Local,
        },
        Msg::DumpDone { count: 4 },
        Msg::Stats {
            worker: 0,
            lcore: 1,
            values: vec![1, 2, 3],
        },
        Msg::SaStats(vec![SaTraffic {
            inbound_spi: 0x1000,
            in_packets: 5,
            in_bytes: 500,
            out_packets: 6,
            out_bytes: 600,
        }]),
    ];
    msgs.iter()
        .enumerate()
        .map(|(i, m)| m.to_bytes(u32::try_from(i).unwrap_or(0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn test_samples_roundtrip_and_every_cut_fails() {
        for s in samples() {
            let (seq, m) = Msg::decode(&s).unwrap();
            assert_eq!(m.to_bytes(seq), s);
            for cut in 0..s.len() {
                assert!(Msg::decode(&s[..cut]).is_err(), "{m:?} cut at {cut}");
            }
            let mut long = s.clone();
            long.push(0);
            assert_eq!(Msg::decode(&long), Err(CtlError::Trailing(1)));
        }
    }

    #[test]
    fn test_field_checks() {
        let s = samples();
        let mut v = s[0].clone();
        v[0] = 2;
        assert_eq!(Msg::decode(&v), Err(CtlError::Version(2)));
        let mut v = s[0].clone();
        v[1] = 200;
        assert_eq!(Msg::decode(&v), Err(CtlError::Type(200)));
        let mut v = s[0].clone();
        v[2] = 1;
        assert_eq!(Msg::decode(&v), Err(CtlError::Field("reserved")));
        // A key of the wrong length for its algorithm.
        let m = Msg::SaInstall(SaMsg {
            tunnel: 1,
            inbound_spi: 300,
            outbound_spi: 301,
            alg: Algorithm::AesGcm256,
            esn: false,
            replay_window: 64,
            replaces: 0,
            inbound_key: vec![0; 20],
            outbound_key: vec![0; 36],
        });
        assert_eq!(
            Msg::decode(&m.to_bytes(1)),
            Err(CtlError::Field("inbound key"))
        );
        let m = Msg::RouteDelete {
            prefix: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            len: 33,
        };
        assert_eq!(
            Msg::decode(&m.to_bytes(1)),
            Err(CtlError::Field("prefix length"))
        );
    }

    proptest! {
        #[test]
        fn prop_decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            fuzz_decode(&data);
        }

        #[test]
        fn prop_route_roundtrip(a in any::<u32>(), len in 0u8..=32, id in any::<u32>(), seq in any::<u32>()) {
            let m = Msg::RouteSet { prefix: IpAddr::V4(Ipv4Addr::from(a)), len, target: RouteTarget::Tunnel(id) };
            prop_assert_eq!(Msg::decode(&m.to_bytes(seq)), Ok((seq, m)));
        }
    }
}
