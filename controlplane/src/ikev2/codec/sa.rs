//! The Security Association payload (RFC 7296 section 3.3): proposals,
//! transforms and transform attributes.
//!
//! The codec checks the structure (lengths, counts, Last Substruc values,
//! SPI sizes per protocol, the Key Length attribute's format). Choosing a
//! proposal, and checking that proposal numbers of a request count up from
//! 1 ([`SaPayload::check_request_numbering`]), is the state machine's job:
//! a response carries the single accepted proposal with its original number.

use super::error::{EmitError, Error, Result};
use super::reader::{count_u8, patch_u16_len, reserve_u16, Reader};
use super::types::{
    DhGroup, EncrId, EsnId, IntegId, PrfId, ProtocolId, TransformAttributeType, TransformType,
};

/// Proposal substructure fixed part.
const PROPOSAL_HEADER_LEN: usize = 8;
/// Transform substructure fixed part.
const TRANSFORM_HEADER_LEN: usize = 8;
/// Last Substruc of a proposal followed by another.
const MORE_PROPOSALS: u8 = 2;
/// Last Substruc of a transform followed by another.
const MORE_TRANSFORMS: u8 = 3;
/// Attribute Format bit: TV when set.
const AF_TV: u16 = 0x8000;

/// An SA payload: one or more proposals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaPayload {
    /// The proposals, in order.
    pub proposals: Vec<Proposal>,
}

/// A proposal substructure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// Proposal Num.
    pub number: u8,
    /// Protocol ID (IKE, AH, ESP).
    pub protocol: ProtocolId,
    /// The SPI: empty in an initial IKE SA negotiation, 8 bytes for an IKE
    /// rekey, 4 for AH and ESP.
    pub spi: Vec<u8>,
    /// The transforms.
    pub transforms: Vec<Transform>,
}

/// A transform substructure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transform {
    /// Transform type and ID.
    pub id: TransformId,
    /// Transform attributes (in practice only Key Length).
    pub attributes: Vec<TransformAttribute>,
}

/// A transform's type and ID, typed per transform type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransformId {
    /// Type 1, encryption algorithm.
    Encr(EncrId),
    /// Type 2, pseudorandom function.
    Prf(PrfId),
    /// Type 3, integrity algorithm.
    Integ(IntegId),
    /// Type 4, Diffie-Hellman group.
    Dh(DhGroup),
    /// Type 5, extended sequence numbers.
    Esn(EsnId),
    /// Another transform type (never one of types 1 to 5).
    Other(TransformType, u16),
}

impl TransformId {
    /// The typed ID of a transform type and ID from the wire.
    #[must_use]
    pub fn new(t: TransformType, id: u16) -> Self {
        match t {
            TransformType::ENCR => Self::Encr(EncrId(id)),
            TransformType::PRF => Self::Prf(PrfId(id)),
            TransformType::INTEG => Self::Integ(IntegId(id)),
            TransformType::DH => Self::Dh(DhGroup(id)),
            TransformType::ESN => Self::Esn(EsnId(id)),
            _ => Self::Other(t, id),
        }
    }

    /// The transform type.
    #[must_use]
    pub fn transform_type(self) -> TransformType {
        match self {
            Self::Encr(_) => TransformType::ENCR,
            Self::Prf(_) => TransformType::PRF,
            Self::Integ(_) => TransformType::INTEG,
            Self::Dh(_) => TransformType::DH,
            Self::Esn(_) => TransformType::ESN,
            Self::Other(t, _) => t,
        }
    }

    /// The transform ID as on the wire.
    #[must_use]
    pub fn raw_id(self) -> u16 {
        match self {
            Self::Encr(v) => v.0,
            Self::Prf(v) => v.0,
            Self::Integ(v) => v.0,
            Self::Dh(v) => v.0,
            Self::Esn(v) => v.0,
            Self::Other(_, v) => v,
        }
    }
}

/// A transform attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformAttribute {
    /// Attribute Type (15 bits).
    pub attr_type: TransformAttributeType,
    /// The value, in TV or TLV format.
    pub value: AttributeValue,
}

/// A transform attribute's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributeValue {
    /// Type/Value format (AF = 1): a two-byte value.
    Tv(u16),
    /// Type/Length/Value format (AF = 0).
    Tlv(Vec<u8>),
}

