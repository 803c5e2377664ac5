//! Protection of the Encrypted (SK) payload, RFC 7296 section 3.14, and of
//! its per-fragment form SKF (RFC 7383): AES-GCM-16 (RFC 5282),
//! ChaCha20-Poly1305 (RFC 7634), and AES-CBC with truncated HMAC-SHA2
//! (RFC 3602, RFC 4868).
//!
//! The caller splits the message: the "AAD" is every octet of the message
//! before the IV (the IKE header, any unencrypted payloads, and the SK
//! generic payload header, or for SKF the generic header plus Fragment
//! Number and Total Fragments), with its length fields already final; the
//! "body" is the rest of the SK/SKF payload: IV || ciphertext || ICV.
//! [`SkCipher::sealed_len`] gives the body length for those length fields.
//!
//! ```text
//!  AAD:  IKE header | ... | SK generic header     (authenticated)
//!  body: IV | E(inner payloads | Padding | Pad Length) | ICV
//! ```
//!
//! For the AEADs the AAD is the associated data ("starting from the first
//! octet of the fixed IKE header through the last octet of the Encrypted
//! payload header", RFC 5282 section 5.1) and the ICV the tag. For
//! CBC the ICV is the truncated HMAC over AAD || IV || ciphertext, which is
//! the whole message up to the ICV.

use core::fmt;

use aes::{Aes128, Aes256};
use cbc::cipher::consts::U16;
use cbc::cipher::{Array, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use ring::aead::{self, Aad, LessSafeKey, Nonce, Tag, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroize;

use super::error::CryptoError;
use super::secret::SecretBytes;
use super::transforms::{Encr, Integ};

/// AES block length, the CBC IV length.
const AES_BLOCK: usize = 16;

/// The AEAD tag length of ENCR_AES_GCM_16 and ChaCha20-Poly1305.
const AEAD_TAG: usize = 16;

/// The explicit IV of the AEADs.
const AEAD_IV: usize = 8;

/// One direction's SK payload protection: encrypts and authenticates
/// outbound messages, or checks and decrypts inbound ones.
///
/// Create exactly one `SkCipher` per key and direction (not `Clone`): the
/// AEAD IV is a per-key counter held here, so two instances on the same key
/// would repeat IVs.
pub struct SkCipher {
    encr: Encr,
    kind: Kind,
}

enum Kind {
    Aead {
        // Boxed: ring's key schedule is large, the CBC variant small.
        key: Box<LessSafeKey>,
        salt: [u8; 4],
        next_iv: u64,
    },
    Cbc {
        key: SecretBytes,
        integ: Integ,
        integ_key: SecretBytes,
        rng: SystemRandom,
    },
}

impl fmt::Debug for SkCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SkCipher");
        d.field("encr", &self.encr);
        match &self.kind {
            Kind::Aead { next_iv, .. } => d.field("next_iv", next_iv),
            Kind::Cbc { integ, .. } => d.field("integ", integ),
        };
        d.finish_non_exhaustive()
    }
}

impl Drop for SkCipher {
    fn drop(&mut self) {
        if let Kind::Aead { salt, .. } = &mut self.kind {
            salt.zeroize();
        }
        // The CBC keys are SecretBytes, zeroized on their own; ring does not
        // expose its expanded AEAD key schedule for wiping.
    }
}

