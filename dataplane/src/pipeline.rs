//! The burst pipeline: what a worker core does with every packet it receives.
//!
//! `Worker::process_burst` takes up to [`BURST_MAX`] Ethernet frames from one
//! port and decides, for each, an [`Action`]: transmit (the frame in the
//! buffer has been rewritten for the egress port), punt to the control plane,
//! consume, or drop with a [`DropReason`]. Tables are loaded once per burst;
//! per packet there is no allocation, no lock and no panic, and every drop is
//! counted by reason.
//!
//! Paths:
//! - ARP and IPv6 neighbour discovery: punted (resolution lives in the
//!   port layer's main lcore).
//! - To one of our addresses (FIB `Local`): ESP (protocol 50, or UDP 4500
//!   with a non-zero SPI) is opened; IKE (UDP 500, UDP 4500 with the
//!   non-ESP marker) is punted; NAT keepalives are consumed; anything else is
//!   dropped as `NotForUs`.
//! - Decrypted packets are checked against their tunnel (GRE vs IPsec mode,
//!   GRE key), NHRP is punted with the tunnel id, IP is forwarded.
//! - Forwarding: FIB longest-prefix match; a port next hop gets a new
//!   Ethernet header, a tunnel next hop is encapsulated (GRE, ESP, UDP, outer
//!   IP), then the outer destination is looked up for the L2 rewrite.

use std::net::IpAddr;

use crate::buffer::PacketBuf;
use crate::counters::{DropReason, WorkerCounters};
use crate::esp::{self, Sa};
use crate::fib::{FibReader, FibSnapshot, NextHop};
use crate::sa_table::{SaSnapshot, SaTableReader, TunnelSnapshot, TunnelTableReader};
use crate::tunnel::{InboundSa, InnerProto, Tunnel};
use crate::wire::{self, EtherType, IpProtocol};
use crate::BURST_MAX;

/// What to do with a packet after the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Transmit the buffer (a complete Ethernet frame) on this port.
    Tx {
        /// Egress port index.
        port: u16,
    },
    /// Hand the buffer to the control plane.
    Punt(Punt),
    /// Nothing more to do (e.g. a NAT keepalive); free the buffer.
    Consumed,
    /// The buffer holds an IPv4 packet without DF (TTL decremented, no
    /// options) larger than tunnel `tunnel`'s MTU: the loop around the
    /// pipeline, which owns the buffer pool, splits it into fragments of at
    /// most `mtu` bytes ([`wire::ipv4::write_fragment`]) and hands them to
    /// [`Worker::encapsulate`]; the original is then freed.
    Fragment {
        /// The tunnel.
        tunnel: u32,
        /// Largest fragment.
        mtu: u16,
    },
    /// Drop the buffer; already counted under this reason.
    Drop(DropReason),
}

/// Why a packet goes to the control plane, and what the buffer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Punt {
    /// ARP; the buffer holds the Ethernet frame.
    Arp,
    /// IPv6 neighbour discovery; the buffer holds the Ethernet frame.
    NeighborDiscovery,
    /// IKE on UDP 500 or 4500; the buffer holds the IP packet (IP header,
    /// UDP header, IKE message; for 4500 with the non-ESP marker still in
    /// place). The IP header is as received, except the length trimmed to
    /// the UDP datagram's.
    Ike,
    /// NHRP received through a tunnel; the buffer holds the NHRP packet.
    Nhrp {
        /// The tunnel it arrived on.
        tunnel: u32,
    },
    /// A packet entered tunnel `ingress` and left through `egress` of the
    /// same NHRP network (not produced by the pipeline, which forwards the
    /// packet: the worker loop reports [`Worker::redirects`] with this,
    /// the buffer holding the packet's first bytes).
    Redirect {
        /// Ingress tunnel.
        ingress: u32,
        /// Egress tunnel.
        egress: u32,
    },
    /// The next hop is on an attached subnet and its MAC is not known
    /// ([`NextHop::Glean`]); the buffer holds the IP packet, ready to go out
    /// of `port` once an Ethernet header to the neighbour's MAC is put in
    /// front (see [`crate::neighbor::Neighbors::resolve`]).
    Resolve {
        /// Egress port.
        port: u16,
        /// The neighbour to resolve.
        next_hop: IpAddr,
    },
}

/// A port as the pipeline sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortInfo {
    /// The port's MAC address (source of the frames we send).
    pub mac: [u8; 6],
    /// The port's IPv4 address: the source of the ICMP errors about packets
    /// that arrived on it.
    pub ipv4: Option<[u8; 4]>,
    /// The port's IPv6 address, likewise for ICMPv6.
    pub ipv6: Option<[u8; 16]>,
}

impl PortInfo {
    /// A port without addresses (ICMP errors about packets from it are
    /// sourced from the tunnel's local address, or not sent).
    pub const fn new(mac: [u8; 6]) -> Self {
        Self {
            mac,
            ipv4: None,
            ipv6: None,
        }
    }
}

/// Readers of the shared tables, one set per worker.
#[derive(Clone, Debug)]
pub struct Tables {
    /// Inbound SAs by SPI.
    pub sas: SaTableReader<InboundSa>,
    /// Tunnels by id.
    pub tunnels: TunnelTableReader<Tunnel>,
    /// Routes (overlay and underlay share one table, as in IOS's default
    /// VRF).
    pub fib: FibReader,
}

/// The per-burst view of the tables.
struct Snap<'a> {
    sas: SaSnapshot<'a, InboundSa>,
    tunnels: TunnelSnapshot<'a, Tunnel>,
    fib: FibSnapshot<'a>,
}

/// One worker: table readers, port facts, and counters only it writes.
#[derive(Debug)]
pub struct Worker {
    tables: Tables,
    ports: Vec<PortInfo>,
    /// This worker's counters.
    pub counters: WorkerCounters,
    /// Packets of the last burst that entered and left tunnels of one
    /// NHRP network on a redirecting interface (the caller rate-limits
    /// and reports them; see [`crate::redirect`]).
    pub redirects: Redirects,
    /// ICMP errors this worker may still send; see
    /// [`Worker::refill_icmp_errors`].
    icmp_budget: u32,
}

