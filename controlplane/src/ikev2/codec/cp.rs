//! The Configuration payload, CP (RFC 7296 section 3.15): CFG_REQUEST,
//! CFG_REPLY, CFG_SET, CFG_ACK with their attributes.
//!
//! Attributes are kept as type and value bytes, so unknown and private
//! ones (Cisco FlexVPN's) are carried unchanged; the lengths of the
//! registered types are checked, and typed accessors decode them.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::{EmitError, Error, Result};
use super::reader::{len_u16, Reader};
use super::types::{CfgAttributeType, CfgType};

/// The Reserved bit of the attribute type.
const ATTR_RESERVED_BIT: u16 = 0x8000;

/// A CP payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpPayload {
    /// CFG Type.
    pub cfg_type: CfgType,
    /// The attributes, in order.
    pub attributes: Vec<CfgAttribute>,
}

/// A configuration attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CfgAttribute {
    /// Attribute Type (15 bits).
    pub attr_type: CfgAttributeType,
    /// Value (empty in a request for "any").
    pub value: Vec<u8>,
}

impl CfgAttribute {
    /// An empty attribute (what a CFG_REQUEST asks for).
    #[must_use]
    pub fn request(attr_type: CfgAttributeType) -> Self {
        Self {
            attr_type,
            value: Vec::new(),
        }
    }

    /// An IPv4 attribute (INTERNAL_IP4_ADDRESS, _NETMASK, _DNS, _NBNS,
    /// _DHCP).
    #[must_use]
    pub fn ipv4(attr_type: CfgAttributeType, a: Ipv4Addr) -> Self {
        Self {
            attr_type,
            value: a.octets().to_vec(),
        }
    }

    /// INTERNAL_IP4_SUBNET.
    #[must_use]
    pub fn ipv4_subnet(addr: Ipv4Addr, mask: Ipv4Addr) -> Self {
        let mut value = addr.octets().to_vec();
        value.extend_from_slice(&mask.octets());
        Self {
            attr_type: CfgAttributeType::INTERNAL_IP4_SUBNET,
            value,
        }
    }

    /// INTERNAL_IP6_ADDRESS or INTERNAL_IP6_SUBNET: address and prefix
    /// length.
    #[must_use]
    pub fn ipv6_prefix(attr_type: CfgAttributeType, addr: Ipv6Addr, prefix_len: u8) -> Self {
        let mut value = addr.octets().to_vec();
        value.push(prefix_len);
        Self { attr_type, value }
    }

    /// INTERNAL_IP6_DNS or INTERNAL_IP6_DHCP.
    #[must_use]
    pub fn ipv6(attr_type: CfgAttributeType, a: Ipv6Addr) -> Self {
        Self {
            attr_type,
            value: a.octets().to_vec(),
        }
    }

    /// The IPv4 address of a 4-byte value.
    #[must_use]
    pub fn as_ipv4(&self) -> Option<Ipv4Addr> {
        <[u8; 4]>::try_from(&self.value[..])
            .ok()
            .map(Ipv4Addr::from)
    }

    /// Address and netmask of an 8-byte INTERNAL_IP4_SUBNET.
    #[must_use]
    pub fn as_ipv4_subnet(&self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        let v: [u8; 8] = self.value[..].try_into().ok()?;
        Some((
            Ipv4Addr::new(v[0], v[1], v[2], v[3]),
            Ipv4Addr::new(v[4], v[5], v[6], v[7]),
        ))
    }

    /// The IPv6 address of a 16-byte value.
    #[must_use]
    pub fn as_ipv6(&self) -> Option<Ipv6Addr> {
        <[u8; 16]>::try_from(&self.value[..])
            .ok()
            .map(Ipv6Addr::from)
    }

    /// Address and prefix length of a 17-byte value (INTERNAL_IP6_ADDRESS,
    /// INTERNAL_IP6_SUBNET).
    #[must_use]
    pub fn as_ipv6_prefix(&self) -> Option<(Ipv6Addr, u8)> {
        let (&len, addr) = self.value.split_last()?;
        let a: [u8; 16] = addr.try_into().ok()?;
        Some((Ipv6Addr::from(a), len))
    }