impl SkCipher {
    /// A cipher for one direction.
    ///
    /// `encr_key` is the encryption key material as prf+ produced it
    /// (SK_ei or SK_er: key then salt for the AEADs); `integ` and
    /// `integ_key` (SK_ai or SK_ar) are given with CBC and must be `None`
    /// with an AEAD.
    ///
    /// # Errors
    ///
    /// [`CryptoError::InvalidTransformCombination`] for AEAD with an
    /// integrity algorithm or CBC without; [`CryptoError::KeyLength`] for a
    /// key of the wrong length.
    pub fn new(
        encr: Encr,
        encr_key: &[u8],
        integ: Option<(Integ, &[u8])>,
    ) -> Result<Self, CryptoError> {
        if encr_key.len() != encr.key_material_len() {
            return Err(CryptoError::KeyLength {
                expected: encr.key_material_len(),
                received: encr_key.len(),
            });
        }
        let kind = match (encr.is_aead(), integ) {
            (true, None) => {
                let alg = match encr {
                    Encr::AesGcm16_128 => &aead::AES_128_GCM,
                    Encr::AesGcm16_256 => &aead::AES_256_GCM,
                    _ => &aead::CHACHA20_POLY1305,
                };
                // The salt is the last four octets of the key material
                // (RFC 5282 section 7.1, RFC 7634 section 3).
                let (key, salt) = encr_key.split_at(encr.key_len());
                let key = UnboundKey::new(alg, key).map_err(|_| CryptoError::Internal)?;
                let salt: [u8; 4] = salt.try_into().map_err(|_| CryptoError::Internal)?;
                Kind::Aead {
                    key: Box::new(LessSafeKey::new(key)),
                    salt,
                    next_iv: 0,
                }
            }
            (false, Some((integ, integ_key))) => {
                if integ_key.len() != integ.key_len() {
                    return Err(CryptoError::KeyLength {
                        expected: integ.key_len(),
                        received: integ_key.len(),
                    });
                }
                Kind::Cbc {
                    key: SecretBytes::from_slice(encr_key),
                    integ,
                    integ_key: SecretBytes::from_slice(integ_key),
                    rng: SystemRandom::new(),
                }
            }
            _ => return Err(CryptoError::InvalidTransformCombination),
        };
        Ok(Self { encr, kind })
    }

    /// The encryption algorithm.
    #[must_use]
    pub fn encr(&self) -> Encr {
        self.encr
    }

    /// The integrity algorithm (CBC only).
    #[must_use]
    pub fn integ(&self) -> Option<Integ> {
        match &self.kind {
            Kind::Aead { .. } => None,
            Kind::Cbc { integ, .. } => Some(*integ),
        }
    }

    /// Length of the IV at the start of the body.
    #[must_use]
    pub fn iv_len(&self) -> usize {
        self.encr.iv_len()
    }

    /// Length of the ICV at the end of the body.
    #[must_use]
    pub fn icv_len(&self) -> usize {
        match &self.kind {
            Kind::Aead { .. } => AEAD_TAG,
            Kind::Cbc { integ, .. } => integ.icv_len(),
        }
    }

    /// Length of the ciphertext for `plaintext_len` octets of inner
    /// payloads: plaintext, padding and the pad length octet, aligned to
    /// the cipher block.
    fn ciphertext_len(&self, plaintext_len: usize) -> usize {
        let block = self.encr.block_len();
        (plaintext_len + 1).div_ceil(block) * block
    }

    /// Length of the body (IV, ciphertext, ICV) that [`SkCipher::seal`]
    /// returns for `plaintext_len` octets of inner payloads: the SK payload
    /// length is this plus 4 (plus 8 for SKF).
    #[must_use]
    pub fn sealed_len(&self, plaintext_len: usize) -> usize {
        self.iv_len() + self.ciphertext_len(plaintext_len) + self.icv_len()
    }

    /// The most octets of inner payloads that fit a body of `body_len`
    /// octets (to cut RFC 7383 fragments), `None` if not even an empty one
    /// fits.
    #[must_use]
    pub fn max_plaintext_len(&self, body_len: usize) -> Option<usize> {
        let block = self.encr.block_len();
        let ct = body_len.checked_sub(self.iv_len() + self.icv_len())?;
        let ct = ct / block * block;
        ct.checked_sub(1)
    }

    /// Encrypts and authenticates `plaintext` (the inner payloads) and
    /// returns the body IV || ciphertext || ICV, [`SkCipher::sealed_len`]
    /// octets long. `aad` is every octet of the message before the IV, its
    /// length fields already set for that body length.
    ///
    /// # Errors
    ///
    /// [`CryptoError::IvExhausted`] once the AEAD IV counter is used up;
    /// [`CryptoError::Rng`] if no random CBC IV could be drawn.
    pub fn seal(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let iv = self.next_iv()?;
        self.seal_with_iv(aad, plaintext, &iv[..self.iv_len()])
    }

    /// [`SkCipher::seal`] with the AAD being all of `message` so far; the
    /// body is appended to it.
    ///
    /// # Errors
    ///
    /// As [`SkCipher::seal`].
    pub fn seal_append(
        &mut self,
        message: &mut Vec<u8>,
        plaintext: &[u8],
    ) -> Result<(), CryptoError> {
        let body = self.seal(message, plaintext)?;
        message.extend_from_slice(&body);
        Ok(())
    }

