//! The AEAD backends.

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use ring::aead as r;

use super::{Aead, Algorithm, IcvError, KeyError, ICV_LEN, NONCE_LEN};

/// `ring`'s AEAD (`LessSafeKey`: we manage nonces ourselves, from the ESP
/// sequence number).
pub struct RingAead {
    key: r::LessSafeKey,
    algorithm: Algorithm,
}

impl std::fmt::Debug for RingAead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingAead")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl RingAead {
    /// A key for `algorithm`.
    pub fn new(algorithm: Algorithm, key: &[u8]) -> Result<Self, KeyError> {
        let alg = match algorithm {
            Algorithm::AesGcm128 => &r::AES_128_GCM,
            Algorithm::AesGcm256 => &r::AES_256_GCM,
            Algorithm::ChaCha20Poly1305 => &r::CHACHA20_POLY1305,
        };
        let unbound = r::UnboundKey::new(alg, key).map_err(|_| KeyError {
            expected: algorithm.key_len(),
            got: key.len(),
        })?;
        Ok(Self {
            key: r::LessSafeKey::new(unbound),
            algorithm,
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

impl Aead for RingAead {
    #[inline]
    fn seal_in_place_detached(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
    ) -> [u8; ICV_LEN] {
        let nonce = r::Nonce::assume_unique_for_key(*nonce);
        // ring refuses only inputs longer than the algorithm's limit (2^36
        // bytes for GCM), which a packet cannot be; return a zero tag then,
        // which no receiver will accept.
        match self
            .key
            .seal_in_place_separate_tag(nonce, r::Aad::from(aad), data)
        {
            Ok(tag) => {
                let mut t = [0u8; ICV_LEN];
                t.copy_from_slice(tag.as_ref());
                t
            }
            Err(_) => [0u8; ICV_LEN],
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
        let nonce = r::Nonce::assume_unique_for_key(*nonce);
        let tag = r::Tag::from(*tag);
        self.key
            .open_in_place_separate_tag(nonce, r::Aad::from(aad), tag, data, 0..)
            .map(|_| ())
            .map_err(|_| IcvError)
    }
}

enum Rc {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

/// RustCrypto's AEADs.
pub struct RustCryptoAead {
    inner: Rc,
}

impl std::fmt::Debug for RustCryptoAead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustCryptoAead")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

impl RustCryptoAead {
    /// A key for `algorithm`.
    pub fn new(algorithm: Algorithm, key: &[u8]) -> Result<Self, KeyError> {
        let err = |_| KeyError {
            expected: algorithm.key_len(),
            got: key.len(),
        };
        let inner = match algorithm {
            Algorithm::AesGcm128 => {
                Rc::Aes128(Box::new(Aes128Gcm::new_from_slice(key).map_err(err)?))
            }
            Algorithm::AesGcm256 => {
                Rc::Aes256(Box::new(Aes256Gcm::new_from_slice(key).map_err(err)?))
            }
            Algorithm::ChaCha20Poly1305 => Rc::ChaCha(Box::new(
                ChaCha20Poly1305::new_from_slice(key).map_err(err)?,
            )),
        };
        Ok(Self { inner })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            Rc::Aes128(_) => Algorithm::AesGcm128,
            Rc::Aes256(_) => Algorithm::AesGcm256,
            Rc::ChaCha(_) => Algorithm::ChaCha20Poly1305,
        }
    }
}

fn seal<A: AeadInOut>(
    a: &A,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    data: &mut [u8],
) -> [u8; ICV_LEN] {
    let Ok(n) = <&aes_gcm::aead::Nonce<A>>::try_from(&nonce[..]) else {
        return [0u8; ICV_LEN];
    };
    match a.encrypt_inout_detached(n, aad, data.into()) {
        Ok(tag) => {
            let mut t = [0u8; ICV_LEN];
            t.copy_from_slice(tag.as_slice());
            t
        }
        Err(_) => [0u8; ICV_LEN],
    }
}

fn open<A: AeadInOut>(
    a: &A,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    data: &mut [u8],
    tag: &[u8; ICV_LEN],
) -> Result<(), IcvError> {
    let n = <&aes_gcm::aead::Nonce<A>>::try_from(&nonce[..]).map_err(|_| IcvError)?;
    let t = <&aes_gcm::aead::Tag<A>>::try_from(&tag[..]).map_err(|_| IcvError)?;
    a.decrypt_inout_detached(n, aad, data.into(), t)
        .map_err(|_| IcvError)
}

impl Aead for RustCryptoAead {
    #[inline]
    fn seal_in_place_detached(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
    ) -> [u8; ICV_LEN] {
        match &self.inner {
            Rc::Aes128(a) => seal(&**a, nonce, aad, data),
            Rc::Aes256(a) => seal(&**a, nonce, aad, data),
            Rc::ChaCha(a) => seal(&**a, nonce, aad, data),
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
        match &self.inner {
            Rc::Aes128(a) => open(&**a, nonce, aad, data, tag),
            Rc::Aes256(a) => open(&**a, nonce, aad, data, tag),
            Rc::ChaCha(a) => open(&**a, nonce, aad, data, tag),
        }
    }
}

/// AES-GCM from Intel's IPsec Multi-Buffer library (`ffi/ipsec-mb`).
pub struct IpsecMbAead {
    key: ipsec_mb::GcmKey,
    algorithm: Algorithm,
}

impl std::fmt::Debug for IpsecMbAead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpsecMbAead")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl IpsecMbAead {
    /// A key for AES-GCM-128 or -256 (the library must be available: see
    /// [`super::Backend::ipsec_mb_available`]).
    pub fn new(algorithm: Algorithm, key: &[u8]) -> Result<Self, KeyError> {
        let err = KeyError {
            expected: algorithm.key_len(),
            got: key.len(),
        };
        if algorithm == Algorithm::ChaCha20Poly1305 || key.len() != algorithm.key_len() {
            return Err(err);
        }
        let key = ipsec_mb::GcmKey::new(key).map_err(|_| err)?;
        Ok(Self { key, algorithm })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

impl Aead for IpsecMbAead {
    #[inline]
    fn seal_in_place_detached(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
    ) -> [u8; ICV_LEN] {
        self.key.seal_in_place(nonce, aad, data)
    }

    #[inline]
    fn open_in_place_detached(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; ICV_LEN],
    ) -> Result<(), IcvError> {
        self.key
            .open_in_place(nonce, aad, data, tag)
            .map_err(|_| IcvError)
    }
}