    /// The attribute types listed by SUPPORTED_ATTRIBUTES.
    pub fn supported_attributes(&self) -> impl Iterator<Item = CfgAttributeType> + '_ {
        let v: &[u8] = if self.attr_type == CfgAttributeType::SUPPORTED_ATTRIBUTES {
            &self.value
        } else {
            &[]
        };
        v.chunks_exact(2)
            .map(|c| CfgAttributeType(u16::from_be_bytes([c[0], c[1]]) & !ATTR_RESERVED_BIT))
    }

    fn check(&self) -> Result<()> {
        use CfgAttributeType as T;
        let n = self.value.len();
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.15.1
        //# Attribute Type                 Value  Multi-Valued  Length
        //# ------------------------------------------------------------
        //# INTERNAL_IP4_ADDRESS            1      YES*          0 or 4 octets
        //# INTERNAL_IP4_NETMASK            2      NO            0 or 4 octets
        //# INTERNAL_IP4_DNS                3      YES           0 or 4 octets
        //# INTERNAL_IP4_NBNS               4      YES           0 or 4 octets
        //# INTERNAL_IP4_DHCP               6      YES           0 or 4 octets
        //# APPLICATION_VERSION             7      NO            0 or more
        //# INTERNAL_IP6_ADDRESS            8      YES*          0 or 17 octets
        //# INTERNAL_IP6_DNS               10      YES           0 or 16 octets
        //# INTERNAL_IP6_DHCP              12      YES           0 or 16 octets
        //# INTERNAL_IP4_SUBNET            13      YES           0 or 8 octets
        //# SUPPORTED_ATTRIBUTES           14      NO            Multiple of 2
        //# INTERNAL_IP6_SUBNET            15      YES           17 octets
        let ok = match self.attr_type {
            T::INTERNAL_IP4_ADDRESS
            | T::INTERNAL_IP4_NETMASK
            | T::INTERNAL_IP4_DNS
            | T::INTERNAL_IP4_NBNS
            | T::INTERNAL_IP4_DHCP => matches!(n, 0 | 4),
            T::INTERNAL_IP6_ADDRESS => matches!(n, 0 | 17),
            T::INTERNAL_IP6_DNS | T::INTERNAL_IP6_DHCP => matches!(n, 0 | 16),
            T::INTERNAL_IP4_SUBNET => matches!(n, 0 | 8),
            T::SUPPORTED_ATTRIBUTES => n % 2 == 0,
            // The table says 17; an empty one is accepted in a request, as
            // for every other address attribute.
            T::INTERNAL_IP6_SUBNET => matches!(n, 0 | 17),
            _ => true,
        };
        if !ok {
            return Err(Error::InvalidLength {
                what: "configuration attribute value",
                length: n,
            });
        }
        if self.attr_type.0 & ATTR_RESERVED_BIT != 0 {
            return Err(Error::InvalidValue {
                what: "configuration Attribute Type",
                value: self.attr_type.0.into(),
            });
        }
        Ok(())
    }

    fn parse(r: &mut Reader<'_>) -> Result<Self> {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.15.1
        //# Reserved (1 bit) - This bit MUST be set to zero and MUST be
        //# ignored on receipt.
        let attr_type = CfgAttributeType(r.u16("Attribute Type")? & !ATTR_RESERVED_BIT);
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.15.1
        //# Length (2 octets, unsigned integer) - Length in octets of value.
        let len = usize::from(r.u16("configuration attribute Length")?);
        let a = Self {
            attr_type,
            value: r.take(len, "configuration attribute Value")?.to_vec(),
        };
        a.check()?;
        Ok(a)
    }

    fn emit(&self, out: &mut Vec<u8>) -> core::result::Result<(), EmitError> {
        self.check()?;
        out.extend_from_slice(&self.attr_type.0.to_be_bytes());
        let len = len_u16(self.value.len(), "configuration attribute")?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.value);
        Ok(())
    }
}

