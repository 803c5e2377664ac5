//! Responder cryptography per tunnel: what one IKE_SA_INIT + IKE_AUTH costs
//! the hub's CPU, step by step and in total, plus the signature costs of
//! certificate authentication (ECDSA P-256, RSA-2048) with ring.
//!
//! The `ike_responder_cert` group is the same responder work with
//! certificate authentication through [`CertAuthenticator`] instead of a
//! PSK: the peer's chain validated to the trust anchor (every link's
//! signature, dates, extensions), its AUTH signature checked, ours made.
//! Certificates and keys: `tests/fixtures/pki` (ECDSA: P-256 spoke under a
//! P-256 intermediate under the root, so three ECDSA verifications and one
//! signature; RSA: RSA-2048 spoke under the RSA-2048 root, two RSA
//! verifications and one RSA signature).
//!
//! Run: `nice -n 19 cargo bench -p controlplane --bench ike_crypto`.
//! The RSA key in `data/` is a throwaway made for this benchmark with
//! `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` and
//! `openssl pkcs8 -topk8 -nocrypt -outform DER`; it protects nothing.

use std::hint::black_box;
use std::time::Duration;

use controlplane::ikev2::codec::{AuthPayload, HashAlgorithm};
use controlplane::ikev2::crypto::{
    psk_auth, signed_octets, verify_psk_auth, ChildSaKeys, DhGroup, DhPrivateKey, Encr, EspSuite,
    IkeSaKeys, IkeSuite, Prf, Role,
};
use controlplane::ikev2::{
    AuthContext, Authenticator, CertAuthenticator, Certificate, Identity, PrivateKey, TrustAnchors,
    WallClock,
};
use criterion::{criterion_group, criterion_main, Criterion};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair, UnparsedPublicKey};

const RSA_PKCS8: &[u8] = include_bytes!("data/rsa2048-bench-only.pk8");

fn suite() -> IkeSuite {
    IkeSuite::new(
        Encr::AesGcm16_256,
        Prf::HmacSha256,
        None,
        DhGroup::Curve25519,
    )
    .unwrap()
}

/// A typical IKE_SA_INIT request size (KE, nonce, SA, NAT-D, fragmentation
/// and signature hash notifies).
const INIT_LEN: usize = 400;

/// The responder's work for one tunnel with X25519, AES-GCM-256,
/// HMAC-SHA-256 and PSK: key pair, g^ir, SKEYSEED and the seven keys, SK
/// ciphers, the initiator's AUTH checked and ours computed, the first Child
/// SA's KEYMAT, the IKE_AUTH request opened and the response sealed.
fn responder_tunnel(rng: &SystemRandom, peer_ke: &[u8], request: &[u8]) -> usize {
    responder_tunnel_with(rng, peer_ke, request, |prf, peer_octets, own| {
        let peer_auth = psk_auth(prf, b"psk", peer_octets).unwrap();
        verify_psk_auth(prf, b"psk", peer_octets, peer_auth.as_bytes()).unwrap();
        psk_auth(prf, b"psk", own).unwrap().len()
    })
}

/// The responder's work for one tunnel; `auth` checks the peer's AUTH over
/// its signed octets and makes ours over `own`, returning its length.
fn responder_tunnel_with(
    rng: &SystemRandom,
    peer_ke: &[u8],
    request: &[u8],
    auth: impl Fn(Prf, &[u8], &[u8]) -> usize,
) -> usize {
    let suite = suite();
    let (ni, nr) = ([0x11u8; 32], [0x22u8; 32]);
    let (spi_i, spi_r) = ([1u8; 8], [2u8; 8]);
    let dh = DhPrivateKey::generate(suite.dh(), rng).unwrap();
    let g = dh.agree(peer_ke).unwrap();
    let keys =
        IkeSaKeys::from_shared_secret(&suite, g.as_bytes(), &ni, &nr, &spi_i, &spi_r).unwrap();
    let mut sk = keys.sk_ciphers(&suite, Role::Responder).unwrap();
    // The request is sealed with the wrong key here (it is a fixed buffer),
    // so count the failed open: the work is the same as a good one.
    let _ = black_box(sk.inbound.open(&request[..32], &request[32..]));
    let init = [0u8; INIT_LEN];
    let id = b"\x02\0\0\0spoke1.cisco.com";
    let peer_octets =
        signed_octets(suite.prf(), &init, &nr, keys.peer_sk_p(Role::Responder), id).unwrap();
    let own = signed_octets(suite.prf(), &init, &ni, keys.own_sk_p(Role::Responder), id).unwrap();
    let auth_len = auth(suite.prf(), &peer_octets, &own);
    let esp = EspSuite::new(Encr::AesGcm16_128, None).unwrap();
    let child = ChildSaKeys::derive(suite.prf(), keys.sk_d(), &esp, None, &ni, &nr).unwrap();
    let response = sk.outbound.seal(&request[..32], &request[32..300]).unwrap();
    auth_len + child.initiator_to_responder().encr_key_material().len() + response.len()
}

