//! Key derivation: SKEYSEED and the seven IKE SA secrets (RFC 7296 section
//! 2.14), SKEYSEED of a rekeyed IKE SA (section 2.18), and Child SA KEYMAT
//! (section 2.17).

use super::error::CryptoError;
use super::secret::SecretBytes;
use super::sk::SkCipher;
use super::transforms::{EspSuite, IkeSuite, Prf};

/// Our role in the exchange that created an SA (IKE_SA_INIT for an IKE SA,
/// the rekeying CREATE_CHILD_SA for a rekeyed one; the creating exchange
/// for a Child SA). It picks which keys are outbound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// We sent the request.
    Initiator,
    /// We answered it.
    Responder,
}

/// The two SK payload ciphers of an IKE SA, as one endpoint uses them.
#[derive(Debug)]
pub struct SkCiphers {
    /// Protects the messages we send (requests and responses alike).
    pub outbound: SkCipher,
    /// Checks and decrypts the messages we receive.
    pub inbound: SkCipher,
}

/// SKEYSEED of a new IKE SA: prf(Ni | Nr, g^ir).
///
/// `ni` and `nr` are the nonce data of the IKE_SA_INIT exchange (the Nonce
/// payloads' contents), `g_ir` the Diffie-Hellman shared secret.
///
/// # Errors
///
/// [`CryptoError::Internal`] only if the HMAC refused the key.
pub fn skeyseed(prf: Prf, ni: &[u8], nr: &[u8], g_ir: &[u8]) -> Result<SecretBytes, CryptoError> {
    //= https://www.rfc-editor.org/rfc/rfc7296#section-2.14
    //# SKEYSEED = prf(Ni | Nr, g^ir)
    let mut key = Vec::with_capacity(ni.len() + nr.len());
    key.extend_from_slice(ni);
    key.extend_from_slice(nr);
    // Ni | Nr is public, no need to wipe it.
    prf.compute(&key, g_ir)
}

/// SKEYSEED of the IKE SA that replaces an old one in a CREATE_CHILD_SA
/// exchange: prf(SK_d (old), g^ir (new) | Ni | Nr).
///
/// `old_prf` is the PRF of the old IKE SA (the exchange belongs to it);
/// `ni`, `nr` the nonces of the rekeying exchange, `g_ir_new` its new
/// Diffie-Hellman shared secret. The seven keys of the new SA then come
/// from [`IkeSaKeys::derive`] with the new SA's suite and SPIs, the
/// rekeying exchange's initiator taking the initiator's part.
///
/// # Errors
///
/// [`CryptoError::Internal`] only if the HMAC refused the key.
pub fn rekey_skeyseed(
    old_prf: Prf,
    old_sk_d: &[u8],
    g_ir_new: &[u8],
    ni: &[u8],
    nr: &[u8],
) -> Result<SecretBytes, CryptoError> {
    //= https://www.rfc-editor.org/rfc/rfc7296#section-2.18
    //# SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
    old_prf.compute_parts(old_sk_d, &[g_ir_new, ni, nr])
}

/// The seven secrets of an IKE SA.
///
/// "Initiator" and "responder" are the roles in the exchange that created
/// the SA (for a rekeyed SA, the rekeying CREATE_CHILD_SA exchange).
#[derive(Debug)]
pub struct IkeSaKeys {
    sk_d: SecretBytes,
    sk_ai: SecretBytes,
    sk_ar: SecretBytes,
    sk_ei: SecretBytes,
    sk_er: SecretBytes,
    sk_pi: SecretBytes,
    sk_pr: SecretBytes,
}