impl CpPayload {
    /// The attributes of a type.
    pub fn get(&self, t: CfgAttributeType) -> impl Iterator<Item = &CfgAttribute> {
        self.attributes.iter().filter(move |a| a.attr_type == t)
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let cfg_type = CfgType(r.u8("CFG Type")?);
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.15
        //# RESERVED (3 octets) - MUST be sent as zero; MUST be ignored on
        //# receipt.
        let _reserved = r.take(3, "CP RESERVED")?;
        let mut attributes = Vec::new();
        while !r.is_empty() {
            attributes.push(CfgAttribute::parse(r)?);
        }
        Ok(Self {
            cfg_type,
            attributes,
        })
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> core::result::Result<(), EmitError> {
        out.push(self.cfg_type.0);
        out.extend_from_slice(&[0; 3]);
        for a in &self.attributes {
            a.emit(out)?;
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

    // A spoke's CFG_REQUEST: IPv4 and IPv6 address, DNS, subnets, version,
    // and a Cisco private attribute (28674) with a value.
    const REQUEST: &str = "01 000000
        0001 0000  0008 0000  0003 0000  000d 0000  000f 0000  0007 0000
        7002 0003 616263";

    // The hub's CFG_REPLY: 172.16.0.2/32, DNS, a summary subnet, an IPv6
    // address /64, and the version.
    const REPLY: &str = "02 000000
        0001 0004 ac100002
        0002 0004 ffffffff
        0003 0004 08080808
        000d 0008 c0a80000 ffff0000
        0008 0011 20010db8000000000000000000000002 40
        0007 0005 666c657821";

    #[test]
    fn test_parse_request() {
        let b = bytes(REQUEST);
        let cp = CpPayload::parse(&mut Reader::new(&b)).unwrap();
        assert_eq!(cp.cfg_type, CfgType::REQUEST);
        assert_eq!(cp.attributes.len(), 7);
        assert_eq!(
            cp.attributes[0],
            CfgAttribute::request(CfgAttributeType::INTERNAL_IP4_ADDRESS)
        );
        assert_eq!(cp.attributes[6].attr_type, CfgAttributeType(28674));
        assert_eq!(cp.attributes[6].value, b"abc");
        let mut out = Vec::new();
        cp.emit(&mut out).unwrap();
        assert_eq!(out, b);
    }

    #[test]
    fn test_parse_reply() {
        let b = bytes(REPLY);
        let cp = CpPayload::parse(&mut Reader::new(&b)).unwrap();
        assert_eq!(cp.cfg_type, CfgType::REPLY);
        let a = &cp.attributes;
        assert_eq!(a[0].as_ipv4(), Some(Ipv4Addr::new(172, 16, 0, 2)));
        assert_eq!(
            a[3].as_ipv4_subnet(),
            Some((Ipv4Addr::new(192, 168, 0, 0), Ipv4Addr::new(255, 255, 0, 0)))
        );
        assert_eq!(
            a[4].as_ipv6_prefix(),
            Some(("2001:db8::2".parse().unwrap(), 64))
        );
        assert_eq!(a[5].value, b"flex!");
        assert_eq!(cp.get(CfgAttributeType::INTERNAL_IP4_DNS).count(), 1);
        let built = CpPayload {
            cfg_type: CfgType::REPLY,
            attributes: vec![
                CfgAttribute::ipv4(
                    CfgAttributeType::INTERNAL_IP4_ADDRESS,
                    Ipv4Addr::new(172, 16, 0, 2),
                ),
                CfgAttribute::ipv4(CfgAttributeType::INTERNAL_IP4_NETMASK, Ipv4Addr::BROADCAST),
                CfgAttribute::ipv4(
                    CfgAttributeType::INTERNAL_IP4_DNS,
                    Ipv4Addr::new(8, 8, 8, 8),
                ),
                CfgAttribute::ipv4_subnet(
                    Ipv4Addr::new(192, 168, 0, 0),
                    Ipv4Addr::new(255, 255, 0, 0),
                ),
                CfgAttribute::ipv6_prefix(
                    CfgAttributeType::INTERNAL_IP6_ADDRESS,
                    "2001:db8::2".parse().unwrap(),
                    64,
                ),
                CfgAttribute {
                    attr_type: CfgAttributeType::APPLICATION_VERSION,
                    value: b"flex!".to_vec(),
                },
            ],
        };
        assert_eq!(cp, built);
        let mut out = Vec::new();
        built.emit(&mut out).unwrap();
        assert_eq!(out, b);
    }

    #[test]
    fn test_supported_attributes_and_v6() {
        let a = CfgAttribute {
            attr_type: CfgAttributeType::SUPPORTED_ATTRIBUTES,
            value: vec![0, 1, 0, 8],
        };
        assert_eq!(
            a.supported_attributes().collect::<Vec<_>>(),
            [
                CfgAttributeType::INTERNAL_IP4_ADDRESS,
                CfgAttributeType::INTERNAL_IP6_ADDRESS
            ]
        );
        let d = CfgAttribute::ipv6(CfgAttributeType::INTERNAL_IP6_DNS, Ipv6Addr::LOCALHOST);
        assert_eq!(d.as_ipv6(), Some(Ipv6Addr::LOCALHOST));
        assert_eq!(d.as_ipv4(), None);
    }

    #[test]
    fn test_errors() {
        let parse = |s: &str| CpPayload::parse(&mut Reader::new(&bytes(s)));
        for bad in [
            "01 000000 0001 0003 010203",
            "01 000000 0008 0010 00000000000000000000000000000000",
            "01 000000 000d 0004 01020304",
            "01 000000 000e 0001 01",
            "01 000000 000a 0004 01020304",
            "01 000000 000f 0010 00000000000000000000000000000000",
        ] {
            assert!(
                matches!(parse(bad), Err(Error::InvalidLength { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            parse("01 000000 0001 0004 0102"),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            parse("01 000000 00"),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(parse("01 0000"), Err(Error::Truncated { .. })));
        // The reserved bit is ignored on receipt.
        let cp = parse("01 000000 8001 0000").unwrap();
        assert_eq!(
            cp.attributes[0].attr_type,
            CfgAttributeType::INTERNAL_IP4_ADDRESS
        );
        let bad = CfgAttribute::request(CfgAttributeType(0x8001));
        assert!(bad.emit(&mut Vec::new()).is_err());
    }
}
