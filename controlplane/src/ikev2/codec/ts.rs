//! Traffic Selector payloads, TSi and TSr (RFC 7296 section 3.13).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::{EmitError, Error, Result};
use super::reader::{count_u8, len_u16, Reader};
use super::types::TsType;

/// Length of a TS_IPV4_ADDR_RANGE selector.
const TS_IPV4_LEN: usize = 16;
/// Length of a TS_IPV6_ADDR_RANGE selector.
const TS_IPV6_LEN: usize = 40;
/// Type, IP protocol (or reserved), Selector Length.
const TS_HEADER_LEN: usize = 4;

/// A TSi or TSr payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsPayload {
    /// The traffic selectors (an OR of ranges).
    pub selectors: Vec<TrafficSelector>,
}

/// A range of addresses, ports and an IP protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TsRange<A> {
    /// IP Protocol ID; 0 means any.
    pub ip_protocol: u8,
    /// First port (inclusive).
    pub start_port: u16,
    /// Last port (inclusive); `0..=65535` is any port, `65535..=0` is
    /// OPAQUE.
    pub end_port: u16,
    /// First address (inclusive).
    pub start: A,
    /// Last address (inclusive).
    pub end: A,
}

impl<A> TsRange<A> {
    /// Any protocol and port between two addresses.
    pub fn addresses(start: A, end: A) -> Self {
        Self {
            ip_protocol: 0,
            start_port: 0,
            end_port: u16::MAX,
            start,
            end,
        }
    }
}

/// One traffic selector substructure.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TrafficSelector {
    /// TS_IPV4_ADDR_RANGE.
    Ipv4(TsRange<Ipv4Addr>),
    /// TS_IPV6_ADDR_RANGE.
    Ipv6(TsRange<Ipv6Addr>),
    /// Another TS type (FC, security label), kept as bytes: the octet
    /// after the type and everything after the Selector Length.
    Other {
        /// TS Type (never 7 or 8).
        ts_type: TsType,
        /// The second octet (IP Protocol ID in the address layouts).
        second: u8,
        /// Everything after the Selector Length.
        data: Vec<u8>,
    },
}

impl TrafficSelector {
    /// Its TS Type.
    #[must_use]
    pub fn ts_type(&self) -> TsType {
        match self {
            Self::Ipv4(_) => TsType::IPV4_ADDR_RANGE,
            Self::Ipv6(_) => TsType::IPV6_ADDR_RANGE,
            Self::Other { ts_type, .. } => *ts_type,
        }
    }

    fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let ts_type = TsType(r.u8("TS Type")?);
        let second = r.u8("TS IP Protocol ID")?;
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.13.1
        //# Selector Length (2 octets, unsigned integer) - Specifies the
        //# length of this Traffic Selector substructure including the
        //# header.
        let length = usize::from(r.u16("Selector Length")?);
        let want = match ts_type {
            TsType::IPV4_ADDR_RANGE => Some(TS_IPV4_LEN),
            TsType::IPV6_ADDR_RANGE => Some(TS_IPV6_LEN),
            _ => None,
        };
        if length < TS_HEADER_LEN || want.is_some_and(|w| w != length) {
            return Err(Error::InvalidLength {
                what: "Selector Length",
                length,
            });
        }
        let mut body = r.sub(length - TS_HEADER_LEN, "traffic selector")?;
        let ts = match ts_type {
            //= https://www.rfc-editor.org/rfc/rfc7296#section-3.13.1
            //# TS_IPV4_ADDR_RANGE                  7
            //#
            //#    A range of IPv4 addresses, represented by two four-octet
            //#    values.  The first value is the beginning IPv4 address
            //#    (inclusive) and the second value is the ending IPv4 address
            //#    (inclusive).
            TsType::IPV4_ADDR_RANGE => Self::Ipv4(TsRange {
                ip_protocol: second,
                start_port: body.u16("Start Port")?,
                end_port: body.u16("End Port")?,
                start: Ipv4Addr::from(body.array::<4>("Starting Address")?),
                end: Ipv4Addr::from(body.array::<4>("Ending Address")?),
            }),
            TsType::IPV6_ADDR_RANGE => Self::Ipv6(TsRange {
                ip_protocol: second,
                start_port: body.u16("Start Port")?,
                end_port: body.u16("End Port")?,
                start: Ipv6Addr::from(body.array::<16>("Starting Address")?),
                end: Ipv6Addr::from(body.array::<16>("Ending Address")?),
            }),
            _ => Self::Other {
                ts_type,
                second,
                data: body.rest().to_vec(),
            },
        };
        body.expect_end("traffic selector")?;
        Ok(ts)
    }

    fn emit(&self, out: &mut Vec<u8>) -> core::result::Result<(), EmitError> {
        fn head(out: &mut Vec<u8>, t: TsType, second: u8, len: u16) {
            out.push(t.0);
            out.push(second);
            out.extend_from_slice(&len.to_be_bytes());
        }
        match self {
            Self::Ipv4(r) => {
                head(
                    out,
                    TsType::IPV4_ADDR_RANGE,
                    r.ip_protocol,
                    TS_IPV4_LEN as u16,
                );
                out.extend_from_slice(&r.start_port.to_be_bytes());
                out.extend_from_slice(&r.end_port.to_be_bytes());
                out.extend_from_slice(&r.start.octets());
                out.extend_from_slice(&r.end.octets());
            }
            Self::Ipv6(r) => {
                head(
                    out,
                    TsType::IPV6_ADDR_RANGE,
                    r.ip_protocol,
                    TS_IPV6_LEN as u16,
                );
                out.extend_from_slice(&r.start_port.to_be_bytes());
                out.extend_from_slice(&r.end_port.to_be_bytes());
                out.extend_from_slice(&r.start.octets());
                out.extend_from_slice(&r.end.octets());
            }
            Self::Other {
                ts_type,
                second,
                data,
            } => {
                if matches!(*ts_type, TsType::IPV4_ADDR_RANGE | TsType::IPV6_ADDR_RANGE) {
                    return Err(EmitError::Invalid(Error::InvalidLength {
                        what: "Selector Length",
                        length: data.len() + TS_HEADER_LEN,
                    }));
                }
                let len = len_u16(data.len() + TS_HEADER_LEN, "traffic selector")?;
                head(out, *ts_type, *second, len);
                out.extend_from_slice(data);
            }
        }
        Ok(())
    }
}

