//! NHRP packets (RFC 2332 section 5) with Cisco's Traffic Indication
//! (packet type 8) and NAT extension.
//!
//! ```text
//! fixed header (20 bytes)  afn, protocol type and SNAP, hop count, packet
//!                          size, checksum, extension offset, version,
//!                          type, source NBMA address and subaddress type/len
//! mandatory part           source/destination protocol lengths, then per type:
//!   types 1-6              flags, request ID, addresses, client information
//!                          entries (CIEs)
//!   7 Error Indication     error code and offset, addresses, the errored packet
//!   8 Traffic Indication   traffic code, addresses, the packet that caused it
//! extensions               type (with the compulsory bit), length, value;
//!                          ending with the End extension
//! ```
//!
//! Parsing validates every length once (packet size against the buffer,
//! the extension offset against the packet, each address and CIE against
//! the mandatory part, each extension against the extension part) and the
//! checksum; it never panics. Emission computes lengths, offsets and the
//! checksum, and what it writes parses back to the same value.

use std::fmt;
use std::net::IpAddr;

/// Length of the fixed header.
pub const FIXED_LEN: usize = 20;
/// Address family numbers (IANA) of the NBMA network.
pub const AFN_IPV4: u16 = 1;
/// IPv6 NBMA addresses.
pub const AFN_IPV6: u16 = 2;
/// Protocol type of an IPv4 overlay (an EtherType).
pub const PROTO_IPV4: u16 = 0x0800;
/// Protocol type of an IPv6 overlay.
pub const PROTO_IPV6: u16 = 0x86dd;

/// The NHRP packet type, unknown values kept.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketType(pub u8);

impl PacketType {
    /// Resolution Request.
    pub const RESOLUTION_REQUEST: Self = Self(1);
    /// Resolution Reply.
    pub const RESOLUTION_REPLY: Self = Self(2);
    /// Registration Request.
    pub const REGISTRATION_REQUEST: Self = Self(3);
    /// Registration Reply.
    pub const REGISTRATION_REPLY: Self = Self(4);
    /// Purge Request.
    pub const PURGE_REQUEST: Self = Self(5);
    /// Purge Reply.
    pub const PURGE_REPLY: Self = Self(6);
    /// Error Indication.
    pub const ERROR_INDICATION: Self = Self(7);
    /// Traffic Indication (Cisco's redirect).
    pub const TRAFFIC_INDICATION: Self = Self(8);

    /// The registered name, if any.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "Resolution Request",
            2 => "Resolution Reply",
            3 => "Registration Request",
            4 => "Registration Reply",
            5 => "Purge Request",
            6 => "Purge Reply",
            7 => "Error Indication",
            8 => "Traffic Indication",
            _ => return None,
        })
    }
}

impl fmt::Debug for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "PacketType({})", self.0),
        }
    }
}

/// Extension types (RFC 2332 section 5.3, Cisco NAT), unknown values kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExtensionType(pub u16);

impl ExtensionType {
    /// End of extensions.
    pub const END: Self = Self(0);
    /// Responder Address (a CIE).
    pub const RESPONDER_ADDRESS: Self = Self(3);
    /// Forward Transit NHS Record (CIEs).
    pub const FORWARD_TRANSIT: Self = Self(4);
    /// Reverse Transit NHS Record (CIEs).
    pub const REVERSE_TRANSIT: Self = Self(5);
    /// Authentication.
    pub const AUTHENTICATION: Self = Self(7);
    /// Vendor-Private.
    pub const VENDOR_PRIVATE: Self = Self(8);
    /// Cisco NAT address (CIEs).
    pub const NAT_ADDRESS: Self = Self(9);

    fn holds_cies(self) -> bool {
        matches!(self.0, 3 | 4 | 5 | 9)
    }
}