    /// Draws the IV of the next message.
    fn next_iv(&mut self) -> Result<[u8; AES_BLOCK], CryptoError> {
        let mut iv = [0u8; AES_BLOCK];
        match &mut self.kind {
            Kind::Aead { next_iv, .. } => {
                //= https://www.rfc-editor.org/rfc/rfc7634#section-2
                //# The IV MUST be unique for each invocation for a particular
                //# security association (SA) but does not need to be
                //# unpredictable.
                // RFC 5282 section 3.1 asks the same of AES-GCM.
                // A per-key counter: u64::MAX is never used, so a counter
                // that reached it is refused instead of wrapping.
                if *next_iv == u64::MAX {
                    return Err(CryptoError::IvExhausted);
                }
                iv[..AEAD_IV].copy_from_slice(&next_iv.to_be_bytes());
                *next_iv += 1;
            }
            Kind::Cbc { rng, .. } => {
                //= https://www.rfc-editor.org/rfc/rfc7296#section-3.14
                //# Senders MUST select a new
                //# unpredictable IV for every message; recipients MUST accept any
                //# value.
                rng.fill(&mut iv).map_err(|_| CryptoError::Rng)?;
            }
        }
        Ok(iv)
    }

    /// [`SkCipher::seal`] with a given IV: for known-answer tests only.
    pub(crate) fn seal_with_iv(
        &self,
        aad: &[u8],
        plaintext: &[u8],
        iv: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if iv.len() != self.iv_len() {
            return Err(CryptoError::Internal);
        }
        let ct_len = self.ciphertext_len(plaintext.len());
        let pad_len = ct_len - plaintext.len() - 1;
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.14
        //# The sender SHOULD set the Pad Length to the minimum value that
        //# makes the combination of the payloads, the Padding, and the Pad
        //# Length a multiple of the block size
        let pad_octet = u8::try_from(pad_len).map_err(|_| CryptoError::Internal)?;
        let mut out = Vec::with_capacity(self.sealed_len(plaintext.len()));
        out.extend_from_slice(iv);
        out.extend_from_slice(plaintext);
        // Padding of zeros: "MAY contain any value chosen by the sender".
        out.resize(out.len() + pad_len, 0);
        out.push(pad_octet);
        match &self.kind {
            Kind::Aead { key, salt, .. } => {
                let nonce = aead_nonce(salt, iv)?;
                let tag = key
                    .seal_in_place_separate_tag(nonce, Aad::from(aad), &mut out[AEAD_IV..])
                    .map_err(|_| CryptoError::Internal)?;
                out.extend_from_slice(tag.as_ref());
            }
            Kind::Cbc {
                key,
                integ,
                integ_key,
                ..
            } => {
                cbc_encrypt(key.as_bytes(), iv, &mut out[AES_BLOCK..])?;
                //= https://www.rfc-editor.org/rfc/rfc7296#section-3.14
                //# Integrity Checksum Data is the cryptographic checksum of
                //# the entire message starting with the Fixed IKE header through
                //# the Pad Length.  The checksum MUST be computed over the
                //# encrypted message.
                let mut icv = [0u8; super::prf::MAX_ICV_LEN];
                let icv = &mut icv[..integ.icv_len()];
                integ.compute_icv(integ_key.as_bytes(), &[aad, &out], icv)?;
                out.extend_from_slice(icv);
            }
        }
        Ok(out)
    }