/// ICMP errors a worker may send at once (its budget starts full).
pub const ICMP_ERROR_BURST: u32 = 50;

/// Bytes of a packet kept with a redirect candidate (the IP header and the
/// start of the payload, what a Traffic Indication quotes).
pub const REDIRECT_QUOTE: usize = 64;
/// Candidates kept per burst.
pub const REDIRECT_SLOTS: usize = 8;

/// A packet that should make the hub send an NHRP redirect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedirectCandidate {
    /// The tunnel it came in on.
    pub ingress: u32,
    /// The tunnel it leaves through.
    pub egress: u32,
    /// Its source and destination.
    pub src: IpAddr,
    /// Destination.
    pub dst: IpAddr,
    /// Its first bytes.
    pub quote: [u8; REDIRECT_QUOTE],
    /// How many of them.
    pub len: u8,
}

/// The candidates of one burst.
#[derive(Clone, Debug, Default)]
pub struct Redirects {
    items: [Option<RedirectCandidate>; REDIRECT_SLOTS],
    len: usize,
    /// Candidates not kept because the burst had more (the same pairs come
    /// back with the next packets).
    pub overflow: u64,
}

impl Redirects {
    /// Takes the candidates out.
    pub fn drain(&mut self) -> impl Iterator<Item = RedirectCandidate> + '_ {
        let n = std::mem::take(&mut self.len);
        self.items[..n].iter_mut().filter_map(Option::take)
    }

    /// Candidates waiting.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// None waiting.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&mut self, c: RedirectCandidate) {
        // One per pair and burst is enough.
        if self.items[..self.len]
            .iter()
            .flatten()
            .any(|x| x.src == c.src && x.dst == c.dst && x.ingress == c.ingress)
        {
            return;
        }
        if self.len == REDIRECT_SLOTS {
            self.overflow += 1;
            return;
        }
        self.items[self.len] = Some(c);
        self.len += 1;
    }
}

const ETH_HEADER_LEN: usize = 14;

/// ICMP echo request and reply types (RFC 792), ICMPv6's (RFC 4443).
const ICMP_ECHO_REQUEST: u8 = 8;
const ICMP_ECHO_REPLY: u8 = 0;
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;
/// Type, code, checksum, identifier, sequence number.
const ICMP_ECHO_HEADER: usize = 8;
/// TTL / hop limit of the echo replies we originate.
const ECHO_REPLY_TTL: u8 = 64;

/// Most distinct SAs whose counters a burst accumulates before adding them
/// to the SA; a burst touching more flushes early (still exact).
const TALLY_SLOTS: usize = 8;

/// Per-burst accumulation of per-SA counters, so that each SA's shared
/// atomic counters are touched once per burst instead of once per packet.
struct Tally<'s> {
    len: usize,
    sa: [Option<&'s Sa>; TALLY_SLOTS],
    packets: [u64; TALLY_SLOTS],
    bytes: [u64; TALLY_SLOTS],
}

impl<'s> Tally<'s> {
    fn new() -> Self {
        Self {
            len: 0,
            sa: [None; TALLY_SLOTS],
            packets: [0; TALLY_SLOTS],
            bytes: [0; TALLY_SLOTS],
        }
    }

    /// Counts `bytes` for `sa`, and one opened packet if `opened`.
    #[inline]
    fn add(&mut self, sa: &'s Sa, opened: bool, bytes: usize) {
        let i = match self.sa[..self.len]
            .iter()
            .position(|s| s.is_some_and(|s| std::ptr::eq(s, sa)))
        {
            Some(i) => i,
            None => {
                if self.len == TALLY_SLOTS {
                    self.flush();
                }
                let i = self.len;
                self.sa[i] = Some(sa);
                self.packets[i] = 0;
                self.bytes[i] = 0;
                self.len += 1;
                i
            }
        };
        self.packets[i] += u64::from(opened);
        self.bytes[i] += bytes as u64;
    }

    fn flush(&mut self) {
        for i in 0..self.len {
            if let Some(sa) = self.sa[i] {
                sa.count(self.packets[i], self.bytes[i]);
            }
        }
        self.len = 0;
    }
}

/// The first pass's decision for a packet.
enum Verdict<'s> {
    /// Final.
    Done(Action),
    /// To be encapsulated into this tunnel in the second pass.
    Encap(&'s Tunnel, InnerProto),
}

/// What the per-packet functions add to: the worker's counters and the
/// burst's per-SA tally.
struct Acc<'c, 's> {
    counters: &'c mut WorkerCounters,
    tally: Tally<'s>,
    redirects: &'c mut Redirects,
    icmp_budget: &'c mut u32,
}

impl Worker {
    /// A worker over the given tables and ports (port index = position).
    pub fn new(tables: Tables, ports: Vec<PortInfo>) -> Self {
        Self {
            tables,
            ports,
            counters: WorkerCounters::default(),
            redirects: Redirects::default(),
            icmp_budget: ICMP_ERROR_BURST,
        }
    }

    /// Adds `tokens` to the ICMP error budget, up to `max`. The pipeline
    /// has no clock: the loop around it refills the budget as time passes
    /// (RFC 1812 section 4.3.2.8 and RFC 4443 section 2.4 ask for a rate
    /// limit). Each error sent takes one token; with none left, the
    /// offending packet is only dropped (counted as `icmp_errors_limited`
    /// and under its drop reason).
    pub fn refill_icmp_errors(&mut self, tokens: u32, max: u32) {
        self.icmp_budget = self.icmp_budget.saturating_add(tokens).min(max);
    }

    /// ICMP errors that may still be sent.
    #[must_use]
    pub fn icmp_budget(&self) -> u32 {
        self.icmp_budget
    }

