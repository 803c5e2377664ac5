//! The simple payloads of RFC 7296 section 3: KE, IDi/IDr, CERT, CERTREQ,
//! AUTH (with RFC 7427 signature data), Nonce, Notify, Delete, Vendor ID and
//! EAP, plus unknown payloads kept as bytes.
//!
//! Each has `parse` over the payload body (after the generic payload
//! header) and `emit`; both run the same `check`, so everything emitted
//! parses back to the same value.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::{EmitError, Error, Result};
use super::reader::Reader;
use super::types::{
    AuthMethod, CertEncoding, DhGroup, EapCode, HashAlgorithm, IdType, NotifyType, PayloadType,
    ProtocolId,
};

type EmitResult = core::result::Result<(), EmitError>;

/// Every simple `emit`: the payload's `check`, then its fixed fields
/// (RESERVED as zeros), then its data.
fn emit_checked(check: Result<()>, out: &mut Vec<u8>, head: &[u8], data: &[u8]) -> EmitResult {
    check?;
    out.extend_from_slice(head);
    out.extend_from_slice(data);
    Ok(())
}

/// The body of CERT and CERTREQ: Cert Encoding, then the data.
fn encoding_and_data(r: &mut Reader<'_>) -> Result<(CertEncoding, Vec<u8>)> {
    Ok((CertEncoding(r.u8("Cert Encoding")?), r.rest().to_vec()))
}

/// Key Exchange payload (RFC 7296 section 3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KePayload {
    /// Diffie-Hellman Group Num.
    pub group: DhGroup,
    /// Key Exchange Data (the public value; its length per group is checked
    /// by the crypto layer).
    pub data: Vec<u8>,
}

impl KePayload {
    fn check(&self) -> Result<()> {
        if self.data.is_empty() {
            return Err(Error::InvalidLength {
                what: "Key Exchange Data",
                length: 0,
            });
        }
        Ok(())
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let group = DhGroup(r.u16("Diffie-Hellman Group Num")?);
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.4
        //# RESERVED (2 octets) - MUST be sent as zero; MUST be ignored on
        //# receipt.
        let _reserved = r.u16("KE RESERVED")?;
        let p = Self {
            group,
            data: r.rest().to_vec(),
        };
        p.check()?;
        Ok(p)
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> EmitResult {
        let [hi, lo] = self.group.0.to_be_bytes();
        emit_checked(self.check(), out, &[hi, lo, 0, 0], &self.data)
    }
}

/// Identification payload, IDi or IDr (RFC 7296 section 3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdPayload {
    /// ID Type.
    pub id_type: IdType,
    /// The three RESERVED octets as received. They are sent as zero, but
    /// the AUTH payload signs the ID payload body as received
    /// (RestOfInitIDPayload, RFC 7296 section 2.15), so they are kept:
    /// [`IdPayload::auth_octets`] gives those bytes.
    pub reserved: [u8; 3],
    /// Identification Data.
    pub data: Vec<u8>,
}

impl IdPayload {
    /// An identity of a type with the reserved octets zero.
    #[must_use]
    pub fn new(id_type: IdType, data: Vec<u8>) -> Self {
        Self {
            id_type,
            reserved: [0; 3],
            data,
        }
    }

    /// ID_IPV4_ADDR or ID_IPV6_ADDR.
    #[must_use]
    pub fn ip(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => Self::new(IdType::IPV4_ADDR, a.octets().to_vec()),
            IpAddr::V6(a) => Self::new(IdType::IPV6_ADDR, a.octets().to_vec()),
        }
    }

    /// ID_FQDN (for example `hub.cisco.com`).
    #[must_use]
    pub fn fqdn(name: &str) -> Self {
        Self::new(IdType::FQDN, name.as_bytes().to_vec())
    }

    /// The address of an ID_IPV4_ADDR or ID_IPV6_ADDR identity.
    #[must_use]
    pub fn as_ip(&self) -> Option<IpAddr> {
        match self.id_type {
            IdType::IPV4_ADDR => <[u8; 4]>::try_from(&self.data[..])
                .ok()
                .map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            IdType::IPV6_ADDR => <[u8; 16]>::try_from(&self.data[..])
                .ok()
                .map(|a| IpAddr::V6(Ipv6Addr::from(a))),
            _ => None,
        }
    }

    /// The name of an ID_FQDN or ID_RFC822_ADDR identity, if it is UTF-8.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self.id_type {
            IdType::FQDN | IdType::RFC822_ADDR => core::str::from_utf8(&self.data).ok(),
            _ => None,
        }
    }

    /// The payload body that AUTH signs: ID Type, the RESERVED octets and
    /// the data, as on the wire (RFC 7296 section 2.15).
    #[must_use]
    pub fn auth_octets(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(4 + self.data.len());
        v.push(self.id_type.0);
        v.extend_from_slice(&self.reserved);
        v.extend_from_slice(&self.data);
        v
    }

    fn check(&self) -> Result<()> {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.5
        //# ID_IPV4_ADDR                        1
        //#    A single four (4) octet IPv4 address.
        let want = match self.id_type {
            IdType::IPV4_ADDR => Some(4),
            //= https://www.rfc-editor.org/rfc/rfc7296#section-3.5
            //# ID_IPV6_ADDR                        5
            //#    A single sixteen (16) octet IPv6 address.
            IdType::IPV6_ADDR => Some(16),
            _ => None,
        };
        match want {
            Some(n) if n != self.data.len() => Err(Error::InvalidLength {
                what: "Identification Data",
                length: self.data.len(),
            }),
            _ => Ok(()),
        }
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let id_type = IdType(r.u8("ID Type")?);
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.5
        //# RESERVED -- MUST be sent as zero; MUST be ignored on receipt.
        let reserved = r.array("ID RESERVED")?;
        let p = Self {
            id_type,
            reserved,
            data: r.rest().to_vec(),
        };
        p.check()?;
        Ok(p)
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> EmitResult {
        emit_checked(self.check(), out, &[], &self.auth_octets())
    }
}

