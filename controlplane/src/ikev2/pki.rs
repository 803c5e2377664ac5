//! X.509 certificates for IKEv2 signature authentication: parsing (DER
//! and PEM), chain validation to a configured trust anchor, and the
//! binding of an IKE identity to a certificate.
//!
//! Choice of crates: `x509-parser` parses certificates (it exposes the
//! raw TBS, subject/issuer DER and the extensions we check, and borrows the
//! DER instead of copying it); every signature (certificate links and AUTH
//! payloads) is checked with `ring`, which the IKE core already uses for
//! Diffie-Hellman and randomness. `ring` cannot make RSA signatures over
//! SHA-1: classic RSA signing (method 1) uses `crypto-bigint`, see
//! [`super::cert_auth`].
//!
//! Nothing here reads a clock: validity dates are checked against a UNIX
//! time the caller passes in.

use std::fmt;

use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::oid::Oid;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer;
use x509_parser::signature_algorithm::SignatureAlgorithm;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo, X509Name};

use super::identity::Identity;

/// Longest chain accepted (end entity, intermediates, trust anchor).
pub const MAX_CHAIN: usize = 8;

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";
const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
const SHA384_WITH_RSA: &str = "1.2.840.113549.1.1.12";
const SHA512_WITH_RSA: &str = "1.2.840.113549.1.1.13";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const MGF1: &str = "1.2.840.113549.1.1.8";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SHA384: &str = "2.16.840.1.101.3.4.2.2";
const SHA512: &str = "2.16.840.1.101.3.4.2.3";

fn oid_is(o: &Oid<'_>, s: &str) -> bool {
    o.to_id_string() == s
}

/// Why a certificate or chain is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertError {
    /// The peer sent no certificate.
    Missing,
    /// Not a parseable X.509 certificate (or key).
    Malformed(String),
    /// No trust anchor (and no intermediate sent) issued this certificate.
    UnknownCa {
        /// The issuer DN of the last certificate of the chain built.
        issuer: String,
    },
    /// `now` is after notAfter.
    Expired {
        /// Subject DN.
        subject: String,
        /// notAfter, UNIX seconds.
        not_after: i64,
    },
    /// `now` is before notBefore.
    NotYetValid {
        /// Subject DN.
        subject: String,
        /// notBefore, UNIX seconds.
        not_before: i64,
    },
    /// The issuer's signature on a certificate does not verify.
    BadSignature {
        /// Subject DN of the certificate whose signature is bad.
        subject: String,
    },
    /// An issuer is not a CA (basicConstraints) or may not sign
    /// certificates (keyUsage).
    NotCa {
        /// Subject DN of the issuer.
        subject: String,
    },
    /// The end-entity keyUsage lacks digitalSignature.
    KeyUsage {
        /// Subject DN.
        subject: String,
    },
    /// A key or signature algorithm we do not do.
    Unsupported(String),
    /// More than [`MAX_CHAIN`] certificates.
    ChainTooLong,
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("peer sent no certificate"),
            Self::Malformed(e) => write!(f, "malformed certificate: {e}"),
            Self::UnknownCa { issuer } => {
                write!(f, "unknown CA: no trust anchor for issuer \"{issuer}\"")
            }
            Self::Expired { subject, not_after } => write!(
                f,
                "certificate \"{subject}\" expired (notAfter {not_after} UNIX time)"
            ),
            Self::NotYetValid {
                subject,
                not_before,
            } => write!(
                f,
                "certificate \"{subject}\" not yet valid (notBefore {not_before} UNIX time)"
            ),
            Self::BadSignature { subject } => {
                write!(f, "bad issuer signature on certificate \"{subject}\"")
            }
            Self::NotCa { subject } => write!(f, "issuer \"{subject}\" is not a CA"),
            Self::KeyUsage { subject } => write!(
                f,
                "certificate \"{subject}\" keyUsage lacks digitalSignature"
            ),
            Self::Unsupported(what) => write!(f, "unsupported {what}"),
            Self::ChainTooLong => write!(f, "certificate chain longer than {MAX_CHAIN}"),
        }
    }
}

impl std::error::Error for CertError {}

/// The kind of public key of a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// rsaEncryption.
    Rsa,
    /// ECDSA on P-256.
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
}

/// A DER X.509 certificate, checked to parse when built.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Certificate({})", self.subject())
    }
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, CertError> {
    match X509Certificate::from_der(der) {
        Ok(([], c)) => Ok(c),
        Ok(_) => Err(CertError::Malformed("trailing data".into())),
        Err(e) => Err(CertError::Malformed(e.to_string())),
    }
}