    /// Processes a burst of Ethernet frames received on `rx_port`, writing
    /// one action per packet into `actions`. At most [`BURST_MAX`] packets
    /// are processed; the count processed is returned.
    pub fn process_burst<B: PacketBuf>(
        &mut self,
        rx_port: u16,
        pkts: &mut [B],
        actions: &mut [Action; BURST_MAX],
    ) -> usize {
        let n = pkts.len().min(BURST_MAX);
        let tables = &self.tables;
        let snap = Snap {
            sas: tables.sas.snapshot(),
            tunnels: tables.tunnels.snapshot(),
            fib: tables.fib.snapshot(),
        };
        let ctx = Ctx {
            snap: &snap,
            ports: &self.ports,
            rx_port,
        };
        let mut acc = Acc {
            counters: &mut self.counters,
            tally: Tally::new(),
            redirects: &mut self.redirects,
            icmp_budget: &mut self.icmp_budget,
        };
        // First pass: classify, open, decapsulate, route. Packets bound for
        // a tunnel wait for the second pass.
        let mut pending: [Option<(&Tunnel, InnerProto)>; BURST_MAX] = [None; BURST_MAX];
        let mut npending = 0;
        for (i, buf) in pkts[..n].iter_mut().enumerate() {
            acc.counters.rx_packets += 1;
            acc.counters.rx_bytes += buf.len() as u64;
            actions[i] = match ctx.ethernet_in(buf, &mut acc) {
                Ok(Verdict::Done(a)) => a,
                Ok(Verdict::Encap(t, proto)) => {
                    pending[i] = Some((t, proto));
                    npending += 1;
                    Action::Consumed
                }
                Err(reason) => Action::Drop(reason),
            };
        }
        // Second pass: per tunnel, one sequence-number reservation for all
        // its packets of the burst (in arrival order), then encapsulation.
        let mut group = [(0usize, InnerProto::Ipv4); BURST_MAX];
        while npending > 0 {
            let first = pending.iter().position(Option::is_some).unwrap_or(n);
            let Some((tunnel, _)) = pending.get(first).copied().flatten() else {
                break;
            };
            let mut len = 0;
            for (j, p) in pending.iter_mut().enumerate().skip(first) {
                if let Some((t, proto)) = *p {
                    if std::ptr::eq(t, tunnel) {
                        group[len] = (j, proto);
                        len += 1;
                        *p = None;
                    }
                }
            }
            npending -= len;
            ctx.encap_group(tunnel, &group[..len], pkts, actions, &mut acc);
        }
        count_outcomes(acc.counters, &pkts[..n], actions);
        acc.tally.flush();
        n
    }

    /// Encapsulates IPv4 packets (the fragments the loop made of a packet
    /// the pipeline answered with [`Action::Fragment`]) into tunnel
    /// `tunnel` and sends them to its outer next hop, as a burst's second
    /// pass does; one action per packet, counted as transmitted or dropped
    /// (they were not received: `rx_packets` does not count them). At most
    /// [`BURST_MAX`] packets; the count processed is returned.
    pub fn encapsulate<B: PacketBuf>(
        &mut self,
        tunnel: u32,
        pkts: &mut [B],
        actions: &mut [Action; BURST_MAX],
    ) -> usize {
        let n = pkts.len().min(BURST_MAX);
        let tables = &self.tables;
        let snap = Snap {
            sas: tables.sas.snapshot(),
            tunnels: tables.tunnels.snapshot(),
            fib: tables.fib.snapshot(),
        };
        let ctx = Ctx {
            snap: &snap,
            ports: &self.ports,
            rx_port: 0,
        };
        let mut acc = Acc {
            counters: &mut self.counters,
            tally: Tally::new(),
            redirects: &mut self.redirects,
            icmp_budget: &mut self.icmp_budget,
        };
        match snap.tunnels.get(tunnel) {
            Some(t) => {
                let mut group = [(0usize, InnerProto::Ipv4); BURST_MAX];
                for (i, g) in group[..n].iter_mut().enumerate() {
                    g.0 = i;
                }
                ctx.encap_group(t, &group[..n], pkts, actions, &mut acc);
            }
            None => actions[..n].fill(Action::Drop(DropReason::NoTunnel)),
        }
        count_outcomes(acc.counters, &pkts[..n], actions);
        acc.tally.flush();
        n
    }
}

struct Ctx<'s, 'a> {
    snap: &'s Snap<'a>,
    ports: &'s [PortInfo],
    /// The port the burst arrived on (source of ICMP errors).
    rx_port: u16,
}

/// An ICMP error the pipeline sends about a packet it cannot forward.
#[derive(Clone, Copy, Debug)]
enum IcmpError {
    /// TTL or hop limit exhausted (ICMP 11/0, ICMPv6 3/0).
    TimeExceeded,
    /// Larger than the tunnel's MTU (ICMP 3/4 "fragmentation needed" for
    /// IPv4 with DF set, RFC 1191; ICMPv6 2/0 "packet too big").
    TooBig {
        /// The MTU to report.
        mtu: u16,
    },
}

/// Inner packets may be forwarded into a tunnel; a decrypted packet is never
/// decrypted again (no ESP-in-ESP to ourselves).
#[derive(Clone, Copy, PartialEq, Eq)]
enum From {
    Wire,
    Tunnel(u32),
}

