//! Certificate authentication: chain validation against the fixtures of
//! `tests/fixtures/pki` (regenerate with its `gen.sh`), the
//! [`CertAuthenticator`] on its own, and hub and spoke exchanges with
//! ECDSA and RSA certificates on the simulator's virtual clock, including
//! the refusals end to end.

mod sim_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use controlplane::ikev2::auth::AuthFailure;
use controlplane::ikev2::codec::{AuthMethod, HashAlgorithm};
use controlplane::ikev2::crypto::Prf;
use controlplane::ikev2::events::Event;
use controlplane::ikev2::{
    AuthContext, Authenticator, CertAuthenticator, CertError, Certificate, Identity, PrivateKey,
    TrustAnchors, WallClock,
};
use sim_common::*;

const SECOND: Duration = Duration::from_secs(1);

fn fixture(name: &str) -> Vec<u8> {
    let p = format!("{}/tests/fixtures/pki/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn cert(name: &str) -> Certificate {
    Certificate::from_pem(&fixture(&format!("{name}.pem")))
        .unwrap()
        .remove(0)
}

fn key(name: &str) -> PrivateKey {
    PrivateKey::from_pem(&fixture(&format!("{name}.key"))).unwrap()
}

fn anchors() -> TrustAnchors {
    TrustAnchors::new().with(cert("ca-rsa")).with(cert("ca-ec"))
}

/// A time inside every fixture's validity.
fn valid_now() -> i64 {
    cert("spoke-ec").validity().0 + 3600
}

fn fqdn(s: &str) -> Identity {
    Identity::Fqdn(s.into())
}

// ----- chain validation -----

#[test]
fn test_chain_direct_and_via_intermediate() {
    let a = anchors();
    let now = valid_now();
    let ee = a.validate(&[cert("hub-rsa")], now).unwrap();
    assert_eq!(ee, cert("hub-rsa"));
    // spoke-ec is issued by the intermediate: without it, unknown CA.
    assert!(matches!(
        a.validate(&[cert("spoke-ec")], now),
        Err(CertError::UnknownCa { issuer }) if issuer.contains("Intermediate")
    ));
    a.validate(&[cert("spoke-ec"), cert("int-ec")], now)
        .unwrap();
    // P-384 end entity under the P-256 root.
    a.validate(&[cert("spoke-p384")], now).unwrap();
}

#[test]
fn test_chain_unknown_ca() {
    let e = anchors()
        .validate(&[cert("rogue-spoke")], valid_now())
        .unwrap_err();
    assert!(matches!(&e, CertError::UnknownCa { issuer } if issuer.contains("Untrusted Root")));
    assert!(e.to_string().contains("unknown CA"), "{e}");
    // No anchors at all.
    assert!(matches!(
        TrustAnchors::new().validate(&[cert("hub-ec")], valid_now()),
        Err(CertError::UnknownCa { .. })
    ));
}

#[test]
fn test_chain_dates() {
    let c = cert("hub-ec");
    let (nb, na) = c.validity();
    let a = anchors();
    // The root was made a moment before: its dates bound the chain's too.
    let (root_nb, root_na) = cert("ca-ec").validity();
    a.validate(std::slice::from_ref(&c), nb.max(root_nb))
        .unwrap();
    a.validate(std::slice::from_ref(&c), na.min(root_na))
        .unwrap();
    assert!(matches!(
        a.validate(std::slice::from_ref(&c), root_na + 1),
        Err(CertError::Expired { .. })
    ));
    let e = a.validate(std::slice::from_ref(&c), na + 1).unwrap_err();
    assert!(matches!(e, CertError::Expired { not_after, .. } if not_after == na));
    assert!(e.to_string().contains("expired"), "{e}");
    let e = a.validate(std::slice::from_ref(&c), nb - 1).unwrap_err();
    assert!(matches!(e, CertError::NotYetValid { .. }));
}

#[test]
fn test_chain_bad_signature() {
    // Flip a bit of the end entity's signature (its last octet).
    let mut der = cert("hub-rsa").der().to_vec();
    let n = der.len();
    der[n - 1] ^= 1;
    let forged = Certificate::from_der(&der).unwrap();
    assert!(matches!(
        anchors().validate(&[forged], valid_now()),
        Err(CertError::BadSignature { .. })
    ));
}

#[test]
fn test_chain_issuer_must_be_ca_and_ee_key_usage() {
    // under-ee is signed by hub-ec's key, but hub-ec is no CA: sending
    // hub-ec along as an "intermediate" does not help.
    let e = anchors()
        .validate(&[cert("under-ee"), cert("hub-ec")], valid_now())
        .unwrap_err();
    assert!(
        matches!(&e, CertError::NotCa { subject } if subject.contains("hub.cisco.com")),
        "{e}"
    );
    // Nor does trusting hub-ec directly.
    let e = TrustAnchors::new()
        .with(cert("hub-ec"))
        .validate(&[cert("under-ee")], valid_now())
        .unwrap_err();
    assert!(matches!(e, CertError::NotCa { .. }), "{e}");
    // keyUsage without digitalSignature on the end entity.
    let e = anchors()
        .validate(&[cert("nosig")], valid_now())
        .unwrap_err();
    assert!(matches!(e, CertError::KeyUsage { .. }), "{e}");
}

#[test]
fn test_malformed_and_certreq() {
    assert!(matches!(
        Certificate::from_der(b"\x30\x03\x02\x01\x00"),
        Err(CertError::Malformed(_))
    ));
    assert!(Certificate::from_pem(b"nothing here").is_err());
    let a = anchors();
    let data = a.certreq_data();
    assert_eq!(data.len(), 40);
    assert_eq!(&data[..20], &cert("ca-rsa").spki_sha1());
    assert_ne!(&data[..20], &data[20..]);
}

#[test]
fn test_identity_binding() {
    let s = cert("spoke-ec");
    assert!(s.binds(&fqdn("spoke1.cisco.com")));
    assert!(s.binds(&fqdn("SPOKE1.cisco.com.")));
    assert!(!s.binds(&fqdn("spoke2.cisco.com")));
    assert!(s.binds(&Identity::Email("spoke1@cisco.com".into())));
    assert!(s.binds(&Identity::Ipv4("10.0.0.1".parse().unwrap())));
    assert!(!s.binds(&Identity::Ipv4("10.0.0.2".parse().unwrap())));
    assert!(s.binds(&Identity::Ipv6("2001:db8::1".parse().unwrap())));
    // The subject DN, byte for byte and re-encoded with other string types.
    assert!(s.binds(&s.subject_identity()));
    assert!(!s.binds(&cert("hub-ec").subject_identity()));
    let Identity::Dn(dn) = s.subject_identity() else {
        unreachable!()
    };
    let printable = reencode_printable(&dn);
    assert_ne!(printable, dn);
    assert!(s.binds(&Identity::Dn(printable)));
    assert!(
        s.subject().contains("CN=spoke1.cisco.com"),
        "{}",
        s.subject()
    );
}

/// The DN with every UTF8String (tag 0x0c) turned into a PrintableString
/// (0x13): the same name, other bytes. Only for the short fixture names
/// (single-octet lengths).
fn reencode_printable(dn: &[u8]) -> Vec<u8> {
    let mut out = dn.to_vec();
    let mut i = 0;
    while i + 1 < out.len() {
        // An attribute: SEQUENCE { OID, string }.
        if out[i] == 0x06 {
            let l = usize::from(out[i + 1]);
            let v = i + 2 + l;
            if v < out.len() && out[v] == 0x0c {
                out[v] = 0x13;
            }
            i = v;
        } else {
            i += 1;
        }
    }
    out
}

// ----- the authenticator -----

fn authenticator(name: &str, chain: &[&str], clock: WallClock) -> CertAuthenticator {
    CertAuthenticator::new(
        chain.iter().map(|c| cert(c)).collect(),
        key(name),
        anchors(),
        clock,
    )
    .unwrap()
}

#[test]
fn test_key_must_match_certificate() {
    let clock = WallClock {
        at: Instant::now(),
        unix: valid_now(),
    };
    assert!(
        CertAuthenticator::new(vec![cert("hub-ec")], key("spoke-ec"), anchors(), clock).is_err()
    );
    assert!(PrivateKey::from_pem(&fixture("hub-ec.pem")).is_err());
}

/// A PKCS #1 RSA key: both kinds of RSA signature verify.
#[test]
fn test_pkcs1_rsa_key() {
    let at = Instant::now();
    let clock = WallClock {
        at,
        unix: valid_now(),
    };
    let k = PrivateKey::from_pem(&fixture("spoke-rsa.pkcs1.key")).unwrap();
    let signer = CertAuthenticator::new(vec![cert("spoke-rsa")], k, anchors(), clock).unwrap();
    let verifier = authenticator("hub-rsa", &["hub-rsa"], clock);
    let spoke = cert("spoke-rsa");
    let certs = [spoke.der()];
    for (hashes, method) in [
        (&[][..], AuthMethod::RSA_SIG),
        (
            &[HashAlgorithm::SHA2_384][..],
            AuthMethod::DIGITAL_SIGNATURE,
        ),
    ] {
        let ctx = AuthContext {
            now: at,
            peer_certs: &certs,
            peer_hash_algorithms: hashes,
        };
        let a = signer
            .sign_auth(Prf::HmacSha256, None, b"octets", &ctx)
            .unwrap();
        assert_eq!(a.method, method);
        verifier
            .verify_auth(
                Prf::HmacSha256,
                &fqdn("spoke1.cisco.com"),
                &a,
                b"octets",
                &ctx,
            )
            .unwrap();
    }
}

/// Sign with one authenticator, verify with another, for each key type
/// and with and without the peer's SIGNATURE_HASH_ALGORITHMS.
#[test]
fn test_sign_verify_all_methods() {
    let at = Instant::now();
    let clock = WallClock {
        at,
        unix: valid_now(),
    };
    let verifier = authenticator("hub-rsa", &["hub-rsa"], clock);
    let all = [
        HashAlgorithm::SHA2_256,
        HashAlgorithm::SHA2_384,
        HashAlgorithm::SHA2_512,
    ];
    // (key, chain, identity, the peer's hashes, the method we expect)
    type Case<'a> = (
        &'a str,
        &'a [&'a str],
        &'a str,
        &'a [HashAlgorithm],
        AuthMethod,
    );
    let cases: [Case<'_>; 6] = [
        (
            "spoke-rsa",
            &["spoke-rsa"],
            "spoke1.cisco.com",
            &all,
            AuthMethod::DIGITAL_SIGNATURE,
        ),
        (
            "spoke-rsa",
            &["spoke-rsa"],
            "spoke1.cisco.com",
            &[HashAlgorithm::SHA2_512],
            AuthMethod::DIGITAL_SIGNATURE,
        ),
        (
            "spoke-rsa",
            &["spoke-rsa"],
            "spoke1.cisco.com",
            &[],
            AuthMethod::RSA_SIG,
        ),
        (
            "spoke-ec",
            &["spoke-ec", "int-ec"],
            "spoke1.cisco.com",
            &all,
            AuthMethod::DIGITAL_SIGNATURE,
        ),
        (
            "spoke-ec",
            &["spoke-ec", "int-ec"],
            "spoke1.cisco.com",
            &[],
            AuthMethod::ECDSA_SHA256_P256,
        ),
        (
            "spoke-p384",
            &["spoke-p384"],
            "spoke2.cisco.com",
            &[],
            AuthMethod::ECDSA_SHA384_P384,
        ),
    ];
    for (k, chain, id, hashes, method) in cases {
        let signer = authenticator(k, chain, clock);
        let octets = b"signed octets of RFC 7296 section 2.15";
        let ctx = AuthContext {
            now: at + SECOND,
            peer_certs: &[],
            peer_hash_algorithms: hashes,
        };
        let auth = signer
            .sign_auth(Prf::HmacSha256, None, octets, &ctx)
            .unwrap();
        assert_eq!(auth.method, method, "{k} {hashes:?}");
        let ders: Vec<Vec<u8>> = signer.certificates().into_iter().map(|c| c.data).collect();
        let refs: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
        let vctx = AuthContext {
            now: at + SECOND,
            peer_certs: &refs,
            peer_hash_algorithms: &all,
        };
        verifier
            .verify_auth(Prf::HmacSha256, &fqdn(id), &auth, octets, &vctx)
            .unwrap_or_else(|e| panic!("{k} {hashes:?}: {e}"));
        // Other octets: bad signature.
        assert_eq!(
            verifier.verify_auth(Prf::HmacSha256, &fqdn(id), &auth, b"other", &vctx),
            Err(AuthFailure::BadSignature)
        );
        // Identity not in the certificate.
        assert_eq!(
            verifier.verify_auth(Prf::HmacSha256, &fqdn("x.cisco.com"), &auth, octets, &vctx),
            Err(AuthFailure::IdentityNotInCertificate(fqdn("x.cisco.com")))
        );
        // Ten years on, the certificate has expired.
        let late = AuthContext {
            now: at + Duration::from_secs(3650 * 86400 + 86400),
            ..vctx
        };
        assert!(matches!(
            verifier.verify_auth(Prf::HmacSha256, &fqdn(id), &auth, octets, &late),
            Err(AuthFailure::Certificate(CertError::Expired { .. }))
        ));
    }
    // No certificate, and a PSK AUTH payload to a certificate verifier.
    let signer = authenticator("spoke-rsa", &["spoke-rsa"], clock);
    let ctx = AuthContext {
        now: at,
        peer_certs: &[],
        peer_hash_algorithms: &all,
    };
    let auth = signer.sign_auth(Prf::HmacSha256, None, b"o", &ctx).unwrap();
    assert_eq!(
        verifier.verify_auth(
            Prf::HmacSha256,
            &fqdn("spoke1.cisco.com"),
            &auth,
            b"o",
            &ctx
        ),
        Err(AuthFailure::Certificate(CertError::Missing))
    );
    let psk = controlplane::ikev2::codec::AuthPayload {
        method: AuthMethod::SHARED_KEY_MIC,
        data: vec![0; 32],
    };
    assert_eq!(
        verifier.verify_auth(Prf::HmacSha256, &fqdn("spoke1.cisco.com"), &psk, b"o", &ctx),
        Err(AuthFailure::UnsupportedMethod(AuthMethod::SHARED_KEY_MIC))
    );
}

/// RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32) AlgorithmIdentifier, with
/// the explicit NULL hash parameters.
const PSS_SHA256: &[u8] = &[
    0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34, 0xa0,
    0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30,
    0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa2, 0x03,
    0x02, 0x01, 0x20,
];

#[test]
fn test_verify_rsa_pss() {
    use ring::signature::{RsaKeyPair, RSA_PSS_SHA256};
    let pem = fixture("spoke-rsa.key");
    let der = x509_parser::pem::Pem::iter_from_buffer(&pem)
        .next()
        .unwrap()
        .unwrap()
        .contents;
    let k = RsaKeyPair::from_pkcs8(&der).unwrap();
    let rng = ring::rand::SystemRandom::new();
    let octets = b"signed octets";
    let mut sig = vec![0; k.public().modulus_len()];
    k.sign(&RSA_PSS_SHA256, &rng, octets, &mut sig).unwrap();
    let auth =
        controlplane::ikev2::codec::AuthPayload::digital_signature(PSS_SHA256, &sig).unwrap();
    let at = Instant::now();
    let verifier = authenticator(
        "hub-rsa",
        &["hub-rsa"],
        WallClock {
            at,
            unix: valid_now(),
        },
    );
    let spoke = cert("spoke-rsa");
    let certs = [spoke.der()];
    let ctx = AuthContext {
        now: at,
        peer_certs: &certs,
        peer_hash_algorithms: &[],
    };
    let id = fqdn("spoke1.cisco.com");
    verifier
        .verify_auth(Prf::HmacSha256, &id, &auth, octets, &ctx)
        .unwrap();
    assert_eq!(
        verifier.verify_auth(Prf::HmacSha256, &id, &auth, b"other", &ctx),
        Err(AuthFailure::BadSignature)
    );
    // Salt length 20 instead of 32: not something we verify.
    let mut salt20 = PSS_SHA256.to_vec();
    let n = salt20.len();
    salt20[n - 1] = 20;
    let auth = controlplane::ikev2::codec::AuthPayload::digital_signature(&salt20, &sig).unwrap();
    assert!(matches!(
        verifier.verify_auth(Prf::HmacSha256, &id, &auth, octets, &ctx),
        Err(AuthFailure::Certificate(CertError::Unsupported(_)))
    ));
}