impl Transform {
    /// A transform without attributes.
    #[must_use]
    pub fn new(id: TransformId) -> Self {
        Self {
            id,
            attributes: Vec::new(),
        }
    }

    /// A transform with a Key Length attribute (bits), as AES-CBC, AES-GCM
    /// and AES-CTR need.
    #[must_use]
    pub fn with_key_length(id: TransformId, bits: u16) -> Self {
        Self {
            id,
            attributes: vec![TransformAttribute {
                attr_type: TransformAttributeType::KEY_LENGTH,
                value: AttributeValue::Tv(bits),
            }],
        }
    }

    /// The Key Length attribute in bits, if present.
    #[must_use]
    pub fn key_length(&self) -> Option<u16> {
        self.attributes.iter().find_map(|a| match a.value {
            AttributeValue::Tv(v) if a.attr_type == TransformAttributeType::KEY_LENGTH => Some(v),
            _ => None,
        })
    }

    fn parse(r: &mut Reader<'_>) -> Result<(Self, bool)> {
        let last = r.u8("transform Last Substruc")?;
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.3.2
        //# Last Substruc (1 octet) - Specifies whether this is the last
        //# Transform Substructure in the Proposal.  This field has a value
        //# of 0 if this was the last Transform Substructure, and a value of
        //# 3 if there are more Transform Substructures.
        let more = match last {
            0 => false,
            MORE_TRANSFORMS => true,
            v => {
                return Err(Error::InvalidValue {
                    what: "transform Last Substruc",
                    value: v.into(),
                })
            }
        };
        let _reserved = r.u8("transform RESERVED")?;
        let length = usize::from(r.u16("Transform Length")?);
        if length < TRANSFORM_HEADER_LEN {
            return Err(Error::InvalidLength {
                what: "Transform Length",
                length,
            });
        }
        let mut body = r.sub(length - 4, "transform")?;
        let t = TransformType(body.u8("Transform Type")?);
        let _reserved = body.u8("transform RESERVED")?;
        let id = TransformId::new(t, body.u16("Transform ID")?);
        let mut attributes = Vec::new();
        while !body.is_empty() {
            attributes.push(TransformAttribute::parse(&mut body)?);
        }
        Ok((Self { id, attributes }, more))
    }

    fn emit(&self, last: bool, out: &mut Vec<u8>) -> core::result::Result<(), EmitError> {
        let start = out.len();
        out.push(if last { 0 } else { MORE_TRANSFORMS });
        out.push(0);
        let at = reserve_u16(out);
        out.push(self.id.transform_type().0);
        out.push(0);
        out.extend_from_slice(&self.id.raw_id().to_be_bytes());
        for a in &self.attributes {
            a.emit(out)?;
        }
        patch_u16_len(out, at, start, "transform")
    }
}

impl TransformAttribute {
    fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let raw = r.u16("attribute type")?;
        let attr_type = TransformAttributeType(raw & !AF_TV);
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.3.5
        //# Attribute Format (AF) (1 bit) - Indicates whether the data
        //# attribute follows the Type/Length/Value (TLV) format or a
        //# shortened Type/Value (TV) format.  If the AF bit is zero (0),
        //# then the attribute uses TLV format; if the AF bit is one (1),
        //# the TV format (with two-byte value) is used.
        let value = if raw & AF_TV != 0 {
            AttributeValue::Tv(r.u16("attribute value")?)
        } else {
            let len = usize::from(r.u16("attribute length")?);
            AttributeValue::Tlv(r.take(len, "attribute value")?.to_vec())
        };
        let a = Self { attr_type, value };
        a.check()?;
        Ok(a)
    }

    fn check(&self) -> Result<()> {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.3.5
        //# Note that only a single attribute type (Key Length) is defined,
        //# and it is fixed length.
        if self.attr_type == TransformAttributeType::KEY_LENGTH
            && matches!(self.value, AttributeValue::Tlv(_))
        {
            return Err(Error::InvalidValue {
                what: "Key Length attribute format (TLV)",
                value: 0,
            });
        }
        if self.attr_type.0 & AF_TV != 0 {
            return Err(Error::InvalidValue {
                what: "attribute type",
                value: self.attr_type.0.into(),
            });
        }
        Ok(())
    }

    fn emit(&self, out: &mut Vec<u8>) -> core::result::Result<(), EmitError> {
        self.check()?;
        match &self.value {
            AttributeValue::Tv(v) => {
                out.extend_from_slice(&(self.attr_type.0 | AF_TV).to_be_bytes());
                out.extend_from_slice(&v.to_be_bytes());
            }
            AttributeValue::Tlv(v) => {
                out.extend_from_slice(&self.attr_type.0.to_be_bytes());
                let at = reserve_u16(out);
                let start = out.len();
                out.extend_from_slice(v);
                patch_u16_len(out, at, start, "attribute value")?;
            }
        }
        Ok(())
    }
}