impl<'s> Ctx<'s, '_> {
    fn ethernet_in<B: PacketBuf>(
        &self,
        buf: &mut B,
        c: &mut Acc<'_, 's>,
    ) -> Result<Verdict<'s>, DropReason> {
        let frame = wire::ethernet::EthernetFrame::new_checked(buf.data())?;
        let ethertype = frame.ethertype();
        let hlen = frame.header_len();
        match ethertype {
            EtherType::ARP => Ok(Verdict::Done(Action::Punt(Punt::Arp))),
            EtherType::IPV4 => {
                buf.adj(hlen);
                self.ipv4_in(buf, From::Wire, c)
            }
            EtherType::IPV6 => {
                if is_neighbor_discovery(&buf.data()[hlen..]) {
                    return Ok(Verdict::Done(Action::Punt(Punt::NeighborDiscovery)));
                }
                buf.adj(hlen);
                self.ipv6_in(buf, From::Wire, c)
            }
            _ => Err(DropReason::Unsupported),
        }
    }

    fn ipv4_in<B: PacketBuf>(
        &self,
        buf: &mut B,
        from: From,
        c: &mut Acc<'_, 's>,
    ) -> Result<Verdict<'s>, DropReason> {
        let (dst, protocol, hlen, total, frag, ttl) = {
            let ip = wire::ipv4::Ipv4Packet::new_checked(buf.data())?;
            if !ip.verify_checksum() {
                return Err(DropReason::BadChecksum);
            }
            (
                ip.dst_addr(),
                ip.protocol(),
                ip.header_len(),
                ip.total_len(),
                ip.is_fragment(),
                ip.ttl(),
            )
        };
        // Ethernet may pad short frames: the IP total length is the truth.
        buf.trim(buf.len() - total);
        match self.snap.fib.lookup_v4(dst) {
            Some(NextHop::Local) => {
                if frag {
                    // Fragments to us would need reassembly, which the
                    // dataplane does not do.
                    return Err(DropReason::NotForUs);
                }
                if protocol == IpProtocol::ICMP {
                    // Echo requests from the wire or through a tunnel.
                    return self.echo_v4(buf, hlen, c);
                }
                if from != From::Wire {
                    // Tunnels carry no ESP or IKE to us.
                    return Err(DropReason::NotForUs);
                }
                buf.adj(hlen);
                self.local_in(buf, protocol, hlen, c)
            }
            Some(nh) => {
                if ttl <= 1 {
                    // The error quotes the packet as it arrived.
                    return self.icmp_error(
                        buf,
                        InnerProto::Ipv4,
                        IcmpError::TimeExceeded,
                        from,
                        DropReason::TtlExceeded,
                        c,
                    );
                }
                wire::ipv4::Ipv4Packet::new_unchecked(buf.data_mut()).decrement_ttl();
                self.forward(buf, nh, InnerProto::Ipv4, from, c)
            }
            None => Err(DropReason::NoRoute),
        }
    }

    fn ipv6_in<B: PacketBuf>(
        &self,
        buf: &mut B,
        from: From,
        c: &mut Acc<'_, 's>,
    ) -> Result<Verdict<'s>, DropReason> {
        let (dst, upper, upper_off, total, frag) = {
            let ip = wire::ipv6::Ipv6Packet::new_checked(buf.data())?;
            let (upper, off, frag) = ip.upper_layer()?;
            (ip.dst_addr(), upper, off, ip.total_len(), frag)
        };
        buf.trim(buf.len() - total);
        match self.snap.fib.lookup_v6(dst) {
            Some(NextHop::Local) => {
                if frag {
                    return Err(DropReason::NotForUs);
                }
                if upper == IpProtocol::ICMPV6 {
                    return self.echo_v6(buf, upper_off, c);
                }
                if from != From::Wire {
                    return Err(DropReason::NotForUs);
                }
                buf.adj(upper_off);
                self.local_in(buf, upper, upper_off, c)
            }
            Some(nh) => {
                if buf.data()[7] <= 1 {
                    return self.icmp_error(
                        buf,
                        InnerProto::Ipv6,
                        IcmpError::TimeExceeded,
                        from,
                        DropReason::TtlExceeded,
                        c,
                    );
                }
                wire::ipv6::Ipv6Packet::new_unchecked(buf.data_mut()).decrement_hop_limit();
                self.forward(buf, nh, InnerProto::Ipv6, from, c)
            }
            None => Err(DropReason::NoRoute),
        }
    }

    /// Replaces the IP packet in `buf`, which cannot be forwarded for
    /// `reason`, by an ICMP error about it sent back to its source (through
    /// the FIB: a port or a tunnel), when RFC 1812 section 4.3.2.7 and RFC
    /// 4443 section 2.4 allow one: not about an ICMP error, a non-first
    /// fragment, or a packet from or to an address that is not one host's;
    /// and within the worker's budget. The source is the ingress port's
    /// address of the family, else the tunnel's local address, else none
    /// is sent. Without an error, the packet is dropped under `reason`.
    fn icmp_error<B: PacketBuf>(
        &self,
        buf: &mut B,
        proto: InnerProto,
        kind: IcmpError,
        from: From,
        reason: DropReason,
        c: &mut Acc<'_, 's>,
    ) -> Result<Verdict<'s>, DropReason> {
        let allowed = match proto {
            InnerProto::Ipv4 => may_send_error_v4(buf.data()),
            InnerProto::Ipv6 => may_send_error_v6(buf.data()),
            InnerProto::Nhrp => false,
        };
        if !allowed {
            return Err(reason);
        }
        let Some(source) = self.error_source(proto, from) else {
            return Err(reason);
        };
        if *c.icmp_budget == 0 {
            c.counters.icmp_errors_limited += 1;
            return Err(reason);
        }
        let Some(to) = ip_src(buf.data(), proto) else {
            return Err(reason);
        };
        let Some(nh) = self.route_back(to) else {
            return Err(reason);
        };
        let built = match (source, to) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                build_icmp_error_v4(buf, kind, s.octets(), d.octets())
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                build_icmp_error_v6(buf, kind, s.octets(), d.octets())
            }
            _ => false,
        };
        if !built {
            return Err(reason);
        }
        *c.icmp_budget -= 1;
        c.counters.icmp_errors += 1;
        // An ICMP error is never the subject of another: if this one cannot
        // be forwarded either, it is dropped.
        self.forward(buf, nh, proto, From::Wire, c)
    }

    /// The next hop towards `to` for a packet we answer with (an echo reply
    /// or an ICMP error); `None` without a route, or when it is our own
    /// address or a black hole.
    fn route_back(&self, to: IpAddr) -> Option<NextHop> {
        let nh = match to {
            IpAddr::V4(a) => self.snap.fib.lookup_v4(a.octets()),
            IpAddr::V6(a) => self.snap.fib.lookup_v6(a.octets()),
        };
        nh.filter(|nh| !matches!(nh, NextHop::Local | NextHop::Blackhole))
    }

    /// Our address to send ICMP errors from, for a packet of `proto` that
    /// arrived on the burst's port (through tunnel `from`, if so).
    fn error_source(&self, proto: InnerProto, from: From) -> Option<IpAddr> {
        let port = self.ports.get(usize::from(self.rx_port));
        let tunnel_local = || match from {
            From::Tunnel(id) => self.snap.tunnels.get(id).map(|t| t.local),
            From::Wire => None,
        };
        match proto {
            InnerProto::Ipv4 => port
                .and_then(|p| p.ipv4)
                .map(IpAddr::from)
                .or_else(|| tunnel_local().filter(IpAddr::is_ipv4)),
            InnerProto::Ipv6 => port
                .and_then(|p| p.ipv6)
                .map(IpAddr::from)
                .or_else(|| tunnel_local().filter(IpAddr::is_ipv6)),
            InnerProto::Nhrp => None,
        }
    }

    /// An ICMP message to one of our addresses; `buf` holds the IPv4 packet
    /// (header of `hlen` bytes, trimmed to its total length). An echo
    /// request (RFC 792) becomes its echo reply in place, sent back to the
    /// requester through the FIB (a port or a tunnel); anything else is
    /// not for the dataplane.
    fn echo_v4<B: PacketBuf>(
        &self,
        buf: &mut B,
        hlen: usize,
        c: &mut Acc<'_, 's>,
    ) -> Result<Verdict<'s>, DropReason> {
        let src = {
            let d = buf.data_mut();
            let icmp = d.get(hlen..).ok_or(DropReason::Malformed)?;
            if icmp.len() < ICMP_ECHO_HEADER {
                return Err(DropReason::Malformed);
            }
            if icmp[0] != ICMP_ECHO_REQUEST || icmp[1] != 0 {
                return Err(DropReason::NotForUs);
            }
            if wire::checksum::checksum(icmp) != 0 {
                return Err(DropReason::BadChecksum);
            }
            let src = [d[12], d[13], d[14], d[15]];
            // No reply to a source that cannot be a single host.
            let a = std::net::Ipv4Addr::from(src);
            if a.is_unspecified() || a.is_multicast() || a.is_broadcast() || a.is_loopback() {
                return Err(DropReason::NotForUs);
            }
            // The reply: addresses swapped, a fresh TTL, type 0.
            let mut dst = [0u8; 4];
            dst.copy_from_slice(&d[16..20]);
            d[12..16].copy_from_slice(&dst);
            d[16..20].copy_from_slice(&src);
            d[8] = ECHO_REPLY_TTL;
            wire::ipv4::Ipv4Packet::new_unchecked(&mut d[..]).fill_checksum();
            let icmp = &mut d[hlen..];
            icmp[0] = ICMP_ECHO_REPLY;
            icmp[2..4].copy_from_slice(&[0, 0]);
            let sum = wire::checksum::checksum(icmp);
            icmp[2..4].copy_from_slice(&sum.to_be_bytes());
            src
        };
        self.send_echo_reply(buf, IpAddr::from(src), c)
    }

    /// Sends the echo reply built in `buf` back to `to`, and counts it.
    fn send_echo_reply<B: PacketBuf>(
        &self,
        buf: &mut B,
        to: IpAddr,
        c: &mut Acc<'_, 's>,
    ) -> Result<Verdict<'s>, DropReason> {
        let proto = if to.is_ipv4() {
            InnerProto::Ipv4
        } else {
            InnerProto::Ipv6
        };
        let nh = self.route_back(to).ok_or(DropReason::NoRoute)?;
        let verdict = self.forward(buf, nh, proto, From::Wire, c)?;
        c.counters.echo_replies += 1;
        Ok(verdict)
    }

    /// An ICMPv6 message to one of our addresses; `buf` holds the IPv6
    /// packet, the ICMPv6 message at `off`. An echo request (RFC 4443
    /// section 4.1) without extension headers becomes its echo reply in
    /// place, sent back through the FIB; anything else is not for the
    /// dataplane (neighbour discovery was punted before).
    fn echo_v6<B: PacketBuf>(
        &self,
        buf: &mut B,
        off: usize,
        c: &mut Acc<'_, 's>,
    ) -> Result<Verdict<'s>, DropReason> {
        let src = {
            let d = buf.data_mut();
            if off != wire::ipv6::HEADER_LEN {
                return Err(DropReason::NotForUs);
            }
            let icmp = d.get(off..).ok_or(DropReason::Malformed)?;
            if icmp.len() < ICMP_ECHO_HEADER {
                return Err(DropReason::Malformed);
            }
            if icmp[0] != ICMPV6_ECHO_REQUEST || icmp[1] != 0 {
                return Err(DropReason::NotForUs);
            }
            let mut src = [0u8; 16];
            let mut dst = [0u8; 16];
            src.copy_from_slice(&d[8..24]);
            dst.copy_from_slice(&d[24..40]);
            if !icmpv6_sum(&src, &dst, icmp) != 0 {
                return Err(DropReason::BadChecksum);
            }
            let a = std::net::Ipv6Addr::from(src);
            if a.is_unspecified() || a.is_multicast() || a.is_loopback() {
                return Err(DropReason::NotForUs);
            }
            d[8..24].copy_from_slice(&dst);
            d[24..40].copy_from_slice(&src);
            d[7] = ECHO_REPLY_TTL;
            let icmp = &mut d[off..];
            icmp[0] = ICMPV6_ECHO_REPLY;
            icmp[2..4].copy_from_slice(&[0, 0]);
            let sum = !icmpv6_sum(&dst, &src, icmp);
            icmp[2..4].copy_from_slice(&sum.to_be_bytes());
            src
        };
        self.send_echo_reply(buf, IpAddr::from(src), c)
    }

    /// A packet for one of our addresses; `buf` holds the transport payload
    /// (what follows the `ip_hlen` bytes of IP header, which are still in
    /// front of it).
    fn local_in<B: PacketBuf>(
        &self,
        buf: &mut B,
        protocol: IpProtocol,
        ip_hlen: usize,
        c: &mut Acc<'_, 's>,
    ) -> Result<Verdict<'s>, DropReason> {
        // IKE goes to the control plane as the IP packet: it needs the
        // addresses. The header is still in front of the payload.
        let ike = |buf: &mut B| {
            if buf.prepend(ip_hlen) {
                Ok(Verdict::Done(Action::Punt(Punt::Ike)))
            } else {
                Err(DropReason::NoRoom)
            }
        };
        match protocol {
            IpProtocol::ESP => self.esp_in(buf, c),
            IpProtocol::UDP => {
                let (dst_port, udp_len) = {
                    let udp = wire::udp::UdpPacket::new_checked(buf.data())?;
                    (udp.dst_port(), udp.len())
                };
                let payload_off = wire::udp::HEADER_LEN;
                // Bytes past the UDP length are not part of the datagram.
                buf.trim(buf.len() - udp_len);
                match dst_port {
                    wire::udp_encap::IKE_PORT => ike(buf),
                    wire::udp_encap::NAT_T_PORT => {
                        match wire::udp_encap::classify(&buf.data()[payload_off..])? {
                            wire::udp_encap::UdpEncap::Ike => ike(buf),
                            wire::udp_encap::UdpEncap::NatKeepalive => {
                                Ok(Verdict::Done(Action::Consumed))
                            }
                            wire::udp_encap::UdpEncap::Esp => {
                                buf.adj(payload_off);
                                self.esp_in(buf, c)
                            }
                        }
                    }
                    _ => Err(DropReason::NotForUs),
                }
            }
            _ => Err(DropReason::NotForUs),
        }
    }

    /// `buf` holds an ESP packet (header onwards).
    fn esp_in<B: PacketBuf>(
        &self,
        buf: &mut B,
        c: &mut Acc<'_, 's>,
    ) -> Result<Verdict<'s>, DropReason> {
        let spi = esp::peek_spi(buf.data()).ok_or(DropReason::Malformed)?;
        let entry = self.snap.sas.get(spi).ok_or(DropReason::NoSa)?;
        let opened = esp::open(&entry.sa, buf)?;
        c.counters.esp_decrypted += 1;
        c.tally.add(&entry.sa, true, buf.len());
        let tunnel = self
            .snap
            .tunnels
            .get(entry.tunnel)
            .ok_or(DropReason::NoTunnel)?;
        let from = From::Tunnel(tunnel.id);
        match tunnel.decapsulate(buf, opened.next_header)? {
            InnerProto::Ipv4 => self.ipv4_in(buf, from, c),
            InnerProto::Ipv6 => self.ipv6_in(buf, from, c),
            InnerProto::Nhrp => Ok(Verdict::Done(Action::Punt(Punt::Nhrp {
                tunnel: tunnel.id,
            }))),
        }
    }

    /// `buf` holds an IP packet whose TTL was already decremented. A packet
    /// for a tunnel is only checked here; it is encapsulated in the second
    /// pass of the burst, with the other packets for the same tunnel.
    fn forward<B: PacketBuf>(
        &self,
        buf: &mut B,
        nh: NextHop,
        proto: InnerProto,
        from: From,
        c: &mut Acc<'_, 's>,
    ) -> Result<Verdict<'s>, DropReason> {
        match nh {
            NextHop::Port { port, mac } => self.l2_out(buf, port, mac, proto).map(Verdict::Done),
            NextHop::Tunnel(id) => {
                let tunnel: &'s Tunnel = self.snap.tunnels.get(id).ok_or(DropReason::NoTunnel)?;
                if tunnel.outbound.is_none() {
                    return Err(DropReason::NoOutboundSa);
                }
                if buf.len() > usize::from(tunnel.mtu) {
                    let dont_frag = match proto {
                        InnerProto::Ipv4 => buf.data().get(6).is_some_and(|b| b & 0x40 != 0),
                        InnerProto::Ipv6 => true,
                        InnerProto::Nhrp => false,
                    };
                    if !dont_frag {
                        // IPv4 without options: split by the loop (it
                        // has the buffer pool), each fragment then
                        // encapsulated. With options: dropped.
                        let plain = buf.data()[0] & 0x0f == 5;
                        let fits = wire::ipv4::fragment_payload(
                            usize::from(tunnel.mtu),
                            wire::ipv4::HEADER_LEN,
                        )
                        .is_some();
                        if proto == InnerProto::Ipv4 && plain && fits {
                            return Ok(Verdict::Done(Action::Fragment {
                                tunnel: id,
                                mtu: tunnel.mtu,
                            }));
                        }
                        return Err(DropReason::TooBig);
                    }
                    return self.icmp_error(
                        buf,
                        proto,
                        IcmpError::TooBig { mtu: tunnel.mtu },
                        from,
                        DropReason::TooBig,
                        c,
                    );
                }
                if let From::Tunnel(ingress) = from {
                    if ingress != id {
                        self.redirect_candidate(buf.data(), proto, ingress, tunnel, c);
                    }
                }
                Ok(Verdict::Encap(tunnel, proto))
            }
            NextHop::Glean { port } => {
                let next_hop = ip_dst(buf.data(), proto).ok_or(DropReason::Malformed)?;
                Ok(Verdict::Done(Action::Punt(Punt::Resolve {
                    port,
                    next_hop,
                })))
            }
            NextHop::Local | NextHop::Blackhole => Err(DropReason::NoRoute),
        }
    }

    /// A packet from tunnel `ingress` leaves through `egress`: a redirect
    /// candidate when both are in one NHRP network and `ingress` redirects.
    #[inline]
    fn redirect_candidate(
        &self,
        ip: &[u8],
        proto: InnerProto,
        ingress: u32,
        egress: &Tunnel,
        c: &mut Acc<'_, 's>,
    ) {
        let Some(t) = self.snap.tunnels.get(ingress) else {
            return;
        };
        if !crate::redirect::qualifies(t.nhrp_network_id, t.redirect, egress.nhrp_network_id) {
            return;
        }
        let (src, dst) = match proto {
            InnerProto::Ipv4 if ip.len() >= 20 => (
                IpAddr::from([ip[12], ip[13], ip[14], ip[15]]),
                IpAddr::from([ip[16], ip[17], ip[18], ip[19]]),
            ),
            InnerProto::Ipv6 if ip.len() >= 40 => {
                let mut s = [0u8; 16];
                let mut d = [0u8; 16];
                s.copy_from_slice(&ip[8..24]);
                d.copy_from_slice(&ip[24..40]);
                (IpAddr::from(s), IpAddr::from(d))
            }
            _ => return,
        };
        let n = ip.len().min(REDIRECT_QUOTE);
        let mut quote = [0u8; REDIRECT_QUOTE];
        quote[..n].copy_from_slice(&ip[..n]);
        c.redirects.push(RedirectCandidate {
            ingress,
            egress: egress.id,
            src,
            dst,
            quote,
            len: n as u8,
        });
    }

    /// Second pass: encapsulates the burst's packets for one tunnel with
    /// sequence numbers reserved at once, and sends them to the outer next
    /// hop. `group` lists (packet index, inner protocol).
    fn encap_group<B: PacketBuf>(
        &self,
        tunnel: &'s Tunnel,
        group: &[(usize, InnerProto)],
        pkts: &mut [B],
        actions: &mut [Action; BURST_MAX],
        c: &mut Acc<'_, 's>,
    ) {
        let Some(sa) = tunnel.outbound.as_deref() else {
            for &(i, _) in group {
                actions[i] = Action::Drop(DropReason::NoOutboundSa);
            }
            return;
        };
        let range = sa.reserve_seq(group.len() as u64);
        // The outer destination is reached through a port; a route that
        // sends it into a tunnel again would loop.
        let outer = match tunnel.remote {
            IpAddr::V4(a) => (self.snap.fib.lookup_v4(a.octets()), InnerProto::Ipv4),
            IpAddr::V6(a) => (self.snap.fib.lookup_v6(a.octets()), InnerProto::Ipv6),
        };
        for (k, &(i, proto)) in group.iter().enumerate() {
            let buf = &mut pkts[i];
            let result = (|| {
                let seq = range?.get(k as u64).ok_or(DropReason::SeqExhausted)?;
                // The ESP payload: what the SA's byte counter counts.
                let payload_len = buf.len() + tunnel.inner_overhead();
                tunnel.encapsulate_with_seq(buf, proto, seq)?;
                c.counters.esp_encrypted += 1;
                c.tally.add(sa, false, payload_len);
                match outer {
                    (Some(NextHop::Port { port, mac }), p) => self.l2_out(buf, port, mac, p),
                    (Some(NextHop::Glean { port }), _) => Ok(Action::Punt(Punt::Resolve {
                        port,
                        next_hop: tunnel.remote,
                    })),
                    _ => Err(DropReason::NoRoute),
                }
            })();
            actions[i] = result.unwrap_or_else(Action::Drop);
        }
    }

    fn l2_out<B: PacketBuf>(
        &self,
        buf: &mut B,
        port: u16,
        dst: [u8; 6],
        proto: InnerProto,
    ) -> Result<Action, DropReason> {
        let src = self
            .ports
            .get(usize::from(port))
            .ok_or(DropReason::NoRoute)?
            .mac;
        let ethertype = match proto {
            InnerProto::Ipv4 => EtherType::IPV4,
            InnerProto::Ipv6 => EtherType::IPV6,
            InnerProto::Nhrp => return Err(DropReason::Unsupported),
        };
        if !buf.prepend(ETH_HEADER_LEN) {
            return Err(DropReason::NoRoom);
        }
        let d = buf.data_mut();
        d[0..6].copy_from_slice(&dst);
        d[6..12].copy_from_slice(&src);
        d[12..14].copy_from_slice(&ethertype.0.to_be_bytes());
        Ok(Action::Tx { port })
    }
}

