//! The IKEv2 cryptographic suite end to end, through the public API only,
//! the way the IKE state machine will use it: IKE_SA_INIT key exchange,
//! key derivation on both sides, IKE_AUTH protected in an SK payload with
//! PSK AUTH, the first Child SA's keys, RFC 7383 fragments, CREATE_CHILD_SA
//! with PFS and IKE SA rekey. Every suite and group of the module.

use controlplane::ikev2::crypto::{
    psk_auth, signed_octets, verify_psk_auth, ChildSaKeys, CryptoError, DhGroup, DhPrivateKey,
    Encr, EspSuite, IkeSaKeys, IkeSuite, Integ, Prf, Role, SkCipher,
};
use ring::rand::{SecureRandom, SystemRandom};

/// An IKE header (RFC 7296 section 3.1) with the given lengths filled in.
fn ike_header(
    spi_i: &[u8; 8],
    spi_r: &[u8; 8],
    next: u8,
    exchange: u8,
    flags: u8,
    msg_id: u32,
    total_len: usize,
) -> Vec<u8> {
    let mut h = Vec::with_capacity(28);
    h.extend_from_slice(spi_i);
    h.extend_from_slice(spi_r);
    h.extend_from_slice(&[next, 0x20, exchange, flags]);
    h.extend_from_slice(&msg_id.to_be_bytes());
    h.extend_from_slice(&u32::try_from(total_len).unwrap().to_be_bytes());
    h
}

/// Builds HDR, SK {inner} with `cipher`: header and SK generic header
/// carry the final lengths, then the body is appended.
fn sk_message(
    cipher: &mut SkCipher,
    spi_i: &[u8; 8],
    spi_r: &[u8; 8],
    flags: u8,
    msg_id: u32,
    first_inner: u8,
    inner: &[u8],
) -> Vec<u8> {
    let body_len = cipher.sealed_len(inner.len());
    let mut msg = ike_header(spi_i, spi_r, 46, 35, flags, msg_id, 28 + 4 + body_len);
    msg.extend_from_slice(&[first_inner, 0]);
    msg.extend_from_slice(&u16::try_from(4 + body_len).unwrap().to_be_bytes());
    cipher.seal_append(&mut msg, inner).unwrap();
    assert_eq!(msg.len(), 28 + 4 + body_len);
    msg
}

fn suites() -> Vec<(IkeSuite, EspSuite)> {
    let mut v = Vec::new();
    for (encr, integ) in [
        (Encr::AesGcm16_256, None),
        (Encr::AesGcm16_128, None),
        (Encr::ChaCha20Poly1305, None),
        (Encr::AesCbc256, Some(Integ::HmacSha256_128)),
        (Encr::AesCbc128, Some(Integ::HmacSha512_256)),
    ] {
        for (prf, dh) in [
            (Prf::HmacSha256, DhGroup::Curve25519),
            (Prf::HmacSha384, DhGroup::Ecp384),
            (Prf::HmacSha512, DhGroup::Ecp256),
        ] {
            v.push((
                IkeSuite::new(encr, prf, integ, dh).unwrap(),
                EspSuite::new(Encr::AesGcm16_128, None).unwrap(),
            ));
        }
    }
    // MODP once (it is the slow one), with a CBC ESP suite.
    v.push((
        IkeSuite::new(
            Encr::AesCbc256,
            Prf::HmacSha256,
            Some(Integ::HmacSha384_192),
            DhGroup::Modp2048,
        )
        .unwrap(),
        EspSuite::new(Encr::AesCbc128, Some(Integ::HmacSha256_128)).unwrap(),
    ));
    v
}

fn random<const N: usize>(rng: &SystemRandom) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill(&mut b).unwrap();
    b
}

