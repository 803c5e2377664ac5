//! The Encrypted payload SK (RFC 7296 section 3.14) and the Encrypted
//! Fragment payload SKF (RFC 7383 section 2.5), as bytes.
//!
//! The codec never decrypts: it exposes the Next Payload of the first inner
//! payload, the body (IV, ciphertext, padding, ICV) and, through
//! [`super::OuterMessage`], the associated data. The crypto layer decrypts
//! and hands the plaintext chain (padding removed) to
//! [`super::parse_inner`].

use super::error::{EmitError, Error, Result};
use super::reader::Reader;
use super::types::PayloadType;

/// Length of the SKF fields before the IV (Fragment Number, Total
/// Fragments).
pub const SKF_FIELDS_LEN: usize = 4;

/// An Encrypted (SK) payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedPayload {
    /// Type of the first payload inside (the generic header's Next
    /// Payload); NONE for an empty message such as a liveness check.
    pub inner_next: PayloadType,
    /// IV, ciphertext (with padding and Pad Length) and ICV.
    pub body: Vec<u8>,
}

/// The fields of an SKF payload that are not encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragmentInfo {
    /// Fragment Number, from 1.
    pub number: u16,
    /// Total Fragments.
    pub total: u16,
    /// The generic header's Next Payload: the first inner payload's type in
    /// fragment 1, NONE in the others.
    pub next_payload: PayloadType,
}

impl FragmentInfo {
    /// Checks the rules of RFC 7383 section 2.5.
    pub fn check(&self) -> Result<()> {
        //= https://www.rfc-editor.org/rfc/rfc7383#section-2.5
        //# Fragment Number (2 octets, unsigned integer) - current Fragment
        //# message number, starting from 1.  This field MUST be less than
        //# or equal to the next field (Total Fragments).  This field MUST
        //# NOT be zero.
        if self.number == 0 || self.number > self.total {
            return Err(Error::InvalidValue {
                what: "Fragment Number",
                value: self.number.into(),
            });
        }
        //= https://www.rfc-editor.org/rfc/rfc7383#section-2.5
        //# Total Fragments (2 octets, unsigned integer) - number of Fragment
        //# messages into which the original message was divided.  This
        //# field MUST NOT be zero.
        if self.total == 0 {
            return Err(Error::InvalidValue {
                what: "Total Fragments",
                value: 0,
            });
        }
        //= https://www.rfc-editor.org/rfc/rfc7383#section-2.5
        //# Next Payload (1 octet) - in the very first fragment (with Fragment
        //# Number equal to 1), this field MUST be set to the payload type of
        //# the first inner payload (the same as for the Encrypted payload).
        //# In the rest of the Fragment messages (with Fragment Number
        //# greater than 1), this field MUST be set to zero.
        if self.number > 1 && self.next_payload != PayloadType::NONE {
            return Err(Error::InvalidValue {
                what: "SKF Next Payload of a non-first fragment",
                value: self.next_payload.0.into(),
            });
        }
        Ok(())
    }
}

/// An Encrypted Fragment (SKF) payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedFragmentPayload {
    /// Fragment Number, Total Fragments and Next Payload.
    pub info: FragmentInfo,
    /// IV, ciphertext (with padding and Pad Length) and ICV.
    pub body: Vec<u8>,
}

impl EncryptedPayload {
    pub(crate) fn parse(next: PayloadType, r: &mut Reader<'_>) -> Self {
        Self {
            inner_next: next,
            body: r.rest().to_vec(),
        }
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.body);
    }
}

impl EncryptedFragmentPayload {
    pub(crate) fn parse_info(next: PayloadType, r: &mut Reader<'_>) -> Result<FragmentInfo> {
        let info = FragmentInfo {
            number: r.u16("Fragment Number")?,
            total: r.u16("Total Fragments")?,
            next_payload: next,
        };
        info.check()?;
        Ok(info)
    }

    pub(crate) fn parse(next: PayloadType, r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            info: Self::parse_info(next, r)?,
            body: r.rest().to_vec(),
        })
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> core::result::Result<(), EmitError> {
        self.info.check()?;
        emit_fragment_fields(&self.info, out);
        out.extend_from_slice(&self.body);
        Ok(())
    }
}

pub(crate) fn emit_fragment_fields(info: &FragmentInfo, out: &mut Vec<u8>) {
    out.extend_from_slice(&info.number.to_be_bytes());
    out.extend_from_slice(&info.total.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_fragment_info() {
        let ok = |number, total, np| {
            FragmentInfo {
                number,
                total,
                next_payload: PayloadType(np),
            }
            .check()
        };
        assert_eq!(ok(1, 1, 35), Ok(()));
        assert_eq!(ok(1, 3, 0), Ok(()));
        assert_eq!(ok(3, 3, 0), Ok(()));
        assert!(matches!(
            ok(0, 3, 0),
            Err(Error::InvalidValue {
                what: "Fragment Number",
                ..
            })
        ));
        assert!(matches!(
            ok(4, 3, 0),
            Err(Error::InvalidValue {
                what: "Fragment Number",
                ..
            })
        ));
        assert!(matches!(ok(0, 0, 0), Err(Error::InvalidValue { .. })));
        assert!(matches!(ok(2, 3, 35), Err(Error::InvalidValue { .. })));
    }

    #[test]
    fn test_parse_emit() {
        let b = [0, 2, 0, 3, 0xaa, 0xbb];
        let p = EncryptedFragmentPayload::parse(PayloadType::NONE, &mut Reader::new(&b)).unwrap();
        assert_eq!(p.info.number, 2);
        assert_eq!(p.info.total, 3);
        assert_eq!(p.body, [0xaa, 0xbb]);
        let mut out = Vec::new();
        p.emit(&mut out).unwrap();
        assert_eq!(out, b);
        assert!(
            EncryptedFragmentPayload::parse(PayloadType::NONE, &mut Reader::new(&b[..3])).is_err()
        );
        let sk = EncryptedPayload::parse(PayloadType::IDI, &mut Reader::new(&b));
        let mut out = Vec::new();
        sk.emit(&mut out);
        assert_eq!(out, b);
    }
}