// ----- simulated exchanges -----

/// Hub and spoke with certificates instead of the PSK of `sim_common`.
fn cert_sim(
    seed: u64,
    hub: (&str, &[&str]),
    spoke: (&str, &[&str]),
    unix: i64,
) -> (Sim, usize, usize) {
    let mut sim = Sim::new(seed);
    let clock = WallClock {
        at: sim.start,
        unix,
    };
    let mut h = hub_config();
    h.authenticator = Arc::new(authenticator(hub.0, hub.1, clock));
    let mut s = spoke_config(1);
    s.authenticator = Arc::new(authenticator(spoke.0, spoke.1, clock));
    let hub = sim.add("hub", "10.0.0.100", h);
    let spoke = sim.add("spoke1", "10.0.0.110", s);
    (sim, hub, spoke)
}

fn connect(sim: &mut Sim, spoke: usize, hub: usize) {
    let now = sim.now;
    let (l, r) = (sim.addr(spoke, 500), sim.addr(hub, 500));
    sim.nodes[spoke]
        .ep
        .initiate(now, l, r, Some(fqdn("hub.cisco.com")))
        .unwrap();
}

fn auth_failure(sim: &Sim, node: usize) -> Option<AuthFailure> {
    sim.events(node).iter().find_map(|e| match e {
        Event::AuthFailed { reason, .. } => Some(reason.clone()),
        _ => None,
    })
}