fn bench(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let peer = DhPrivateKey::generate(DhGroup::Curve25519, &rng).unwrap();
    let peer_ke = peer.public_value().to_vec();
    let request = vec![0x5au8; 400];

    let mut g = c.benchmark_group("ike_responder");
    g.bench_function("x25519_keygen", |b| {
        b.iter(|| DhPrivateKey::generate(DhGroup::Curve25519, &rng).unwrap())
    });
    g.bench_function("x25519_keygen_agree", |b| {
        b.iter(|| {
            let k = DhPrivateKey::generate(DhGroup::Curve25519, &rng).unwrap();
            k.agree(black_box(&peer_ke)).unwrap()
        })
    });
    for group in [DhGroup::Ecp256, DhGroup::Ecp384, DhGroup::Modp2048] {
        let other = DhPrivateKey::generate(group, &rng).unwrap();
        let ke = other.public_value().to_vec();
        g.bench_function(format!("{group:?}_keygen_agree"), |b| {
            b.iter(|| {
                let k = DhPrivateKey::generate(group, &rng).unwrap();
                k.agree(black_box(&ke)).unwrap()
            })
        });
    }
    let suite = suite();
    g.bench_function("skeyseed_and_7_keys_sha256_gcm256", |b| {
        b.iter(|| {
            IkeSaKeys::from_shared_secret(
                &suite,
                black_box(&[7; 32]),
                &[1; 32],
                &[2; 32],
                &[3; 8],
                &[4; 8],
            )
            .unwrap()
        })
    });
    let init = [0u8; INIT_LEN];
    let id = b"\x02\0\0\0spoke1.cisco.com";
    g.bench_function("psk_auth_compute_and_verify", |b| {
        b.iter(|| {
            let o = signed_octets(Prf::HmacSha256, &init, &[9; 32], &[8; 32], id).unwrap();
            let a = psk_auth(Prf::HmacSha256, b"psk", &o).unwrap();
            verify_psk_auth(Prf::HmacSha256, b"psk", &o, a.as_bytes()).unwrap();
        })
    });
    g.bench_function("responder_tunnel_total_x25519_psk", |b| {
        b.iter(|| responder_tunnel(&rng, &peer_ke, &request))
    });
    g.finish();

    let mut g = c.benchmark_group("ike_responder_cert");
    for (name, hub, spoke) in [
        ("ecdsa_p256", "hub-ec", &["spoke-ec", "int-ec"][..]),
        ("rsa2048", "hub-rsa", &["spoke-rsa"][..]),
    ] {
        let (hub_auth, spoke_auth) = (cert_auth(hub, &[hub]), cert_auth(spoke[0], spoke));
        let spoke_certs: Vec<Vec<u8>> = spoke_auth
            .certificates()
            .into_iter()
            .map(|c| c.data)
            .collect();
        let spoke_id = Identity::Fqdn("spoke1.cisco.com".into());
        // The peer's AUTH is made once: its signature is the spoke's work.
        // The responder checks it over the same octets each time.
        let octets = std::cell::RefCell::new(None::<(Vec<u8>, AuthPayload)>);
        g.bench_function(format!("responder_tunnel_total_x25519_{name}"), |b| {
            b.iter(|| {
                responder_tunnel_with(&rng, &peer_ke, &request, |prf, peer_octets, own| {
                    let mut o = octets.borrow_mut();
                    let (po, pa) = o.get_or_insert_with(|| {
                        let a = spoke_auth
                            .sign_auth(prf, None, peer_octets, &ctx(&[], &HASHES))
                            .unwrap();
                        (peer_octets.to_vec(), a)
                    });
                    let refs: Vec<&[u8]> = spoke_certs.iter().map(Vec::as_slice).collect();
                    hub_auth
                        .verify_auth(prf, &spoke_id, pa, po, &ctx(&refs, &HASHES))
                        .unwrap();
                    hub_auth
                        .sign_auth(prf, Some(&spoke_id), own, &ctx(&[], &HASHES))
                        .unwrap()
                        .data
                        .len()
                })
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("signatures_ring");
    let msg = vec![0xabu8; INIT_LEN + 32 + 32];
    let ecdsa_alg = &signature::ECDSA_P256_SHA256_ASN1_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(ecdsa_alg, &rng).unwrap();
    let ecdsa = EcdsaKeyPair::from_pkcs8(ecdsa_alg, pkcs8.as_ref(), &rng).unwrap();
    let ecdsa_pub = UnparsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_ASN1,
        ecdsa.public_key().as_ref().to_vec(),
    );
    let ecdsa_sig = ecdsa.sign(&rng, &msg).unwrap();
    g.bench_function("ecdsa_p256_sign", |b| {
        b.iter(|| ecdsa.sign(&rng, black_box(&msg)).unwrap())
    });
    g.bench_function("ecdsa_p256_verify", |b| {
        b.iter(|| {
            ecdsa_pub
                .verify(black_box(&msg), ecdsa_sig.as_ref())
                .unwrap()
        })
    });
    let rsa = RsaKeyPair::from_pkcs8(RSA_PKCS8).unwrap();
    let rsa_pub = UnparsedPublicKey::new(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        rsa.public_key().as_ref().to_vec(),
    );
    let mut rsa_sig = vec![0u8; rsa.public().modulus_len()];
    rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, &msg, &mut rsa_sig)
        .unwrap();
    g.bench_function("rsa2048_pkcs1_sha256_sign", |b| {
        b.iter(|| {
            let mut sig = vec![0u8; rsa.public().modulus_len()];
            rsa.sign(
                &signature::RSA_PKCS1_SHA256,
                &rng,
                black_box(&msg),
                &mut sig,
            )
            .unwrap();
            sig
        })
    });
    g.bench_function("rsa2048_pkcs1_sha256_verify", |b| {
        b.iter(|| rsa_pub.verify(black_box(&msg), &rsa_sig).unwrap())
    });
    g.finish();
}

const HASHES: [HashAlgorithm; 1] = [HashAlgorithm::SHA2_256];

fn ctx<'a>(certs: &'a [&'a [u8]], hashes: &'a [HashAlgorithm]) -> AuthContext<'a> {
    AuthContext {
        now: START.with(|s| *s),
        peer_certs: certs,
        peer_hash_algorithms: hashes,
    }
}

thread_local! {
    static START: std::time::Instant = std::time::Instant::now();
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/pki/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A certificate authenticator from the test fixtures, trusting both roots,
/// its clock inside the fixtures' validity.
fn cert_auth(key: &str, chain: &[&str]) -> CertAuthenticator {
    let chain: Vec<Certificate> = chain
        .iter()
        .map(|c| {
            Certificate::from_pem(&fixture(&format!("{c}.pem")))
                .unwrap()
                .remove(0)
        })
        .collect();
    let root = |n: &str| Certificate::from_pem(&fixture(n)).unwrap().remove(0);
    let unix = chain[0].validity().0 + 3600;
    CertAuthenticator::new(
        chain,
        PrivateKey::from_pem(&fixture(&format!("{key}.key"))).unwrap(),
        TrustAnchors::new()
            .with(root("ca-rsa.pem"))
            .with(root("ca-ec.pem")),
        WallClock {
            at: START.with(|s| *s),
            unix,
        },
    )
    .unwrap()
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