/// Flags of the mandatory part of types 1 to 6.
pub mod flags {
    /// Resolution: the requester is a router (Q).
    pub const Q: u16 = 0x8000;
    /// Resolution Reply: authoritative (A).
    pub const A: u16 = 0x4000;
    /// Resolution: destination is stable (D).
    pub const D: u16 = 0x2000;
    /// Resolution: unique (U).
    pub const U: u16 = 0x1000;
    /// Resolution: stable binding (S).
    pub const S: u16 = 0x0800;
    /// Registration: unique (U).
    pub const REGISTRATION_U: u16 = 0x8000;
    /// Purge: no reply expected (N).
    pub const N: u16 = 0x8000;
    /// Cisco: NAT extension supported.
    pub const CISCO_NAT: u16 = 0x0002;
}

/// Why a packet was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Fewer bytes than a length field or the format needs.
    Truncated(&'static str),
    /// `ar$op.version` is not 1.
    BadVersion(u8),
    /// The checksum does not verify.
    BadChecksum,
    /// The extension offset points outside the packet or into the fixed
    /// header.
    BadExtensionOffset,
    /// A packet type this implementation does not know.
    UnknownPacketType(u8),
    /// A part does not end where its length says.
    TrailingBytes(&'static str),
    /// An extension other than End follows the End extension, or the End
    /// extension has a length.
    BadEnd,
    /// An unknown extension with the compulsory bit set: answer with an
    /// Error Indication (Unrecognized Extension).
    UnknownCompulsoryExtension(u16),
    /// A field too long for its length field (emission).
    TooLong(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated(what) => write!(f, "truncated {what}"),
            Self::BadVersion(v) => write!(f, "NHRP version {v}, expected 1"),
            Self::BadChecksum => f.write_str("bad NHRP checksum"),
            Self::BadExtensionOffset => f.write_str("extension offset outside the packet"),
            Self::UnknownPacketType(t) => write!(f, "unknown NHRP packet type {t}"),
            Self::TrailingBytes(what) => write!(f, "bytes left over in {what}"),
            Self::BadEnd => f.write_str("malformed End extension"),
            Self::UnknownCompulsoryExtension(t) => {
                write!(f, "unknown compulsory extension {t}")
            }
            Self::TooLong(what) => write!(f, "{what} too long for its length field"),
        }
    }
}

impl std::error::Error for Error {}

type Result<T> = std::result::Result<T, Error>;

/// A Client Information Entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cie {
    /// Code (0 = success in replies).
    pub code: u8,
    /// Prefix length of the client protocol address (0xff: host).
    pub prefix_len: u8,
    /// MTU.
    pub mtu: u16,
    /// Holding time in seconds.
    pub holding_time: u16,
    /// Preference.
    pub preference: u8,
    /// Client NBMA address (at most 63 bytes).
    pub nbma: Vec<u8>,
    /// Client NBMA subaddress (at most 63 bytes).
    pub nbma_sub: Vec<u8>,
    /// Client protocol address.
    pub protocol: Vec<u8>,
}

/// What follows the protocol lengths in the mandatory part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Types 1 to 6: flags, request ID and CIEs.
    Common {
        /// Flags (see [`flags`]).
        flags: u16,
        /// Request ID.
        request_id: u32,
        /// Client information entries.
        cies: Vec<Cie>,
    },
    /// Type 7.
    ErrorIndication {
        /// Error code (RFC 2332 section 5.2.7).
        code: u16,
        /// Offset of the error in the errored packet.
        offset: u16,
        /// The errored packet (or its start).
        packet: Vec<u8>,
    },
    /// Type 8: the redirect a hub sends to the spoke whose packet it
    /// forwarded back out of the same NHRP network.
    TrafficIndication {
        /// Traffic code (0: redirect).
        code: u16,
        /// The packet that caused it (its IP header and some payload).
        packet: Vec<u8>,
    },
}

/// An extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// The compulsory bit.
    pub compulsory: bool,
    /// Its type.
    pub kind: ExtensionType,
    /// Its value.
    pub value: ExtensionValue,
}

/// An extension's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtensionValue {
    /// CIEs (Responder Address, transit records, Cisco NAT).
    Cies(Vec<Cie>),
    /// Anything else, as bytes.
    Raw(Vec<u8>),
}

