//! Certificate authentication of IKE_AUTH: [`CertAuthenticator`], an
//! [`Authenticator`] that signs with our private key and checks the peer's
//! signature with the key of its certificate, after validating the chain
//! to a trust anchor ([`super::pki`]).
//!
//! Methods:
//! - Digital Signature (14, RFC 7427) with ECDSA P-256/P-384 (DER
//!   signatures, SHA-256/384/512) and RSA PKCS #1 v1.5 (SHA-256/384/512):
//!   signed and verified. We announce SHA-256, SHA-384 and SHA-512 in
//!   SIGNATURE_HASH_ALGORITHMS and sign with the first of ours (RSA: in
//!   that order; ECDSA: the curve's own hash first) that the peer listed.
//! - RSA Digital Signature (1, PKCS #1 v1.5 over SHA-1): verified, and
//!   signed (RSA-2048/3072/4096) towards a peer that sent no
//!   SIGNATURE_HASH_ALGORITHMS. `ring` cannot sign over SHA-1, so that
//!   signature is a constant-time exponentiation with `crypto-bigint`
//!   (no CRT, so slower than `ring`), checked with `ring` before use.
//! - ECDSA methods 9 (P-256/SHA-256) and 10 (P-384/SHA-384), RFC 4754
//!   fixed-size r||s signatures: verified, and signed when the peer sent
//!   no SIGNATURE_HASH_ALGORITHMS.
//! - RSASSA-PSS (RFC 7427 with id-RSASSA-PSS parameters): verified for
//!   SHA-256/384/512 with MGF1 over the same hash and salt = hash length;
//!   we never sign with it.
//!
//! Time: validity dates are checked at the wall-clock time of the exchange,
//! computed from the state machine's `now` and a [`WallClock`] anchor the
//! caller gives; nothing here reads a clock.

use std::fmt;
use std::time::Instant;

use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Odd, Uint, U2048, U3072, U4096};
use ring::rand::SystemRandom;
use ring::signature::UnparsedPublicKey;
use ring::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, RsaEncoding, RsaKeyPair, VerificationAlgorithm,
};
use x509_parser::der_parser::parse_der;
use x509_parser::pem::Pem;
use zeroize::Zeroize;

use super::auth::{AuthContext, AuthFailure, Authenticator};
use super::codec::{
    sig_alg, AuthMethod, AuthPayload, CertEncoding, CertPayload, CertReqPayload, HashAlgorithm,
};
use super::crypto::Prf;
use super::identity::Identity;
use super::pki::{rsa_pss_verification, CertError, Certificate, KeyKind, TrustAnchors};

/// The wall-clock time at one instant of the state machine's clock: the
/// certificate authenticator computes "now" for validity checks as
/// `unix + (now - at)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WallClock {
    /// An instant of the state machine's clock.
    pub at: Instant,
    /// The UNIX time (seconds) at `at`.
    pub unix: i64,
}

impl WallClock {
    /// The UNIX time at `now`.
    #[must_use]
    pub fn unix_at(&self, now: Instant) -> i64 {
        let secs = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        if now >= self.at {
            self.unix.saturating_add(secs(now - self.at))
        } else {
            self.unix.saturating_sub(secs(self.at - now))
        }
    }
}

/// The modulus and private exponent of an RSA key, for classic RSA
/// signatures over SHA-1 (method 1), which `ring` does not make: a
/// constant-time modular exponentiation with `crypto-bigint` (the library
/// of our MODP groups), checked with `ring`'s verification before use.
struct RsaRaw {
    n: Vec<u8>,
    d: Vec<u8>,
}

impl Drop for RsaRaw {
    fn drop(&mut self) {
        self.d.zeroize();
    }
}

/// DigestInfo prefix of SHA-1 (RFC 8017 section 9.2, note 1).
const SHA1_DIGEST_INFO: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];

/// `n` and `d` of a DER RSAPrivateKey (PKCS #1), leading zeros removed.
fn rsa_raw(pkcs1: &[u8]) -> Option<RsaRaw> {
    let (_, k) = parse_der(pkcs1).ok()?;
    let f = k.as_sequence().ok()?;
    let strip = |i: usize| -> Option<Vec<u8>> {
        let b = f.get(i)?.as_slice().ok()?;
        let nz = b.iter().position(|&x| x != 0).unwrap_or(b.len());
        Some(b[nz..].to_vec())
    };
    Some(RsaRaw {
        n: strip(1)?,
        d: strip(3)?,
    })
}