impl TsPayload {
    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.13
        //# Number of TSs (1 octet) - Number of Traffic Selectors being
        //# provided.
        let count = usize::from(r.u8("Number of TSs")?);
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.13
        //# RESERVED - This field MUST be sent as zero and MUST be ignored
        //# on receipt.
        let _reserved = r.take(3, "TS RESERVED")?;
        let mut selectors = Vec::with_capacity(count.min(r.remaining() / TS_IPV4_LEN));
        while !r.is_empty() {
            selectors.push(TrafficSelector::parse(r)?);
        }
        if selectors.len() != count {
            return Err(Error::CountMismatch {
                what: "Number of TSs",
                declared: count,
                found: selectors.len(),
            });
        }
        Ok(Self { selectors })
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> core::result::Result<(), EmitError> {
        out.push(count_u8(self.selectors.len(), "traffic selectors")?);
        out.extend_from_slice(&[0; 3]);
        for s in &self.selectors {
            s.emit(out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    // 192.168.1.0/24 any protocol and port; TCP 443 to 2001:db8::/32.
    const TS: &str = "02 000000
        07 00 0010 0000 ffff c0a80100 c0a801ff
        08 06 0028 01bb 01bb 20010db8000000000000000000000000 20010db8ffffffffffffffffffffffff";

    fn expected() -> TsPayload {
        TsPayload {
            selectors: vec![
                TrafficSelector::Ipv4(TsRange::addresses(
                    Ipv4Addr::new(192, 168, 1, 0),
                    Ipv4Addr::new(192, 168, 1, 255),
                )),
                TrafficSelector::Ipv6(TsRange {
                    ip_protocol: 6,
                    start_port: 443,
                    end_port: 443,
                    start: "2001:db8::".parse().unwrap(),
                    end: "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
                }),
            ],
        }
    }

    #[test]
    fn test_parse() {
        let b = bytes(TS);
        let ts = TsPayload::parse(&mut Reader::new(&b)).unwrap();
        assert_eq!(ts, expected());
        assert_eq!(ts.selectors[1].ts_type(), TsType::IPV6_ADDR_RANGE);
    }

    #[test]
    fn test_emit() {
        let mut out = Vec::new();
        expected().emit(&mut out).unwrap();
        assert_eq!(out, bytes(TS));
    }

    #[test]
    fn test_other_type() {
        let b = bytes("01 000000 0a 00 0007 616263");
        let ts = TsPayload::parse(&mut Reader::new(&b)).unwrap();
        assert_eq!(
            ts.selectors[0],
            TrafficSelector::Other {
                ts_type: TsType::SECLABEL,
                second: 0,
                data: b"abc".to_vec()
            }
        );
        let mut out = Vec::new();
        ts.emit(&mut out).unwrap();
        assert_eq!(out, b);
        let bad = TrafficSelector::Other {
            ts_type: TsType::IPV4_ADDR_RANGE,
            second: 0,
            data: vec![],
        };
        assert!(bad.emit(&mut Vec::new()).is_err());
    }

    #[test]
    fn test_errors() {
        let good = bytes(TS);
        let parse = |b: &[u8]| TsPayload::parse(&mut Reader::new(b));
        for n in 0..good.len() {
            if n == 4 + 16 {
                continue; // a whole first selector: a count mismatch
            }
            assert!(parse(&good[..n]).is_err(), "{n}");
        }
        assert_eq!(
            parse(&good[..20]),
            Err(Error::CountMismatch {
                what: "Number of TSs",
                declared: 2,
                found: 1
            })
        );
        let mut b = good.clone();
        b[7] = 0x11;
        assert_eq!(
            parse(&b),
            Err(Error::InvalidLength {
                what: "Selector Length",
                length: 0x11
            })
        );
        let mut b = good.clone();
        b[0] = 3;
        assert!(matches!(parse(&b), Err(Error::CountMismatch { .. })));
        let b = bytes("01 000000 0a 00 0003");
        assert!(matches!(parse(&b), Err(Error::InvalidLength { .. })));
        let b = bytes("01 000000 0a 00 0009 0102");
        assert!(matches!(parse(&b), Err(Error::Truncated { .. })));
    }
}