/// Most bytes of the offending IPv4 packet an ICMP error quotes: the error
/// stays within 576 bytes (RFC 1812 section 4.3.2.3).
const ICMP4_QUOTE_MAX: usize = 576 - 28;
/// Most bytes of the offending IPv6 packet an ICMPv6 error quotes: the
/// error stays within the minimum MTU (RFC 4443 section 2.4 (c)).
const ICMP6_QUOTE_MAX: usize = 1280 - 48;

/// Whether an ICMP error may be sent about the IPv4 packet `ip` (header
/// validated): not about a non-first fragment, an ICMP error, or a packet
/// from an address that is not one host's or to a multicast or broadcast
/// one (RFC 1812 section 4.3.2.7).
fn may_send_error_v4(ip: &[u8]) -> bool {
    if ip.len() < wire::ipv4::HEADER_LEN {
        return false;
    }
    let frag_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
    if frag_offset != 0 {
        return false;
    }
    let src = std::net::Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst = std::net::Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    if src.is_unspecified()
        || src.is_loopback()
        || src.is_multicast()
        || src.is_broadcast()
        || ip[12] >= 240
        || ip[12] == 0
        || dst.is_multicast()
        || dst.is_broadcast()
    {
        return false;
    }
    if ip[9] == IpProtocol::ICMP.0 {
        let hlen = usize::from(ip[0] & 0x0f) * 4;
        // Echo reply and request, timestamps, information and address mask
        // messages are queries; every other type is an error, or unknown.
        return matches!(ip.get(hlen), Some(0 | 8 | 13 | 14 | 15 | 16 | 17 | 18));
    }
    true
}

