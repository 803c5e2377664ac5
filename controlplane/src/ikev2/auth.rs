//! Authentication of IKE_AUTH: the [`Authenticator`] trait the state
//! machine calls, and its pre-shared key implementation, a [`Keyring`].
//!
//! The state machine computes the signed octets (RFC 7296 section 2.15)
//! and hands them to the authenticator with the peer's identity; it never
//! looks at keys. Certificate authentication is another implementation,
//! [`super::cert_auth::CertAuthenticator`]: it also provides the CERT,
//! CERTREQ and SIGNATURE_HASH_ALGORITHMS payloads to send, and gets the
//! peer's certificates and hash algorithms in an [`AuthContext`].

use std::fmt;
use std::time::Instant;

use super::codec::{AuthMethod, AuthPayload, CertPayload, CertReqPayload, HashAlgorithm};
use super::crypto::{psk_auth, verify_psk_auth, Prf, SecretBytes};
use super::identity::{Identity, IdentityMatch};
use super::pki::CertError;

/// Why the peer's AUTH payload (or identity) was refused. Carried by
/// [`super::Event::AuthFailed`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFailure {
    /// Peer misbehaviour: the AUTH data does not verify (wrong PSK).
    BadAuthData,
    /// Local configuration: no key for this peer identity.
    NoKeyForPeer(Identity),
    /// Local configuration: the identity is not accepted by the profile's
    /// match rules.
    IdentityNotAccepted(Identity),
    /// The initiator asked for a responder identity (IDr) that is not
    /// ours, or the responder is not the identity we expected.
    UnexpectedIdentity {
        /// What was expected.
        expected: Identity,
        /// What the peer is.
        got: Identity,
    },
    /// Peer misbehaviour: an authentication method we do not do (only
    /// shared key, method 2, today).
    UnsupportedMethod(AuthMethod),
    /// The peer answered AUTHENTICATION_FAILED: it refused our AUTH.
    RejectedByPeer,
    /// Peer misbehaviour: IKE_AUTH without ID or AUTH payload (EAP is not
    /// supported).
    MissingPayload(&'static str),
    /// The peer's certificate chain is refused (unknown CA, expired, not
    /// yet valid, bad issuer signature, ...).
    Certificate(CertError),
    /// The peer's certificate does not name its IKE identity.
    IdentityNotInCertificate(Identity),
    /// The AUTH signature does not verify with the peer certificate's key.
    BadSignature,
    /// Local configuration: our private key cannot sign (or does not match
    /// our certificate).
    LocalKey(String),
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadAuthData => {
                f.write_str("AUTH payload does not verify (wrong pre-shared key?)")
            }
            Self::NoKeyForPeer(id) => write!(f, "no pre-shared key for peer {id}"),
            Self::IdentityNotAccepted(id) => {
                write!(f, "peer identity {id} does not match the profile")
            }
            Self::UnexpectedIdentity { expected, got } => {
                write!(f, "peer is {got}, expected {expected}")
            }
            Self::UnsupportedMethod(m) => write!(f, "unsupported authentication method {m}"),
            Self::RejectedByPeer => f.write_str("peer answered AUTHENTICATION_FAILED"),
            Self::MissingPayload(p) => write!(f, "IKE_AUTH without {p} payload"),
            Self::Certificate(e) => write!(f, "certificate refused: {e}"),
            Self::IdentityNotInCertificate(id) => {
                write!(f, "peer identity {id} is not in its certificate")
            }
            Self::BadSignature => {
                f.write_str("AUTH signature does not verify with the peer certificate's key")
            }
            Self::LocalKey(e) => write!(f, "cannot sign with our private key: {e}"),
        }
    }
}

/// What the state machine knows about the peer beyond its ID and AUTH
/// payloads, for signature authentication.
#[derive(Clone, Copy, Debug)]
pub struct AuthContext<'a> {
    /// The time of the exchange (the state machine's clock; a certificate
    /// authenticator maps it to a wall-clock time it was given).
    pub now: Instant,
    /// The DER certificates of the peer's X.509 CERT payloads, in the
    /// order received (end entity first).
    pub peer_certs: &'a [&'a [u8]],
    /// The hash algorithms of the peer's SIGNATURE_HASH_ALGORITHMS
    /// notify (empty when it sent none).
    pub peer_hash_algorithms: &'a [HashAlgorithm],
}

