//! IKEv2 cryptographic suite: transforms, PRF, key derivation, Diffie-Hellman
//! and the SK payload's encryption.

mod auth;
mod dh;
mod error;
mod keys;
mod prf;
mod secret;
mod sk;
mod transforms;

pub use auth::{psk_auth, signed_octets, verify_psk_auth, KEY_PAD};
pub use dh::DhPrivateKey;
pub use error::{CryptoError, TransformKind};
pub use keys::{rekey_skeyseed, skeyseed, ChildSaKeys, EspKeys, IkeSaKeys, Role, SkCiphers};
pub use secret::SecretBytes;
pub use sk::SkCipher;
pub use transforms::{
    DhGroup, DhGroupId, Encr, EncrId, EspSuite, IkeSuite, Integ, IntegId, Prf, PrfId,
};