/// Whether an ICMPv6 error may be sent about the IPv6 packet `ip` (header
/// validated): not about an ICMPv6 error (types below 128), or a packet
/// from an address that is not one host's or to a multicast one (RFC 4443
/// section 2.4 (e)).
fn may_send_error_v6(ip: &[u8]) -> bool {
    if ip.len() < wire::ipv6::HEADER_LEN {
        return false;
    }
    let mut s = [0u8; 16];
    let mut d = [0u8; 16];
    s.copy_from_slice(&ip[8..24]);
    d.copy_from_slice(&ip[24..40]);
    let (src, dst) = (std::net::Ipv6Addr::from(s), std::net::Ipv6Addr::from(d));
    if src.is_unspecified() || src.is_loopback() || src.is_multicast() || dst.is_multicast() {
        return false;
    }
    if ip[6] == IpProtocol::ICMPV6.0 {
        return ip.get(wire::ipv6::HEADER_LEN).is_some_and(|&t| t >= 128);
    }
    true
}

/// Turns the IPv4 packet in `buf` into an ICMP error from `src` to `dst`
/// quoting its start; false if the buffer has no headroom for it.
fn build_icmp_error_v4<B: PacketBuf>(
    buf: &mut B,
    kind: IcmpError,
    src: [u8; 4],
    dst: [u8; 4],
) -> bool {
    let quote = buf.len().min(ICMP4_QUOTE_MAX);
    if !buf.trim(buf.len() - quote) || !buf.prepend(28) {
        return false;
    }
    let total = buf.len() as u16;
    let d = buf.data_mut();
    d[..20].copy_from_slice(&[
        0x45,
        0xc0,
        0,
        0,
        0,
        0,
        0,
        0,
        ECHO_REPLY_TTL,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ]);
    d[2..4].copy_from_slice(&total.to_be_bytes());
    d[12..16].copy_from_slice(&src);
    d[16..20].copy_from_slice(&dst);
    wire::ipv4::Ipv4Packet::new_unchecked(&mut d[..]).fill_checksum();
    let (ty, code, rest) = match kind {
        IcmpError::TimeExceeded => (11, 0, [0u8; 4]),
        IcmpError::TooBig { mtu } => {
            let m = mtu.to_be_bytes();
            (3, 4, [0, 0, m[0], m[1]])
        }
    };
    d[20..24].copy_from_slice(&[ty, code, 0, 0]);
    d[24..28].copy_from_slice(&rest);
    let sum = wire::checksum::checksum(&d[20..]);
    d[22..24].copy_from_slice(&sum.to_be_bytes());
    true
}