/// Computes our AUTH payload and checks the peer's.
///
/// `octets` are the signed octets of RFC 7296 section 2.15
/// (RealMessage | Nonce | prf(SK_p, RestOfIDPayload)); `prf` is the IKE
/// SA's PRF.
pub trait Authenticator: fmt::Debug + Send + Sync {
    /// The method of the AUTH payload we send to `peer` (the peer's
    /// identity is known on the responder; the initiator passes the
    /// expected one, if any).
    fn local_method(&self, peer: Option<&Identity>) -> AuthMethod;

    /// Our AUTH data for `peer`.
    ///
    /// # Errors
    ///
    /// An [`AuthFailure`] when there is no key for the peer.
    fn sign(
        &self,
        prf: Prf,
        peer: Option<&Identity>,
        octets: &[u8],
    ) -> Result<Vec<u8>, AuthFailure>;

    /// Checks the peer's AUTH payload.
    ///
    /// # Errors
    ///
    /// An [`AuthFailure`] saying why it is refused.
    fn verify(
        &self,
        prf: Prf,
        peer: &Identity,
        method: AuthMethod,
        octets: &[u8],
        data: &[u8],
    ) -> Result<(), AuthFailure>;

    /// Our AUTH payload, knowing what the peer said in IKE_SA_INIT. The
    /// default is [`Self::local_method`] and [`Self::sign`].
    ///
    /// # Errors
    ///
    /// As [`Self::sign`].
    fn sign_auth(
        &self,
        prf: Prf,
        peer: Option<&Identity>,
        octets: &[u8],
        ctx: &AuthContext<'_>,
    ) -> Result<AuthPayload, AuthFailure> {
        let _ = ctx;
        Ok(AuthPayload {
            method: self.local_method(peer),
            data: self.sign(prf, peer, octets)?,
        })
    }

    /// Checks the peer's AUTH payload with its certificates. The default is
    /// [`Self::verify`].
    ///
    /// # Errors
    ///
    /// As [`Self::verify`].
    fn verify_auth(
        &self,
        prf: Prf,
        peer: &Identity,
        auth: &AuthPayload,
        octets: &[u8],
        ctx: &AuthContext<'_>,
    ) -> Result<(), AuthFailure> {
        let _ = ctx;
        self.verify(prf, peer, auth.method, octets, &auth.data)
    }

    /// The CERT payloads we send in IKE_AUTH (none for a PSK).
    fn certificates(&self) -> Vec<CertPayload> {
        Vec::new()
    }

    /// The CERTREQ we send (responder: IKE_SA_INIT response; initiator:
    /// IKE_AUTH request); none for a PSK.
    fn cert_request(&self) -> Option<CertReqPayload> {
        None
    }

    /// The hash algorithms of our SIGNATURE_HASH_ALGORITHMS notify (RFC
    /// 7427 section 4) in IKE_SA_INIT; empty: no notify.
    fn signature_hash_algorithms(&self) -> Vec<HashAlgorithm> {
        Vec::new()
    }
}

/// A pre-shared key, possibly asymmetric (Cisco `pre-shared-key local` /
/// `pre-shared-key remote`).
pub struct Psk {
    local: SecretBytes,
    remote: SecretBytes,
}

impl Clone for Psk {
    fn clone(&self) -> Self {
        Self::asymmetric(self.local.as_bytes(), self.remote.as_bytes())
    }
}

impl fmt::Debug for Psk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Psk(..)")
    }
}

impl Psk {
    /// The same key both ways.
    #[must_use]
    pub fn new(key: &[u8]) -> Self {
        Self {
            local: SecretBytes::from_slice(key),
            remote: SecretBytes::from_slice(key),
        }
    }

    /// Different keys for our AUTH and the peer's.
    #[must_use]
    pub fn asymmetric(local: &[u8], remote: &[u8]) -> Self {
        Self {
            local: SecretBytes::from_slice(local),
            remote: SecretBytes::from_slice(remote),
        }
    }
}

/// One keyring entry: a match rule and its key (Cisco `crypto ikev2
/// keyring`, `peer NAME` / `identity ...` / `pre-shared-key ...`).
#[derive(Clone, Debug)]
pub struct KeyringEntry {
    /// Which peers the entry is for.
    pub peer: IdentityMatch,
    /// The key.
    pub psk: Psk,
}

/// Pre-shared keys by peer identity; the first matching entry wins.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    entries: Vec<KeyringEntry>,
}

impl Keyring {
    /// An empty keyring.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry (checked after the ones already there).
    #[must_use]
    pub fn with(mut self, peer: IdentityMatch, psk: Psk) -> Self {
        self.entries.push(KeyringEntry { peer, psk });
        self
    }