impl IkeSaKeys {
    /// {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} =
    /// prf+(SKEYSEED, Ni | Nr | SPIi | SPIr), with the lengths of `suite`:
    /// SK_d, SK_pi, SK_pr the PRF's key length; SK_ai, SK_ar the integrity
    /// key length (none with an AEAD); SK_ei, SK_er the cipher's key
    /// material, salt included.
    ///
    /// # Errors
    ///
    /// [`CryptoError::PrfPlusTooLong`] cannot happen with this suite's
    /// algorithms; [`CryptoError::Internal`] if the HMAC refused the key.
    pub fn derive(
        suite: &IkeSuite,
        skeyseed: &[u8],
        ni: &[u8],
        nr: &[u8],
        spi_i: &[u8; 8],
        spi_r: &[u8; 8],
    ) -> Result<Self, CryptoError> {
        let prf = suite.prf();
        let d = prf.key_len();
        let a = suite.integ_key_len();
        let e = suite.encr().key_material_len();
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.14
        //# {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
        //#                 = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
        let keymat =
            prf.prf_plus_parts(skeyseed, &[ni, nr, spi_i, spi_r], 3 * d + 2 * a + 2 * e)?;
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.14
        //# (indicating that the quantities SK_d, SK_ai, SK_ar, SK_ei, SK_er,
        //# SK_pi, and SK_pr are taken in order from the generated bits of the
        //# prf+).
        let mut rest = keymat.as_bytes();
        let mut take = |n: usize| {
            let (head, tail) = rest.split_at(n);
            rest = tail;
            SecretBytes::from_slice(head)
        };
        Ok(Self {
            sk_d: take(d),
            sk_ai: take(a),
            sk_ar: take(a),
            sk_ei: take(e),
            sk_er: take(e),
            sk_pi: take(d),
            sk_pr: take(d),
        })
    }

    /// SKEYSEED from g^ir, then the seven secrets: the keys of a new IKE SA
    /// after IKE_SA_INIT.
    ///
    /// # Errors
    ///
    /// As [`IkeSaKeys::derive`].
    pub fn from_shared_secret(
        suite: &IkeSuite,
        g_ir: &[u8],
        ni: &[u8],
        nr: &[u8],
        spi_i: &[u8; 8],
        spi_r: &[u8; 8],
    ) -> Result<Self, CryptoError> {
        let seed = skeyseed(suite.prf(), ni, nr, g_ir)?;
        Self::derive(suite, seed.as_bytes(), ni, nr, spi_i, spi_r)
    }

    /// The keys of the IKE SA that replaces `self` (rekey with
    /// CREATE_CHILD_SA): [`rekey_skeyseed`] with this SA's PRF and SK_d,
    /// then [`IkeSaKeys::derive`] with the new suite and SPIs.
    ///
    /// # Errors
    ///
    /// As [`IkeSaKeys::derive`].
    #[allow(clippy::too_many_arguments)]
    pub fn rekey(
        &self,
        old_suite: &IkeSuite,
        new_suite: &IkeSuite,
        g_ir_new: &[u8],
        ni: &[u8],
        nr: &[u8],
        spi_i: &[u8; 8],
        spi_r: &[u8; 8],
    ) -> Result<Self, CryptoError> {
        let seed = rekey_skeyseed(old_suite.prf(), self.sk_d.as_bytes(), g_ir_new, ni, nr)?;
        Self::derive(new_suite, seed.as_bytes(), ni, nr, spi_i, spi_r)
    }

    /// The SK payload ciphers for an endpoint in `role`: the initiator
    /// sends with SK_ei/SK_ai and receives with SK_er/SK_ar, the responder
    /// the other way round. Call once per IKE SA: each cipher holds the IV
    /// counter of its key.
    ///
    /// # Errors
    ///
    /// [`CryptoError::KeyLength`] if `suite` is not the suite these keys
    /// were derived with.
    pub fn sk_ciphers(&self, suite: &IkeSuite, role: Role) -> Result<SkCiphers, CryptoError> {
        let build = |e: &SecretBytes, a: &SecretBytes| {
            SkCipher::new(
                suite.encr(),
                e.as_bytes(),
                suite.integ().map(|i| (i, a.as_bytes())),
            )
        };
        let i2r = build(&self.sk_ei, &self.sk_ai)?;
        let r2i = build(&self.sk_er, &self.sk_ar)?;
        Ok(match role {
            Role::Initiator => SkCiphers {
                outbound: i2r,
                inbound: r2i,
            },
            Role::Responder => SkCiphers {
                outbound: r2i,
                inbound: i2r,
            },
        })
    }

    /// SK_p for the AUTH payload we send in `role` (SK_pi for the
    /// initiator, SK_pr for the responder).
    #[must_use]
    pub fn own_sk_p(&self, role: Role) -> &[u8] {
        match role {
            Role::Initiator => self.sk_pi(),
            Role::Responder => self.sk_pr(),
        }
    }

    /// SK_p for checking the peer's AUTH payload in `role`.
    #[must_use]
    pub fn peer_sk_p(&self, role: Role) -> &[u8] {
        match role {
            Role::Initiator => self.sk_pr(),
            Role::Responder => self.sk_pi(),
        }
    }