impl Proposal {
    fn check_spi(&self) -> Result<()> {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.3.1
        //# SPI Size (1 octet) - For an initial IKE SA negotiation, this
        //# field MUST be zero; the SPI is obtained from the outer header.
        //# During subsequent negotiations, it is equal to the size, in
        //# octets, of the SPI of the corresponding protocol (8 for IKE, 4
        //# for ESP and AH).
        let ok = match self.protocol {
            ProtocolId::IKE => matches!(self.spi.len(), 0 | 8),
            ProtocolId::AH | ProtocolId::ESP => self.spi.len() == 4,
            _ => self.spi.len() <= usize::from(u8::MAX),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidLength {
                what: "proposal SPI Size",
                length: self.spi.len(),
            })
        }
    }

    fn parse(r: &mut Reader<'_>) -> Result<(Self, bool)> {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.3.1
        //# Last Substruc (1 octet) - Specifies whether this is the last
        //# Proposal Substructure in the SA.  This field has a value of 0
        //# if this was the last Proposal Substructure, and a value of 2 if
        //# there are more Proposal Substructures.
        let more = match r.u8("proposal Last Substruc")? {
            0 => false,
            MORE_PROPOSALS => true,
            v => {
                return Err(Error::InvalidValue {
                    what: "proposal Last Substruc",
                    value: v.into(),
                })
            }
        };
        let _reserved = r.u8("proposal RESERVED")?;
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.3.1
        //# Proposal Length (2 octets, unsigned integer) - Length of this
        //# proposal, including all transforms and attributes that follow.
        let length = usize::from(r.u16("Proposal Length")?);
        if length < PROPOSAL_HEADER_LEN {
            return Err(Error::InvalidLength {
                what: "Proposal Length",
                length,
            });
        }
        let mut body = r.sub(length - 4, "proposal")?;
        let number = body.u8("Proposal Num")?;
        let protocol = ProtocolId(body.u8("proposal Protocol ID")?);
        let spi_size = usize::from(body.u8("proposal SPI Size")?);
        let num_transforms = usize::from(body.u8("Num Transforms")?);
        let spi = body.take(spi_size, "proposal SPI")?.to_vec();
        let mut transforms = Vec::with_capacity(num_transforms);
        let mut more_transforms = !body.is_empty();
        while more_transforms {
            let (t, more) = Transform::parse(&mut body)?;
            transforms.push(t);
            more_transforms = more;
        }
        body.expect_end("proposal (after the transform marked last)")?;
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.3.1
        //# Num Transforms (1 octet) - The number of transforms in this
        //# proposal.
        if transforms.len() != num_transforms {
            return Err(Error::CountMismatch {
                what: "Num Transforms",
                declared: num_transforms,
                found: transforms.len(),
            });
        }
        let p = Self {
            number,
            protocol,
            spi,
            transforms,
        };
        p.check_spi()?;
        Ok((p, more))
    }

    fn emit(&self, last: bool, out: &mut Vec<u8>) -> core::result::Result<(), EmitError> {
        self.check_spi()?;
        let start = out.len();
        out.push(if last { 0 } else { MORE_PROPOSALS });
        out.push(0);
        let at = reserve_u16(out);
        out.push(self.number);
        out.push(self.protocol.0);
        out.push(count_u8(self.spi.len(), "SPI bytes")?);
        out.push(count_u8(self.transforms.len(), "transforms")?);
        out.extend_from_slice(&self.spi);
        let n = self.transforms.len();
        for (i, t) in self.transforms.iter().enumerate() {
            t.emit(i + 1 == n, out)?;
        }
        patch_u16_len(out, at, start, "proposal")
    }

    /// The transforms of one type, in order.
    pub fn transforms_of(&self, t: TransformType) -> impl Iterator<Item = &Transform> {
        self.transforms
            .iter()
            .filter(move |x| x.id.transform_type() == t)
    }
}

