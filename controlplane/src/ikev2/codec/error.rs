//! Why bytes are not a valid IKEv2 message, and why a message cannot be
//! emitted.
//!
//! Every parse error is malformed input from the peer. The state machine
//! decides what to answer: [`Error::suggested_notify`] gives the notify the
//! RFCs ask for, but whether to send it at all depends on whether the
//! message was authenticated (RFC 7296 section 2.21).

use std::fmt;

use super::types::{NotifyType, PayloadType};

/// Why bytes are not a valid IKEv2 message (all are malformed input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Fewer bytes remain than a header, a fixed-size field or a length
    /// field needs: `needed` bytes for `what`, only `available` left.
    Truncated {
        /// The structure or field being read.
        what: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// Bytes remain after a structure that should have used all of its
    /// enclosing length (a payload body, a substructure list, or the
    /// message after the payload whose Next Payload is 0).
    TrailingBytes {
        /// The structure that should have ended.
        what: &'static str,
        /// How many bytes were left over.
        count: usize,
    },
    /// The IKE header's Length field is not the length of the datagram.
    MessageLengthMismatch {
        /// The Length field.
        header: u32,
        /// The datagram's length.
        datagram: usize,
    },
    /// The major version is not 2. The state machine should drop the
    /// message and may answer INVALID_MAJOR_VERSION (RFC 7296 section 2.5).
    UnsupportedMajorVersion(u8),
    /// The IKE SA initiator's SPI is zero, which RFC 7296 section 3.1
    /// forbids.
    ZeroInitiatorSpi,
    /// A payload's Payload Length is shorter than the generic payload
    /// header (4 bytes).
    PayloadLengthTooShort {
        /// Type of the payload.
        payload_type: PayloadType,
        /// Its Payload Length field.
        length: u16,
    },
    /// An unknown payload type with the critical bit set. The message MUST
    /// be rejected; a request is answered with UNSUPPORTED_CRITICAL_PAYLOAD
    /// whose data is this one-octet payload type.
    UnsupportedCriticalPayload(PayloadType),
    /// An Encrypted (SK) or Encrypted Fragment (SKF) payload is followed by
    /// more bytes: it must be the last payload of the message.
    EncryptedNotLast(PayloadType),
    /// An SK or SKF payload inside a decrypted payload chain.
    NestedEncrypted(PayloadType),
    /// A length field of a substructure (or the size of a field whose size
    /// the type fixes) is not acceptable.
    InvalidLength {
        /// The field or substructure.
        what: &'static str,
        /// The length found.
        length: usize,
    },
    /// A count field disagrees with the substructures present.
    CountMismatch {
        /// The counted substructures.
        what: &'static str,
        /// The count field.
        declared: usize,
        /// How many were present.
        found: usize,
    },
    /// A field holds a value the RFCs forbid in that place.
    InvalidValue {
        /// The field.
        what: &'static str,
        /// Its value.
        value: u32,
    },
}

impl Error {
    /// The notify an IKE responder would send about this error, with its
    /// notification data: UNSUPPORTED_CRITICAL_PAYLOAD carrying the payload
    /// type, INVALID_MAJOR_VERSION, otherwise INVALID_SYNTAX. RFC 7296
    /// section 2.21 restricts when INVALID_SYNTAX may be sent (only in
    /// protected messages); that choice is the state machine's.
    #[must_use]
    pub fn suggested_notify(&self) -> (NotifyType, Option<u8>) {
        match *self {
            //= https://www.rfc-editor.org/rfc/rfc7296#section-2.5
            //# If the critical flag is set
            //# and the payload type is unrecognized, the message MUST be
            //# rejected and the response to the IKE request containing that
            //# payload MUST include a Notify payload
            //# UNSUPPORTED_CRITICAL_PAYLOAD, indicating an unsupported
            //# critical payload was included.  In that Notify payload, the
            //# Notify Data contains the one-octet payload type.
            Self::UnsupportedCriticalPayload(t) => {
                (NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, Some(t.0))
            }
            Self::UnsupportedMajorVersion(_) => (NotifyType::INVALID_MAJOR_VERSION, None),
            _ => (NotifyType::INVALID_SYNTAX, None),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated {
                what,
                needed,
                available,
            } => write!(f, "{what}: needs {needed} bytes, {available} left"),
            Self::TrailingBytes { what, count } => {
                write!(f, "{count} bytes left over after {what}")
            }
            Self::MessageLengthMismatch { header, datagram } => write!(
                f,
                "IKE header length {header} but the datagram has {datagram} bytes"
            ),
            Self::UnsupportedMajorVersion(v) => write!(f, "IKE major version {v}"),
            Self::ZeroInitiatorSpi => f.write_str("zero initiator SPI"),
            Self::PayloadLengthTooShort {
                payload_type,
                length,
            } => write!(f, "payload {payload_type} with length {length}"),
            Self::UnsupportedCriticalPayload(t) => {
                write!(f, "unsupported critical payload {t}")
            }
            Self::EncryptedNotLast(t) => write!(f, "payload {t} is not the last payload"),
            Self::NestedEncrypted(t) => write!(f, "payload {t} inside an encrypted payload"),
            Self::InvalidLength { what, length } => write!(f, "{what}: invalid length {length}"),
            Self::CountMismatch {
                what,
                declared,
                found,
            } => write!(f, "{what}: count says {declared}, found {found}"),
            Self::InvalidValue { what, value } => write!(f, "{what}: invalid value {value}"),
        }
    }
}