/// An NHRP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// NBMA address family ([`AFN_IPV4`], [`AFN_IPV6`]).
    pub afn: u16,
    /// Overlay protocol type ([`PROTO_IPV4`], [`PROTO_IPV6`]).
    pub protocol_type: u16,
    /// SNAP of the protocol type (zero for EtherTypes).
    pub snap: [u8; 5],
    /// Hop count.
    pub hop_count: u8,
    /// Packet type.
    pub packet_type: PacketType,
    /// Source NBMA address (at most 63 bytes).
    pub src_nbma: Vec<u8>,
    /// Source NBMA subaddress (at most 63 bytes).
    pub src_nbma_sub: Vec<u8>,
    /// Source protocol address.
    pub src_protocol: Vec<u8>,
    /// Destination protocol address.
    pub dst_protocol: Vec<u8>,
    /// The type-specific part.
    pub body: Body,
    /// Extensions (without the End extension); `None` when the packet has
    /// no extension part at all.
    pub extensions: Option<Vec<Extension>>,
}

/// An address of 4 or 16 bytes as an IP address.
pub fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// An IP address as NHRP address bytes.
pub fn bytes_of(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if n > self.b.len() {
            return Err(Error::Truncated(what));
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// The Internet checksum of `data`.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u64 = data
        .chunks(2)
        .map(|c| u64::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn parse_cies(mut r: Reader<'_>) -> Result<Vec<Cie>> {
    let mut cies = Vec::new();
    while !r.b.is_empty() {
        let code = r.u8("CIE")?;
        let prefix_len = r.u8("CIE")?;
        r.take(2, "CIE")?;
        let mtu = r.u16("CIE")?;
        let holding_time = r.u16("CIE")?;
        let nbma_len = usize::from(r.u8("CIE")? & 0x3f);
        let sub_len = usize::from(r.u8("CIE")? & 0x3f);
        let proto_len = usize::from(r.u8("CIE")?);
        let preference = r.u8("CIE")?;
        cies.push(Cie {
            code,
            prefix_len,
            mtu,
            holding_time,
            preference,
            nbma: r.take(nbma_len, "CIE client NBMA address")?.to_vec(),
            nbma_sub: r.take(sub_len, "CIE client NBMA subaddress")?.to_vec(),
            protocol: r.take(proto_len, "CIE client protocol address")?.to_vec(),
        });
    }
    Ok(cies)
}

impl Packet {
    /// Parses an NHRP packet (the GRE payload of protocol type 0x2001).
    /// Bytes past the packet size (link padding) are ignored.
    pub fn parse(data: &[u8]) -> Result<Self> {
        let mut r = Reader { b: data };
        let fixed = r.take(FIXED_LEN, "fixed header")?;
        let size = usize::from(u16::from_be_bytes([fixed[10], fixed[11]]));
        if size < FIXED_LEN {
            return Err(Error::Truncated("packet size"));
        }
        let pkt = data.get(..size).ok_or(Error::Truncated("packet"))?;
        //= https://www.rfc-editor.org/rfc/rfc2332#section-5.2.0.1
        //# ar$op.version
        //#   This field indicates what version of generic address mapping and
        //#   management protocol is represented by this message.
        if fixed[16] != 1 {
            return Err(Error::BadVersion(fixed[16]));
        }
        // The checksum field is included: a correct packet sums to zero.
        if checksum(pkt) != 0 {
            return Err(Error::BadChecksum);
        }
        let ext_off = usize::from(u16::from_be_bytes([fixed[14], fixed[15]]));
        let mand_end = match ext_off {
            0 => size,
            o if (FIXED_LEN..=size).contains(&o) => o,
            _ => return Err(Error::BadExtensionOffset),
        };
        let packet_type = PacketType(fixed[17]);
        let mut snap = [0u8; 5];
        snap.copy_from_slice(&fixed[4..9]);
        let shl = usize::from(fixed[18] & 0x3f);
        let ssl = usize::from(fixed[19] & 0x3f);

        let mut m = Reader {
            b: &pkt[FIXED_LEN..mand_end],
        };
        let spl = usize::from(m.u8("protocol lengths")?);
        let dpl = usize::from(m.u8("protocol lengths")?);
        enum Kind {
            Common(u16, u32),
            Error(u16, u16),
            Traffic(u16),
        }
        let kind = match packet_type.0 {
            1..=6 => Kind::Common(m.u16("flags")?, m.u32("request ID")?),
            7 => {
                m.take(2, "error indication")?;
                Kind::Error(m.u16("error code")?, m.u16("error offset")?)
            }
            8 => {
                let code = m.u16("traffic code")?;
                m.take(4, "traffic indication")?;
                Kind::Traffic(code)
            }
            t => return Err(Error::UnknownPacketType(t)),
        };
        let src_nbma = m.take(shl, "source NBMA address")?.to_vec();
        let src_nbma_sub = m.take(ssl, "source NBMA subaddress")?.to_vec();
        let src_protocol = m.take(spl, "source protocol address")?.to_vec();
        let dst_protocol = m.take(dpl, "destination protocol address")?.to_vec();
        let body = match kind {
            Kind::Common(flags, request_id) => Body::Common {
                flags,
                request_id,
                cies: parse_cies(m)?,
            },
            Kind::Error(code, offset) => Body::ErrorIndication {
                code,
                offset,
                packet: m.b.to_vec(),
            },
            Kind::Traffic(code) => Body::TrafficIndication {
                code,
                packet: m.b.to_vec(),
            },
        };

        let extensions = if ext_off == 0 {
            None
        } else {
            let mut e = Reader {
                b: &pkt[mand_end..],
            };
            let mut exts = Vec::new();
            let mut ended = false;
            while !e.b.is_empty() {
                if ended {
                    return Err(Error::BadEnd);
                }
                let t = e.u16("extension header")?;
                let len = usize::from(e.u16("extension header")?);
                let value = e.take(len, "extension value")?;
                let kind = ExtensionType(t & 0x3fff);
                let compulsory = t & 0x8000 != 0;
                if kind == ExtensionType::END {
                    if len != 0 {
                        return Err(Error::BadEnd);
                    }
                    ended = true;
                    continue;
                }
                let known = matches!(kind.0, 3 | 4 | 5 | 7 | 8 | 9);
                //= https://www.rfc-editor.org/rfc/rfc2332#section-5.3
                //# If a receiving station does not recognize an extension
                //# and the Compulsory bit is set, then the station MUST
                //# ... send an Error Indication
                if !known && compulsory {
                    return Err(Error::UnknownCompulsoryExtension(kind.0));
                }
                let value = if kind.holds_cies() {
                    ExtensionValue::Cies(parse_cies(Reader { b: value })?)
                } else {
                    ExtensionValue::Raw(value.to_vec())
                };
                exts.push(Extension {
                    compulsory,
                    kind,
                    value,
                });
            }
            Some(exts)
        };
        Ok(Self {
            afn: u16::from_be_bytes([fixed[0], fixed[1]]),
            protocol_type: u16::from_be_bytes([fixed[2], fixed[3]]),
            snap,
            hop_count: fixed[9],
            packet_type,
            src_nbma,
            src_nbma_sub,
            src_protocol,
            dst_protocol,
            body,
            extensions,
        })
    }

    /// Serialises the packet: lengths, extension offset, End extension and
    /// checksum are computed.
    pub fn emit(&self) -> Result<Vec<u8>> {
        let short = |v: &[u8], what| {
            if v.len() > 0x3f {
                Err(Error::TooLong(what))
            } else {
                Ok(v.len() as u8)
            }
        };
        let byte = |v: &[u8], what| u8::try_from(v.len()).map_err(|_| Error::TooLong(what));
        let mut out = vec![0u8; FIXED_LEN];
        out[0..2].copy_from_slice(&self.afn.to_be_bytes());
        out[2..4].copy_from_slice(&self.protocol_type.to_be_bytes());
        out[4..9].copy_from_slice(&self.snap);
        out[9] = self.hop_count;
        out[16] = 1;
        out[17] = self.packet_type.0;
        out[18] = short(&self.src_nbma, "source NBMA address")?;
        out[19] = short(&self.src_nbma_sub, "source NBMA subaddress")?;
        out.push(byte(&self.src_protocol, "source protocol address")?);
        out.push(byte(&self.dst_protocol, "destination protocol address")?);
        let expect = match &self.body {
            Body::Common {
                flags, request_id, ..
            } => {
                out.extend_from_slice(&flags.to_be_bytes());
                out.extend_from_slice(&request_id.to_be_bytes());
                (1..=6).contains(&self.packet_type.0)
            }
            Body::ErrorIndication { code, offset, .. } => {
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&code.to_be_bytes());
                out.extend_from_slice(&offset.to_be_bytes());
                self.packet_type == PacketType::ERROR_INDICATION
            }
            Body::TrafficIndication { code, .. } => {
                out.extend_from_slice(&code.to_be_bytes());
                out.extend_from_slice(&[0; 4]);
                self.packet_type == PacketType::TRAFFIC_INDICATION
            }
        };
        if !expect {
            return Err(Error::UnknownPacketType(self.packet_type.0));
        }
        out.extend_from_slice(&self.src_nbma);
        out.extend_from_slice(&self.src_nbma_sub);
        out.extend_from_slice(&self.src_protocol);
        out.extend_from_slice(&self.dst_protocol);
        match &self.body {
            Body::Common { cies, .. } => emit_cies(&mut out, cies)?,
            Body::ErrorIndication { packet, .. } | Body::TrafficIndication { packet, .. } => {
                out.extend_from_slice(packet)
            }
        }
        if let Some(exts) = &self.extensions {
            let off = u16::try_from(out.len()).map_err(|_| Error::TooLong("packet"))?;
            out[14..16].copy_from_slice(&off.to_be_bytes());
            for e in exts {
                if e.kind == ExtensionType::END {
                    return Err(Error::BadEnd);
                }
                let mut value = Vec::new();
                match &e.value {
                    ExtensionValue::Cies(c) => emit_cies(&mut value, c)?,
                    ExtensionValue::Raw(r) => value.extend_from_slice(r),
                }
                let t = (e.kind.0 & 0x3fff) | if e.compulsory { 0x8000 } else { 0 };
                let len = u16::try_from(value.len()).map_err(|_| Error::TooLong("extension"))?;
                out.extend_from_slice(&t.to_be_bytes());
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&value);
            }
            // The End extension, compulsory.
            out.extend_from_slice(&[0x80, 0, 0, 0]);
        }
        let size = u16::try_from(out.len()).map_err(|_| Error::TooLong("packet"))?;
        out[10..12].copy_from_slice(&size.to_be_bytes());
        let c = checksum(&out);
        out[12..14].copy_from_slice(&c.to_be_bytes());
        Ok(out)
    }

    /// The source NBMA address as an IP address.
    pub fn src_nbma_ip(&self) -> Option<IpAddr> {
        ip_of(&self.src_nbma)
    }
    /// The source protocol address as an IP address.
    pub fn src_protocol_ip(&self) -> Option<IpAddr> {
        ip_of(&self.src_protocol)
    }
    /// The destination protocol address as an IP address.
    pub fn dst_protocol_ip(&self) -> Option<IpAddr> {
        ip_of(&self.dst_protocol)
    }
}

fn emit_cies(out: &mut Vec<u8>, cies: &[Cie]) -> Result<()> {
    for c in cies {
        if c.nbma.len() > 0x3f || c.nbma_sub.len() > 0x3f {
            return Err(Error::TooLong("CIE NBMA address"));
        }
        let pl = u8::try_from(c.protocol.len()).map_err(|_| Error::TooLong("CIE protocol"))?;
        out.push(c.code);
        out.push(c.prefix_len);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&c.mtu.to_be_bytes());
        out.extend_from_slice(&c.holding_time.to_be_bytes());
        out.push(c.nbma.len() as u8);
        out.push(c.nbma_sub.len() as u8);
        out.push(pl);
        out.push(c.preference);
        out.extend_from_slice(&c.nbma);
        out.extend_from_slice(&c.nbma_sub);
        out.extend_from_slice(&c.protocol);
    }
    Ok(())
}

