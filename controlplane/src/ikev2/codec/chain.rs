//! Payload chains: the generic payload header (RFC 7296 section 3.2),
//! critical-bit handling, and the typed [`Payload`].
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Next Payload  |C|  RESERVED   |         Payload Length        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::cp::CpPayload;
use super::encrypted::{EncryptedFragmentPayload, EncryptedPayload};
use super::error::{EmitError, Error, Result};
use super::payloads::{
    AuthPayload, CertPayload, CertReqPayload, DeletePayload, EapPayload, IdPayload, KePayload,
    NoncePayload, NotifyPayload, UnknownPayload, VendorIdPayload,
};
use super::reader::{patch_u16_len, reserve_u16, Reader};
use super::sa::SaPayload;
use super::ts::TsPayload;
use super::types::PayloadType;

/// Generic payload header length.
pub const PAYLOAD_HEADER_LEN: usize = 4;

/// The critical bit.
const CRITICAL: u8 = 0x80;

/// A payload of an IKE message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// Security Association.
    Sa(SaPayload),
    /// Key Exchange.
    Ke(KePayload),
    /// Identification - Initiator.
    IdI(IdPayload),
    /// Identification - Responder.
    IdR(IdPayload),
    /// Certificate.
    Cert(CertPayload),
    /// Certificate Request.
    CertReq(CertReqPayload),
    /// Authentication.
    Auth(AuthPayload),
    /// Nonce.
    Nonce(NoncePayload),
    /// Notify.
    Notify(NotifyPayload),
    /// Delete.
    Delete(DeletePayload),
    /// Vendor ID.
    VendorId(VendorIdPayload),
    /// Traffic Selector - Initiator.
    TsI(TsPayload),
    /// Traffic Selector - Responder.
    TsR(TsPayload),
    /// Configuration.
    Cp(CpPayload),
    /// Extensible Authentication.
    Eap(EapPayload),
    /// Encrypted and Authenticated (only as the last payload of a message).
    Sk(EncryptedPayload),
    /// Encrypted and Authenticated Fragment (only as the last payload of a
    /// message).
    Skf(EncryptedFragmentPayload),
    /// A payload type this codec does not parse, without the critical bit.
    Unknown(UnknownPayload),
}

impl Payload {
    /// Its payload type.
    #[must_use]
    pub fn payload_type(&self) -> PayloadType {
        match self {
            Self::Sa(_) => PayloadType::SA,
            Self::Ke(_) => PayloadType::KE,
            Self::IdI(_) => PayloadType::IDI,
            Self::IdR(_) => PayloadType::IDR,
            Self::Cert(_) => PayloadType::CERT,
            Self::CertReq(_) => PayloadType::CERTREQ,
            Self::Auth(_) => PayloadType::AUTH,
            Self::Nonce(_) => PayloadType::NONCE,
            Self::Notify(_) => PayloadType::NOTIFY,
            Self::Delete(_) => PayloadType::DELETE,
            Self::VendorId(_) => PayloadType::VENDOR_ID,
            Self::TsI(_) => PayloadType::TSI,
            Self::TsR(_) => PayloadType::TSR,
            Self::Cp(_) => PayloadType::CP,
            Self::Eap(_) => PayloadType::EAP,
            Self::Sk(_) => PayloadType::SK,
            Self::Skf(_) => PayloadType::SKF,
            Self::Unknown(u) => u.payload_type,
        }
    }

    fn is_encrypted(&self) -> bool {
        matches!(self, Self::Sk(_) | Self::Skf(_))
    }

    /// Parses a payload body of a supported type. `next` is the generic
    /// header's Next Payload (the inner type for SK and SKF).
    fn parse_body(t: PayloadType, next: PayloadType, body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let p = match t {
            PayloadType::SA => Self::Sa(SaPayload::parse(&mut r)?),
            PayloadType::KE => Self::Ke(KePayload::parse(&mut r)?),
            PayloadType::IDI => Self::IdI(IdPayload::parse(&mut r)?),
            PayloadType::IDR => Self::IdR(IdPayload::parse(&mut r)?),
            PayloadType::CERT => Self::Cert(CertPayload::parse(&mut r)?),
            PayloadType::CERTREQ => Self::CertReq(CertReqPayload::parse(&mut r)?),
            PayloadType::AUTH => Self::Auth(AuthPayload::parse(&mut r)?),
            PayloadType::NONCE => Self::Nonce(NoncePayload::parse(&mut r)?),
            PayloadType::NOTIFY => Self::Notify(NotifyPayload::parse(&mut r)?),
            PayloadType::DELETE => Self::Delete(DeletePayload::parse(&mut r)?),
            PayloadType::VENDOR_ID => Self::VendorId(VendorIdPayload::parse(&mut r)?),
            PayloadType::TSI => Self::TsI(TsPayload::parse(&mut r)?),
            PayloadType::TSR => Self::TsR(TsPayload::parse(&mut r)?),
            PayloadType::CP => Self::Cp(CpPayload::parse(&mut r)?),
            PayloadType::EAP => Self::Eap(EapPayload::parse(&mut r)?),
            PayloadType::SK => Self::Sk(EncryptedPayload::parse(next, &mut r)),
            PayloadType::SKF => Self::Skf(EncryptedFragmentPayload::parse(next, &mut r)?),
            _ => Self::Unknown(UnknownPayload {
                payload_type: t,
                data: r.rest().to_vec(),
            }),
        };
        r.expect_end("payload body")?;
        Ok(p)
    }

