//! AEAD for ESP: one trait, three backends.
//!
//! - Intel's IPsec Multi-Buffer library (`ipsec-mb`, through `ffi/ipsec-mb`)
//!   for AES-GCM: its AVX-512/VAES code is 2.5x faster than `ring` at ESP's
//!   small sizes here. ChaCha20-Poly1305 keys on this backend are `ring`'s
//!   (faster than the library's direct API), and so are AES-GCM keys on a
//!   machine where the library cannot run or has no AES-NI path. What the
//!   dataplane process uses by default.
//! - `ring` (the type's default): BoringSSL-derived assembly.
//! - RustCrypto `aes-gcm` / `chacha20poly1305`: pure Rust.
//!
//! [`AeadKey`] is an enum over them, so the packet path dispatches with a
//! `match`, never through `dyn`. Key bytes never appear in `Debug` output.

use std::fmt;

mod backends;

pub use backends::{IpsecMbAead, RingAead, RustCryptoAead};

/// ICV (tag) length: 16 bytes for every algorithm here (RFC 4106 ENCR_AES_GCM_16,
/// RFC 7634).
pub const ICV_LEN: usize = 16;
/// Explicit IV length carried in each ESP packet (RFC 4106 section 3.1,
/// RFC 7634 section 2).
pub const IV_LEN: usize = 8;
/// Salt length taken from the end of the key material (RFC 4106 section
/// 8.1, RFC 7634 section 4).
pub const SALT_LEN: usize = 4;
/// AEAD nonce length: salt || IV.
pub const NONCE_LEN: usize = SALT_LEN + IV_LEN;

/// An ESP AEAD algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// AES-GCM with a 128-bit key and 16-byte ICV (RFC 4106).
    AesGcm128,
    /// AES-GCM with a 256-bit key and 16-byte ICV (RFC 4106).
    AesGcm256,
    /// ChaCha20-Poly1305 (RFC 7634).
    ChaCha20Poly1305,
}

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Self; 3] = [Self::AesGcm128, Self::AesGcm256, Self::ChaCha20Poly1305];

    /// Cipher key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::AesGcm128 => 16,
            Self::AesGcm256 | Self::ChaCha20Poly1305 => 32,
        }
    }

    /// Salt length in bytes.
    pub const fn salt_len(self) -> usize {
        SALT_LEN
    }

    /// Key material taken from IKEv2's KEYMAT for one direction: the key
    /// followed by the salt (RFC 4106 section 8.1, RFC 7634 section 4).
    pub const fn keymat_len(self) -> usize {
        self.key_len() + SALT_LEN
    }

    /// ICV length in bytes.
    pub const fn icv_len(self) -> usize {
        ICV_LEN
    }

    /// Explicit IV length in bytes.
    pub const fn iv_len(self) -> usize {
        IV_LEN
    }

    /// IKEv2 transform id (RFC 7296 / IANA "Transform Type 1"):
    /// ENCR_AES_GCM_16 = 20, ENCR_CHACHA20_POLY1305 = 28.
    pub const fn ikev2_transform_id(self) -> u16 {
        match self {
            Self::AesGcm128 | Self::AesGcm256 => 20,
            Self::ChaCha20Poly1305 => 28,
        }
    }
}

/// Which implementation runs the AEAD.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// `ring`.
    #[default]
    Ring,
    /// RustCrypto `aes-gcm` / `chacha20poly1305`.
    RustCrypto,
    /// Intel's IPsec Multi-Buffer library for AES-GCM (`ring` for
    /// ChaCha20-Poly1305, and for AES-GCM where the library cannot run or
    /// lacks AES-NI: [`AeadKey::backend`] tells which one a key got).
    IpsecMb,
}

impl Backend {
    /// Every backend.
    pub const ALL: [Self; 3] = [Self::Ring, Self::RustCrypto, Self::IpsecMb];

    /// The name used in configuration files and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ring => "ring",
            Self::RustCrypto => "rustcrypto",
            Self::IpsecMb => "ipsec-mb",
        }
    }

    /// Parses [`Backend::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == s)
    }

    /// The backend that runs `algorithm`'s keys when this one is asked for:
    /// [`Backend::IpsecMb`] gives ChaCha20-Poly1305 (and AES-GCM where the
    /// library is not available) to [`Backend::Ring`].
    pub fn effective(self, algorithm: Algorithm) -> Self {
        match (self, algorithm) {
            (Self::IpsecMb, Algorithm::AesGcm128 | Algorithm::AesGcm256)
                if Self::ipsec_mb_available() =>
            {
                Self::IpsecMb
            }
            (Self::IpsecMb, _) => Self::Ring,
            (b, _) => b,
        }
    }

    /// Whether the IPsec Multi-Buffer library runs AES-GCM with AES-NI on
    /// this machine (what [`Backend::IpsecMb`] needs to use it).
    pub fn ipsec_mb_available() -> bool {
        ipsec_mb::arch().is_ok_and(ipsec_mb::Arch::has_aesni)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The key given does not have the algorithm's key length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyError {
    /// Bytes expected.
    pub expected: usize,
    /// Bytes given.
    pub got: usize,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AEAD key must be {} bytes, got {}",
            self.expected, self.got
        )
    }
}