/// Certificate payload (RFC 7296 section 3.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertPayload {
    /// Certificate Encoding.
    pub encoding: CertEncoding,
    /// Certificate Data (a DER certificate for X509_SIGNATURE).
    pub data: Vec<u8>,
}

impl CertPayload {
    fn check(&self) -> Result<()> {
        if self.data.is_empty() {
            return Err(Error::InvalidLength {
                what: "Certificate Data",
                length: 0,
            });
        }
        Ok(())
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let (encoding, data) = encoding_and_data(r)?;
        let p = Self { encoding, data };
        p.check()?;
        Ok(p)
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> EmitResult {
        emit_checked(self.check(), out, &[self.encoding.0], &self.data)
    }
}

/// Certificate Request payload (RFC 7296 section 3.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertReqPayload {
    /// Certificate Encoding requested.
    pub encoding: CertEncoding,
    /// Certification Authority data: for X509_SIGNATURE, concatenated
    /// 20-byte SHA-1 hashes of trusted CAs' public keys (may be empty).
    pub data: Vec<u8>,
}

/// SHA-1 hash length of CERTREQ authority entries.
pub const CA_HASH_LEN: usize = 20;

impl CertReqPayload {
    /// The CA public key hashes of an X509_SIGNATURE request.
    pub fn ca_hashes(&self) -> impl Iterator<Item = &[u8]> {
        self.data.chunks_exact(CA_HASH_LEN)
    }

    fn check(&self) -> Result<()> {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.7
        //# The Certification Authority value is a concatenated
        //# list of SHA-1 hashes of the public keys of trusted Certification
        //# Authorities (CAs).
        if self.encoding == CertEncoding::X509_SIGNATURE && self.data.len() % CA_HASH_LEN != 0 {
            return Err(Error::InvalidLength {
                what: "CERTREQ Certification Authority",
                length: self.data.len(),
            });
        }
        Ok(())
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let (encoding, data) = encoding_and_data(r)?;
        let p = Self { encoding, data };
        p.check()?;
        Ok(p)
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> EmitResult {
        emit_checked(self.check(), out, &[self.encoding.0], &self.data)
    }
}

/// Authentication payload (RFC 7296 section 3.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthPayload {
    /// Auth Method.
    pub method: AuthMethod,
    /// Authentication Data. For [`AuthMethod::DIGITAL_SIGNATURE`] see
    /// [`AuthPayload::signature`].
    pub data: Vec<u8>,
}

/// The Authentication Data of RFC 7427 section 3 (method 14): the signature
/// algorithm's DER AlgorithmIdentifier, then the signature value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureAuthData<'a> {
    /// DER AlgorithmIdentifier (see [`sig_alg`] for common ones).
    pub algorithm: &'a [u8],
    /// Signature Value.
    pub signature: &'a [u8],
}

/// DER AlgorithmIdentifiers for RFC 7427 authentication (RFC 7427
/// appendix A, RFC 8420 for Ed25519).
pub mod sig_alg {
    /// sha256WithRSAEncryption (PKCS #1 v1.5), NULL parameters.
    pub const SHA256_WITH_RSA: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
    ];
    /// sha384WithRSAEncryption, NULL parameters.
    pub const SHA384_WITH_RSA: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00,
    ];
    /// sha512WithRSAEncryption, NULL parameters.
    pub const SHA512_WITH_RSA: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00,
    ];
    /// ecdsa-with-SHA256.
    pub const ECDSA_WITH_SHA256: &[u8] = &[
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
    ];
    /// ecdsa-with-SHA384.
    pub const ECDSA_WITH_SHA384: &[u8] = &[
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
    ];
    /// ecdsa-with-SHA512.
    pub const ECDSA_WITH_SHA512: &[u8] = &[
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04,
    ];
    /// Ed25519 (RFC 8420).
    pub const ED25519: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
}

impl AuthPayload {
    /// An RFC 7427 Digital Signature AUTH payload.
    pub fn digital_signature(
        algorithm: &[u8],
        signature: &[u8],
    ) -> core::result::Result<Self, EmitError> {
        let len = u8::try_from(algorithm.len()).map_err(|_| EmitError::TooLong {
            what: "AlgorithmIdentifier",
            length: algorithm.len(),
        })?;
        let mut data = Vec::with_capacity(1 + algorithm.len() + signature.len());
        data.push(len);
        data.extend_from_slice(algorithm);
        data.extend_from_slice(signature);
        let p = Self {
            method: AuthMethod::DIGITAL_SIGNATURE,
            data,
        };
        p.check()?;
        Ok(p)
    }