/// Parses `data`, and if it parses, emits it again and checks that the
/// result parses to the same packet. For the fuzz target and its corpus
/// replay test.
pub fn fuzz_parse_all(data: &[u8]) {
    if let Ok(p) = Packet::parse(data) {
        match p.emit() {
            Ok(bytes) => assert_eq!(Packet::parse(&bytes), Ok(p)),
            // Only the End extension we add can push a maximal packet over.
            Err(e) => assert_eq!(e, Error::TooLong("packet")),
        }
    }
}

/// One packet of every type we build, as the dataplane carries them: a
/// Resolution Request with Cisco's extensions, a Reply with CIEs, a Traffic
/// Indication quoting its trigger, an Error Indication quoting a request,
/// and an IPv6 request. For tests, fuzz seeds and tshark cross-checks.
pub fn samples() -> Vec<(&'static str, Packet)> {
    let cie = Cie {
        code: 0,
        prefix_len: 24,
        mtu: 1400,
        holding_time: 600,
        preference: 0,
        nbma: vec![192, 0, 2, 2],
        nbma_sub: vec![],
        protocol: vec![10, 2, 0, 1],
    };
    let base = Packet {
        afn: AFN_IPV4,
        protocol_type: PROTO_IPV4,
        snap: [0; 5],
        hop_count: 255,
        packet_type: PacketType::RESOLUTION_REQUEST,
        src_nbma: vec![192, 0, 2, 1],
        src_nbma_sub: vec![],
        src_protocol: vec![10, 0, 0, 1],
        dst_protocol: vec![10, 2, 0, 7],
        body: Body::Common {
            flags: flags::Q | flags::CISCO_NAT,
            request_id: 7,
            cies: vec![Cie {
                prefix_len: 0xff,
                mtu: 1500,
                holding_time: 7200,
                ..Cie::default()
            }],
        },
        extensions: Some(vec![
            Extension {
                compulsory: true,
                kind: ExtensionType::RESPONDER_ADDRESS,
                value: ExtensionValue::Cies(vec![]),
            },
            Extension {
                compulsory: true,
                kind: ExtensionType::FORWARD_TRANSIT,
                value: ExtensionValue::Cies(vec![]),
            },
            Extension {
                compulsory: true,
                kind: ExtensionType::REVERSE_TRANSIT,
                value: ExtensionValue::Cies(vec![]),
            },
        ]),
    };
    let reply = Packet {
        packet_type: PacketType::RESOLUTION_REPLY,
        body: Body::Common {
            flags: flags::Q | flags::A | flags::U,
            request_id: 7,
            cies: vec![cie.clone()],
        },
        extensions: Some(vec![Extension {
            compulsory: true,
            kind: ExtensionType::RESPONDER_ADDRESS,
            value: ExtensionValue::Cies(vec![cie]),
        }]),
        ..base.clone()
    };
    // An IPv4/UDP header 10.0.0.5:1234 -> 10.2.0.7:53 and 32 payload bytes.
    let mut trigger = vec![
        0x45, 0, 0, 60, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 5, 10, 2, 0, 7, 0x04, 0xd2, 0, 53, 0,
        40, 0, 0,
    ];
    trigger.extend(0..32u8);
    let ti = Packet {
        packet_type: PacketType::TRAFFIC_INDICATION,
        src_nbma: vec![192, 0, 2, 100],
        src_protocol: vec![10, 0, 0, 254],
        dst_protocol: vec![10, 0, 0, 5],
        body: Body::TrafficIndication {
            code: 0,
            packet: trigger,
        },
        extensions: Some(vec![]),
        ..base.clone()
    };
    let err = Packet {
        packet_type: PacketType::ERROR_INDICATION,
        body: Body::ErrorIndication {
            code: 1,
            offset: 0,
            packet: base.emit().unwrap_or_default(),
        },
        extensions: None,
        ..base.clone()
    };
    let v6 = Packet {
        afn: AFN_IPV6,
        protocol_type: PROTO_IPV6,
        src_nbma: "2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets()
            .to_vec(),
        src_protocol: "fd00::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets()
            .to_vec(),
        dst_protocol: "fd00:2::7"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets()
            .to_vec(),
        ..base.clone()
    };
    vec![
        ("resolution-request", base),
        ("resolution-reply", reply),
        ("traffic-indication", ti),
        ("error-indication", err),
        ("resolution-request-ipv6", v6),
    ]
}

#[cfg(test)]
mod tests;