fn establish(seed: u64, hub: (&str, &[&str]), spoke: (&str, &[&str])) {
    let (mut sim, h, s) = cert_sim(seed, hub, spoke, valid_now());
    connect(&mut sim, s, h);
    assert!(sim.run_until(10 * SECOND, |x| x.tunnel_up(h) == 1 && x.tunnel_up(s) == 1));
    let up = sim.events(s).iter().find_map(|e| match e {
        Event::TunnelUp(u) => Some(u.clone()),
        _ => None,
    });
    assert_eq!(up.unwrap().peer_id, fqdn("hub.cisco.com"));
    assert!(auth_failure(&sim, h).is_none() && auth_failure(&sim, s).is_none());
    keys_match(sim.events(s), sim.events(h));
}

#[test]
fn sim_cert_ecdsa_with_intermediate() {
    establish(
        41,
        ("hub-ec", &["hub-ec"]),
        ("spoke-ec", &["spoke-ec", "int-ec"]),
    );
}

#[test]
fn sim_cert_rsa() {
    establish(42, ("hub-rsa", &["hub-rsa"]), ("spoke-rsa", &["spoke-rsa"]));
}

#[test]
fn sim_cert_mixed_rsa_hub_ecdsa_spoke() {
    establish(
        43,
        ("hub-rsa", &["hub-rsa"]),
        ("spoke-ec", &["spoke-ec", "int-ec"]),
    );
}