impl std::error::Error for Error {}

/// Why a message or payload cannot be emitted (a local error: the caller
/// built something the wire format cannot carry or the RFCs forbid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmitError {
    /// A payload, substructure or message is longer than its length field
    /// can express.
    TooLong {
        /// The structure.
        what: &'static str,
        /// Its length.
        length: usize,
    },
    /// More substructures than a one-octet count field can express.
    TooMany {
        /// The substructures.
        what: &'static str,
        /// How many.
        count: usize,
    },
    /// An SK or SKF payload is not the last payload of the chain, or
    /// appears in an inner chain.
    EncryptedNotLast,
    /// A value that the parser would reject (the same check, so that
    /// everything emitted parses back).
    Invalid(Error),
}

impl From<Error> for EmitError {
    fn from(e: Error) -> Self {
        Self::Invalid(e)
    }
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { what, length } => write!(f, "{what} too long ({length} bytes)"),
            Self::TooMany { what, count } => write!(f, "too many {what} ({count})"),
            Self::EncryptedNotLast => f.write_str("SK/SKF must be the last payload"),
            Self::Invalid(e) => write!(f, "invalid value: {e}"),
        }
    }
}

impl std::error::Error for EmitError {}

/// Result of parsing.
pub type Result<T> = core::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_display_and_notify() {
        let all = [
            Error::Truncated {
                what: "x",
                needed: 2,
                available: 1,
            },
            Error::TrailingBytes {
                what: "x",
                count: 1,
            },
            Error::MessageLengthMismatch {
                header: 1,
                datagram: 2,
            },
            Error::UnsupportedMajorVersion(3),
            Error::ZeroInitiatorSpi,
            Error::PayloadLengthTooShort {
                payload_type: PayloadType::SA,
                length: 2,
            },
            Error::UnsupportedCriticalPayload(PayloadType(99)),
            Error::EncryptedNotLast(PayloadType::SK),
            Error::NestedEncrypted(PayloadType::SKF),
            Error::InvalidLength {
                what: "x",
                length: 1,
            },
            Error::CountMismatch {
                what: "x",
                declared: 1,
                found: 2,
            },
            Error::InvalidValue {
                what: "x",
                value: 1,
            },
        ];
        for e in all {
            assert!(!e.to_string().is_empty());
            let (n, data) = e.suggested_notify();
            match e {
                Error::UnsupportedCriticalPayload(t) => {
                    assert_eq!(
                        (n, data),
                        (NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, Some(t.0))
                    );
                }
                Error::UnsupportedMajorVersion(_) => {
                    assert_eq!((n, data), (NotifyType::INVALID_MAJOR_VERSION, None));
                }
                _ => assert_eq!((n, data), (NotifyType::INVALID_SYNTAX, None)),
            }
            assert!(EmitError::from(e).to_string().contains(&e.to_string()));
        }
        for e in [
            EmitError::TooLong {
                what: "x",
                length: 1,
            },
            EmitError::TooMany {
                what: "x",
                count: 1,
            },
            EmitError::EncryptedNotLast,
        ] {
            assert!(!e.to_string().is_empty());
        }
    }
}