impl std::error::Error for KeyError {}

/// Authentication failed: the ICV does not match (the data may have been
/// decrypted in place anyway and must be discarded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcvError;

impl fmt::Display for IcvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ICV mismatch")
    }
}

impl std::error::Error for IcvError {}

/// An AEAD with a 12-byte nonce and a 16-byte detached tag.
pub trait Aead: Send + Sync {
    /// Encrypts `data` in place; returns the tag.
    fn seal_in_place_detached(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
    ) -> [u8; ICV_LEN];

    /// Verifies `tag` and decrypts `data` in place.
    fn open_in_place_detached(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; ICV_LEN],
    ) -> Result<(), IcvError>;
}

/// A key for one algorithm on one backend.
// The ring key stays inline (one pointer chase less per packet); the
// RustCrypto keys are boxed inside their variant.
#[allow(clippy::large_enum_variant)]
pub enum AeadKey {
    /// `ring`.
    Ring(RingAead),
    /// RustCrypto.
    RustCrypto(RustCryptoAead),
    /// Intel's IPsec Multi-Buffer library (AES-GCM).
    IpsecMb(IpsecMbAead),
}

impl fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ring(k) => f.debug_tuple("Ring").field(&k.algorithm()).finish(),
            Self::RustCrypto(k) => f.debug_tuple("RustCrypto").field(&k.algorithm()).finish(),
            Self::IpsecMb(k) => f.debug_tuple("IpsecMb").field(&k.algorithm()).finish(),
        }
    }
}

impl AeadKey {
    /// A key (`key.len()` must be `algorithm.key_len()`, salt excluded).
    pub fn new(backend: Backend, algorithm: Algorithm, key: &[u8]) -> Result<Self, KeyError> {
        if key.len() != algorithm.key_len() {
            return Err(KeyError {
                expected: algorithm.key_len(),
                got: key.len(),
            });
        }
        Ok(match backend {
            Backend::Ring => Self::Ring(RingAead::new(algorithm, key)?),
            Backend::RustCrypto => Self::RustCrypto(RustCryptoAead::new(algorithm, key)?),
            Backend::IpsecMb => match backend.effective(algorithm) {
                Backend::IpsecMb => Self::IpsecMb(IpsecMbAead::new(algorithm, key)?),
                _ => Self::Ring(RingAead::new(algorithm, key)?),
            },
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::Ring(k) => k.algorithm(),
            Self::RustCrypto(k) => k.algorithm(),
            Self::IpsecMb(k) => k.algorithm(),
        }
    }

    /// The backend that runs this key.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Ring(_) => Backend::Ring,
            Self::RustCrypto(_) => Backend::RustCrypto,
            Self::IpsecMb(_) => Backend::IpsecMb,
        }
    }
}

impl Aead for AeadKey {
    #[inline]
    fn seal_in_place_detached(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
    ) -> [u8; ICV_LEN] {
        match self {
            Self::Ring(k) => k.seal_in_place_detached(nonce, aad, data),
            Self::RustCrypto(k) => k.seal_in_place_detached(nonce, aad, data),
            Self::IpsecMb(k) => k.seal_in_place_detached(nonce, aad, data),
        }
    }