    /// SK_d, the key for Child SA KEYMAT and IKE SA rekeying.
    #[must_use]
    pub fn sk_d(&self) -> &[u8] {
        self.sk_d.as_bytes()
    }

    /// SK_ai, integrity key initiator to responder (empty with an AEAD).
    #[must_use]
    pub fn sk_ai(&self) -> &[u8] {
        self.sk_ai.as_bytes()
    }

    /// SK_ar, integrity key responder to initiator (empty with an AEAD).
    #[must_use]
    pub fn sk_ar(&self) -> &[u8] {
        self.sk_ar.as_bytes()
    }

    /// SK_ei, encryption key material initiator to responder (key then
    /// salt for an AEAD).
    #[must_use]
    pub fn sk_ei(&self) -> &[u8] {
        self.sk_ei.as_bytes()
    }

    /// SK_er, encryption key material responder to initiator.
    #[must_use]
    pub fn sk_er(&self) -> &[u8] {
        self.sk_er.as_bytes()
    }

    /// SK_pi, for the initiator's AUTH payload.
    #[must_use]
    pub fn sk_pi(&self) -> &[u8] {
        self.sk_pi.as_bytes()
    }

    /// SK_pr, for the responder's AUTH payload.
    #[must_use]
    pub fn sk_pr(&self) -> &[u8] {
        self.sk_pr.as_bytes()
    }
}

/// The keys of one direction of an ESP SA.
#[derive(Debug)]
pub struct EspKeys {
    encr: SecretBytes,
    key_len: usize,
    integ: Option<SecretBytes>,
}

impl EspKeys {
    /// The encryption key material as the dataplane and RFC 4106/7634 want
    /// it: the key followed by the 4-octet salt (no salt for CBC).
    #[must_use]
    pub fn encr_key_material(&self) -> &[u8] {
        self.encr.as_bytes()
    }

    /// The cipher key without the salt.
    #[must_use]
    pub fn encr_key(&self) -> &[u8] {
        &self.encr.as_bytes()[..self.key_len]
    }

    /// The salt (empty for CBC).
    #[must_use]
    pub fn salt(&self) -> &[u8] {
        &self.encr.as_bytes()[self.key_len..]
    }

    /// The integrity key, `None` with an AEAD.
    #[must_use]
    pub fn integ_key(&self) -> Option<&[u8]> {
        self.integ.as_ref().map(SecretBytes::as_bytes)
    }
}

/// The keys of an ESP Child SA, one set per direction.
#[derive(Debug)]
pub struct ChildSaKeys {
    initiator_to_responder: EspKeys,
    responder_to_initiator: EspKeys,
}

impl ChildSaKeys {
    /// KEYMAT = prf+(SK_d, Ni | Nr), or prf+(SK_d, g^ir (new) | Ni | Nr)
    /// when the CREATE_CHILD_SA exchange carried KE payloads (PFS), split
    /// into the initiator-to-responder keys, then the
    /// responder-to-initiator keys, each encryption first, integrity second.
    ///
    /// `ni`, `nr`: the nonces of the exchange that creates the Child SA
    /// (IKE_SA_INIT's for the first Child SA, created in IKE_AUTH);
    /// "initiator" is the initiator of that exchange. `prf` is the IKE SA's
    /// PRF, `sk_d` its SK_d.
    ///
    /// # Errors
    ///
    /// [`CryptoError::Internal`] only if the HMAC refused the key.
    pub fn derive(
        prf: Prf,
        sk_d: &[u8],
        esp: &EspSuite,
        g_ir_new: Option<&[u8]>,
        ni: &[u8],
        nr: &[u8],
    ) -> Result<Self, CryptoError> {
        let per_direction = esp.keymat_len_per_direction();
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.17
        //# KEYMAT = prf+(SK_d, Ni | Nr)
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.17
        //# KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr)
        let keymat = match g_ir_new {
            None => prf.prf_plus_parts(sk_d, &[ni, nr], 2 * per_direction)?,
            Some(g) => prf.prf_plus_parts(sk_d, &[g, ni, nr], 2 * per_direction)?,
        };
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.17
        //# All keys for SAs carrying data from the initiator to the responder
        //# are taken before SAs going from the responder to the initiator.
        let (i2r, r2i) = keymat.as_bytes().split_at(per_direction);
        Ok(Self {
            initiator_to_responder: Self::split(esp, i2r),
            responder_to_initiator: Self::split(esp, r2i),
        })
    }