/// Runs a refused exchange; returns the hub's and the spoke's reasons.
fn refused(
    seed: u64,
    hub: (&str, &[&str]),
    spoke: (&str, &[&str]),
    unix: i64,
) -> (Option<AuthFailure>, Option<AuthFailure>) {
    let (mut sim, h, s) = cert_sim(seed, hub, spoke, unix);
    connect(&mut sim, s, h);
    assert!(sim.run_until(10 * SECOND, |x| x.tunnel_down(s) == 1));
    sim.run_for(SECOND);
    assert_eq!(sim.tunnel_up(h) + sim.tunnel_up(s), 0);
    (auth_failure(&sim, h), auth_failure(&sim, s))
}

#[test]
fn sim_cert_unknown_ca_refused() {
    let (hub, spoke) = refused(
        44,
        ("hub-ec", &["hub-ec"]),
        ("rogue-spoke", &["rogue-spoke"]),
        valid_now(),
    );
    let hub = hub.unwrap();
    assert!(
        matches!(hub, AuthFailure::Certificate(CertError::UnknownCa { .. })),
        "{hub}"
    );
    assert!(hub.to_string().contains("unknown CA"), "{hub}");
    assert_eq!(spoke, Some(AuthFailure::RejectedByPeer));
}

#[test]
fn sim_cert_expired_refused() {
    // Both certificates have expired at this time: the hub refuses first.
    let late = cert("spoke-ec").validity().1 + 10;
    let (hub, spoke) = refused(
        45,
        ("hub-ec", &["hub-ec"]),
        ("spoke-ec", &["spoke-ec", "int-ec"]),
        late,
    );
    let hub = hub.unwrap();
    assert!(
        matches!(hub, AuthFailure::Certificate(CertError::Expired { .. })),
        "{hub}"
    );
    assert!(hub.to_string().contains("expired"), "{hub}");
    assert_eq!(spoke, Some(AuthFailure::RejectedByPeer));
}

