//! IKEv2 cryptographic suite: transforms, PRF, key derivation, Diffie-Hellman
//! and the SK payload's encryption.

mod error;
mod prf;
mod secret;
mod transforms;

pub use error::{CryptoError, TransformKind};
pub use secret::SecretBytes;
pub use transforms::{
    DhGroup, DhGroupId, Encr, EncrId, EspSuite, IkeSuite, Integ, IntegId, Prf, PrfId,
};