/// Turns the IPv6 packet in `buf` into an ICMPv6 error from `src` to
/// `dst` quoting its start; false if the buffer has no headroom for it.
fn build_icmp_error_v6<B: PacketBuf>(
    buf: &mut B,
    kind: IcmpError,
    src: [u8; 16],
    dst: [u8; 16],
) -> bool {
    let quote = buf.len().min(ICMP6_QUOTE_MAX);
    if !buf.trim(buf.len() - quote) || !buf.prepend(48) {
        return false;
    }
    let payload = (buf.len() - 40) as u16;
    let d = buf.data_mut();
    d[..8].copy_from_slice(&[0x60, 0, 0, 0, 0, 0, IpProtocol::ICMPV6.0, ECHO_REPLY_TTL]);
    d[4..6].copy_from_slice(&payload.to_be_bytes());
    d[8..24].copy_from_slice(&src);
    d[24..40].copy_from_slice(&dst);
    let (ty, rest) = match kind {
        IcmpError::TimeExceeded => (3, 0u32),
        IcmpError::TooBig { mtu } => (2, u32::from(mtu)),
    };
    d[40..44].copy_from_slice(&[ty, 0, 0, 0]);
    d[44..48].copy_from_slice(&rest.to_be_bytes());
    let sum = !icmpv6_sum(&src, &dst, &d[40..]);
    d[42..44].copy_from_slice(&sum.to_be_bytes());
    true
}