    /// The AlgorithmIdentifier and signature of a Digital Signature (14)
    /// AUTH payload; `None` for other methods.
    #[must_use]
    pub fn signature(&self) -> Option<SignatureAuthData<'_>> {
        if self.method != AuthMethod::DIGITAL_SIGNATURE {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        let len = usize::from(len);
        if len == 0 || len >= rest.len() {
            return None;
        }
        let (algorithm, signature) = rest.split_at(len);
        Some(SignatureAuthData {
            algorithm,
            signature,
        })
    }

    fn check(&self) -> Result<()> {
        if self.data.is_empty() {
            return Err(Error::InvalidLength {
                what: "Authentication Data",
                length: 0,
            });
        }
        //= https://www.rfc-editor.org/rfc/rfc7427#section-3
        //# ASN.1 Length (1 octet) - The length of the ASN.1 encoded
        //# AlgorithmIdentifier object.
        if self.method == AuthMethod::DIGITAL_SIGNATURE && self.signature().is_none() {
            return Err(Error::InvalidLength {
                what: "RFC 7427 ASN.1 Length",
                length: usize::from(self.data[0]),
            });
        }
        Ok(())
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let method = AuthMethod(r.u8("Auth Method")?);
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.8
        //# RESERVED (3 octets) - MUST be sent as zero; MUST be ignored on
        //# receipt.
        let _reserved = r.take(3, "AUTH RESERVED")?;
        let p = Self {
            method,
            data: r.rest().to_vec(),
        };
        p.check()?;
        Ok(p)
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> EmitResult {
        emit_checked(self.check(), out, &[self.method.0, 0, 0, 0], &self.data)
    }
}

/// Nonce payload (RFC 7296 section 3.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoncePayload {
    /// Nonce Data, 16 to 256 bytes.
    pub data: Vec<u8>,
}

/// Smallest nonce.
pub const NONCE_MIN: usize = 16;
/// Largest nonce.
pub const NONCE_MAX: usize = 256;

impl NoncePayload {
    fn check(&self) -> Result<()> {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.9
        //# The size of the Nonce Data MUST be between 16 and 256 octets,
        //# inclusive.
        if !(NONCE_MIN..=NONCE_MAX).contains(&self.data.len()) {
            return Err(Error::InvalidLength {
                what: "Nonce Data",
                length: self.data.len(),
            });
        }
        Ok(())
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let p = Self {
            data: r.rest().to_vec(),
        };
        p.check()?;
        Ok(p)
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> EmitResult {
        emit_checked(self.check(), out, &[], &self.data)
    }
}

/// Notify payload (RFC 7296 section 3.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyPayload {
    /// Protocol ID: AH or ESP for notifications about a Child SA whose SPI
    /// is given, otherwise NONE (zero) on sending; ignored on receipt
    /// when the SPI is empty.
    pub protocol: ProtocolId,
    /// SPI (empty, or 4 bytes for Child SA notifications).
    pub spi: Vec<u8>,
    /// Notify Message Type.
    pub notify_type: NotifyType,
    /// Notification Data.
    pub data: Vec<u8>,
}

/// Length of the NAT detection hash (SHA-1).
pub const NAT_DETECTION_LEN: usize = 20;
/// Longest COOKIE.
pub const COOKIE_MAX: usize = 64;

impl NotifyPayload {
    /// A notify about no SA in particular (protocol 0, no SPI).
    #[must_use]
    pub fn new(notify_type: NotifyType, data: Vec<u8>) -> Self {
        Self {
            protocol: ProtocolId::NONE,
            spi: Vec::new(),
            notify_type,
            data,
        }
    }

    /// A notify about a Child SA (REKEY_SA, CHILD_SA_NOT_FOUND,
    /// INVALID_SELECTORS).
    #[must_use]
    pub fn with_spi(
        notify_type: NotifyType,
        protocol: ProtocolId,
        spi: u32,
        data: Vec<u8>,
    ) -> Self {
        Self {
            protocol,
            spi: spi.to_be_bytes().to_vec(),
            notify_type,
            data,
        }
    }

    /// NAT_DETECTION_SOURCE_IP with its SHA-1 hash.
    #[must_use]
    pub fn nat_detection_source(hash: [u8; NAT_DETECTION_LEN]) -> Self {
        Self::new(NotifyType::NAT_DETECTION_SOURCE_IP, hash.to_vec())
    }

    /// NAT_DETECTION_DESTINATION_IP with its SHA-1 hash.
    #[must_use]
    pub fn nat_detection_destination(hash: [u8; NAT_DETECTION_LEN]) -> Self {
        Self::new(NotifyType::NAT_DETECTION_DESTINATION_IP, hash.to_vec())
    }

    /// INVALID_KE_PAYLOAD naming the accepted group.
    #[must_use]
    pub fn invalid_ke(group: DhGroup) -> Self {
        Self::new(
            NotifyType::INVALID_KE_PAYLOAD,
            group.0.to_be_bytes().to_vec(),
        )
    }

    /// UNSUPPORTED_CRITICAL_PAYLOAD naming the payload type.
    #[must_use]
    pub fn unsupported_critical(t: PayloadType) -> Self {
        Self::new(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, vec![t.0])
    }

    /// SET_WINDOW_SIZE.
    #[must_use]
    pub fn window_size(size: u32) -> Self {
        Self::new(NotifyType::SET_WINDOW_SIZE, size.to_be_bytes().to_vec())
    }