/// The RSAPrivateKey inside a PKCS #8 PrivateKeyInfo.
fn pkcs8_inner(pkcs8: &[u8]) -> Option<Vec<u8>> {
    let (_, k) = parse_der(pkcs8).ok()?;
    Some(k.as_sequence().ok()?.get(2)?.as_slice().ok()?.to_vec())
}

fn be_fixed(b: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = vec![0; len];
    out.get_mut(len.checked_sub(b.len())?..)?.copy_from_slice(b);
    Some(out)
}

fn rsa_pow<const L: usize>(n: &[u8], d: &[u8], m: &[u8]) -> Option<Vec<u8>> {
    let len = L * 8;
    let n = Uint::<L>::from_be_slice(&be_fixed(n, len)?);
    let n = Option::<Odd<Uint<L>>>::from(Odd::new(n))?;
    let params = FixedMontyParams::new(n);
    let mut d_fixed = be_fixed(d, len)?;
    let mut d = Uint::<L>::from_be_slice(&d_fixed);
    d_fixed.zeroize();
    let m = Uint::<L>::from_be_slice(&be_fixed(m, len)?);
    let s = FixedMontyForm::new(&m, &params).pow(&d).retrieve();
    d.zeroize();
    Some(s.to_be_bytes().as_ref().to_vec())
}

impl RsaRaw {
    /// RSASSA-PKCS1-v1_5 with SHA-1 over `msg`.
    fn sign_sha1(&self, msg: &[u8]) -> Option<Vec<u8>> {
        let k = self.n.len();
        let h = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, msg);
        let t = SHA1_DIGEST_INFO.len() + h.as_ref().len();
        if k < t + 11 {
            return None;
        }
        let mut em = vec![0xff; k];
        em[0] = 0;
        em[1] = 1;
        em[k - t - 1] = 0;
        em[k - t..k - h.as_ref().len()].copy_from_slice(&SHA1_DIGEST_INFO);
        em[k - h.as_ref().len()..].copy_from_slice(h.as_ref());
        let s = match k {
            256 => rsa_pow::<{ U2048::LIMBS }>(&self.n, &self.d, &em)?,
            384 => rsa_pow::<{ U3072::LIMBS }>(&self.n, &self.d, &em)?,
            512 => rsa_pow::<{ U4096::LIMBS }>(&self.n, &self.d, &em)?,
            _ => return None,
        };
        // The limb width may be wider than k only for odd sizes (not
        // accepted above), so s is exactly k octets.
        Some(s)
    }
}

/// Our private key, ready to sign.
enum SigningKey {
    Rsa(Box<RsaKeyPair>, Option<RsaRaw>),
    Ecdsa {
        kind: KeyKind,
        /// DER signatures for RFC 7427.
        der: Box<EcdsaKeyPair>,
        /// Fixed r||s signatures for methods 9/10.
        fixed: Box<EcdsaKeyPair>,
    },
}

/// A private key from PEM (PKCS #8 `PRIVATE KEY`, or PKCS #1 `RSA PRIVATE
/// KEY`).
pub struct PrivateKey {
    key: SigningKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            SigningKey::Rsa(..) => f.write_str("PrivateKey(RSA)"),
            SigningKey::Ecdsa { kind, .. } => write!(f, "PrivateKey({kind:?})"),
        }
    }
}

fn ecdsa_pair(
    alg: &'static EcdsaSigningAlgorithm,
    pkcs8: &[u8],
) -> Result<EcdsaKeyPair, CertError> {
    EcdsaKeyPair::from_pkcs8(alg, pkcs8, &SystemRandom::new())
        .map_err(|e| CertError::Malformed(format!("private key: {e}")))
}

impl PrivateKey {
    /// A key from PEM text.
    ///
    /// # Errors
    ///
    /// [`CertError::Malformed`] when there is no usable key (RSA, ECDSA
    /// P-256 or P-384).
    pub fn from_pem(pem: &[u8]) -> Result<Self, CertError> {
        for p in Pem::iter_from_buffer(pem) {
            let p = p.map_err(|e| CertError::Malformed(e.to_string()))?;
            match p.label.as_str() {
                "PRIVATE KEY" => return Self::from_pkcs8(&p.contents),
                "RSA PRIVATE KEY" => {
                    return RsaKeyPair::from_der(&p.contents)
                        .map(|k| Self {
                            key: SigningKey::Rsa(Box::new(k), rsa_raw(&p.contents)),
                        })
                        .map_err(|e| CertError::Malformed(format!("RSA private key: {e}")))
                }
                _ => {}
            }
        }
        Err(CertError::Malformed("no PRIVATE KEY in PEM".into()))
    }

