//! Errors of the IKEv2 cryptographic suite.
//!
//! The variants fall in three groups, as in the rest of the control plane:
//! malformed input (a length or format from the peer that cannot be right),
//! peer misbehaviour (well-formed input that fails a cryptographic check),
//! and local configuration or state (our own choice of transforms, keys or
//! counters). [`CryptoError::is_peer_error`] tells the first two from the
//! third, so that the state machine knows whether to answer the peer
//! (`INVALID_KE_PAYLOAD`, `AUTHENTICATION_FAILED`, silent drop) or to log a
//! local fault.

use core::fmt;

/// Which kind of transform an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransformKind {
    /// Transform type 1, encryption algorithm (ENCR).
    Encryption,
    /// Transform type 2, pseudorandom function (PRF).
    Prf,
    /// Transform type 3, integrity algorithm (INTEG).
    Integrity,
    /// Transform type 4, Diffie-Hellman group (D-H).
    DhGroup,
}

impl fmt::Display for TransformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Encryption => "encryption algorithm",
            Self::Prf => "PRF",
            Self::Integrity => "integrity algorithm",
            Self::DhGroup => "Diffie-Hellman group",
        })
    }
}

/// An error of the IKEv2 cryptographic suite. No variant carries secret
/// material.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    // --- malformed input from the peer ---
    /// Malformed input: the peer's KE payload data does not have the length
    /// the group requires (RFC 7296 section 3.4, RFC 5903 section 7,
    /// RFC 8031 section 2).
    KePayloadLength {
        /// The IANA number of the group.
        group: u16,
        /// The length the group requires.
        expected: usize,
        /// The length received.
        received: usize,
    },
    /// Malformed input: an SK or SKF payload body is too short for its IV,
    /// ICV and pad length octet, or its ciphertext is not a whole number of
    /// cipher blocks.
    SkBodyLength {
        /// The length of the body (IV, ciphertext and ICV) received.
        received: usize,
    },

    // --- peer misbehaviour ---
    /// Peer misbehaviour: the peer's Diffie-Hellman public value is not a
    /// valid element of the group (point not on the curve, point at
    /// infinity, MODP value outside 1 < y < p-1), or the shared secret is
    /// degenerate (all-zero X25519 output).
    InvalidPublicValue {
        /// The IANA number of the group.
        group: u16,
    },
    /// Peer misbehaviour: the ICV of an SK/SKF payload (AEAD tag or
    /// truncated HMAC) does not verify. The message must be dropped without
    /// parsing anything inside it.
    IntegrityCheckFailed,
    /// Peer misbehaviour: after a successful integrity check, the decrypted
    /// Pad Length exceeds the ciphertext.
    BadPadding,
    /// Peer misbehaviour: an AUTH payload computed with a shared key does
    /// not match.
    AuthenticationFailed,

    // --- local configuration and state ---
    /// Local configuration: a transform ID, or a key length for it, that
    /// this suite does not implement.
    UnsupportedTransform {
        /// Which transform type.
        kind: TransformKind,
        /// The IANA transform ID.
        id: u16,
        /// The Key Length attribute in bits, if one was given.
        key_bits: Option<u16>,
    },
    /// Local configuration: an AEAD cipher combined with an integrity
    /// algorithm, or a non-AEAD cipher without one (RFC 5282 section 8,
    /// RFC 7296 section 3.3).
    InvalidTransformCombination,
    /// Local state: a key given to a cipher, MAC or PRF has the wrong
    /// length for the algorithm.
    KeyLength {
        /// The length the algorithm requires.
        expected: usize,
        /// The length given.
        received: usize,
    },
    /// Local state: more prf+ output was asked for than 255 iterations of
    /// the PRF can give (RFC 7296 section 2.13).
    PrfPlusTooLong {
        /// Octets asked for.
        requested: usize,
        /// The most prf+ can produce with this PRF.
        max: usize,
    },
    /// Local state: the outbound AEAD IV counter of this key is used up;
    /// the IKE SA must be rekeyed before anything else is sent.
    IvExhausted,
    /// Local state: the system random number generator failed.
    Rng,
    /// Local state: the underlying cryptographic library refused an
    /// operation on our own data (for example a key it could not load).
    Internal,
}

impl CryptoError {
    /// True for errors caused by what the peer sent (malformed input or
    /// peer misbehaviour), false for local configuration or state.
    #[must_use]
    pub fn is_peer_error(&self) -> bool {
        matches!(
            self,
            Self::KePayloadLength { .. }
                | Self::SkBodyLength { .. }
                | Self::InvalidPublicValue { .. }
                | Self::IntegrityCheckFailed
                | Self::BadPadding
                | Self::AuthenticationFailed
        )
    }
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KePayloadLength {
                group,
                expected,
                received,
            } => write!(
                f,
                "KE payload for group {group} has {received} octets, expected {expected}"
            ),
            Self::SkBodyLength { received } => {
                write!(
                    f,
                    "encrypted payload body of {received} octets is malformed"
                )
            }
            Self::InvalidPublicValue { group } => {
                write!(f, "invalid Diffie-Hellman public value for group {group}")
            }
            Self::IntegrityCheckFailed => f.write_str("integrity check failed"),
            Self::BadPadding => f.write_str("pad length exceeds the decrypted data"),
            Self::AuthenticationFailed => f.write_str("AUTH payload does not verify"),
            Self::UnsupportedTransform { kind, id, key_bits } => match key_bits {
                Some(bits) => write!(f, "unsupported {kind} {id} with {bits}-bit key"),
                None => write!(f, "unsupported {kind} {id}"),
            },
            Self::InvalidTransformCombination => {
                f.write_str("AEAD cipher with integrity algorithm, or non-AEAD cipher without")
            }
            Self::KeyLength { expected, received } => {
                write!(f, "key of {received} octets, expected {expected}")
            }
            Self::PrfPlusTooLong { requested, max } => {
                write!(f, "prf+ asked for {requested} octets, at most {max}")
            }
            Self::IvExhausted => f.write_str("IV counter exhausted, rekey required"),
            Self::Rng => f.write_str("random number generator failure"),
            Self::Internal => f.write_str("cryptographic library refused the operation"),
        }
    }
}

impl std::error::Error for CryptoError {}