    /// SIGNATURE_HASH_ALGORITHMS.
    #[must_use]
    pub fn signature_hash_algorithms(algs: &[HashAlgorithm]) -> Self {
        Self::new(
            NotifyType::SIGNATURE_HASH_ALGORITHMS,
            algs.iter().flat_map(|a| a.0.to_be_bytes()).collect(),
        )
    }

    /// The NAT detection hash of NAT_DETECTION_SOURCE_IP or
    /// NAT_DETECTION_DESTINATION_IP.
    #[must_use]
    pub fn nat_detection_hash(&self) -> Option<[u8; NAT_DETECTION_LEN]> {
        match self.notify_type {
            NotifyType::NAT_DETECTION_SOURCE_IP | NotifyType::NAT_DETECTION_DESTINATION_IP => {
                self.data[..].try_into().ok()
            }
            _ => None,
        }
    }

    /// The group of INVALID_KE_PAYLOAD.
    #[must_use]
    pub fn invalid_ke_group(&self) -> Option<DhGroup> {
        match (self.notify_type, &self.data[..]) {
            (NotifyType::INVALID_KE_PAYLOAD, &[a, b]) => Some(DhGroup(u16::from_be_bytes([a, b]))),
            _ => None,
        }
    }

    /// The payload type of UNSUPPORTED_CRITICAL_PAYLOAD.
    #[must_use]
    pub fn unsupported_critical_type(&self) -> Option<PayloadType> {
        match (self.notify_type, &self.data[..]) {
            (NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, &[t]) => Some(PayloadType(t)),
            _ => None,
        }
    }

    /// The window of SET_WINDOW_SIZE.
    #[must_use]
    pub fn window(&self) -> Option<u32> {
        match (self.notify_type, &self.data[..]) {
            (NotifyType::SET_WINDOW_SIZE, &[a, b, c, d]) => Some(u32::from_be_bytes([a, b, c, d])),
            _ => None,
        }
    }

    /// The hash algorithms of SIGNATURE_HASH_ALGORITHMS.
    pub fn hash_algorithms(&self) -> impl Iterator<Item = HashAlgorithm> + '_ {
        let data: &[u8] = if self.notify_type == NotifyType::SIGNATURE_HASH_ALGORITHMS {
            &self.data
        } else {
            &[]
        };
        data.chunks_exact(2)
            .map(|c| HashAlgorithm(u16::from_be_bytes([c[0], c[1]])))
    }

    /// The SPI of a Child SA notify, as a 32-bit number.
    #[must_use]
    pub fn spi_u32(&self) -> Option<u32> {
        <[u8; 4]>::try_from(&self.spi[..])
            .ok()
            .map(u32::from_be_bytes)
    }

    fn check(&self) -> Result<()> {
        let bad_data = || Error::InvalidLength {
            what: "Notification Data",
            length: self.data.len(),
        };
        let n = self.data.len();
        match self.notify_type {
            //= https://www.rfc-editor.org/rfc/rfc7296#section-3.10
            //# Of the notifications defined in this document, the SPI
            //# is included only with INVALID_SELECTORS, REKEY_SA, and
            //# CHILD_SA_NOT_FOUND.
            //
            //= https://www.rfc-editor.org/rfc/rfc7296#section-3.10
            //# For notifications concerning Child SAs, this field MUST contain
            //# either (2) to indicate AH or (3) to indicate ESP.
            NotifyType::INVALID_SELECTORS
            | NotifyType::REKEY_SA
            | NotifyType::CHILD_SA_NOT_FOUND => {
                if self.spi.len() != 4 {
                    return Err(Error::InvalidLength {
                        what: "Notify SPI",
                        length: self.spi.len(),
                    });
                }
                if !matches!(self.protocol, ProtocolId::AH | ProtocolId::ESP) {
                    return Err(Error::InvalidValue {
                        what: "Notify Protocol ID",
                        value: self.protocol.0.into(),
                    });
                }
            }
            NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD if n != 1 => return Err(bad_data()),
            NotifyType::INVALID_KE_PAYLOAD if n != 2 => return Err(bad_data()),
            NotifyType::SET_WINDOW_SIZE if n != 4 => return Err(bad_data()),
            NotifyType::NAT_DETECTION_SOURCE_IP | NotifyType::NAT_DETECTION_DESTINATION_IP
                if n != NAT_DETECTION_LEN =>
            {
                return Err(bad_data())
            }
            //= https://www.rfc-editor.org/rfc/rfc7296#section-2.6
            //# The data associated with this notification MUST be
            //# between 1 and 64 octets in length (inclusive)
            NotifyType::COOKIE if !(1..=COOKIE_MAX).contains(&n) => return Err(bad_data()),
            NotifyType::SIGNATURE_HASH_ALGORITHMS if n % 2 != 0 => return Err(bad_data()),
            //= https://www.rfc-editor.org/rfc/rfc7383#section-2.3
            //# SPI Size (1 octet) MUST be 0, meaning no SPI is present.
            //
            // The notification carries no data either.
            NotifyType::IKEV2_FRAGMENTATION_SUPPORTED if n != 0 || !self.spi.is_empty() => {
                return Err(bad_data())
            }
            _ => {}
        }
        Ok(())
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let protocol = ProtocolId(r.u8("Notify Protocol ID")?);
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.10
        //# SPI Size (1 octet) - Length in octets of the SPI as defined by the
        //# IPsec protocol ID or zero if no SPI is applicable.
        let spi_size = usize::from(r.u8("Notify SPI Size")?);
        let notify_type = NotifyType(r.u16("Notify Message Type")?);
        let spi = r.take(spi_size, "Notify SPI")?.to_vec();
        let p = Self {
            // Ignored without an SPI (see `emit`).
            protocol: if spi.is_empty() {
                ProtocolId::NONE
            } else {
                protocol
            },
            spi,
            notify_type,
            data: r.rest().to_vec(),
        };
        p.check()?;
        Ok(p)
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> EmitResult {
        self.check()?;
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.10
        //# If the SPI field is empty,
        //# this field MUST be sent as zero and MUST be ignored on receipt.
        out.push(if self.spi.is_empty() {
            0
        } else {
            self.protocol.0
        });
        out.push(super::reader::count_u8(self.spi.len(), "Notify SPI bytes")?);
        out.extend_from_slice(&self.notify_type.0.to_be_bytes());
        out.extend_from_slice(&self.spi);
        out.extend_from_slice(&self.data);
        Ok(())
    }
}