    /// Appends the body (no generic header).
    fn emit_body(&self, out: &mut Vec<u8>) -> core::result::Result<(), EmitError> {
        match self {
            Self::Sa(p) => p.emit(out),
            Self::Ke(p) => p.emit(out),
            Self::IdI(p) | Self::IdR(p) => p.emit(out),
            Self::Cert(p) => p.emit(out),
            Self::CertReq(p) => p.emit(out),
            Self::Auth(p) => p.emit(out),
            Self::Nonce(p) => p.emit(out),
            Self::Notify(p) => p.emit(out),
            Self::Delete(p) => p.emit(out),
            Self::VendorId(p) => p.emit(out),
            Self::TsI(p) | Self::TsR(p) => p.emit(out),
            Self::Cp(p) => p.emit(out),
            Self::Eap(p) => p.emit(out),
            Self::Sk(p) => {
                p.emit(out);
                Ok(())
            }
            Self::Skf(p) => p.emit(out),
            Self::Unknown(u) => {
                if u.payload_type.is_supported() || u.payload_type == PayloadType::NONE {
                    return Err(EmitError::Invalid(Error::InvalidValue {
                        what: "type of an unknown payload",
                        value: u.payload_type.0.into(),
                    }));
                }
                out.extend_from_slice(&u.data);
                Ok(())
            }
        }
    }
}

/// One payload as found in a chain, before its body is parsed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawPayload<'a> {
    /// Its type (from the previous header's Next Payload).
    pub(crate) payload_type: PayloadType,
    /// Its own Next Payload field.
    pub(crate) next: PayloadType,
    /// Offset of its body from the start of the chain.
    pub(crate) body_offset: usize,
    /// Its body.
    pub(crate) body: &'a [u8],
}

/// Walks the generic headers of a chain.
#[derive(Debug)]
pub(crate) struct RawChain<'a> {
    r: Reader<'a>,
    next: PayloadType,
    ended: bool,
}

impl<'a> RawChain<'a> {
    pub(crate) fn new(first: PayloadType, chain: &'a [u8]) -> Self {
        Self {
            r: Reader::new(chain),
            next: first,
            ended: false,
        }
    }

    /// The next payload; `None` after the one whose Next Payload is 0 (or
    /// after an SK/SKF payload, whose Next Payload names the inner chain),
    /// checking that no bytes follow.
    pub(crate) fn next_raw(&mut self) -> Result<Option<RawPayload<'a>>> {
        if self.ended || self.next == PayloadType::NONE {
            self.ended = true;
            return self
                .r
                .expect_end("payload chain (after Next Payload 0)")
                .map(|()| None);
        }
        let payload_type = self.next;
        let mut h = self.r.sub(PAYLOAD_HEADER_LEN, "generic payload header")?;
        let next = PayloadType(h.u8("Next Payload")?);
        let flags = h.u8("critical bit")?;
        let length = h.u16("Payload Length")?;
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.2
        //# Payload Length (2 octets, unsigned integer) - Length in octets of
        //# the current payload, including the generic payload header.
        let Some(body_len) = usize::from(length).checked_sub(PAYLOAD_HEADER_LEN) else {
            return Err(Error::PayloadLengthTooShort {
                payload_type,
                length,
            });
        };
        let body_offset = self.r.position();
        let body = self.r.take(body_len, "payload body")?;
        if !payload_type.is_supported() {
            //= https://www.rfc-editor.org/rfc/rfc7296#section-3.2
            //# Critical (1 bit) - MUST be set to zero if the sender wants the
            //# recipient to skip this payload if it does not understand the
            //# payload type code in the Next Payload field of the previous
            //# payload.  MUST be set to one if the sender wants the recipient
            //# to reject this entire message if it does not understand the
            //# payload type.  MUST be ignored by the recipient if the
            //# recipient understands the payload type code.
            if flags & CRITICAL != 0 {
                return Err(Error::UnsupportedCriticalPayload(payload_type));
            }
            //= https://www.rfc-editor.org/rfc/rfc7296#section-2.5
            //# If the critical flag is not set and the payload type is
            //# unsupported, that payload MUST be ignored.
        }
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.2
        //# RESERVED (7 bits) - MUST be sent as zero; MUST be ignored on
        //# receipt.
        self.next = next;
        if matches!(payload_type, PayloadType::SK | PayloadType::SKF) {
            //= https://www.rfc-editor.org/rfc/rfc7296#section-3.14
            //# The Encrypted payload, if present in a message, MUST be the last
            //# payload in the message.
            self.ended = true;
            if !self.r.is_empty() {
                return Err(Error::EncryptedNotLast(payload_type));
            }
        }
        Ok(Some(RawPayload {
            payload_type,
            next,
            body_offset,
            body,
        }))
    }
}