#[test]
fn crypto_full_exchange_every_suite() {
    let rng = SystemRandom::new();
    for (suite, esp) in suites() {
        // IKE_SA_INIT: KE and nonces cross.
        let spi_i: [u8; 8] = random(&rng);
        let spi_r: [u8; 8] = random(&rng);
        let ni: [u8; 32] = random(&rng);
        let nr: [u8; 32] = random(&rng);
        let dh_i = DhPrivateKey::generate(suite.dh(), &rng).unwrap();
        let dh_r = DhPrivateKey::generate(suite.dh(), &rng).unwrap();
        let ke_i = dh_i.public_value().to_vec();
        let ke_r = dh_r.public_value().to_vec();
        let init_request = [b"IKE_SA_INIT request: ".as_slice(), &ke_i, &ni].concat();
        let init_response = [b"IKE_SA_INIT response: ".as_slice(), &ke_r, &nr].concat();

        let g_ir_i = dh_i.agree(&ke_r).unwrap();
        let g_ir_r = dh_r.agree(&ke_i).unwrap();
        let keys_i =
            IkeSaKeys::from_shared_secret(&suite, g_ir_i.as_bytes(), &ni, &nr, &spi_i, &spi_r)
                .unwrap();
        let keys_r =
            IkeSaKeys::from_shared_secret(&suite, g_ir_r.as_bytes(), &ni, &nr, &spi_i, &spi_r)
                .unwrap();
        assert_eq!(keys_i.sk_d(), keys_r.sk_d());
        assert_ne!(keys_i.sk_ei(), keys_i.sk_er());
        let mut sk_i = keys_i.sk_ciphers(&suite, Role::Initiator).unwrap();
        let mut sk_r = keys_r.sk_ciphers(&suite, Role::Responder).unwrap();

        // IKE_AUTH request: IDi (FQDN) and AUTH (PSK) inside SK.
        let psk = b"flexvpn-psk";
        let mut idi = vec![2, 0, 0, 0];
        idi.extend_from_slice(b"spoke1.cisco.com");
        let octets_i = signed_octets(
            suite.prf(),
            &init_request,
            &nr,
            keys_i.own_sk_p(Role::Initiator),
            &idi,
        )
        .unwrap();
        let auth_i = psk_auth(suite.prf(), psk, &octets_i).unwrap();
        let mut inner = Vec::new();
        // IDi payload (next: AUTH = 39).
        inner.extend_from_slice(&[39, 0]);
        inner.extend_from_slice(&u16::try_from(4 + idi.len()).unwrap().to_be_bytes());
        inner.extend_from_slice(&idi);
        // AUTH payload: method 2 (shared key MIC).
        inner.extend_from_slice(&[0, 0]);
        inner.extend_from_slice(&u16::try_from(8 + auth_i.len()).unwrap().to_be_bytes());
        inner.extend_from_slice(&[2, 0, 0, 0]);
        inner.extend_from_slice(auth_i.as_bytes());
        let request = sk_message(&mut sk_i.outbound, &spi_i, &spi_r, 0x08, 1, 35, &inner);

        // The responder: integrity and decryption, then AUTH.
        let opened = sk_r.inbound.open(&request[..32], &request[32..]).unwrap();
        assert_eq!(opened.as_bytes(), inner);
        let got_idi = &opened.as_bytes()[4..4 + idi.len()];
        let got_auth = &opened.as_bytes()[4 + idi.len() + 8..];
        let octets_r_view = signed_octets(
            suite.prf(),
            &init_request,
            &nr,
            keys_r.peer_sk_p(Role::Responder),
            got_idi,
        )
        .unwrap();
        verify_psk_auth(suite.prf(), psk, &octets_r_view, got_auth).unwrap();
        assert_eq!(
            verify_psk_auth(suite.prf(), b"wrong", &octets_r_view, got_auth),
            Err(CryptoError::AuthenticationFailed)
        );
        // A retransmission through the wrong direction's key fails.
        assert_eq!(
            sk_r.outbound
                .open(&request[..32], &request[32..])
                .unwrap_err(),
            CryptoError::IntegrityCheckFailed
        );

        // IKE_AUTH response with the responder's AUTH.
        let mut idr = vec![2, 0, 0, 0];
        idr.extend_from_slice(b"hub.cisco.com");
        let octets_r = signed_octets(
            suite.prf(),
            &init_response,
            &ni,
            keys_r.own_sk_p(Role::Responder),
            &idr,
        )
        .unwrap();
        let auth_r = psk_auth(suite.prf(), psk, &octets_r).unwrap();
        let response = sk_message(
            &mut sk_r.outbound,
            &spi_i,
            &spi_r,
            0x20,
            1,
            39,
            auth_r.as_bytes(),
        );
        let opened = sk_i.inbound.open(&response[..32], &response[32..]).unwrap();
        let octets_i_view = signed_octets(
            suite.prf(),
            &init_response,
            &ni,
            keys_i.peer_sk_p(Role::Initiator),
            &idr,
        )
        .unwrap();
        verify_psk_auth(suite.prf(), psk, &octets_i_view, opened.as_bytes()).unwrap();

        // The first Child SA: KEYMAT from IKE_SA_INIT's nonces, no PFS.
        let child_i =
            ChildSaKeys::derive(suite.prf(), keys_i.sk_d(), &esp, None, &ni, &nr).unwrap();
        let child_r =
            ChildSaKeys::derive(suite.prf(), keys_r.sk_d(), &esp, None, &ni, &nr).unwrap();
        let (i_out, i_in) = child_i.outbound_inbound(Role::Initiator);
        let (r_out, r_in) = child_r.outbound_inbound(Role::Responder);
        assert_eq!(i_out.encr_key_material(), r_in.encr_key_material());
        assert_eq!(i_in.encr_key_material(), r_out.encr_key_material());
        assert_eq!(i_out.integ_key(), r_in.integ_key());
        assert_ne!(i_out.encr_key_material(), i_in.encr_key_material());
        assert_eq!(
            i_out.encr_key_material().len(),
            esp.encr().key_material_len()
        );

        // CREATE_CHILD_SA with PFS, started by the responder of the IKE SA.
        let n1: [u8; 32] = random(&rng);
        let n2: [u8; 32] = random(&rng);
        let a = DhPrivateKey::generate(suite.dh(), &rng).unwrap();
        let b = DhPrivateKey::generate(suite.dh(), &rng).unwrap();
        let (a_pub, b_pub) = (a.public_value().to_vec(), b.public_value().to_vec());
        let ga = a.agree(&b_pub).unwrap();
        let gb = b.agree(&a_pub).unwrap();
        let pfs_r = ChildSaKeys::derive(
            suite.prf(),
            keys_r.sk_d(),
            &esp,
            Some(ga.as_bytes()),
            &n1,
            &n2,
        )
        .unwrap();
        let pfs_i = ChildSaKeys::derive(
            suite.prf(),
            keys_i.sk_d(),
            &esp,
            Some(gb.as_bytes()),
            &n1,
            &n2,
        )
        .unwrap();
        assert_eq!(
            pfs_r
                .outbound_inbound(Role::Initiator)
                .0
                .encr_key_material(),
            pfs_i
                .outbound_inbound(Role::Responder)
                .1
                .encr_key_material()
        );
        let no_pfs = ChildSaKeys::derive(suite.prf(), keys_r.sk_d(), &esp, None, &n1, &n2).unwrap();
        assert_ne!(
            no_pfs.initiator_to_responder().encr_key_material(),
            pfs_r.initiator_to_responder().encr_key_material()
        );

        // IKE SA rekey, started by the original responder, new SPIs.
        let new_spi_i: [u8; 8] = random(&rng);
        let new_spi_r: [u8; 8] = random(&rng);
        let new_suite = IkeSuite::new(
            Encr::AesGcm16_256,
            Prf::HmacSha512,
            None,
            DhGroup::Curve25519,
        )
        .unwrap();
        let rekeyed_r = keys_r
            .rekey(
                &suite,
                &new_suite,
                ga.as_bytes(),
                &n1,
                &n2,
                &new_spi_i,
                &new_spi_r,
            )
            .unwrap();
        let rekeyed_i = keys_i
            .rekey(
                &suite,
                &new_suite,
                gb.as_bytes(),
                &n1,
                &n2,
                &new_spi_i,
                &new_spi_r,
            )
            .unwrap();
        assert_eq!(rekeyed_r.sk_d(), rekeyed_i.sk_d());
        assert_eq!(rekeyed_r.sk_d().len(), 64);
        assert_ne!(rekeyed_r.sk_d(), keys_r.sk_d());
        // The rekey's initiator (the old responder) now sends with SK_ei.
        let mut new_r = rekeyed_r.sk_ciphers(&new_suite, Role::Initiator).unwrap();
        let new_i = rekeyed_i.sk_ciphers(&new_suite, Role::Responder).unwrap();
        let msg = sk_message(&mut new_r.outbound, &new_spi_i, &new_spi_r, 0x08, 0, 0, b"");
        assert!(new_i
            .inbound
            .open(&msg[..32], &msg[32..])
            .unwrap()
            .is_empty());
    }
}