#[test]
fn sim_cert_identity_mismatch_refused() {
    // The spoke says it is spoke1.cisco.com but shows spoke2's certificate.
    let (hub, spoke) = refused(
        46,
        ("hub-ec", &["hub-ec"]),
        ("spoke-p384", &["spoke-p384"]),
        valid_now(),
    );
    assert_eq!(
        hub,
        Some(AuthFailure::IdentityNotInCertificate(fqdn(
            "spoke1.cisco.com"
        )))
    );
    assert_eq!(spoke, Some(AuthFailure::RejectedByPeer));
}

#[test]
fn sim_cert_hub_refused_by_spoke() {
    // The hub's certificate is from a CA the spoke does not trust: the
    // spoke refuses the hub's AUTH and tells it.
    let mut sim = Sim::new(47);
    let clock = WallClock {
        at: sim.start,
        unix: valid_now(),
    };
    let mut h = hub_config();
    h.authenticator = Arc::new(authenticator("hub-ec", &["hub-ec"], clock));
    let mut s = spoke_config(1);
    s.authenticator = Arc::new(
        CertAuthenticator::new(
            vec![cert("spoke-rsa")],
            key("spoke-rsa"),
            TrustAnchors::new().with(cert("ca-rsa")),
            clock,
        )
        .unwrap(),
    );
    let h = sim.add("hub", "10.0.0.100", h);
    let s = sim.add("spoke1", "10.0.0.110", s);
    connect(&mut sim, s, h);
    assert!(sim.run_until(10 * SECOND, |x| x.tunnel_down(s) == 1));
    sim.run_for(5 * SECOND);
    assert!(matches!(
        auth_failure(&sim, s),
        Some(AuthFailure::Certificate(CertError::UnknownCa { .. }))
    ));
    assert_eq!(sim.tunnel_up(s), 0);
}

