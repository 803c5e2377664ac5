//! Errors of the IKEv2 core, in three groups: malformed input, peer
//! misbehaviour, and local configuration or state.

use std::fmt;

use super::auth::AuthFailure;
use super::codec::{self, fragment::ReassemblyError, EmitError, ExchangeType, NotifyType};
use super::config::ConfigError;
use super::crypto::CryptoError;

/// An error of the IKEv2 core.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a valid message.
    Malformed(Malformed),
    /// A valid message that breaks the protocol or fails a check.
    Peer(PeerMisbehaved),
    /// Our own configuration or state.
    Local(LocalError),
}

/// Malformed input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// The codec refused it.
    Codec(codec::Error),
    /// A datagram on the NAT-T port without the non-ESP marker (ESP, which
    /// is the dataplane's), or too short for it.
    NoNonEspMarker,
    /// The crypto layer refused its format (KE length, SK body length).
    Crypto(CryptoError),
    /// A payload the exchange needs is missing or doubled.
    Payload(&'static str),
    /// An SKF fragment that cannot be taken.
    Fragment(ReassemblyError),
}

/// Peer misbehaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerMisbehaved {
    /// No IKE SA with this SPI.
    UnknownSpi(u64),
    /// A request or response outside the message ID window.
    MessageIdOutOfWindow {
        /// The message's.
        got: u32,
        /// The one expected.
        expected: u32,
    },
    /// The SK/SKF ICV did not verify, or a crypto check failed.
    Crypto(CryptoError),
    /// An exchange type not expected now.
    UnexpectedExchange(ExchangeType),
    /// The peer's chosen proposal is not one we offered, or no proposal of
    /// the peer is acceptable.
    NoProposalChosen,
    /// The peer answered with an error notify.
    ErrorNotify(NotifyType),
    /// The COOKIE is missing or wrong while cookies are required.
    InvalidCookie,
    /// Authentication failed.
    Auth(AuthFailure),
    /// Traffic selectors are not acceptable.
    TsUnacceptable,
    /// Fragments arrived although fragmentation was not negotiated.
    FragmentationNotNegotiated,
}

/// Local configuration or state.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocalError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// The SPI allocator has no SPI left.
    NoSpi,
    /// A crypto operation failed on our side.
    Crypto(CryptoError),
    /// A message could not be emitted.
    Emit(EmitError),
    /// No IKE SA with this handle, or not in a state for the request.
    NoSuchSa,
    /// No Child SA with this SPI.
    NoSuchChildSa(u32),
    /// Too many half-open IKE SAs: the request was dropped.
    HalfOpenLimit,
    /// The address pool is exhausted.
    PoolExhausted,
}

impl From<Malformed> for Error {
    fn from(e: Malformed) -> Self {
        Self::Malformed(e)
    }
}

impl From<PeerMisbehaved> for Error {
    fn from(e: PeerMisbehaved) -> Self {
        Self::Peer(e)
    }
}

impl From<LocalError> for Error {
    fn from(e: LocalError) -> Self {
        Self::Local(e)
    }
}

impl From<codec::Error> for Error {
    fn from(e: codec::Error) -> Self {
        Self::Malformed(Malformed::Codec(e))
    }
}

impl From<EmitError> for Error {
    fn from(e: EmitError) -> Self {
        Self::Local(LocalError::Emit(e))
    }
}

impl From<CryptoError> for Error {
    /// Sorted by [`CryptoError::is_peer_error`]: format errors are
    /// malformed input, failed checks peer misbehaviour, the rest local.
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::KePayloadLength { .. } | CryptoError::SkBodyLength { .. } => {
                Self::Malformed(Malformed::Crypto(e))
            }
            _ if e.is_peer_error() => Self::Peer(PeerMisbehaved::Crypto(e)),
            _ => Self::Local(LocalError::Crypto(e)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(m) => match m {
                Malformed::Codec(e) => write!(f, "malformed message: {e}"),
                Malformed::NoNonEspMarker => f.write_str("no non-ESP marker on the NAT-T port"),
                Malformed::Crypto(e) => write!(f, "malformed message: {e}"),
                Malformed::Payload(p) => write!(f, "missing or repeated payload: {p}"),
                Malformed::Fragment(e) => write!(f, "fragment refused: {e}"),
            },
            Self::Peer(p) => match p {
                PeerMisbehaved::UnknownSpi(s) => write!(f, "no IKE SA with SPI {s:016x}"),
                PeerMisbehaved::MessageIdOutOfWindow { got, expected } => {
                    write!(
                        f,
                        "message ID {got} outside the window (expected {expected})"
                    )
                }
                PeerMisbehaved::Crypto(e) => write!(f, "peer: {e}"),
                PeerMisbehaved::UnexpectedExchange(x) => write!(f, "unexpected exchange {x}"),
                PeerMisbehaved::NoProposalChosen => f.write_str("no acceptable proposal"),
                PeerMisbehaved::ErrorNotify(n) => write!(f, "peer answered {n}"),
                PeerMisbehaved::InvalidCookie => f.write_str("missing or invalid COOKIE"),
                PeerMisbehaved::Auth(a) => write!(f, "authentication failed: {a}"),
                PeerMisbehaved::TsUnacceptable => f.write_str("traffic selectors unacceptable"),
                PeerMisbehaved::FragmentationNotNegotiated => {
                    f.write_str("fragment without negotiated fragmentation")
                }
            },
            Self::Local(l) => match l {
                LocalError::Config(e) => write!(f, "configuration: {e}"),
                LocalError::NoSpi => f.write_str("no SPI left"),
                LocalError::Crypto(e) => write!(f, "local crypto failure: {e}"),
                LocalError::Emit(e) => write!(f, "cannot emit message: {e}"),
                LocalError::NoSuchSa => f.write_str("no such IKE SA"),
                LocalError::NoSuchChildSa(s) => write!(f, "no Child SA with SPI {s:#010x}"),
                LocalError::HalfOpenLimit => f.write_str("too many half-open IKE SAs"),
                LocalError::PoolExhausted => f.write_str("address pool exhausted"),
            },
        }
    }
}

impl std::error::Error for Error {}