    /// A key from PKCS #8 DER.
    ///
    /// # Errors
    ///
    /// [`CertError::Malformed`] for other keys.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, CertError> {
        if let Ok(k) = RsaKeyPair::from_pkcs8(der) {
            let raw = pkcs8_inner(der).and_then(|i| rsa_raw(&i));
            return Ok(Self {
                key: SigningKey::Rsa(Box::new(k), raw),
            });
        }
        for (kind, a, b) in [
            (
                KeyKind::EcdsaP256,
                &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            ),
            (
                KeyKind::EcdsaP384,
                &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            ),
        ] {
            if let Ok(der_pair) = ecdsa_pair(a, der) {
                return Ok(Self {
                    key: SigningKey::Ecdsa {
                        kind,
                        der: Box::new(der_pair),
                        fixed: Box::new(ecdsa_pair(b, der)?),
                    },
                });
            }
        }
        Err(CertError::Malformed(
            "private key is not RSA, ECDSA P-256 or P-384 PKCS #8".into(),
        ))
    }

    fn public_bits(&self) -> &[u8] {
        use ring::signature::KeyPair;
        match &self.key {
            SigningKey::Rsa(k, _) => k.public().as_ref(),
            SigningKey::Ecdsa { der, .. } => der.public_key().as_ref(),
        }
    }
}

/// Certificate authentication (Cisco `authentication local rsa-sig` /
/// `authentication remote rsa-sig` or `ecdsa-sig` with a `pki trustpoint`).
pub struct CertAuthenticator {
    /// Our certificate, then the intermediates to send.
    chain: Vec<Certificate>,
    key: PrivateKey,
    anchors: TrustAnchors,
    clock: WallClock,
    rng: SystemRandom,
}

impl fmt::Debug for CertAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertAuthenticator")
            .field("chain", &self.chain)
            .field("key", &self.key)
            .field("anchors", &self.anchors)
            .field("clock", &self.clock)
            .finish()
    }
}

/// The hash algorithms we sign and verify with (RFC 7427).
const OUR_HASHES: [HashAlgorithm; 3] = [
    HashAlgorithm::SHA2_256,
    HashAlgorithm::SHA2_384,
    HashAlgorithm::SHA2_512,
];

impl CertAuthenticator {
    /// An authenticator with our certificate chain (end entity first,
    /// then intermediates to send), its private key, the trust anchors
    /// for the peer's chain, and the wall-clock anchor for validity dates.
    ///
    /// # Errors
    ///
    /// [`CertError`] when the chain is empty, or the key does not match
    /// the certificate.
    pub fn new(
        chain: Vec<Certificate>,
        key: PrivateKey,
        anchors: TrustAnchors,
        clock: WallClock,
    ) -> Result<Self, CertError> {
        let ee = chain.first().ok_or(CertError::Missing)?;
        if ee.public_key_bits() != key.public_bits() {
            return Err(CertError::Malformed(
                "private key does not match the certificate".into(),
            ));
        }
        Ok(Self {
            chain,
            key,
            anchors,
            clock,
            rng: SystemRandom::new(),
        })
    }

    /// Our end-entity certificate.
    #[must_use]
    pub fn certificate(&self) -> &Certificate {
        &self.chain[0]
    }

    /// The trust anchors.
    #[must_use]
    pub fn anchors(&self) -> &TrustAnchors {
        &self.anchors
    }