#[test]
fn sim_cert_dn_identities() {
    // Both sides identify with ID_DER_ASN1_DN (their certificates'
    // subjects); the hub accepts exactly that DN.
    let mut sim = Sim::new(48);
    let clock = WallClock {
        at: sim.start,
        unix: valid_now(),
    };
    let mut h = hub_config();
    h.local_id = cert("hub-rsa").subject_identity();
    h.authenticator = Arc::new(authenticator("hub-rsa", &["hub-rsa"], clock));
    h.remote_match = vec![controlplane::ikev2::IdentityMatch::Exact(
        cert("spoke-ec").subject_identity(),
    )];
    let mut s = spoke_config(1);
    s.local_id = cert("spoke-ec").subject_identity();
    s.authenticator = Arc::new(authenticator("spoke-ec", &["spoke-ec", "int-ec"], clock));
    let h = sim.add("hub", "10.0.0.100", h);
    let s = sim.add("spoke1", "10.0.0.110", s);
    let now = sim.now;
    let (l, r) = (sim.addr(s, 500), sim.addr(h, 500));
    sim.nodes[s]
        .ep
        .initiate(now, l, r, Some(cert("hub-rsa").subject_identity()))
        .unwrap();
    assert!(sim.run_until(10 * SECOND, |x| x.tunnel_up(h) == 1 && x.tunnel_up(s) == 1));
    let up = sim.events(h).iter().find_map(|e| match e {
        Event::TunnelUp(u) => Some(u.peer_id.clone()),
        _ => None,
    });
    let peer = up.unwrap();
    assert_eq!(peer, cert("spoke-ec").subject_identity());
    assert!(peer.to_string().contains("CN=spoke1.cisco.com"), "{peer}");
}

proptest::proptest! {
    /// Certificates from the network: a real one with bytes changed, or
    /// noise. Parsing and validation never panic, and a changed
    /// certificate is accepted only when it still says what the original
    /// says (the parser is lax about some outer encoding bits that the
    /// signature does not cover).
    #[test]
    fn prop_mutated_certificates_are_refused(
        pos in 0usize..2000,
        xor in 1u8..=255,
        noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
    ) {
        let a = anchors();
        let good = cert("hub-ec");
        let mut der = good.der().to_vec();
        let i = pos % der.len();
        der[i] ^= xor;
        if let Ok(c) = Certificate::from_der(&der) {
            if a.validate(std::slice::from_ref(&c), valid_now()).is_ok() {
                proptest::prop_assert!(same_content(&c, &good));
            }
        }
        if let Ok(c) = Certificate::from_der(&noise) {
            let _ = a.validate(&[c.clone(), c], valid_now());
        }
        let _ = Certificate::from_pem(&noise);
        let _ = PrivateKey::from_pem(&noise);
    }
}

/// What a relying party uses from a certificate is unchanged.
fn same_content(c: &Certificate, good: &Certificate) -> bool {
    c.subject() == good.subject()
        && c.subject_identity() == good.subject_identity()
        && c.spki() == good.spki()
        && c.validity() == good.validity()
        && c.binds(&fqdn("hub.cisco.com"))
        && !c.binds(&fqdn("spoke1.cisco.com"))
}

/// Every octet of a certificate flipped in several ways: whatever is
/// accepted says what the original says.
#[test]
fn test_every_octet_mutated() {
    let a = anchors();
    let good = cert("hub-ec");
    for i in 0..good.der().len() {
        for xor in [1u8, 2, 4, 8, 0x10, 0x20, 0x40, 0x80, 0xff] {
            let mut der = good.der().to_vec();
            der[i] ^= xor;
            if let Ok(c) = Certificate::from_der(&der) {
                if a.validate(std::slice::from_ref(&c), valid_now()).is_ok() {
                    assert!(same_content(&c, &good), "pos {i} xor {xor}");
                }
            }
        }
    }
}