/// The folded one's complement sum of the ICMPv6 message `msg` from `src`
/// to `dst` with its pseudo-header (0xffff when its checksum is right; the
/// checksum to write is the complement of the sum with the field zeroed).
fn icmpv6_sum(src: &[u8; 16], dst: &[u8; 16], msg: &[u8]) -> u16 {
    wire::checksum::fold(wire::checksum::sum(
        wire::checksum::pseudo_v6(src, dst, IpProtocol::ICMPV6.0, msg.len() as u32),
        msg,
    ))
}

/// The source address of the IP packet in `ip` (already validated).
fn ip_src(ip: &[u8], proto: InnerProto) -> Option<IpAddr> {
    match proto {
        InnerProto::Ipv4 => {
            let a: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            Some(IpAddr::from(a))
        }
        InnerProto::Ipv6 => {
            let a: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            Some(IpAddr::from(a))
        }
        InnerProto::Nhrp => None,
    }
}

/// Counts each packet's outcome (every packet ends in exactly one).
fn count_outcomes<B: PacketBuf>(c: &mut WorkerCounters, pkts: &[B], actions: &[Action]) {
    for (buf, a) in pkts.iter().zip(actions.iter()) {
        match *a {
            Action::Tx { .. } => {
                c.tx_packets += 1;
                c.tx_bytes += buf.len() as u64;
            }
            Action::Punt(_) => c.punted += 1,
            Action::Consumed => c.consumed += 1,
            Action::Fragment { .. } => c.fragmented += 1,
            Action::Drop(reason) => c.drop(reason),
        }
    }
}

/// The destination address of the IP packet in `ip` (already validated).
fn ip_dst(ip: &[u8], proto: InnerProto) -> Option<IpAddr> {
    match proto {
        InnerProto::Ipv4 => {
            let a: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            Some(IpAddr::from(a))
        }
        InnerProto::Ipv6 => {
            let a: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            Some(IpAddr::from(a))
        }
        InnerProto::Nhrp => None,
    }
}

/// ICMPv6 types 133 to 137 (router/neighbour solicitation and
/// advertisement, redirect), found after the fixed IPv6 header only: RFC 4861
/// messages carry no extension headers in practice and must have hop limit
/// 255, which the control plane checks.
fn is_neighbor_discovery(ip: &[u8]) -> bool {
    matches!(
        (ip.get(6), ip.get(40)),
        (Some(&58), Some(&t)) if (133..=137).contains(&t)
    )
}