    /// Checks the ICV of `body` (IV || ciphertext || ICV) with `aad` (every
    /// octet of the message before the IV), then decrypts it and returns
    /// the inner payloads without padding and pad length. Nothing is
    /// decrypted before the ICV verified.
    ///
    /// # Errors
    ///
    /// [`CryptoError::SkBodyLength`] if the body cannot hold IV, ICV and a
    /// pad length octet, or its ciphertext is not whole blocks;
    /// [`CryptoError::IntegrityCheckFailed`] if the ICV does not verify;
    /// [`CryptoError::BadPadding`] if the Pad Length points before the
    /// start of the ciphertext.
    pub fn open(&self, aad: &[u8], body: &[u8]) -> Result<SecretBytes, CryptoError> {
        let iv_len = self.iv_len();
        let icv_len = self.icv_len();
        let block = self.encr.block_len();
        let malformed = CryptoError::SkBodyLength {
            received: body.len(),
        };
        let ct_len = body
            .len()
            .checked_sub(iv_len + icv_len)
            .ok_or(malformed.clone())?;
        if ct_len == 0 || ct_len % block != 0 {
            return Err(malformed);
        }
        let (iv, rest) = body.split_at(iv_len);
        let (ct, icv) = rest.split_at(ct_len);
        let mut buf = SecretBytes::from_slice(ct);
        match &self.kind {
            Kind::Aead { key, salt, .. } => {
                let nonce = aead_nonce(salt, iv)?;
                let tag = Tag::try_from(icv).map_err(|_| CryptoError::IntegrityCheckFailed)?;
                // ring checks the tag before it writes any plaintext out.
                key.open_in_place_separate_tag(nonce, Aad::from(aad), tag, buf.as_mut_bytes(), 0..)
                    .map_err(|_| CryptoError::IntegrityCheckFailed)?;
            }
            Kind::Cbc {
                key,
                integ,
                integ_key,
                ..
            } => {
                // Integrity first, in constant time; only then decrypt.
                integ.verify_icv(integ_key.as_bytes(), &[aad, iv, ct], icv)?;
                cbc_decrypt(key.as_bytes(), iv, buf.as_mut_bytes())?;
            }
        }
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.14
        //# The sender SHOULD set the Pad Length to the minimum value that
        //# makes the combination of the payloads, the Padding, and the Pad
        //# Length a multiple of the block size, but the recipient MUST accept
        //# any length that results in proper alignment.
        let plain = buf.as_bytes();
        let pad_len = usize::from(plain[ct_len - 1]);
        let payload_len = (ct_len - 1)
            .checked_sub(pad_len)
            .ok_or(CryptoError::BadPadding)?;
        Ok(SecretBytes::from_slice(&plain[..payload_len]))
    }
}

// AES-GCM: the same salt || IV layout (RFC 5282 section 4, RFC 4106 section
// 4).
//= https://www.rfc-editor.org/rfc/rfc7634#section-2
//# The 96-bit nonce is formed from a concatenation of the 32-bit salt
//# and the 64-bit IV
fn aead_nonce(salt: &[u8; 4], iv: &[u8]) -> Result<Nonce, CryptoError> {
    let mut n = [0u8; aead::NONCE_LEN];
    n[..4].copy_from_slice(salt);
    n[4..].copy_from_slice(iv);
    Ok(Nonce::assume_unique_for_key(n))
}

fn blocks(buf: &mut [u8]) -> Result<&mut [Array<u8, U16>], CryptoError> {
    let (blocks, rest) = Array::<u8, U16>::slice_as_chunks_mut(buf);
    if !rest.is_empty() {
        return Err(CryptoError::Internal);
    }
    Ok(blocks)
}

