//! Authentication of IKE_AUTH: the [`Authenticator`] trait the state
//! machine calls, and its pre-shared key implementation, a [`Keyring`].
//!
//! The state machine computes the signed octets (RFC 7296 section 2.15)
//! and hands them to the authenticator with the peer's identity; it never
//! looks at keys. A signature method (RSA/ECDSA certificates, RFC 7427)
//! is another implementation of the same trait: it would also provide the
//! CERT payloads to send and check the peer's chain in `verify`.

use std::fmt;

use super::codec::AuthMethod;
use super::crypto::{psk_auth, verify_psk_auth, Prf, SecretBytes};
use super::identity::{Identity, IdentityMatch};

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
        }
    }
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