fn key_kind(spki: &SubjectPublicKeyInfo<'_>) -> Result<KeyKind, CertError> {
    let alg = &spki.algorithm;
    if oid_is(&alg.algorithm, RSA_ENCRYPTION) {
        return Ok(KeyKind::Rsa);
    }
    if oid_is(&alg.algorithm, EC_PUBLIC_KEY) {
        let curve = alg
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string());
        return match curve.as_deref() {
            Some(P256) => Ok(KeyKind::EcdsaP256),
            Some(P384) => Ok(KeyKind::EcdsaP384),
            c => Err(CertError::Unsupported(format!("EC curve {c:?}"))),
        };
    }
    Err(CertError::Unsupported(format!(
        "public key algorithm {}",
        alg.algorithm
    )))
}

/// The ring verification algorithm for a certificate signature algorithm
/// and an issuer key.
fn cert_sig_alg(
    sig: &Oid<'_>,
    key: KeyKind,
) -> Result<&'static dyn VerificationAlgorithm, CertError> {
    let s = sig.to_id_string();
    Ok(match (s.as_str(), key) {
        (SHA256_WITH_RSA, KeyKind::Rsa) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (SHA384_WITH_RSA, KeyKind::Rsa) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (SHA512_WITH_RSA, KeyKind::Rsa) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (ECDSA_SHA256, KeyKind::EcdsaP256) => &signature::ECDSA_P256_SHA256_ASN1,
        (ECDSA_SHA384, KeyKind::EcdsaP256) => &signature::ECDSA_P256_SHA384_ASN1,
        (ECDSA_SHA256, KeyKind::EcdsaP384) => &signature::ECDSA_P384_SHA256_ASN1,
        (ECDSA_SHA384, KeyKind::EcdsaP384) => &signature::ECDSA_P384_SHA384_ASN1,
        _ => {
            return Err(CertError::Unsupported(format!(
                "certificate signature algorithm {s} with a {key:?} key"
            )))
        }
    })
}

impl Certificate {
    /// A certificate from DER.
    ///
    /// # Errors
    ///
    /// [`CertError::Malformed`] when it does not parse.
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        parse(der)?;
        Ok(Self { der: der.to_vec() })
    }

    /// All `CERTIFICATE` blocks of a PEM text, in order.
    ///
    /// # Errors
    ///
    /// [`CertError::Malformed`] when the PEM or a certificate does not
    /// parse, or there is no certificate.
    pub fn from_pem(pem: &[u8]) -> Result<Vec<Self>, CertError> {
        let mut out = Vec::new();
        for p in Pem::iter_from_buffer(pem) {
            let p = p.map_err(|e| CertError::Malformed(e.to_string()))?;
            if p.label == "CERTIFICATE" {
                out.push(Self::from_der(&p.contents)?);
            }
        }
        if out.is_empty() {
            return Err(CertError::Malformed("no CERTIFICATE in PEM".into()));
        }
        Ok(out)
    }

    /// The DER bytes.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    fn parsed(&self) -> X509Certificate<'_> {
        // Checked in the constructors.
        match parse(&self.der) {
            Ok(c) => c,
            Err(_) => unreachable!("certificate checked at construction"),
        }
    }

    /// The subject DN as text (`CN=hub, O=Example`).
    #[must_use]
    pub fn subject(&self) -> String {
        self.parsed().subject().to_string()
    }

    /// notBefore and notAfter, UNIX seconds.
    #[must_use]
    pub fn validity(&self) -> (i64, i64) {
        let c = self.parsed();
        let v = c.validity();
        (v.not_before.timestamp(), v.not_after.timestamp())
    }

    /// The subject as an ID_DER_ASN1_DN identity.
    #[must_use]
    pub fn subject_identity(&self) -> Identity {
        Identity::Dn(self.parsed().subject().as_raw().to_vec())
    }

    /// The DER SubjectPublicKeyInfo.
    #[must_use]
    pub fn spki(&self) -> Vec<u8> {
        self.parsed().public_key().raw.to_vec()
    }

    /// The subjectPublicKey bits (RSAPublicKey DER, or an EC point).
    #[must_use]
    pub fn public_key_bits(&self) -> Vec<u8> {
        self.parsed().public_key().subject_public_key.data.to_vec()
    }

    /// The key kind.
    ///
    /// # Errors
    ///
    /// [`CertError::Unsupported`] for other keys.
    pub fn key_kind(&self) -> Result<KeyKind, CertError> {
        key_kind(self.parsed().public_key())
    }

    /// The SHA-1 hash of the SubjectPublicKeyInfo: what a CERTREQ names
    /// (RFC 7296 section 3.7).
    #[must_use]
    pub fn spki_sha1(&self) -> [u8; 20] {
        let d = ring::digest::digest(
            &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            self.parsed().public_key().raw,
        );
        let mut out = [0; 20];
        out.copy_from_slice(d.as_ref());
        out
    }

    /// Whether this certificate's key verifies `sig` over `msg` with
    /// `alg`.
    #[must_use]
    pub fn verify(&self, alg: &'static dyn VerificationAlgorithm, msg: &[u8], sig: &[u8]) -> bool {
        let c = self.parsed();
        UnparsedPublicKey::new(alg, &c.public_key().subject_public_key.data)
            .verify(msg, sig)
            .is_ok()
    }

    /// Whether the certificate names `id` (subjectAltName dNSName,
    /// rfc822Name or iPAddress; the subject DN for ID_DER_ASN1_DN).
    #[must_use]
    pub fn binds(&self, id: &Identity) -> bool {
        let c = self.parsed();
        if let Identity::Dn(dn) = id {
            return dn_equal(c.subject().as_raw(), dn);
        }
        let Ok(Some(san)) = c.subject_alternative_name() else {
            return false;
        };
        san.value.general_names.iter().any(|g| match (g, id) {
            (GeneralName::DNSName(n), Identity::Fqdn(f)) => n
                .trim_end_matches('.')
                .eq_ignore_ascii_case(f.trim_end_matches('.')),
            (GeneralName::RFC822Name(n), Identity::Email(e)) => n.eq_ignore_ascii_case(e),
            (GeneralName::IPAddress(a), Identity::Ipv4(v)) => *a == v.octets(),
            (GeneralName::IPAddress(a), Identity::Ipv6(v)) => *a == v.octets(),
            _ => false,
        })
    }
}