    /// The key for a peer identity; without an identity, the entry that
    /// matches anything.
    #[must_use]
    pub fn lookup(&self, peer: Option<&Identity>) -> Option<&Psk> {
        self.entries
            .iter()
            .find(|e| match peer {
                Some(id) => e.peer.matches(id),
                None => e.peer == IdentityMatch::Any,
            })
            .map(|e| &e.psk)
    }
}

impl Authenticator for Keyring {
    fn local_method(&self, _peer: Option<&Identity>) -> AuthMethod {
        AuthMethod::SHARED_KEY_MIC
    }

    fn sign(
        &self,
        prf: Prf,
        peer: Option<&Identity>,
        octets: &[u8],
    ) -> Result<Vec<u8>, AuthFailure> {
        let psk = self.lookup(peer).ok_or_else(|| {
            AuthFailure::NoKeyForPeer(peer.cloned().unwrap_or(Identity::Other {
                id_type: 0,
                data: Vec::new(),
            }))
        })?;
        psk_auth(prf, psk.local.as_bytes(), octets)
            .map(|a| a.as_bytes().to_vec())
            .map_err(|_| AuthFailure::BadAuthData)
    }

    fn verify(
        &self,
        prf: Prf,
        peer: &Identity,
        method: AuthMethod,
        octets: &[u8],
        data: &[u8],
    ) -> Result<(), AuthFailure> {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.15
        //# Shared Key Message Integrity Code (2) - the AUTH payload is computed
        //# as prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>).
        if method != AuthMethod::SHARED_KEY_MIC {
            return Err(AuthFailure::UnsupportedMethod(method));
        }
        let psk = self
            .lookup(Some(peer))
            .ok_or_else(|| AuthFailure::NoKeyForPeer(peer.clone()))?;
        verify_psk_auth(prf, psk.remote.as_bytes(), octets, data)
            .map_err(|_| AuthFailure::BadAuthData)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_keyring_lookup_and_auth() {
        let k = Keyring::new()
            .with(
                IdentityMatch::Exact(Identity::Fqdn("spoke1.cisco.com".into())),
                Psk::new(b"one"),
            )
            .with(
                IdentityMatch::FqdnDomain("cisco.com".into()),
                Psk::new(b"domain"),
            );
        let s1 = Identity::Fqdn("spoke1.cisco.com".into());
        let s2 = Identity::Fqdn("spoke2.cisco.com".into());
        let a = k.sign(Prf::HmacSha256, Some(&s1), b"octets").unwrap();
        assert_eq!(
            a,
            psk_auth(Prf::HmacSha256, b"one", b"octets")
                .unwrap()
                .as_bytes()
        );
        k.verify(
            Prf::HmacSha256,
            &s1,
            AuthMethod::SHARED_KEY_MIC,
            b"octets",
            &a,
        )
        .unwrap();
        assert_eq!(
            k.verify(
                Prf::HmacSha256,
                &s2,
                AuthMethod::SHARED_KEY_MIC,
                b"octets",
                &a
            ),
            Err(AuthFailure::BadAuthData)
        );
        assert_eq!(
            k.verify(Prf::HmacSha256, &s1, AuthMethod::RSA_SIG, b"octets", &a),
            Err(AuthFailure::UnsupportedMethod(AuthMethod::RSA_SIG))
        );
        let other = Identity::Fqdn("x.example.com".into());
        assert_eq!(
            k.verify(
                Prf::HmacSha256,
                &other,
                AuthMethod::SHARED_KEY_MIC,
                b"o",
                &a
            ),
            Err(AuthFailure::NoKeyForPeer(other.clone()))
        );
        assert!(k.lookup(None).is_none());
    }

    #[test]
    fn test_asymmetric() {
        let a = Keyring::new().with(IdentityMatch::Any, Psk::asymmetric(b"a", b"b"));
        let b = Keyring::new().with(IdentityMatch::Any, Psk::asymmetric(b"b", b"a"));
        let id = Identity::Fqdn("x".into());
        let sig = a.sign(Prf::HmacSha384, Some(&id), b"m").unwrap();
        b.verify(Prf::HmacSha384, &id, AuthMethod::SHARED_KEY_MIC, b"m", &sig)
            .unwrap();
        assert!(a
            .verify(Prf::HmacSha384, &id, AuthMethod::SHARED_KEY_MIC, b"m", &sig)
            .is_err());
    }
}