/// Delete payload (RFC 7296 section 3.11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletePayload {
    /// IKE (the SA of the message; no SPIs), AH or ESP.
    pub protocol: ProtocolId,
    /// The SPIs of the Child SAs to delete (empty for IKE).
    pub spis: Vec<u32>,
}

impl DeletePayload {
    fn spi_size(&self) -> Result<usize> {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.11
        //# Protocol ID (1 octet) - Must be 1 for an IKE SA, 2 for AH, or 3
        //# for ESP.
        match self.protocol {
            ProtocolId::IKE => Ok(0),
            ProtocolId::AH | ProtocolId::ESP => Ok(4),
            p => Err(Error::InvalidValue {
                what: "Delete Protocol ID",
                value: p.0.into(),
            }),
        }
    }

    fn check(&self) -> Result<()> {
        if self.spi_size()? == 0 && !self.spis.is_empty() {
            return Err(Error::CountMismatch {
                what: "Delete Num of SPIs",
                declared: self.spis.len(),
                found: 0,
            });
        }
        Ok(())
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let protocol = ProtocolId(r.u8("Delete Protocol ID")?);
        let spi_size = usize::from(r.u8("Delete SPI Size")?);
        let num = usize::from(r.u16("Delete Num of SPIs")?);
        let mut p = Self {
            protocol,
            spis: Vec::new(),
        };
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.11
        //# SPI Size (1 octet) - Length in octets of the SPI as defined by the
        //# protocol ID.  It MUST be zero for IKE (SPI is in message header)
        //# or four for AH and ESP.
        if spi_size != p.spi_size()? {
            return Err(Error::InvalidLength {
                what: "Delete SPI Size",
                length: spi_size,
            });
        }
        if spi_size == 0 {
            if num != 0 {
                return Err(Error::CountMismatch {
                    what: "Delete Num of SPIs",
                    declared: num,
                    found: 0,
                });
            }
        } else {
            //= https://www.rfc-editor.org/rfc/rfc7296#section-3.11
            //# Num of SPIs (2 octets, unsigned integer) - The number of SPIs
            //# contained in the Delete payload.  The size of each SPI is
            //# defined by the SPI Size field.
            if r.remaining() != num * spi_size {
                return Err(Error::CountMismatch {
                    what: "Delete Num of SPIs",
                    declared: num,
                    found: r.remaining() / spi_size,
                });
            }
            for _ in 0..num {
                p.spis.push(r.u32("Delete SPI")?);
            }
        }
        Ok(p)
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> EmitResult {
        self.check()?;
        let size = self.spi_size()?;
        out.push(self.protocol.0);
        out.push(size as u8);
        let num = super::reader::len_u16(self.spis.len(), "Delete Num of SPIs")?;
        out.extend_from_slice(&num.to_be_bytes());
        for s in &self.spis {
            out.extend_from_slice(&s.to_be_bytes());
        }
        Ok(())
    }
}

/// Vendor ID payload (RFC 7296 section 3.12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorIdPayload {
    /// The Vendor ID.
    pub data: Vec<u8>,
}

impl VendorIdPayload {
    fn check(&self) -> Result<()> {
        if self.data.is_empty() {
            return Err(Error::InvalidLength {
                what: "Vendor ID",
                length: 0,
            });
        }
        Ok(())
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let p = Self {
            data: r.rest().to_vec(),
        };
        p.check()?;
        Ok(p)
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> EmitResult {
        emit_checked(self.check(), out, &[], &self.data)
    }
}

/// EAP payload (RFC 7296 section 3.16): the EAP message, kept as bytes
/// after checking its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EapPayload {
    /// The whole EAP message (Code, Identifier, Length, Type, Type Data).
    pub message: Vec<u8>,
}

/// EAP header length (Code, Identifier, Length).
const EAP_HEADER_LEN: usize = 4;

impl EapPayload {
    /// EAP Code.
    #[must_use]
    pub fn code(&self) -> EapCode {
        EapCode(self.message.first().copied().unwrap_or(0))
    }

    /// EAP Identifier.
    #[must_use]
    pub fn identifier(&self) -> u8 {
        self.message.get(1).copied().unwrap_or(0)
    }

    /// EAP Type of a Request or Response.
    #[must_use]
    pub fn eap_type(&self) -> Option<u8> {
        match self.code() {
            EapCode::REQUEST | EapCode::RESPONSE => self.message.get(EAP_HEADER_LEN).copied(),
            _ => None,
        }
    }