    fn do_sign(&self, octets: &[u8], peer_hashes: &[HashAlgorithm]) -> Result<AuthPayload, String> {
        let err = |e: ring::error::Unspecified| e.to_string();
        match &self.key.key {
            SigningKey::Rsa(k, raw) => {
                //= https://www.rfc-editor.org/rfc/rfc7296#section-3.8
                //# RSA Digital Signature (1) - Computed as specified in Section 2.15
                //# using an RSA private key with RSASSA-PKCS1-v1_5 signature scheme
                if peer_hashes.is_empty() {
                    if let Some(sig) = raw.as_ref().and_then(|r| r.sign_sha1(octets)) {
                        // Checked before it leaves (a faulty signature can
                        // leak the key).
                        let ok = UnparsedPublicKey::new(
                            &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
                            k.public().as_ref(),
                        )
                        .verify(octets, &sig)
                        .is_ok();
                        if ok {
                            return Ok(AuthPayload {
                                method: AuthMethod::RSA_SIG,
                                data: sig,
                            });
                        }
                    }
                }
                // Without the peer's list and without method 1, SHA-256.
                let h = OUR_HASHES
                    .into_iter()
                    .find(|h| peer_hashes.contains(h))
                    .unwrap_or(HashAlgorithm::SHA2_256);
                let (enc, alg): (&'static dyn RsaEncoding, _) = match h {
                    HashAlgorithm::SHA2_384 => {
                        (&signature::RSA_PKCS1_SHA384, sig_alg::SHA384_WITH_RSA)
                    }
                    HashAlgorithm::SHA2_512 => {
                        (&signature::RSA_PKCS1_SHA512, sig_alg::SHA512_WITH_RSA)
                    }
                    _ => (&signature::RSA_PKCS1_SHA256, sig_alg::SHA256_WITH_RSA),
                };
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(enc, &self.rng, octets, &mut sig).map_err(err)?;
                AuthPayload::digital_signature(alg, &sig).map_err(|e| e.to_string())
            }
            SigningKey::Ecdsa { kind, der, fixed } => {
                let (alg, method) = match kind {
                    KeyKind::EcdsaP384 => {
                        (sig_alg::ECDSA_WITH_SHA384, AuthMethod::ECDSA_SHA384_P384)
                    }
                    _ => (sig_alg::ECDSA_WITH_SHA256, AuthMethod::ECDSA_SHA256_P256),
                };
                if peer_hashes.is_empty() {
                    // RFC 4754: the signature is r and s, each the size of
                    // the curve's order, concatenated.
                    let sig = fixed.sign(&self.rng, octets).map_err(err)?;
                    return Ok(AuthPayload {
                        method,
                        data: sig.as_ref().to_vec(),
                    });
                }
                // The curve's own hash (SHA-256 for P-256, SHA-384 for
                // P-384), even to a peer that listed other hashes only.
                let sig = der.sign(&self.rng, octets).map_err(err)?;
                AuthPayload::digital_signature(alg, sig.as_ref()).map_err(|e| e.to_string())
            }
        }
    }
}

/// The ring algorithm that checks an AUTH payload from a certificate with
/// a `kind` key.
fn auth_verification(
    auth: &AuthPayload,
    kind: KeyKind,
) -> Result<(&'static dyn VerificationAlgorithm, &[u8]), AuthFailure> {
    let unsupported = || AuthFailure::UnsupportedMethod(auth.method);
    let alg: &'static dyn VerificationAlgorithm = match (auth.method, kind) {
        (AuthMethod::DIGITAL_SIGNATURE, _) => {
            let s = auth.signature().ok_or(AuthFailure::BadSignature)?;
            let a: &'static dyn VerificationAlgorithm = match (s.algorithm, kind) {
                (sig_alg::SHA256_WITH_RSA, KeyKind::Rsa) => &signature::RSA_PKCS1_2048_8192_SHA256,
                (sig_alg::SHA384_WITH_RSA, KeyKind::Rsa) => &signature::RSA_PKCS1_2048_8192_SHA384,
                (sig_alg::SHA512_WITH_RSA, KeyKind::Rsa) => &signature::RSA_PKCS1_2048_8192_SHA512,
                (sig_alg::ECDSA_WITH_SHA256, KeyKind::EcdsaP256) => {
                    &signature::ECDSA_P256_SHA256_ASN1
                }
                (sig_alg::ECDSA_WITH_SHA384, KeyKind::EcdsaP256) => {
                    &signature::ECDSA_P256_SHA384_ASN1
                }
                (sig_alg::ECDSA_WITH_SHA256, KeyKind::EcdsaP384) => {
                    &signature::ECDSA_P384_SHA256_ASN1
                }
                (sig_alg::ECDSA_WITH_SHA384, KeyKind::EcdsaP384) => {
                    &signature::ECDSA_P384_SHA384_ASN1
                }
                (other, _) => {
                    let pss = match kind {
                        KeyKind::Rsa => rsa_pss_verification(other),
                        _ => None,
                    };
                    pss.ok_or_else(|| {
                        AuthFailure::Certificate(CertError::Unsupported(format!(
                            "RFC 7427 signature algorithm {:02x?} with a {kind:?} key",
                            s.algorithm
                        )))
                    })?
                }
            };
            return Ok((a, s.signature));
        }
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.8
        //# RSA Digital Signature (1) - Computed as specified in Section 2.15
        //# using an RSA private key with RSASSA-PKCS1-v1_5 signature scheme
        (AuthMethod::RSA_SIG, KeyKind::Rsa) => {
            &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
        }
        (AuthMethod::ECDSA_SHA256_P256, KeyKind::EcdsaP256) => &signature::ECDSA_P256_SHA256_FIXED,
        (AuthMethod::ECDSA_SHA384_P384, KeyKind::EcdsaP384) => &signature::ECDSA_P384_SHA384_FIXED,
        _ => return Err(unsupported()),
    };
    Ok((alg, &auth.data))
}