/// Whether two DER distinguished names are the same name: the same RDNs
/// in the same order with the same attribute types, string values
/// compared without regard to ASCII case or the ASN.1 string type.
#[must_use]
pub fn dn_equal(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    let (Ok((ra, na)), Ok((rb, nb))) = (X509Name::from_der(a), X509Name::from_der(b)) else {
        return false;
    };
    if !ra.is_empty() || !rb.is_empty() {
        return false;
    }
    let (va, vb): (Vec<_>, Vec<_>) = (na.iter_rdn().collect(), nb.iter_rdn().collect());
    va.len() == vb.len()
        && va.iter().zip(&vb).all(|(x, y)| {
            let (xa, ya): (Vec<_>, Vec<_>) = (x.iter().collect(), y.iter().collect());
            xa.len() == ya.len()
                && xa.iter().zip(&ya).all(|(p, q)| {
                    p.attr_type() == q.attr_type()
                        && match (p.as_str(), q.as_str()) {
                            (Ok(s), Ok(t)) => s.trim().eq_ignore_ascii_case(t.trim()),
                            _ => p.attr_value().data == q.attr_value().data,
                        }
                })
        })
}

/// A DER DN as text (`CN=hub, O=Example`); `None` when it does not parse.
#[must_use]
pub fn dn_to_string(der: &[u8]) -> Option<String> {
    match X509Name::from_der(der) {
        Ok(([], n)) => Some(n.to_string()),
        _ => None,
    }
}

/// The ring algorithm for an RFC 7427 RSASSA-PSS AlgorithmIdentifier
/// (DER): SHA-256/384/512 with MGF1 over the same hash and a salt as long
/// as the hash, the only parameters `ring` verifies. `None` otherwise.
#[must_use]
pub fn rsa_pss_verification(alg_der: &[u8]) -> Option<&'static dyn VerificationAlgorithm> {
    let Ok(([], ai)) = AlgorithmIdentifier::from_der(alg_der) else {
        return None;
    };
    let Ok(SignatureAlgorithm::RSASSA_PSS(p)) = SignatureAlgorithm::try_from(&ai) else {
        return None;
    };
    let hash = p.hash_algorithm_oid().to_id_string();
    let mgf = p.mask_gen_algorithm().ok()?;
    if !oid_is(&mgf.mgf, MGF1) || mgf.hash.to_id_string() != hash || p.trailer_field() != 1 {
        return None;
    }
    let (alg, len): (&'static dyn VerificationAlgorithm, u32) = match hash.as_str() {
        SHA256 => (&signature::RSA_PSS_2048_8192_SHA256, 32),
        SHA384 => (&signature::RSA_PSS_2048_8192_SHA384, 48),
        SHA512 => (&signature::RSA_PSS_2048_8192_SHA512, 64),
        _ => return None,
    };
    (p.salt_length() == len).then_some(alg)
}

/// Trust anchors (Cisco `crypto pki trustpoint` CA certificates).
#[derive(Clone, Debug, Default)]
pub struct TrustAnchors {
    anchors: Vec<Certificate>,
}

impl TrustAnchors {
    /// No anchors: every chain is refused.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an anchor.
    #[must_use]
    pub fn with(mut self, ca: Certificate) -> Self {
        self.anchors.push(ca);
        self
    }