    #[inline]
    fn open_in_place_detached(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; ICV_LEN],
    ) -> Result<(), IcvError> {
        match self {
            Self::Ring(k) => k.open_in_place_detached(nonce, aad, data, tag),
            Self::RustCrypto(k) => k.open_in_place_detached(nonce, aad, data, tag),
            Self::IpsecMb(k) => k.open_in_place_detached(nonce, aad, data, tag),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    fn check_vector(
        alg: Algorithm,
        key: &str,
        nonce: &str,
        aad: &str,
        pt: &str,
        ct: &str,
        tag: &str,
    ) {
        for backend in Backend::ALL {
            let k = AeadKey::new(backend, alg, &h(key)).unwrap();
            let nonce: [u8; 12] = h(nonce).try_into().unwrap();
            let mut data = h(pt);
            let t = k.seal_in_place_detached(&nonce, &h(aad), &mut data);
            assert_eq!(
                hex::encode(&data),
                hex::encode(h(ct)),
                "{backend:?} ciphertext"
            );
            assert_eq!(hex::encode(t), hex::encode(h(tag)), "{backend:?} tag");
            k.open_in_place_detached(&nonce, &h(aad), &mut data, &t)
                .unwrap();
            assert_eq!(data, h(pt));
            let mut bad = t;
            bad[0] ^= 1;
            assert_eq!(
                k.open_in_place_detached(&nonce, &h(aad), &mut data, &bad),
                Err(IcvError)
            );
        }
    }

    /// RFC 8439 section 2.8.2.
    #[test]
    fn test_rfc8439_aead() {
        let pt = hex::encode(
            b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
        );
        check_vector(
            Algorithm::ChaCha20Poly1305,
            "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
            "070000004041424344454647",
            "50515253c0c1c2c3c4c5c6c7",
            &pt,
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
             3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
             92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
             3ff4def08e4b7a9de576d26586cec64b6116",
            "1ae10b594f09e26a7e902ecbd0600691",
        );
    }

    /// McGrew and Viega, "The Galois/Counter Mode of Operation", test
    /// cases 4 (AES-128) and 16 (AES-256), with AAD.
    #[test]
    fn test_gcm_spec_vectors() {
        let pt = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
                  1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
        check_vector(
            Algorithm::AesGcm128,
            "feffe9928665731c6d6a8f9467308308",
            "cafebabefacedbaddecaf888",
            "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            pt,
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e
             21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
            "5bc94fbc3221a5db94fae95ae7121a47",
        );
        check_vector(
            Algorithm::AesGcm256,
            "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            "cafebabefacedbaddecaf888",
            "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            pt,
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
             8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            "76fc6ece0f4e1768cddf8853bb2d551b",
        );
    }

    #[test]
    fn test_key_length_checked() {
        assert_eq!(
            AeadKey::new(Backend::Ring, Algorithm::AesGcm128, &[0; 32]).unwrap_err(),
            KeyError {
                expected: 16,
                got: 32
            }
        );
        assert!(AeadKey::new(Backend::RustCrypto, Algorithm::ChaCha20Poly1305, &[0; 16]).is_err());
        let k = AeadKey::new(Backend::RustCrypto, Algorithm::AesGcm256, &[9; 32]).unwrap();
        assert_eq!(
            format!("{k:?}"),
            "RustCrypto(AesGcm256)",
            "no key bytes in Debug"
        );
    }

    #[test]
    fn test_ipsec_mb_backend_keys() {
        assert!(
            Backend::ipsec_mb_available(),
            "the test machines have AES-NI and libIPSec_MB"
        );
        for (alg, want) in [
            (Algorithm::AesGcm128, Backend::IpsecMb),
            (Algorithm::AesGcm256, Backend::IpsecMb),
            (Algorithm::ChaCha20Poly1305, Backend::Ring),
        ] {
            let k = AeadKey::new(Backend::IpsecMb, alg, &vec![1; alg.key_len()]).unwrap();
            assert_eq!(k.backend(), want, "{alg:?}");
            assert_eq!(Backend::IpsecMb.effective(alg), want, "{alg:?}");
            assert_eq!(Backend::Ring.effective(alg), Backend::Ring);
            assert_eq!(Backend::RustCrypto.effective(alg), Backend::RustCrypto);
            assert_eq!(k.algorithm(), alg);
        }
        assert!(AeadKey::new(Backend::IpsecMb, Algorithm::AesGcm128, &[0; 32]).is_err());
        for b in Backend::ALL {
            assert_eq!(Backend::from_name(b.name()), Some(b));
            assert_eq!(b.to_string(), b.name());
        }
        assert_eq!(Backend::from_name("openssl"), None);
    }

    proptest! {
        #[test]
        fn backends_agree(alg in 0usize..3, key in prop::collection::vec(any::<u8>(), 32),
                          nonce in any::<[u8; 12]>(), aad in prop::collection::vec(any::<u8>(), 0..16),
                          pt in prop::collection::vec(any::<u8>(), 0..300)) {
            let alg = Algorithm::ALL[alg];
            let key = &key[..alg.key_len()];
            let a = AeadKey::new(Backend::Ring, alg, key).unwrap();
            let (mut x, ta) = {
                let mut x = pt.clone();
                let t = a.seal_in_place_detached(&nonce, &aad, &mut x);
                (x, t)
            };
            for other in [Backend::RustCrypto, Backend::IpsecMb] {
                let b = AeadKey::new(other, alg, key).unwrap();
                let mut y = pt.clone();
                let tb = b.seal_in_place_detached(&nonce, &aad, &mut y);
                prop_assert_eq!(&x, &y);
                prop_assert_eq!(ta, tb);
                b.open_in_place_detached(&nonce, &aad, &mut y, &ta).unwrap();
                prop_assert_eq!(&y, &pt);
            }
            a.open_in_place_detached(&nonce, &aad, &mut x, &ta).unwrap();
            prop_assert_eq!(x, pt);
        }
    }
}