impl SaPayload {
    /// Parses an SA payload body (after the generic payload header).
    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let mut proposals = Vec::new();
        let mut more = true;
        while more {
            if r.is_empty() && proposals.is_empty() {
                return Err(Error::InvalidLength {
                    what: "SA payload without proposals",
                    length: 0,
                });
            }
            let (p, m) = Proposal::parse(r)?;
            proposals.push(p);
            more = m;
        }
        r.expect_end("SA payload (after the proposal marked last)")?;
        Ok(Self { proposals })
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> core::result::Result<(), EmitError> {
        if self.proposals.is_empty() {
            return Err(EmitError::Invalid(Error::InvalidLength {
                what: "SA payload without proposals",
                length: 0,
            }));
        }
        let n = self.proposals.len();
        for (i, p) in self.proposals.iter().enumerate() {
            p.emit(i + 1 == n, out)?;
        }
        Ok(())
    }

    /// Checks the numbering of an SA payload in a request.
    //= https://www.rfc-editor.org/rfc/rfc7296#section-3.3.1
    //# When a proposal is made, the first
    //# proposal in an SA payload MUST be 1, and subsequent proposals MUST
    //# be one more than the previous proposal (indicating an OR of the
    //# two proposals).
    pub fn check_request_numbering(&self) -> Result<()> {
        for (i, p) in self.proposals.iter().enumerate() {
            if usize::from(p.number) != i + 1 {
                return Err(Error::InvalidValue {
                    what: "Proposal Num",
                    value: p.number.into(),
                });
            }
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

    /// One IKE proposal: ENCR_AES_CBC/256, PRF_HMAC_SHA2_256,
    /// AUTH_HMAC_SHA2_256_128, group 14; then one with AES-GCM-16/128 and
    /// Curve25519 (the layout of RFC 7296 section 3.3 figures 6 to 9).
    const SA_BODY: &str = "
        02 00 002c 01 01 00 04
           03 00 000c 01 00 000c 800e 0100
           03 00 0008 02 00 0005
           03 00 0008 03 00 000c
           00 00 0008 04 00 000e
        00 00 0024 02 01 00 03
           03 00 000c 01 00 0014 800e 0080
           03 00 0008 02 00 0005
           00 00 0008 04 00 001f";

    fn expected() -> SaPayload {
        SaPayload {
            proposals: vec![
                Proposal {
                    number: 1,
                    protocol: ProtocolId::IKE,
                    spi: vec![],
                    transforms: vec![
                        Transform::with_key_length(TransformId::Encr(EncrId::AES_CBC), 256),
                        Transform::new(TransformId::Prf(PrfId::HMAC_SHA2_256)),
                        Transform::new(TransformId::Integ(IntegId::HMAC_SHA2_256_128)),
                        Transform::new(TransformId::Dh(DhGroup::MODP_2048)),
                    ],
                },
                Proposal {
                    number: 2,
                    protocol: ProtocolId::IKE,
                    spi: vec![],
                    transforms: vec![
                        Transform::with_key_length(TransformId::Encr(EncrId::AES_GCM_16), 128),
                        Transform::new(TransformId::Prf(PrfId::HMAC_SHA2_256)),
                        Transform::new(TransformId::Dh(DhGroup::CURVE25519)),
                    ],
                },
            ],
        }
    }

    #[test]
    fn test_parse() {
        let b = bytes(SA_BODY);
        let sa = SaPayload::parse(&mut Reader::new(&b)).unwrap();
        assert_eq!(sa, expected());
        assert_eq!(sa.proposals[0].transforms[0].key_length(), Some(256));
        assert_eq!(sa.proposals[0].transforms[1].key_length(), None);
        assert_eq!(sa.proposals[1].transforms_of(TransformType::DH).count(), 1);
        assert_eq!(sa.check_request_numbering(), Ok(()));
    }

    #[test]
    fn test_emit() {
        let mut out = Vec::new();
        expected().emit(&mut out).unwrap();
        assert_eq!(out, bytes(SA_BODY));
    }

    #[test]
    fn test_esp_proposal_and_tlv_attribute() {
        let p = SaPayload {
            proposals: vec![Proposal {
                number: 3,
                protocol: ProtocolId::ESP,
                spi: vec![0xc0, 0, 0, 1],
                transforms: vec![
                    Transform {
                        id: TransformId::Other(TransformType(6), 7),
                        attributes: vec![TransformAttribute {
                            attr_type: TransformAttributeType(99),
                            value: AttributeValue::Tlv(vec![1, 2, 3]),
                        }],
                    },
                    Transform::new(TransformId::Esn(EsnId::NO_ESN)),
                ],
            }],
        };
        let mut out = Vec::new();
        p.emit(&mut out).unwrap();
        assert_eq!(
            out,
            bytes("00 00 0023 03 03 04 02 c0000001 03 00 000f 06 00 0007 0063 0003 010203 00 00 0008 05 00 0000")
        );
        assert_eq!(SaPayload::parse(&mut Reader::new(&out)), Ok(p.clone()));
        assert_eq!(
            p.check_request_numbering(),
            Err(Error::InvalidValue {
                what: "Proposal Num",
                value: 3
            })
        );
    }

    #[test]
    fn test_errors() {
        let good = bytes(SA_BODY);
        let parse = |b: &[u8]| SaPayload::parse(&mut Reader::new(b));
        // Every truncation fails.
        for n in 0..good.len() {
            assert!(parse(&good[..n]).is_err(), "{n}");
        }
        // Bytes after the last proposal.
        let mut b = good.clone();
        b.push(0);
        assert!(matches!(parse(&b), Err(Error::TrailingBytes { .. })));
        // Bad Last Substruc values.
        let mut b = good.clone();
        b[0] = 1;
        assert_eq!(
            parse(&b),
            Err(Error::InvalidValue {
                what: "proposal Last Substruc",
                value: 1
            })
        );
        let mut b = good.clone();
        b[8] = 2;
        assert_eq!(
            parse(&b),
            Err(Error::InvalidValue {
                what: "transform Last Substruc",
                value: 2
            })
        );
        // The first proposal says it is the last: the second is trailing.
        let mut b = good.clone();
        b[0] = 0;
        assert!(matches!(parse(&b), Err(Error::TrailingBytes { .. })));
        // Num Transforms disagrees.
        let mut b = good.clone();
        b[7] = 5;
        assert_eq!(
            parse(&b),
            Err(Error::CountMismatch {
                what: "Num Transforms",
                declared: 5,
                found: 4
            })
        );
        // Proposal and transform lengths under their fixed parts.
        let mut b = good.clone();
        b[3] = 7;
        assert_eq!(
            parse(&b),
            Err(Error::InvalidLength {
                what: "Proposal Length",
                length: 7
            })
        );
        let mut b = good.clone();
        b[11] = 4;
        assert_eq!(
            parse(&b),
            Err(Error::InvalidLength {
                what: "Transform Length",
                length: 4
            })
        );
        // SPI size 4 for IKE.
        let b = bytes("00 00 000c 01 01 04 00 01020304");
        assert_eq!(
            parse(&b),
            Err(Error::InvalidLength {
                what: "proposal SPI Size",
                length: 4
            })
        );
        // ESP without SPI.
        let b = bytes("00 00 0008 01 03 00 00");
        assert!(matches!(parse(&b), Err(Error::InvalidLength { .. })));
        // Key Length as TLV.
        let b = bytes("00 00 0016 01 01 00 01 00 00 000e 01 00 000c 000e 0002 0100");
        assert!(matches!(parse(&b), Err(Error::InvalidValue { .. })));
        // Attribute value running past the transform.
        let b = bytes("00 00 0016 01 01 00 01 00 00 000e 01 00 000c 0063 0009 0100");
        assert!(matches!(parse(&b), Err(Error::Truncated { .. })));
        // Empty SA payload.
        assert!(matches!(parse(&[]), Err(Error::InvalidLength { .. })));
        assert!(matches!(
            SaPayload { proposals: vec![] }.emit(&mut Vec::new()),
            Err(EmitError::Invalid(_))
        ));
    }
}