/// Parses a whole chain starting with a payload of type `first`. With
/// `inner`, SK and SKF are rejected (a decrypted chain cannot nest them).
pub(crate) fn parse_chain(first: PayloadType, chain: &[u8], inner: bool) -> Result<Vec<Payload>> {
    let mut chain = RawChain::new(first, chain);
    let mut out = Vec::new();
    while let Some(raw) = chain.next_raw()? {
        if inner && matches!(raw.payload_type, PayloadType::SK | PayloadType::SKF) {
            return Err(Error::NestedEncrypted(raw.payload_type));
        }
        out.push(Payload::parse_body(raw.payload_type, raw.next, raw.body)?);
    }
    Ok(out)
}

/// Parses one payload body by type (used for a raw payload already found).
pub(crate) fn parse_raw(raw: &RawPayload<'_>) -> Result<Payload> {
    Payload::parse_body(raw.payload_type, raw.next, raw.body)
}

/// Appends a chain and returns the type of its first payload (for the
/// previous Next Payload field). SK/SKF must be last; with `inner` they are
/// refused.
pub(crate) fn emit_chain(
    payloads: &[Payload],
    out: &mut Vec<u8>,
    inner: bool,
) -> core::result::Result<PayloadType, EmitError> {
    for (i, p) in payloads.iter().enumerate() {
        let next = match (p, payloads.get(i + 1)) {
            (Payload::Sk(_) | Payload::Skf(_), Some(_)) => return Err(EmitError::EncryptedNotLast),
            (Payload::Sk(_) | Payload::Skf(_), None) if inner => {
                return Err(EmitError::EncryptedNotLast)
            }
            (Payload::Sk(sk), None) => sk.inner_next,
            (Payload::Skf(f), None) => f.info.next_payload,
            (_, Some(n)) => n.payload_type(),
            (_, None) => PayloadType::NONE,
        };
        let start = out.len();
        out.push(next.0);
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.2
        //# MUST be set to zero for payload types defined in this document.
        out.push(0);
        let at = reserve_u16(out);
        p.emit_body(out)?;
        patch_u16_len(out, at, start, "payload")?;
        debug_assert!(!p.is_encrypted() || i + 1 == payloads.len());
    }
    Ok(payloads
        .first()
        .map_or(PayloadType::NONE, Payload::payload_type))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikev2::codec::types::NotifyType;

    fn bytes(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    // Nonce (16 bytes) -> Notify COOKIE -> unknown 200 (not critical) -> end.
    const CHAIN: &str = "
        29 00 0014 00112233445566778899aabbccddeeff
        c8 00 000a 00 00 4006 0102
        00 00 0006 abcd";

    #[test]
    fn test_parse() {
        let b = bytes(CHAIN);
        let ps = parse_chain(PayloadType::NONCE, &b, false).unwrap();
        assert_eq!(ps.len(), 3);
        assert_eq!(ps[0].payload_type(), PayloadType::NONCE);
        match &ps[1] {
            Payload::Notify(n) => assert_eq!(n.notify_type, NotifyType::COOKIE),
            p => panic!("{p:?}"),
        }
        assert_eq!(
            ps[2],
            Payload::Unknown(UnknownPayload {
                payload_type: PayloadType(200),
                data: vec![0xab, 0xcd]
            })
        );
    }

    #[test]
    fn test_emit() {
        let b = bytes(CHAIN);
        let ps = parse_chain(PayloadType::NONCE, &b, false).unwrap();
        let mut out = Vec::new();
        assert_eq!(emit_chain(&ps, &mut out, false), Ok(PayloadType::NONCE));
        assert_eq!(out, b);
        let mut out = Vec::new();
        assert_eq!(emit_chain(&[], &mut out, false), Ok(PayloadType::NONE));
        assert!(out.is_empty());
    }

    #[test]
    fn test_critical_bit() {
        // The unknown payload with the critical bit: the whole chain fails.
        let mut b = bytes(CHAIN);
        b[31] = 0x80;
        assert_eq!(
            parse_chain(PayloadType::NONCE, &b, false),
            Err(Error::UnsupportedCriticalPayload(PayloadType(200)))
        );
        assert_eq!(
            Error::UnsupportedCriticalPayload(PayloadType(200)).suggested_notify(),
            (NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, Some(200))
        );
        // The critical bit (and reserved bits) on a known payload: ignored.
        let mut b = bytes(CHAIN);
        b[1] = 0xff;
        assert_eq!(parse_chain(PayloadType::NONCE, &b, false).unwrap().len(), 3);
    }

    #[test]
    fn test_errors() {
        let good = bytes(CHAIN);
        for n in 0..good.len() {
            assert!(
                parse_chain(PayloadType::NONCE, &good[..n], false).is_err(),
                "{n}"
            );
        }
        // Trailing bytes after Next Payload 0.
        let mut b = good.clone();
        b.push(0);
        assert_eq!(
            parse_chain(PayloadType::NONCE, &b, false),
            Err(Error::TrailingBytes {
                what: "payload chain (after Next Payload 0)",
                count: 1
            })
        );
        // Payload Length under the generic header.
        let mut b = good.clone();
        b[3] = 3;
        assert_eq!(
            parse_chain(PayloadType::NONCE, &b, false),
            Err(Error::PayloadLengthTooShort {
                payload_type: PayloadType::NONCE,
                length: 3
            })
        );
        // Payload Length past the end.
        let mut b = good.clone();
        b[3] = 0xff;
        assert!(matches!(
            parse_chain(PayloadType::NONCE, &b, false),
            Err(Error::Truncated {
                what: "payload body",
                ..
            })
        ));
        // The notify's length one short: its body is cut, the chain shifts.
        let mut b = good.clone();
        b[23] = 9;
        assert!(parse_chain(PayloadType::NONCE, &b, false).is_err());
        // A header cut short.
        assert!(matches!(
            parse_chain(PayloadType::NONCE, &good[..2], false),
            Err(Error::Truncated {
                what: "generic payload header",
                ..
            })
        ));
        // An empty chain is fine only when the first type is NONE.
        assert_eq!(parse_chain(PayloadType::NONE, &[], false), Ok(vec![]));
        assert!(parse_chain(PayloadType::SA, &[], false).is_err());
    }

    #[test]
    fn test_encrypted_position() {
        // SK (inner IDi) followed by bytes: not last.
        let b = bytes("23 00 0006 aabb 00 00 0004");
        assert_eq!(
            parse_chain(PayloadType::SK, &b, false),
            Err(Error::EncryptedNotLast(PayloadType::SK))
        );
        let b = bytes("23 00 0006 aabb");
        let ps = parse_chain(PayloadType::SK, &b, false).unwrap();
        assert_eq!(
            ps,
            [Payload::Sk(EncryptedPayload {
                inner_next: PayloadType::IDI,
                body: vec![0xaa, 0xbb]
            })]
        );
        assert_eq!(
            parse_chain(PayloadType::SK, &b, true),
            Err(Error::NestedEncrypted(PayloadType::SK))
        );
        let mut out = Vec::new();
        assert_eq!(emit_chain(&ps, &mut out, false), Ok(PayloadType::SK));
        assert_eq!(out, b);
        assert_eq!(
            emit_chain(&ps, &mut Vec::new(), true),
            Err(EmitError::EncryptedNotLast)
        );
        let two = [ps[0].clone(), ps[0].clone()];
        assert_eq!(
            emit_chain(&two, &mut Vec::new(), false),
            Err(EmitError::EncryptedNotLast)
        );
        // SKF with a bad fragment number.
        let b = bytes("00 00 000a 0000 0001 aabb");
        assert!(matches!(
            parse_chain(PayloadType::SKF, &b, false),
            Err(Error::InvalidValue {
                what: "Fragment Number",
                ..
            })
        ));
    }

    #[test]
    fn test_emit_unknown_checks() {
        for t in [PayloadType::SA, PayloadType::NONE] {
            let p = Payload::Unknown(UnknownPayload {
                payload_type: t,
                data: vec![],
            });
            assert!(matches!(
                emit_chain(&[p], &mut Vec::new(), false),
                Err(EmitError::Invalid(_))
            ));
        }
        let big = Payload::VendorId(VendorIdPayload {
            data: vec![0; 70_000],
        });
        assert!(matches!(
            emit_chain(&[big], &mut Vec::new(), false),
            Err(EmitError::TooLong { .. })
        ));
    }
}