impl Authenticator for CertAuthenticator {
    fn local_method(&self, _peer: Option<&Identity>) -> AuthMethod {
        AuthMethod::DIGITAL_SIGNATURE
    }

    fn sign(
        &self,
        _prf: Prf,
        _peer: Option<&Identity>,
        octets: &[u8],
    ) -> Result<Vec<u8>, AuthFailure> {
        self.do_sign(octets, &OUR_HASHES)
            .map(|a| a.data)
            .map_err(AuthFailure::LocalKey)
    }

    fn verify(
        &self,
        _prf: Prf,
        _peer: &Identity,
        _method: AuthMethod,
        _octets: &[u8],
        _data: &[u8],
    ) -> Result<(), AuthFailure> {
        // Needs the peer's certificates: see verify_auth.
        Err(AuthFailure::Certificate(CertError::Missing))
    }

    fn sign_auth(
        &self,
        _prf: Prf,
        _peer: Option<&Identity>,
        octets: &[u8],
        ctx: &AuthContext<'_>,
    ) -> Result<AuthPayload, AuthFailure> {
        // RFC 7427 section 4: sign with a hash the peer announced.
        self.do_sign(octets, ctx.peer_hash_algorithms)
            .map_err(AuthFailure::LocalKey)
    }

    fn verify_auth(
        &self,
        _prf: Prf,
        peer: &Identity,
        auth: &AuthPayload,
        octets: &[u8],
        ctx: &AuthContext<'_>,
    ) -> Result<(), AuthFailure> {
        if auth.method == AuthMethod::SHARED_KEY_MIC {
            return Err(AuthFailure::UnsupportedMethod(auth.method));
        }
        let certs = ctx
            .peer_certs
            .iter()
            .map(|d| Certificate::from_der(d))
            .collect::<Result<Vec<_>, _>>()
            .map_err(AuthFailure::Certificate)?;
        let ee = self
            .anchors
            .validate(&certs, self.clock.unix_at(ctx.now))
            .map_err(AuthFailure::Certificate)?;
        // The peer's ID payload must be named by its certificate.
        if !ee.binds(peer) {
            return Err(AuthFailure::IdentityNotInCertificate(peer.clone()));
        }
        let kind = ee.key_kind().map_err(AuthFailure::Certificate)?;
        let (alg, sig) = auth_verification(auth, kind)?;
        if ee.verify(alg, octets, sig) {
            Ok(())
        } else {
            Err(AuthFailure::BadSignature)
        }
    }

    fn certificates(&self) -> Vec<CertPayload> {
        self.chain
            .iter()
            .map(|c| CertPayload {
                encoding: CertEncoding::X509_SIGNATURE,
                data: c.der().to_vec(),
            })
            .collect()
    }

    fn cert_request(&self) -> Option<CertReqPayload> {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.7
        //# The Certification Authority value is a concatenated
        //# list of SHA-1 hashes of the public keys of trusted Certification
        //# Authorities (CAs).
        Some(CertReqPayload {
            encoding: CertEncoding::X509_SIGNATURE,
            data: self.anchors.certreq_data(),
        })
    }

    fn signature_hash_algorithms(&self) -> Vec<HashAlgorithm> {
        OUR_HASHES.to_vec()
    }
}
