//! IKEv2 cryptographic suite: transforms, PRF, key derivation, Diffie-Hellman
//! and the SK payload's encryption. No I/O, no clock; randomness comes from
//! `ring::rand` (a `&dyn SecureRandom` for key pairs, `SystemRandom` inside
//! the CBC IV generator).
//!
//! | need | RFC | here |
//! | --- | --- | --- |
//! | transform IDs and lengths | 7296 3.3.2, 5282, 7634, 4868, 3526, 5903, 8031 | [`EncrId`], [`PrfId`], [`IntegId`], [`DhGroupId`]; [`Encr`], [`Prf`], [`Integ`], [`DhGroup`]; [`IkeSuite`], [`EspSuite`] |
//! | prf, prf+ | 7296 2.13 | [`Prf::compute`], [`Prf::prf_plus`] |
//! | SKEYSEED, SK_d..SK_pr | 7296 2.14 | [`skeyseed`], [`IkeSaKeys::derive`], [`IkeSaKeys::from_shared_secret`] |
//! | IKE SA rekey | 7296 2.18 | [`rekey_skeyseed`], [`IkeSaKeys::rekey`] |
//! | Child SA KEYMAT (PFS or not) | 7296 2.17 | [`ChildSaKeys::derive`] |
//! | AUTH octets, PSK AUTH | 7296 2.15 | [`signed_octets`], [`psk_auth`], [`verify_psk_auth`] |
//! | Diffie-Hellman 14/19/20/31 | 3526, 5903, 8031 | [`DhPrivateKey`] |
//! | SK / SKF payload | 7296 3.14, 5282, 7634, 7383 | [`SkCipher`], [`IkeSaKeys::sk_ciphers`] |
//!
//! # Use by the IKE state machine (responder side of IKE_SA_INIT + IKE_AUTH)
//!
//! ```
//! use controlplane::ikev2::crypto::*;
//! use ring::rand::SystemRandom;
//!
//! # fn main() -> Result<(), CryptoError> {
//! let rng = SystemRandom::new();
//! // The accepted proposal, from the codec's transform IDs.
//! let suite = IkeSuite::from_ids(EncrId(20), Some(256), PrfId(5), IntegId(0), DhGroupId(31))?;
//! # let peer = DhPrivateKey::generate(suite.dh(), &rng)?;
//! # let ke_i = peer.public_value().to_vec();
//! # let (ni, nr, spi_i, spi_r) = ([1u8; 32], [2u8; 32], [3u8; 8], [4u8; 8]);
//! // IKE_SA_INIT: our KE payload, then g^ir from the initiator's KE data.
//! let dh = DhPrivateKey::generate(suite.dh(), &rng)?;
//! let ke_r = dh.public_value().to_vec();
//! let g_ir = dh.agree(&ke_i)?; // INVALID_KE_PAYLOAD / drop on error
//! let keys = IkeSaKeys::from_shared_secret(&suite, g_ir.as_bytes(), &ni, &nr, &spi_i, &spi_r)?;
//! let mut sk = keys.sk_ciphers(&suite, Role::Responder)?; // keep for the SA's life
//!
//! // IKE_AUTH request: aad = header .. SK generic header, body = the rest.
//! # let mut init_sk = keys.sk_ciphers(&suite, Role::Initiator)?;
//! # let mut request = vec![0u8; 32];
//! # init_sk.outbound.seal_append(&mut request, b"IDi, AUTH, SA, TSi, TSr")?;
//! let inner = sk.inbound.open(&request[..32], &request[32..])?; // drop silently on error
//! # let _ = inner;
//! # let init_request = b"IKE_SA_INIT request as received";
//! # let idi_body = b"\x02\0\0\0spoke1.cisco.com";
//! # let received_auth = psk_auth(suite.prf(), b"psk", &signed_octets(suite.prf(), init_request, &nr, keys.sk_pi(), idi_body)?)?;
//! // The initiator's AUTH (method 2, shared key).
//! let octets = signed_octets(suite.prf(), init_request, &nr, keys.peer_sk_p(Role::Responder), idi_body)?;
//! verify_psk_auth(suite.prf(), b"psk", &octets, received_auth.as_bytes())?; // AUTHENTICATION_FAILED
//! // Our AUTH over the IKE_SA_INIT response we sent.
//! # let init_response = b"IKE_SA_INIT response as sent";
//! # let idr_body = b"\x02\0\0\0hub.cisco.com";
//! let ours = signed_octets(suite.prf(), init_response, &ni, keys.own_sk_p(Role::Responder), idr_body)?;
//! let auth = psk_auth(suite.prf(), b"psk", &ours)?;
//! # let _ = auth;
//! // The first Child SA's keys, to push to the dataplane.
//! let esp = EspSuite::new(Encr::AesGcm16_128, None)?;
//! let child = ChildSaKeys::derive(suite.prf(), keys.sk_d(), &esp, None, &ni, &nr)?;
//! let (outbound, inbound) = child.outbound_inbound(Role::Responder);
//! assert_eq!(outbound.encr_key_material().len(), 20); // key || salt
//! # let _ = inbound;
//! // The response: header and SK header with final lengths, then seal.
//! let inner_response = b"IDr, AUTH, SA, TSi, TSr";
//! let body_len = sk.outbound.sealed_len(inner_response.len());
//! let mut response = vec![0u8; 32]; // header with length 32 + body_len, SK header 4 + body_len
//! sk.outbound.seal_append(&mut response, inner_response)?;
//! assert_eq!(response.len(), 32 + body_len);
//! # Ok(())
//! # }
//! ```
//!
//! Errors are [`CryptoError`]; [`CryptoError::is_peer_error`] tells what the
//! peer caused from local faults. Secrets are [`SecretBytes`], zeroized on
//! drop and never printed; `ring`'s expanded AEAD and ECDH keys cannot be
//! wiped from here.

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