/// RFC 7383: each fragment is its own SKF payload, the AAD being the IKE
/// header and the SKF header (generic header, Fragment Number, Total
/// Fragments). A fragment moved to another position fails its ICV.
#[test]
fn crypto_skf_fragments() {
    let rng = SystemRandom::new();
    for (suite, _) in suites().into_iter().step_by(3) {
        let dh_i = DhPrivateKey::generate(suite.dh(), &rng).unwrap();
        let dh_r = DhPrivateKey::generate(suite.dh(), &rng).unwrap();
        let ke_r = dh_r.public_value().to_vec();
        let g = dh_i.agree(&ke_r).unwrap();
        let keys = IkeSaKeys::from_shared_secret(
            &suite,
            g.as_bytes(),
            &[1; 16],
            &[2; 16],
            &[3; 8],
            &[4; 8],
        )
        .unwrap();
        let mut tx = keys.sk_ciphers(&suite, Role::Initiator).unwrap().outbound;
        let rx = keys.sk_ciphers(&suite, Role::Responder).unwrap().inbound;

        let payloads: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        // Fragments of at most 576 octets on the wire (IPv4 minimum MTU
        // less IP and UDP headers and the non-ESP marker).
        let body_room = 576 - 20 - 8 - 4 - 28 - 8;
        let chunk = tx.max_plaintext_len(body_room).unwrap();
        let pieces: Vec<&[u8]> = payloads.chunks(chunk).collect();
        let total = u16::try_from(pieces.len()).unwrap();
        let mut wire = Vec::new();
        for (n, piece) in pieces.iter().enumerate() {
            let number = u16::try_from(n + 1).unwrap();
            let body_len = tx.sealed_len(piece.len());
            assert!(body_len <= body_room);
            let mut msg = ike_header(&[3; 8], &[4; 8], 53, 35, 0x08, 1, 28 + 8 + body_len);
            let first = if number == 1 { 35 } else { 0 };
            msg.extend_from_slice(&[first, 0]);
            msg.extend_from_slice(&u16::try_from(8 + body_len).unwrap().to_be_bytes());
            msg.extend_from_slice(&number.to_be_bytes());
            msg.extend_from_slice(&total.to_be_bytes());
            tx.seal_append(&mut msg, piece).unwrap();
            wire.push(msg);
        }
        let mut reassembled = Vec::new();
        for msg in &wire {
            let part = rx.open(&msg[..36], &msg[36..]).unwrap();
            reassembled.extend_from_slice(part.as_bytes());
        }
        assert_eq!(reassembled, payloads);
        // Fragment 2's body under fragment 1's header: refused.
        let mut forged = wire[0][..36].to_vec();
        forged.extend_from_slice(&wire[1][36..]);
        assert!(rx.open(&forged[..36], &forged[36..]).is_err());
    }
}