fn cbc_encrypt(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Result<(), CryptoError> {
    let buf = blocks(buf)?;
    let bad = |_| CryptoError::Internal;
    match key.len() {
        16 => cbc::Encryptor::<Aes128>::new_from_slices(key, iv)
            .map_err(bad)?
            .encrypt_blocks(buf),
        32 => cbc::Encryptor::<Aes256>::new_from_slices(key, iv)
            .map_err(bad)?
            .encrypt_blocks(buf),
        _ => return Err(CryptoError::Internal),
    }
    Ok(())
}

fn cbc_decrypt(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Result<(), CryptoError> {
    let buf = blocks(buf)?;
    let bad = |_| CryptoError::Internal;
    match key.len() {
        16 => cbc::Decryptor::<Aes128>::new_from_slices(key, iv)
            .map_err(bad)?
            .decrypt_blocks(buf),
        32 => cbc::Decryptor::<Aes256>::new_from_slices(key, iv)
            .map_err(bad)?
            .decrypt_blocks(buf),
        _ => return Err(CryptoError::Internal),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace([' ', '\n'], "")).unwrap()
    }

    /// RFC 7634 appendix B: an INFORMATIONAL request with a Notify
    /// SET_WINDOW_SIZE(10) in an SK payload with ChaCha20-Poly1305, key
    /// 80..9f, salt a0a1a2a3, IV 1011121314151617, SPIs c0c1.. and d0d1..,
    /// message ID 9. The whole 69-octet message, byte for byte.
    #[test]
    fn test_rfc7634_appendix_b() {
        let key = h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f a0a1a2a3");
        let aad = h("c0c1c2c3c4c5c6c7 d0d1d2d3d4d5d6d7 2e202500 00000009 00000045 29000029");
        // Notify: next 0, length 12, protocol 0, SPI size 0, type 0x4001
        // (SET_WINDOW_SIZE), data 0x0000000a.
        let inner = h("0000000c 00004001 0000000a");
        let expected = h(
            "c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e20250000000009000000452900002 9\
                          1011121314151617 6103947 01f8d017f 7c129248896b71bf e25236efd7cdc670\
                          66906315b2",
        );
        let mut c = SkCipher::new(Encr::ChaCha20Poly1305, &key, None).unwrap();
        assert_eq!(c.sealed_len(inner.len()), 8 + 13 + 16);
        let body = c
            .seal_with_iv(&aad, &inner, &h("1011121314151617"))
            .unwrap();
        let mut msg = aad.clone();
        msg.extend_from_slice(&body);
        assert_eq!(msg, expected);
        // And back.
        let opened = c.open(&expected[..32], &expected[32..]).unwrap();
        assert_eq!(opened.as_bytes(), inner);
        // The counter IV path produces a message of the same shape.
        let mut m2 = aad.clone();
        c.seal_append(&mut m2, &inner).unwrap();
        assert_eq!(m2.len(), 69);
        assert_eq!(&m2[32..40], &[0; 8]);
    }

    /// RFC 3602 section 4 case #1 and #2 (AES-128-CBC), through the CBC
    /// helper the SK payload uses.
    #[test]
    fn test_rfc3602_aes_cbc() {
        let mut b = b"Single block msg".to_vec();
        cbc_encrypt(
            &h("06a9214036b8a15b512e03d534120006"),
            &h("3dafba429d9eb430b422da802c9fac41"),
            &mut b,
        )
        .unwrap();
        assert_eq!(b, h("e353779c1079aeb82708942dbe77181a"));
        let key = h("c286696d887c9aa0611bbb3e2025a45a");
        let iv = h("562e17996d093d28ddb3ba695a2e6f58");
        let plain: Vec<u8> = (0..32).collect();
        let mut b = plain.clone();
        cbc_encrypt(&key, &iv, &mut b).unwrap();
        assert_eq!(
            b,
            h("d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1")
        );
        cbc_decrypt(&key, &iv, &mut b).unwrap();
        assert_eq!(b, plain);
    }

    fn all_ciphers() -> Vec<(SkCipher, SkCipher)> {
        let mut v = Vec::new();
        for encr in [
            Encr::AesGcm16_128,
            Encr::AesGcm16_256,
            Encr::ChaCha20Poly1305,
        ] {
            let key: Vec<u8> = (0..encr.key_material_len() as u8).collect();
            v.push((
                SkCipher::new(encr, &key, None).unwrap(),
                SkCipher::new(encr, &key, None).unwrap(),
            ));
        }
        for encr in [Encr::AesCbc128, Encr::AesCbc256] {
            for integ in [
                Integ::HmacSha256_128,
                Integ::HmacSha384_192,
                Integ::HmacSha512_256,
            ] {
                let key: Vec<u8> = (0..encr.key_material_len() as u8).collect();
                let ikey = vec![0x42; integ.key_len()];
                v.push((
                    SkCipher::new(encr, &key, Some((integ, &ikey))).unwrap(),
                    SkCipher::new(encr, &key, Some((integ, &ikey))).unwrap(),
                ));
            }
        }
        v
    }

    #[test]
    fn test_round_trip_all_lengths() {
        for (mut tx, rx) in all_ciphers() {
            for len in 0..70 {
                let aad = vec![0xa5; 32];
                let plain: Vec<u8> = (0..len as u8).collect();
                let body = tx.seal(&aad, &plain).unwrap();
                assert_eq!(body.len(), tx.sealed_len(len), "{tx:?}");
                let ct_len = body.len() - tx.iv_len() - tx.icv_len();
                assert_eq!(ct_len % tx.encr().block_len(), 0);
                // Minimal padding.
                assert!(ct_len - len - 1 < tx.encr().block_len());
                let opened = rx.open(&aad, &body).unwrap();
                assert_eq!(opened.as_bytes(), plain, "{tx:?} {len}");
                assert!(tx.max_plaintext_len(body.len()).unwrap() >= len);
            }
        }
    }

    #[test]
    fn test_tamper_anywhere_fails_integrity() {
        for (mut tx, rx) in all_ciphers() {
            let aad = vec![0x11; 28];
            let body = tx.seal(&aad, b"inner payloads").unwrap();
            for i in 0..aad.len() {
                let mut a = aad.clone();
                a[i] ^= 0x01;
                assert_eq!(
                    rx.open(&a, &body).unwrap_err(),
                    CryptoError::IntegrityCheckFailed
                );
            }
            for i in 0..body.len() {
                let mut b = body.clone();
                b[i] ^= 0x80;
                assert_eq!(
                    rx.open(&aad, &b).unwrap_err(),
                    CryptoError::IntegrityCheckFailed,
                    "{tx:?} octet {i}"
                );
            }
            // A shorter AAD (the SK header moved into the body) fails too.
            let mut b = aad[27..].to_vec();
            b.extend_from_slice(&body);
            assert!(rx.open(&aad[..27], &b).is_err());
        }
    }

    #[test]
    fn test_bad_lengths() {
        for (mut tx, rx) in all_ciphers() {
            let aad = [0u8; 28];
            let body = tx.seal(&aad, b"x").unwrap();
            let min = tx.iv_len() + tx.icv_len() + tx.encr().block_len();
            for len in 0..min {
                assert_eq!(
                    rx.open(&aad, &vec![0; len]).unwrap_err(),
                    CryptoError::SkBodyLength { received: len },
                    "{tx:?}"
                );
            }
            if !tx.encr().is_aead() {
                // Ciphertext not a whole number of blocks.
                let mut b = body.clone();
                b.insert(20, 0);
                assert_eq!(
                    rx.open(&aad, &b).unwrap_err(),
                    CryptoError::SkBodyLength {
                        received: body.len() + 1
                    }
                );
            }
        }
    }

    /// A peer's Pad Length larger than the ciphertext, sealed with a valid
    /// ICV: refused after the integrity check, no panic.
    #[test]
    fn test_bad_pad_length_after_integrity() {
        let key = [7u8; 36];
        let c = SkCipher::new(Encr::ChaCha20Poly1305, &key, None).unwrap();
        let aad = [1u8; 32];
        // Plaintext of 3 octets whose last octet (pad length) says 200.
        let mut buf = vec![0xaa, 0xbb, 200];
        let KindRef(key_ref, salt) = kind_ref(&c);
        let tag = key_ref
            .seal_in_place_separate_tag(
                aead_nonce(salt, &[0; 8]).unwrap(),
                Aad::from(&aad),
                &mut buf,
            )
            .unwrap();
        let mut body = vec![0; 8];
        body.extend_from_slice(&buf);
        body.extend_from_slice(tag.as_ref());
        assert_eq!(c.open(&aad, &body).unwrap_err(), CryptoError::BadPadding);

        // Pad length accepted when it only makes a longer-than-minimal,
        // still aligned padding (CBC: 1 payload octet, 30 padding octets).
        let integ = Integ::HmacSha256_128;
        let mut cbc = SkCipher::new(Encr::AesCbc128, &[3; 16], Some((integ, &[4; 32]))).unwrap();
        let mut plain = vec![0x5c];
        plain.resize(31, 0);
        plain.push(30);
        let iv = [9u8; 16];
        let mut ct = plain.clone();
        cbc_encrypt(&[3; 16], &iv, &mut ct).unwrap();
        let mut body = iv.to_vec();
        body.extend_from_slice(&ct);
        let mut icv = [0u8; 16];
        integ
            .compute_icv(&[4; 32], &[&aad, &body], &mut icv)
            .unwrap();
        body.extend_from_slice(&icv);
        assert_eq!(cbc.open(&aad, &body).unwrap().as_bytes(), [0x5c]);
        // And a pad length of 32 (> 31 available) is BadPadding.
        let mut plain2 = plain.clone();
        plain2[31] = 32;
        let mut ct = plain2;
        cbc_encrypt(&[3; 16], &iv, &mut ct).unwrap();
        let mut body = iv.to_vec();
        body.extend_from_slice(&ct);
        integ
            .compute_icv(&[4; 32], &[&aad, &body], &mut icv)
            .unwrap();
        body.extend_from_slice(&icv);
        assert_eq!(cbc.open(&aad, &body).unwrap_err(), CryptoError::BadPadding);
        let _ = cbc.seal(&aad, b"").unwrap();
    }

    struct KindRef<'a>(&'a LessSafeKey, &'a [u8; 4]);

    fn kind_ref(c: &SkCipher) -> KindRef<'_> {
        match &c.kind {
            Kind::Aead { key, salt, .. } => KindRef(key, salt),
            Kind::Cbc { .. } => unreachable!(),
        }
    }

    #[test]
    fn test_aead_iv_counter_unique_and_exhaustion() {
        let mut c = SkCipher::new(Encr::AesGcm16_128, &[1; 20], None).unwrap();
        let a = c.seal(&[], b"a").unwrap();
        let b = c.seal(&[], b"a").unwrap();
        assert_ne!(a[..8], b[..8]);
        assert_ne!(a, b);
        if let Kind::Aead { next_iv, .. } = &mut c.kind {
            *next_iv = u64::MAX - 1;
        }
        let last = c.seal(&[], b"a").unwrap();
        assert_eq!(last[..8], (u64::MAX - 1).to_be_bytes());
        assert_eq!(c.seal(&[], b"a").unwrap_err(), CryptoError::IvExhausted);
    }

    #[test]
    fn test_cbc_ivs_differ() {
        let mut c = SkCipher::new(
            Encr::AesCbc256,
            &[1; 32],
            Some((Integ::HmacSha256_128, &[2; 32])),
        )
        .unwrap();
        let a = c.seal(&[], b"same").unwrap();
        let b = c.seal(&[], b"same").unwrap();
        assert_ne!(a[..16], b[..16]);
    }

    #[test]
    fn test_new_rejects_bad_keys_and_combinations() {
        assert_eq!(
            SkCipher::new(Encr::AesGcm16_128, &[0; 16], None).unwrap_err(),
            CryptoError::KeyLength {
                expected: 20,
                received: 16
            }
        );
        assert_eq!(
            SkCipher::new(
                Encr::AesGcm16_128,
                &[0; 20],
                Some((Integ::HmacSha256_128, &[0; 32]))
            )
            .unwrap_err(),
            CryptoError::InvalidTransformCombination
        );
        assert_eq!(
            SkCipher::new(Encr::AesCbc128, &[0; 16], None).unwrap_err(),
            CryptoError::InvalidTransformCombination
        );
        assert!(SkCipher::new(
            Encr::AesCbc128,
            &[0; 16],
            Some((Integ::HmacSha256_128, &[0; 16]))
        )
        .is_err());
    }

    #[test]
    fn test_max_plaintext_len() {
        for (tx, _) in all_ciphers() {
            for body_len in 0..120 {
                match tx.max_plaintext_len(body_len) {
                    Some(n) => {
                        assert!(tx.sealed_len(n) <= body_len);
                        assert!(tx.sealed_len(n + 1) > body_len);
                    }
                    None => assert!(tx.sealed_len(0) > body_len),
                }
            }
        }
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever a peer sends, `open` returns an error and never
            /// panics (a forged body passes the ICV with negligible odds).
            #[test]
            fn open_arbitrary_input_never_panics(
                aad in proptest::collection::vec(any::<u8>(), 0..64),
                body in proptest::collection::vec(any::<u8>(), 0..200),
            ) {
                for (_, rx) in all_ciphers() {
                    prop_assert!(rx.open(&aad, &body).is_err());
                }
            }

            /// Any plaintext survives seal then open, for every cipher.
            #[test]
            fn seal_open_round_trip(
                aad in proptest::collection::vec(any::<u8>(), 0..64),
                plain in proptest::collection::vec(any::<u8>(), 0..300),
            ) {
                for (mut tx, rx) in all_ciphers() {
                    let body = tx.seal(&aad, &plain).unwrap();
                    prop_assert_eq!(body.len(), tx.sealed_len(plain.len()));
                    let opened = rx.open(&aad, &body).unwrap();
                    prop_assert_eq!(opened.as_bytes(), &plain[..]);
                }
            }
        }
    }
}