    /// The anchors.
    #[must_use]
    pub fn certificates(&self) -> &[Certificate] {
        &self.anchors
    }

    /// The concatenated SHA-1 SPKI hashes of the anchors: the
    /// Certification Authority field of our CERTREQ.
    #[must_use]
    pub fn certreq_data(&self) -> Vec<u8> {
        self.anchors.iter().flat_map(|a| a.spki_sha1()).collect()
    }

    /// Validates the chain `peer` (the end-entity certificate first, then
    /// intermediates in any order) at UNIX time `now`, and returns the
    /// end-entity certificate.
    ///
    /// Checks: every certificate's dates, each issuer's signature, that
    /// issuers are CAs (basicConstraints cA, keyUsage keyCertSign when
    /// present), the end-entity keyUsage digitalSignature when present,
    /// and that the chain ends at a trust anchor.
    ///
    /// # Errors
    ///
    /// A [`CertError`] saying why the chain is refused.
    pub fn validate(&self, peer: &[Certificate], now: i64) -> Result<Certificate, CertError> {
        let ee = peer.first().ok_or(CertError::Missing)?;
        if peer.len() > MAX_CHAIN {
            return Err(CertError::ChainTooLong);
        }
        // Each certificate parsed once for the whole walk.
        let chain: Vec<X509Certificate<'_>> = peer.iter().map(Certificate::parsed).collect();
        let anchors: Vec<X509Certificate<'_>> =
            self.anchors.iter().map(Certificate::parsed).collect();
        if let Ok(Some(ku)) = chain[0].key_usage() {
            if !ku.value.digital_signature() {
                return Err(CertError::KeyUsage {
                    subject: chain[0].subject().to_string(),
                });
            }
        }
        let mut cur = 0;
        for _ in 0..MAX_CHAIN {
            let c = &chain[cur];
            check_dates(c, now)?;
            // A trust anchor that issued it ends the chain.
            let mut bad_sig = false;
            for ap in &anchors {
                if !dn_equal(ap.subject().as_raw(), c.issuer().as_raw()) {
                    continue;
                }
                match issued_by(c, ap) {
                    Ok(()) => {
                        check_dates(ap, now)?;
                        return Ok(ee.clone());
                    }
                    Err(CertError::BadSignature { .. }) => bad_sig = true,
                    Err(e) => return Err(e),
                }
            }
            // Else an intermediate the peer sent.
            let mut next = None;
            for (i, ip) in chain.iter().enumerate().skip(1) {
                if i == cur || !dn_equal(ip.subject().as_raw(), c.issuer().as_raw()) {
                    continue;
                }
                match issued_by(c, ip) {
                    Ok(()) => {
                        next = Some(i);
                        break;
                    }
                    Err(CertError::BadSignature { .. }) => bad_sig = true,
                    Err(e) => return Err(e),
                }
            }
            match next {
                Some(n) => cur = n,
                None if bad_sig => {
                    return Err(CertError::BadSignature {
                        subject: c.subject().to_string(),
                    })
                }
                None => {
                    return Err(CertError::UnknownCa {
                        issuer: c.issuer().to_string(),
                    })
                }
            }
        }
        Err(CertError::ChainTooLong)
    }
}

fn check_dates(c: &X509Certificate<'_>, now: i64) -> Result<(), CertError> {
    let v = c.validity();
    if now < v.not_before.timestamp() {
        return Err(CertError::NotYetValid {
            subject: c.subject().to_string(),
            not_before: v.not_before.timestamp(),
        });
    }
    if now > v.not_after.timestamp() {
        return Err(CertError::Expired {
            subject: c.subject().to_string(),
            not_after: v.not_after.timestamp(),
        });
    }
    Ok(())
}

/// Whether `issuer` signed `c` and may sign certificates.
fn issued_by(c: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> Result<(), CertError> {
    let is_ca = matches!(issuer.basic_constraints(), Ok(Some(b)) if b.value.ca);
    let may_sign = match issuer.key_usage() {
        Ok(Some(ku)) => ku.value.key_cert_sign(),
        Ok(None) => true,
        Err(_) => false,
    };
    if !is_ca || !may_sign {
        return Err(CertError::NotCa {
            subject: issuer.subject().to_string(),
        });
    }
    let kind = key_kind(issuer.public_key())?;
    let alg = cert_sig_alg(&c.signature_algorithm.algorithm, kind)?;
    UnparsedPublicKey::new(alg, &issuer.public_key().subject_public_key.data)
        .verify(c.tbs_certificate.as_ref(), &c.signature_value.data)
        .map_err(|_| CertError::BadSignature {
            subject: c.subject().to_string(),
        })
}