    fn split(esp: &EspSuite, keymat: &[u8]) -> EspKeys {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.17
        //# If a single protocol has both encryption and authentication keys,
        //# the encryption key is taken from the first octets of KEYMAT and
        //# the authentication key is taken from the next octets.
        let (encr, integ) = keymat.split_at(esp.encr().key_material_len());
        EspKeys {
            encr: SecretBytes::from_slice(encr),
            key_len: esp.encr().key_len(),
            integ: esp.integ().map(|_| SecretBytes::from_slice(integ)),
        }
    }

    /// The keys of our outbound and inbound ESP SAs, in that order, for an
    /// endpoint in `role` in the exchange that created the Child SA.
    #[must_use]
    pub fn outbound_inbound(&self, role: Role) -> (&EspKeys, &EspKeys) {
        match role {
            Role::Initiator => (&self.initiator_to_responder, &self.responder_to_initiator),
            Role::Responder => (&self.responder_to_initiator, &self.initiator_to_responder),
        }
    }

    /// Keys of the SA carrying data from the exchange's initiator to its
    /// responder (the initiator's outbound SA, the responder's inbound).
    #[must_use]
    pub fn initiator_to_responder(&self) -> &EspKeys {
        &self.initiator_to_responder
    }

    /// Keys of the SA carrying data from the responder to the initiator.
    #[must_use]
    pub fn responder_to_initiator(&self) -> &EspKeys {
        &self.responder_to_initiator
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikev2::crypto::transforms::{DhGroup, Encr, Integ};

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace([' ', '\n'], "")).unwrap()
    }

    // NIST CAVP IKEv2 KDF (SP 800-135) sample values, as carried in NSS's
    // test vectors (gtests/common/testvectors/ike-sha256-vectors.h and
    // ike-sha384-vectors.h, "these vectors are from this NIST samples").

    /// SKEYSEED = prf(Ni | Nr, g^ir), HMAC-SHA-256, 8-octet nonces.
    #[test]
    fn test_nist_skeyseed_sha256() {
        let s = skeyseed(
            Prf::HmacSha256,
            &h("3f302be1abcb28e1"),
            &h("8c332ee006064c9b"),
            &h("0f4d257d7a58fc4545c7d7a88119eee5d5c9690c5b4c989171d3abbfd99d1d29"),
        )
        .unwrap();
        assert_eq!(
            s.as_bytes(),
            h("5f00d1bd2c58ec224b1e6b71fa0f19a1faa7a193952c444411b47c1a9d8ba6fe")
        );
    }

    /// SKEYSEED with 2048-bit nonces (NIST sample 1, HMAC-SHA-256).
    #[test]
    fn test_nist_skeyseed_sha256_long_nonces() {
        let ni = h(
            "b1dee62505b47b223bae14ce7a5b757402ad1587511618d09f94950d47f1d8d4ce86aca12\
                    d78db9854d86019ad735757ae79d8932ac0c7db842c85060150ca875ea5d47e3cfcb2a059\
                    22ebb7959d49b9797a2289676ee79a1d9a18b790f87e4771ddaf4be3376057a553162f68f\
                    e429aca73b07234543801ba2122b1bde82251770d05df813cf556a11ca4dc43ffcb85a97d\
                    bed16e2fda6985e07e31be6364899e63c507c7c616e5eb7765a53560f76772de43918ba07\
                    badfe85244dcdcd917cb065afb60e3b7e68b54dd94bfc7c31c8b752892781ed3cc4b7f28f\
                    bc0ab9af908f5ae1f09f893f80100a7b3135993161b51fbba3bbb24b9f88c6147de82cd6f\
                    0",
        );
        let nr = h(
            "f0acfef2ad1f7add0eaafda78c1cf1097d9fc91cb04a7c145069ac426fd164cbe661b1dd2\
                    df0fb84e19512181f0d8ea50b7860845f332757a8e56d2a3b7be436b5718a2d49baa996a4\
                    616684a208c2d611cd65e605dca6e3d3f116859b4410fe13679696bb2e23c08a40c7e1316\
                    d54b4c9c0286701c221151b3642cb4112ca1a53e0e597a7e29c634caed86ca3c31973d37b\
                    4c346134fd6784cd99913feedf3d29d89a0a02a5a750f02f5738109dcc670bb27701fb59f\
                    78e83b76860c3fec079a1fc8c937ddb58ae7500422b7e49ce63759c65b6bc439381d56bcc\
                    159edede894b073841036ebfa050a5b3e7c876a3f18def26b1768a263ac66c9d83b680eb5\
                    e",
        );
        let g_ir = h("a1ff3dc6cf9b4c04709943cb4ca1f1789bcf360b03f1d027de3ae8ee039e9155");
        let s = skeyseed(Prf::HmacSha256, &ni, &nr, &g_ir).unwrap();
        assert_eq!(
            s.as_bytes(),
            h("750c5c94b9c2ec20b68033e024dadf0fa87e8b48c6561b21c72478451a06583d")
        );
    }

    /// prf+(SKEYSEED, Ni | Nr | SPIi | SPIr), 132 octets, HMAC-SHA-256;
    /// then the rekeyed SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
    /// from the first 32 octets (SK_d).
    #[test]
    fn test_nist_prf_plus_and_rekey_sha256() {
        let skeyseed = h("5f00d1bd2c58ec224b1e6b71fa0f19a1faa7a193952c444411b47c1a9d8ba6fe");
        let ni = h("3f302be1abcb28e1");
        let nr = h("8c332ee006064c9b");
        let spi_i = h("40dac39e1e1a8640");
        let spi_r = h("8619a1cf9a6e4c07");
        let want = h(
            "0b137d669b0947d7d026d593f0305ad401ff0c471357d695778a9c7f4b4869ece98aca531\
                      188d16041b3bb936d2dbb3b4993a6e768a809160de45d0283f273a6cdf6854379e31be72b\
                      8d3d1fa990cf9c5b015ca9f918a7df6253c958114a09d4e1c19bdcd4db14b29d98db1a74a\
                      d405c588662c14a04d0d36aa4ab55e90f8986d12d4aad",
        );
        let got = Prf::HmacSha256
            .prf_plus_parts(&skeyseed, &[&ni, &nr, &spi_i, &spi_r], 132)
            .unwrap();
        assert_eq!(got.as_bytes(), want);
        // The same through IkeSaKeys: AES-CBC-128 + HMAC-SHA-256-128 takes
        // 3*32 + 2*32 + 2*16 = 192 octets, of which the first 132 are
        // the NIST output.
        let suite = IkeSuite::new(
            Encr::AesCbc128,
            Prf::HmacSha256,
            Some(Integ::HmacSha256_128),
            DhGroup::Ecp256,
        )
        .unwrap();
        let keys = IkeSaKeys::derive(
            &suite,
            &skeyseed,
            &ni,
            &nr,
            &spi_i.clone().try_into().unwrap(),
            &spi_r.clone().try_into().unwrap(),
        )
        .unwrap();
        let mut cat = Vec::new();
        for k in [
            keys.sk_d(),
            keys.sk_ai(),
            keys.sk_ar(),
            keys.sk_ei(),
            keys.sk_er(),
            keys.sk_pi(),
            keys.sk_pr(),
        ] {
            cat.extend_from_slice(k);
        }
        assert_eq!(cat.len(), 3 * 32 + 2 * 32 + 2 * 16);
        assert_eq!(&cat[..132], want);

        let rekeyed = rekey_skeyseed(
            Prf::HmacSha256,
            keys.sk_d(),
            &h("25f3b12d6f282739256e39bf54eda53b60ffcf379bb7bcc90c27b4c4c578616c"),
            &ni,
            &nr,
        )
        .unwrap();
        assert_eq!(
            rekeyed.as_bytes(),
            h("2d63f6debc92048b4fef3889c4c99ca67d6496e0fac14a2bca9a2d6566ff2398")
        );
    }

    /// The same three steps with HMAC-SHA-384.
    #[test]
    fn test_nist_sha384() {
        let ni = h("fd1b572a8e735591");
        let nr = h("6013b0ef88dacd3d");
        let s = skeyseed(
            Prf::HmacSha384,
            &ni,
            &nr,
            &h("d3288cd87565101e88fe3bad918f31939d8dd26ff1071f8b2d7f447524e58d7c"),
        )
        .unwrap();
        assert_eq!(
            s.as_bytes(),
            h(
                "69fe7a1ac94adaeb711295f5fe004b1a8d6a0b65d05692758ce8ad2f7a45f59d\
               7d0b596f51f7dfcf3330061888f6a94f"
            )
        );
        let km = Prf::HmacSha384
            .prf_plus_parts(
                s.as_bytes(),
                &[&ni, &nr, &h("2116ad07ce61f749"), &h("24880e55f11a65b7")],
                132,
            )
            .unwrap();
        assert_eq!(
            km.as_bytes(),
            h(
                "4f904c2025c90c817ea5ff9b662a6fdb445a73b57cdf09eacd379b95e1f03cacb04cd6dee\
               da4f952191dd9bc1f7a9502471a648d74dc06d38112de48a42501f6b1a3ad55c2099cd9a6\
               48e5f17e5bf3e34bf9b5953decb768a34f875fe2b78dca0c2fcca81ec1a412006dfaed38f\
               a06882e61f4c148105fb8e231fdb33c4d484c001721d4"
            )
        );
        let rekeyed = rekey_skeyseed(
            Prf::HmacSha384,
            &km.as_bytes()[..48],
            &h("3358f620539473aee8d07e779764c4c6a9aabddc79a28e136b3bac021dbde44a"),
            &ni,
            &nr,
        )
        .unwrap();
        assert_eq!(
            rekeyed.as_bytes(),
            h(
                "e0548c1682e13bce454026b3b1bdf42985b24e4e7408095a7c529de38c3d1fcb\
               04c9fe6868042a34c9614c6c99e3fcea"
            )
        );
    }

    /// Key lengths and order for an AEAD suite: no SK_a, SK_e with salt.
    #[test]
    fn test_ike_sa_key_lengths_aead() {
        let suite = IkeSuite::new(
            Encr::AesGcm16_256,
            Prf::HmacSha512,
            None,
            DhGroup::Curve25519,
        )
        .unwrap();
        let keys =
            IkeSaKeys::from_shared_secret(&suite, &[9; 32], &[1; 32], &[2; 32], &[3; 8], &[4; 8])
                .unwrap();
        let seed = skeyseed(Prf::HmacSha512, &[1; 32], &[2; 32], &[9; 32]).unwrap();
        let all = Prf::HmacSha512
            .prf_plus_parts(
                seed.as_bytes(),
                &[&[1; 32], &[2; 32], &[3; 8], &[4; 8]],
                64 * 3 + 72,
            )
            .unwrap();
        let all = all.as_bytes();
        assert_eq!(keys.sk_d(), &all[..64]);
        assert!(keys.sk_ai().is_empty() && keys.sk_ar().is_empty());
        assert_eq!(keys.sk_ei(), &all[64..100]);
        assert_eq!(keys.sk_er(), &all[100..136]);
        assert_eq!(keys.sk_pi(), &all[136..200]);
        assert_eq!(keys.sk_pr(), &all[200..264]);
    }

    /// Child SA KEYMAT, with and without PFS, split per direction.
    #[test]
    fn test_child_keymat_split() {
        let sk_d = [0x5a; 32];
        let (ni, nr) = ([0x11; 16], [0x22; 16]);
        let gcm = EspSuite::new(Encr::AesGcm16_128, None).unwrap();
        let keys = ChildSaKeys::derive(Prf::HmacSha256, &sk_d, &gcm, None, &ni, &nr).unwrap();
        let km = Prf::HmacSha256
            .prf_plus_parts(&sk_d, &[&ni, &nr], 40)
            .unwrap();
        let km = km.as_bytes();
        let i2r = keys.initiator_to_responder();
        assert_eq!(i2r.encr_key_material(), &km[..20]);
        assert_eq!(i2r.encr_key(), &km[..16]);
        assert_eq!(i2r.salt(), &km[16..20]);
        assert_eq!(i2r.integ_key(), None);
        assert_eq!(
            keys.responder_to_initiator().encr_key_material(),
            &km[20..40]
        );

        let g = [0x77; 32];
        let cbc = EspSuite::new(Encr::AesCbc256, Some(Integ::HmacSha384_192)).unwrap();
        let keys = ChildSaKeys::derive(Prf::HmacSha256, &sk_d, &cbc, Some(&g), &ni, &nr).unwrap();
        let km = Prf::HmacSha256
            .prf_plus_parts(&sk_d, &[&g, &ni, &nr], 2 * (32 + 48))
            .unwrap();
        let km = km.as_bytes();
        let i2r = keys.initiator_to_responder();
        assert_eq!(i2r.encr_key(), &km[..32]);
        assert!(i2r.salt().is_empty());
        assert_eq!(i2r.integ_key(), Some(&km[32..80]));
        let r2i = keys.responder_to_initiator();
        assert_eq!(r2i.encr_key(), &km[80..112]);
        assert_eq!(r2i.integ_key(), Some(&km[112..160]));
    }
}