    fn check(&self) -> Result<()> {
        let m = &self.message;
        if m.len() < EAP_HEADER_LEN {
            return Err(Error::InvalidLength {
                what: "EAP message",
                length: m.len(),
            });
        }
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.16
        //# Length (2 octets, unsigned integer) is the length of the EAP
        //# message and MUST be four less than the Payload Length of the
        //# encapsulating payload.
        let len = usize::from(u16::from_be_bytes([m[2], m[3]]));
        if len != m.len() {
            return Err(Error::InvalidLength {
                what: "EAP Length",
                length: len,
            });
        }
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.16
        //# Code (1 octet) indicates whether this message is a
        //# Request (1), Response (2), Success (3), or Failure (4).
        let min = match self.code() {
            EapCode::REQUEST | EapCode::RESPONSE => EAP_HEADER_LEN + 1,
            EapCode::SUCCESS | EapCode::FAILURE => EAP_HEADER_LEN,
            // RFC 6867 (ERP in IKEv2) also carries EAP-Initiate and
            // EAP-Finish (RFC 6696), which have a Type octet.
            EapCode::INITIATE | EapCode::FINISH => EAP_HEADER_LEN + 1,
            c => {
                return Err(Error::InvalidValue {
                    what: "EAP Code",
                    value: c.0.into(),
                })
            }
        };
        // RFC 3748 section 4.2: Success and Failure are exactly 4 bytes.
        let exact = matches!(self.code(), EapCode::SUCCESS | EapCode::FAILURE);
        if m.len() < min || (exact && m.len() != min) {
            return Err(Error::InvalidLength {
                what: "EAP message",
                length: m.len(),
            });
        }
        Ok(())
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let p = Self {
            message: r.rest().to_vec(),
        };
        p.check()?;
        Ok(p)
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> EmitResult {
        emit_checked(self.check(), out, &[], &self.message)
    }
}

/// A payload of a type this codec does not parse, received without the
/// critical bit: kept (to log it) and otherwise ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPayload {
    /// Its payload type.
    pub payload_type: PayloadType,
    /// Its body.
    pub data: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    fn round<T: PartialEq + core::fmt::Debug>(
        body: &[u8],
        parse: fn(&mut Reader<'_>) -> Result<T>,
        emit: fn(&T, &mut Vec<u8>) -> EmitResult,
    ) -> T {
        let mut r = Reader::new(body);
        let v = parse(&mut r).unwrap();
        assert!(r.is_empty());
        let mut out = Vec::new();
        emit(&v, &mut out).unwrap();
        assert_eq!(out, body);
        v
    }

    fn parse_err<T: core::fmt::Debug>(
        body: &[u8],
        parse: fn(&mut Reader<'_>) -> Result<T>,
    ) -> Error {
        parse(&mut Reader::new(body)).unwrap_err()
    }

    #[test]
    fn test_ke() {
        let b = bytes("001f 0000 0102030405060708091011121314151617181920212223242526272829303132");
        let ke = round(&b, KePayload::parse, KePayload::emit);
        assert_eq!(ke.group, DhGroup::CURVE25519);
        assert_eq!(ke.data.len(), 32);
        // Reserved ignored on receipt, zero on sending.
        let mut r = b.clone();
        r[3] = 1;
        assert_eq!(KePayload::parse(&mut Reader::new(&r)), Ok(ke));
        assert!(matches!(
            parse_err(&b[..3], KePayload::parse),
            Error::Truncated { .. }
        ));
        assert!(matches!(
            parse_err(&b[..4], KePayload::parse),
            Error::InvalidLength { .. }
        ));
    }

    #[test]
    fn test_id() {
        let b = bytes("02 000000 6875622e636973636f2e636f6d");
        let id = round(&b, IdPayload::parse, IdPayload::emit);
        assert_eq!(id, IdPayload::fqdn("hub.cisco.com"));
        assert_eq!(id.as_str(), Some("hub.cisco.com"));
        assert_eq!(id.as_ip(), None);
        let b = bytes("01 000000 0a000064");
        let id = round(&b, IdPayload::parse, IdPayload::emit);
        assert_eq!(id.as_ip(), Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100))));
        assert_eq!(IdPayload::ip("10.0.0.100".parse().unwrap()), id);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let mut out = Vec::new();
        IdPayload::ip(v6).emit(&mut out).unwrap();
        assert_eq!(
            IdPayload::parse(&mut Reader::new(&out)).unwrap().as_ip(),
            Some(v6)
        );
        // Reserved bytes kept for AUTH.
        let b = bytes("02 010203 61");
        let id = round(&b, IdPayload::parse, IdPayload::emit);
        assert_eq!(id.auth_octets(), b);
        assert!(matches!(
            parse_err(&bytes("01 000000 0a0000"), IdPayload::parse),
            Error::InvalidLength { .. }
        ));
        assert!(matches!(
            parse_err(&bytes("05 000000 0a000001"), IdPayload::parse),
            Error::InvalidLength { .. }
        ));
        assert!(matches!(
            parse_err(&bytes("02 0000"), IdPayload::parse),
            Error::Truncated { .. }
        ));
    }

    #[test]
    fn test_cert_certreq() {
        let b = bytes("04 308201");
        let c = round(&b, CertPayload::parse, CertPayload::emit);
        assert_eq!(c.encoding, CertEncoding::X509_SIGNATURE);
        assert!(matches!(
            parse_err(&bytes("04"), CertPayload::parse),
            Error::InvalidLength { .. }
        ));
        assert!(matches!(
            parse_err(&[], CertPayload::parse),
            Error::Truncated { .. }
        ));
        let mut b = vec![4];
        b.extend_from_slice(&[0xaa; 40]);
        let r = round(&b, CertReqPayload::parse, CertReqPayload::emit);
        assert_eq!(r.ca_hashes().count(), 2);
        round(&[4], CertReqPayload::parse, CertReqPayload::emit);
        assert!(matches!(
            parse_err(&b[..30], CertReqPayload::parse),
            Error::InvalidLength { .. }
        ));
        // Other encodings are not checked.
        round(
            &bytes("0c 0102"),
            CertReqPayload::parse,
            CertReqPayload::emit,
        );
    }

    #[test]
    fn test_auth() {
        let b = bytes("02 000000 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
        let a = round(&b, AuthPayload::parse, AuthPayload::emit);
        assert_eq!(a.method, AuthMethod::SHARED_KEY_MIC);
        assert_eq!(a.signature(), None);
        // RFC 7427: ASN.1 length, AlgorithmIdentifier, signature.
        let sig = [0x55u8; 8];
        let a = AuthPayload::digital_signature(sig_alg::ECDSA_WITH_SHA256, &sig).unwrap();
        let mut out = Vec::new();
        a.emit(&mut out).unwrap();
        assert_eq!(&out[..5], &[14, 0, 0, 0, 12]);
        assert_eq!(&out[5..17], sig_alg::ECDSA_WITH_SHA256);
        let back = round(&out, AuthPayload::parse, AuthPayload::emit);
        assert_eq!(
            back.signature(),
            Some(SignatureAuthData {
                algorithm: sig_alg::ECDSA_WITH_SHA256,
                signature: &sig
            })
        );
        // ASN.1 length past the end, zero, or leaving no signature.
        for bad in ["0e000000 20 300a", "0e000000 00 01", "0e000000 02 3000"] {
            assert!(
                matches!(
                    parse_err(&bytes(bad), AuthPayload::parse),
                    Error::InvalidLength { .. }
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_err(&bytes("01000000"), AuthPayload::parse),
            Error::InvalidLength { .. }
        ));
        assert!(matches!(
            parse_err(&bytes("010000"), AuthPayload::parse),
            Error::Truncated { .. }
        ));
        assert!(AuthPayload::digital_signature(&[0; 300], &sig).is_err());
        assert!(AuthPayload::digital_signature(sig_alg::ED25519, &[]).is_err());
    }

    #[test]
    fn test_nonce() {
        for n in [16, 32, 256] {
            round(&vec![7u8; n], NoncePayload::parse, NoncePayload::emit);
        }
        for n in [0, 15, 257] {
            assert_eq!(
                parse_err(&vec![7u8; n], NoncePayload::parse),
                Error::InvalidLength {
                    what: "Nonce Data",
                    length: n
                }
            );
            assert!(NoncePayload { data: vec![0; n] }
                .emit(&mut Vec::new())
                .is_err());
        }
    }

    #[test]
    fn test_notify() {
        // NAT_DETECTION_SOURCE_IP, no SPI, 20-byte hash.
        let b = bytes("00 00 4004 000102030405060708090a0b0c0d0e0f10111213");
        let n = round(&b, NotifyPayload::parse, NotifyPayload::emit);
        assert_eq!(n.notify_type, NotifyType::NAT_DETECTION_SOURCE_IP);
        assert_eq!(n.nat_detection_hash().unwrap()[19], 0x13);
        assert_eq!(
            n,
            NotifyPayload::nat_detection_source(n.nat_detection_hash().unwrap())
        );
        // REKEY_SA for ESP SPI 0x11223344.
        let b = bytes("03 04 4009 11223344");
        let n = round(&b, NotifyPayload::parse, NotifyPayload::emit);
        assert_eq!(
            n,
            NotifyPayload::with_spi(NotifyType::REKEY_SA, ProtocolId::ESP, 0x1122_3344, vec![])
        );
        assert_eq!(n.spi_u32(), Some(0x1122_3344));
        // INVALID_KE_PAYLOAD, SET_WINDOW_SIZE, UNSUPPORTED_CRITICAL_PAYLOAD, hash algorithms.
        let n = round(
            &bytes("00 00 0011 001f"),
            NotifyPayload::parse,
            NotifyPayload::emit,
        );
        assert_eq!(n.invalid_ke_group(), Some(DhGroup::CURVE25519));
        assert_eq!(n, NotifyPayload::invalid_ke(DhGroup::CURVE25519));
        let n = round(
            &bytes("00 00 4001 00000005"),
            NotifyPayload::parse,
            NotifyPayload::emit,
        );
        assert_eq!(n.window(), Some(5));
        assert_eq!(n, NotifyPayload::window_size(5));
        let n = round(
            &bytes("00 00 0001 99"),
            NotifyPayload::parse,
            NotifyPayload::emit,
        );
        assert_eq!(n.unsupported_critical_type(), Some(PayloadType(0x99)));
        assert_eq!(n, NotifyPayload::unsupported_critical(PayloadType(0x99)));
        let n = round(
            &bytes("00 00 402f 0002 0003 0004"),
            NotifyPayload::parse,
            NotifyPayload::emit,
        );
        assert_eq!(
            n.hash_algorithms().collect::<Vec<_>>(),
            [
                HashAlgorithm::SHA2_256,
                HashAlgorithm::SHA2_384,
                HashAlgorithm::SHA2_512
            ]
        );
        assert_eq!(
            n,
            NotifyPayload::signature_hash_algorithms(&[
                HashAlgorithm::SHA2_256,
                HashAlgorithm::SHA2_384,
                HashAlgorithm::SHA2_512
            ])
        );
        round(
            &bytes("00 00 402e"),
            NotifyPayload::parse,
            NotifyPayload::emit,
        );
        round(
            &bytes("00 00 4006 0102"),
            NotifyPayload::parse,
            NotifyPayload::emit,
        );
        // A protocol ID with an empty SPI is ignored on receipt, zero when sent.
        let n = NotifyPayload::parse(&mut Reader::new(&bytes("01 00 4000"))).unwrap();
        assert_eq!(n.protocol, ProtocolId::NONE);
        let mut out = Vec::new();
        n.emit(&mut out).unwrap();
        assert_eq!(out, bytes("00 00 4000"));
        // Errors.
        for bad in [
            "00 00 4004 0001",     // NAT detection hash not 20 bytes
            "00 00 0011 00",       // INVALID_KE_PAYLOAD group of 1 byte
            "00 00 4001 000005",   // SET_WINDOW_SIZE of 3 bytes
            "00 00 0001",          // UNSUPPORTED_CRITICAL_PAYLOAD without type
            "00 00 4006",          // empty COOKIE
            "00 00 402f 000200",   // odd hash algorithm list
            "00 00 402e 00",       // fragmentation supported with data
            "00 04 402e 01020304", // fragmentation supported with an SPI
            "03 00 4009",          // REKEY_SA without SPI
        ] {
            assert!(
                matches!(
                    parse_err(&bytes(bad), NotifyPayload::parse),
                    Error::InvalidLength { .. }
                ),
                "{bad}"
            );
        }
        let mut long_cookie = bytes("00 00 4006");
        long_cookie.extend_from_slice(&[1; COOKIE_MAX + 1]);
        assert!(matches!(
            parse_err(&long_cookie, NotifyPayload::parse),
            Error::InvalidLength { .. }
        ));
        assert!(matches!(
            parse_err(&bytes("01 04 4009 11223344"), NotifyPayload::parse),
            Error::InvalidValue { .. }
        ));
        assert!(matches!(
            parse_err(&bytes("03 08 4009 11223344"), NotifyPayload::parse),
            Error::Truncated { .. }
        ));
        assert!(matches!(
            parse_err(&bytes("00 00 40"), NotifyPayload::parse),
            Error::Truncated { .. }
        ));
    }

    #[test]
    fn test_delete() {
        let b = bytes("03 04 0002 11223344 55667788");
        let d = round(&b, DeletePayload::parse, DeletePayload::emit);
        assert_eq!(d.spis, [0x1122_3344, 0x5566_7788]);
        let d = round(
            &bytes("01 00 0000"),
            DeletePayload::parse,
            DeletePayload::emit,
        );
        assert_eq!(d.protocol, ProtocolId::IKE);
        assert!(matches!(
            parse_err(&bytes("01 00 0001"), DeletePayload::parse),
            Error::CountMismatch { .. }
        ));
        assert!(matches!(
            parse_err(&bytes("01 08 0000"), DeletePayload::parse),
            Error::InvalidLength { .. }
        ));
        assert!(matches!(
            parse_err(&bytes("03 04 0002 11223344"), DeletePayload::parse),
            Error::CountMismatch { .. }
        ));
        assert!(matches!(
            parse_err(&bytes("03 04 0001 1122334455"), DeletePayload::parse),
            Error::CountMismatch { .. }
        ));
        assert!(matches!(
            parse_err(&bytes("04 04 0000"), DeletePayload::parse),
            Error::InvalidValue { .. }
        ));
        assert!(matches!(
            parse_err(&bytes("03 04"), DeletePayload::parse),
            Error::Truncated { .. }
        ));
        let bad = DeletePayload {
            protocol: ProtocolId::IKE,
            spis: vec![1],
        };
        assert!(bad.emit(&mut Vec::new()).is_err());
    }

    #[test]
    fn test_vendor_and_unknown_eap() {
        round(
            &bytes("4048b7d56ebce88525e7de7f00d6c2d3"),
            VendorIdPayload::parse,
            VendorIdPayload::emit,
        );
        assert!(matches!(
            parse_err(&[], VendorIdPayload::parse),
            Error::InvalidLength { .. }
        ));
        // EAP-Request/Identity, id 7; EAP-Success.
        let e = round(&bytes("01 07 0005 01"), EapPayload::parse, EapPayload::emit);
        assert_eq!(
            (e.code(), e.identifier(), e.eap_type()),
            (EapCode::REQUEST, 7, Some(1))
        );
        let e = round(&bytes("03 07 0004"), EapPayload::parse, EapPayload::emit);
        assert_eq!((e.code(), e.eap_type()), (EapCode::SUCCESS, None));
        for bad in [
            "01 07 0006 01",
            "01 07 0004",
            "03 07 0005 00",
            "00 07 0004",
            "07 07 0005 01",
            "01 07 00",
        ] {
            assert!(
                EapPayload::parse(&mut Reader::new(&bytes(bad))).is_err(),
                "{bad}"
            );
        }
    }
}
