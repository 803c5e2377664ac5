//! Diffie-Hellman: one type for the four groups of this suite.
//!
//! Curve25519 (group 31), P-256 (19) and P-384 (20) go through `ring`'s
//! `agreement` (constant time, peer point validated); MODP-2048 (14) uses
//! `crypto-bigint`'s constant-time Montgomery exponentiation. Private keys
//! are ephemeral: [`DhPrivateKey::agree`] consumes the key.

use core::fmt;

use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Odd, U2048, U512};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
use ring::rand::SecureRandom;
use zeroize::Zeroize;

use super::error::CryptoError;
use super::secret::SecretBytes;
use super::transforms::DhGroup;

/// An ephemeral Diffie-Hellman private key with its public value.
pub struct DhPrivateKey {
    group: DhGroup,
    public: Vec<u8>,
    inner: Inner,
}

enum Inner {
    Ring(EphemeralPrivateKey),
    Modp(ModpPrivate),
}

impl fmt::Debug for DhPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DhPrivateKey")
            .field("group", &self.group)
            .field("public_len", &self.public.len())
            .finish_non_exhaustive()
    }
}

impl DhPrivateKey {
    /// Generates a key pair in `group` with randomness from `rng` (in
    /// production `ring::rand::SystemRandom`).
    ///
    /// # Errors
    ///
    /// [`CryptoError::Rng`] if the generator fails; [`CryptoError::Internal`]
    /// if `ring` refuses to compute the public key.
    pub fn generate(group: DhGroup, rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
        let (public, inner) = match group {
            DhGroup::Curve25519 | DhGroup::Ecp256 | DhGroup::Ecp384 => {
                let key = EphemeralPrivateKey::generate(ring_alg(group), rng)
                    .map_err(|_| CryptoError::Rng)?;
                let public = key
                    .compute_public_key()
                    .map_err(|_| CryptoError::Internal)?;
                let public = match group {
                    // RFC 8031 section 2: the 32-octet X25519 public key.
                    DhGroup::Curve25519 => public.as_ref().to_vec(),
                    // RFC 5903 section 7: the KE payload carries x || y,
                    // without the SEC1 0x04 prefix ring puts in front.
                    _ => public
                        .as_ref()
                        .get(1..)
                        .ok_or(CryptoError::Internal)?
                        .to_vec(),
                };
                (public, Inner::Ring(key))
            }
            DhGroup::Modp2048 => {
                let key = ModpPrivate::generate(rng)?;
                (key.public_value(), Inner::Modp(key))
            }
        };
        if public.len() != group.public_value_len() {
            return Err(CryptoError::Internal);
        }
        Ok(Self {
            group,
            public,
            inner,
        })
    }

    /// The group.
    #[must_use]
    pub fn group(&self) -> DhGroup {
        self.group
    }

    /// Our public value: the Key Exchange Data of our KE payload.
    #[must_use]
    pub fn public_value(&self) -> &[u8] {
        &self.public
    }

    /// Computes the shared secret g^ir from the peer's Key Exchange Data,
    /// after checking its length and that it is a valid group element.
    ///
    /// The result is what SKEYSEED and KEYMAT take: for MODP the value
    /// padded on the left to the modulus length, for ECP the x coordinate
    /// of the shared point (RFC 5903 section 7), for Curve25519 the X25519
    /// output as-is (RFC 8031 section 2).
    ///
    /// # Errors
    ///
    /// [`CryptoError::KePayloadLength`] for a wrong length;
    /// [`CryptoError::InvalidPublicValue`] for a value that is not in the
    /// group (ECP point not on the curve, MODP value outside 1 < y < p-1)
    /// or that gives the all-zero X25519 secret.
    pub fn agree(self, peer_public: &[u8]) -> Result<SecretBytes, CryptoError> {
        let group = self.group;
        let expected = group.public_value_len();
        if peer_public.len() != expected {
            return Err(CryptoError::KePayloadLength {
                group: group.id().0,
                expected,
                received: peer_public.len(),
            });
        }
        let invalid = CryptoError::InvalidPublicValue {
            group: group.id().0,
        };
        match self.inner {
            Inner::Ring(key) => {
                let mut sec1;
                let peer = if group == DhGroup::Curve25519 {
                    //= https://www.rfc-editor.org/rfc/rfc8031#section-5
                    //# Receiving and handling of incompatible point formats MUST
                    //# follow the considerations described in Section 5 of
                    //# [RFC7748].  In particular, receiving entities MUST mask the
                    //# most-significant bit in the final byte for X25519 (but not
                    //# X448), and implementations MUST accept non-canonical values.
                    // ring's X25519 masks that bit and takes any 32 octets; it
                    // refuses the all-zero output of a small-order point
                    // (RFC 7748 section 6.1).
                    peer_public
                } else {
                    // ring takes the SEC1 uncompressed form and checks the
                    // point is on the curve and not the point at infinity
                    // (the public key validation of RFC 6989 section 2.3).
                    sec1 = Vec::with_capacity(1 + peer_public.len());
                    sec1.push(0x04);
                    sec1.extend_from_slice(peer_public);
                    &sec1
                };
                let peer = UnparsedPublicKey::new(ring_alg(group), peer);
                agreement::agree_ephemeral(key, &peer, SecretBytes::from_slice).map_err(|_| invalid)
            }
            Inner::Modp(key) => key.agree(peer_public).ok_or(invalid),
        }
    }
}

fn ring_alg(group: DhGroup) -> &'static agreement::Algorithm {
    match group {
        DhGroup::Ecp256 => &agreement::ECDH_P256,
        DhGroup::Ecp384 => &agreement::ECDH_P384,
        // MODP never reaches ring.
        DhGroup::Curve25519 | DhGroup::Modp2048 => &agreement::X25519,
    }
}

/// The 2048-bit MODP prime of RFC 3526 section 3,
/// 2^2048 - 2^1984 - 1 + 2^64 * { [2^1918 pi] + 124476 }. Checked against
/// that formula and for primality of p and (p-1)/2 when written here.
const MODP_2048_P: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1",
    "29024E088A67CC74020BBEA63B139B22514A08798E3404DD",
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245",
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D",
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D",
    "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9",
    "DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF",
);

const MODP_2048: FixedMontyParams<{ U2048::LIMBS }> =
    FixedMontyParams::new_vartime(Odd::<U2048>::from_be_hex(MODP_2048_P));

/// The generator of RFC 3526 section 3.
const MODP_2048_G: U2048 = U2048::from_u8(2);

/// Bits of the private exponent. RFC 3526 section 8 estimates the group's
/// strength at 110 to 160 bits and asks for an exponent of 220 to 320
/// bits; 512 bits leave a margin and cost a quarter of a full-length
/// exponent. The exponentiation is constant time in the exponent's value
/// (the bound, public, fixes the work).
const MODP_EXPONENT_BITS: u32 = 512;

/// Octets of the modulus and of the public value.
const MODP_LEN: usize = 256;

struct ModpPrivate {
    x: U512,
}

impl Drop for ModpPrivate {
    fn drop(&mut self) {
        self.x.zeroize();
    }
}

impl ModpPrivate {
    fn generate(rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
        let mut bytes = [0u8; (MODP_EXPONENT_BITS / 8) as usize];
        rng.fill(&mut bytes).map_err(|_| CryptoError::Rng)?;
        let x = U512::from_be_slice(&bytes);
        bytes.zeroize();
        // x = 0 or 1 would give a public value of 1 or g: a broken
        // generator, not bad luck (probability 2^-511).
        if x < U512::from_u8(2) {
            return Err(CryptoError::Rng);
        }
        Ok(Self { x })
    }

    fn public_value(&self) -> Vec<u8> {
        let g = FixedMontyForm::new(&MODP_2048_G, &MODP_2048);
        let y = g.pow_bounded_exp(&self.x, MODP_EXPONENT_BITS).retrieve();
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.4
        //# The length of the Diffie-Hellman public value for modular
        //# exponentiation group (MODP) groups MUST be equal to the length of
        //# the prime modulus over which the exponentiation was performed,
        //# prepending zero bits to the value if necessary.
        y.to_be_bytes().as_ref().to_vec()
    }

    /// None if the peer's value is outside 1 < y < p-1 (checks of RFC 6989
    /// section 2.1: 0, 1 and p-1 would force the secret into {0, 1, p-1};
    /// values >= p are not reduced residues).
    fn agree(&self, peer: &[u8]) -> Option<SecretBytes> {
        if peer.len() != MODP_LEN {
            return None;
        }
        let y = U2048::from_be_slice(peer);
        let p_minus_1 = MODP_2048.modulus().get().wrapping_sub(&U2048::ONE);
        if y <= U2048::ONE || y >= p_minus_1 {
            return None;
        }
        let y = FixedMontyForm::new(&y, &MODP_2048);
        let mut z = y.pow_bounded_exp(&self.x, MODP_EXPONENT_BITS).retrieve();
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.14
        //# g^ir is represented as a string of octets in big endian order
        //# padded with zeros if necessary to make it the length of the
        //# modulus.
        let mut encoded = z.to_be_bytes();
        let secret = SecretBytes::from_slice(encoded.as_ref());
        encoded.zeroize();
        z.zeroize();
        Some(secret)
    }
}

#[cfg(test)]
mod tests {
    #![allow(deprecated)] // ring::test::rand::FixedSliceRandom

    use super::*;
    use ring::rand::SystemRandom;
    use ring::test::rand::FixedSliceRandom;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace([' ', '\n'], "")).unwrap()
    }

    fn fixed(group: DhGroup, private: &[u8]) -> DhPrivateKey {
        DhPrivateKey::generate(group, &FixedSliceRandom { bytes: private }).unwrap()
    }

    /// RFC 5903 section 8.1 (256-bit random ECP group): both sides through
    /// the production path, with the RFC's private keys fed to ring as its
    /// random input.
    #[test]
    fn test_rfc5903_group19() {
        let i = h("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433");
        let gi = h(
            "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180\
                    5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
        );
        let r = h("C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53");
        let gr = h(
            "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63\
                    56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
        );
        let girx = h("D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE");
        let ki = fixed(DhGroup::Ecp256, &i);
        let kr = fixed(DhGroup::Ecp256, &r);
        assert_eq!(ki.public_value(), gi);
        assert_eq!(kr.public_value(), gr);
        assert_eq!(ki.agree(&gr).unwrap().as_bytes(), girx);
        assert_eq!(kr.agree(&gi).unwrap().as_bytes(), girx);
    }

    /// RFC 5903 section 8.2 (384-bit random ECP group).
    #[test]
    fn test_rfc5903_group20() {
        let i = h(
            "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655\
                   E35B538041E649EE3FAEF896783AB194",
        );
        let gi = h(
            "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6\
                    DE3AC808ACB4BDB4C88732AEE95F41AA9482ED1FC0EEB9CAFC4984625CCFC23F\
                    65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A81C",
        );
        let r = h(
            "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942\
                   E0308312916B8ED2960E4BD55A7448FC",
        );
        let gr = h(
            "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D\
                    0D1AC43A0336DEF96FDA41D0774A3571DCFBEC7AACF3196472169E838430367F\
                    66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C",
        );
        let girx = h(
            "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4\
                      D603135569B9E9D09CF5D4A270F59746",
        );
        let ki = fixed(DhGroup::Ecp384, &i);
        let kr = fixed(DhGroup::Ecp384, &r);
        assert_eq!(ki.public_value(), gi);
        assert_eq!(kr.public_value(), gr);
        assert_eq!(ki.agree(&gr).unwrap().as_bytes(), girx);
        assert_eq!(kr.agree(&gi).unwrap().as_bytes(), girx);
    }

    /// RFC 7748 section 6.1: Alice and Bob.
    #[test]
    fn test_rfc7748_x25519_dh() {
        let a = h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let a_pub = h("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        let b = h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        let b_pub = h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        let k = h("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        let ka = fixed(DhGroup::Curve25519, &a);
        let kb = fixed(DhGroup::Curve25519, &b);
        assert_eq!(ka.public_value(), a_pub);
        assert_eq!(kb.public_value(), b_pub);
        assert_eq!(ka.agree(&b_pub).unwrap().as_bytes(), k);
        assert_eq!(kb.agree(&a_pub).unwrap().as_bytes(), k);
    }

    /// RFC 7748 section 5.2: the two scalar multiplication vectors (the
    /// second u has its top bit set, which must be masked).
    #[test]
    fn test_rfc7748_x25519_scalar_mult() {
        let cases = [
            (
                "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
                "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
            ),
            (
                "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
                "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
            ),
        ];
        for (k, u, out) in cases {
            let key = fixed(DhGroup::Curve25519, &h(k));
            assert_eq!(key.agree(&h(u)).unwrap().as_bytes(), h(out));
        }
    }

    #[test]
    fn test_x25519_low_order_point_rejected() {
        let rng = SystemRandom::new();
        // u = 0 and u = 1 are of small order: the output is all zeros.
        for u in [[0u8; 32], {
            let mut one = [0u8; 32];
            one[0] = 1;
            one
        }] {
            let key = DhPrivateKey::generate(DhGroup::Curve25519, &rng).unwrap();
            assert_eq!(
                key.agree(&u).unwrap_err(),
                CryptoError::InvalidPublicValue { group: 31 }
            );
        }
    }

    #[test]
    fn test_ecp_invalid_points_rejected() {
        let rng = SystemRandom::new();
        for group in [DhGroup::Ecp256, DhGroup::Ecp384] {
            let peer = DhPrivateKey::generate(group, &rng).unwrap();
            let mut bad = peer.public_value().to_vec();
            // y + 1: no longer on the curve.
            let last = bad.len() - 1;
            bad[last] ^= 1;
            let key = DhPrivateKey::generate(group, &rng).unwrap();
            assert_eq!(
                key.agree(&bad).unwrap_err(),
                CryptoError::InvalidPublicValue {
                    group: group.id().0
                }
            );
            // All zeros (would be the point at infinity in some encodings).
            let key = DhPrivateKey::generate(group, &rng).unwrap();
            let zeros = vec![0; group.public_value_len()];
            assert!(key.agree(&zeros).is_err());
            // With the SEC1 prefix: one octet too many.
            let key = DhPrivateKey::generate(group, &rng).unwrap();
            let mut prefixed = vec![4];
            prefixed.extend_from_slice(peer.public_value());
            assert_eq!(
                key.agree(&prefixed).unwrap_err(),
                CryptoError::KePayloadLength {
                    group: group.id().0,
                    expected: group.public_value_len(),
                    received: group.public_value_len() + 1,
                }
            );
        }
    }

    #[test]
    fn test_wrong_lengths_rejected() {
        let rng = SystemRandom::new();
        for group in [
            DhGroup::Modp2048,
            DhGroup::Ecp256,
            DhGroup::Ecp384,
            DhGroup::Curve25519,
        ] {
            let n = group.public_value_len();
            for len in [0, 1, n - 1, n + 1] {
                let key = DhPrivateKey::generate(group, &rng).unwrap();
                assert_eq!(
                    key.agree(&vec![7; len]).unwrap_err(),
                    CryptoError::KePayloadLength {
                        group: group.id().0,
                        expected: n,
                        received: len
                    }
                );
            }
        }
    }

    #[test]
    fn test_both_sides_agree_every_group() {
        let rng = SystemRandom::new();
        for group in [
            DhGroup::Modp2048,
            DhGroup::Ecp256,
            DhGroup::Ecp384,
            DhGroup::Curve25519,
        ] {
            let a = DhPrivateKey::generate(group, &rng).unwrap();
            let b = DhPrivateKey::generate(group, &rng).unwrap();
            assert_eq!(a.group(), group);
            assert_eq!(a.public_value().len(), group.public_value_len());
            assert_ne!(a.public_value(), b.public_value());
            let a_pub = a.public_value().to_vec();
            let sa = a.agree(b.public_value()).unwrap();
            let sb = b.agree(&a_pub).unwrap();
            assert_eq!(sa.as_bytes(), sb.as_bytes(), "{group:?}");
            assert_eq!(sa.len(), group.shared_secret_len());
        }
    }

    /// MODP with small fixed exponents: x = 2 gives g^x = 4; with the peer
    /// value 8 = g^3 the secret is 8^2 = 64, padded to 256 octets.
    #[test]
    fn test_modp_small_fixed_exponent() {
        let mut x = [0u8; 64];
        x[63] = 2;
        let key = fixed(DhGroup::Modp2048, &x);
        let mut four = [0u8; 256];
        four[255] = 4;
        assert_eq!(key.public_value(), four);
        let mut eight = [0u8; 256];
        eight[255] = 8;
        let mut sixty_four = [0u8; 256];
        sixty_four[255] = 64;
        assert_eq!(key.agree(&eight).unwrap().as_bytes(), sixty_four);
    }

    /// MODP with 512-bit fixed exponents against values computed
    /// independently (Python's built-in pow(2, x, p) and pow(g^y, x, p)).
    #[test]
    fn test_modp_fixed_exponents_independent() {
        let x = h(MODP_X);
        let y = h(MODP_Y);
        let kx = fixed(DhGroup::Modp2048, &x);
        let ky = fixed(DhGroup::Modp2048, &y);
        assert_eq!(kx.public_value(), h(MODP_GX));
        assert_eq!(ky.public_value(), h(MODP_GY));
        let gy = ky.public_value().to_vec();
        assert_eq!(kx.agree(&gy).unwrap().as_bytes(), h(MODP_GXY));
    }

    #[test]
    fn test_modp_peer_range() {
        let rng = SystemRandom::new();
        let p = h(MODP_2048_P);
        let mut p_minus_1 = p.clone();
        p_minus_1[255] -= 1;
        let mut p_minus_2 = p.clone();
        p_minus_2[255] -= 2;
        let mut one = vec![0u8; 256];
        one[255] = 1;
        let mut two = vec![0u8; 256];
        two[255] = 2;
        for bad in [vec![0u8; 256], one, p_minus_1, p.clone(), vec![0xff; 256]] {
            let key = DhPrivateKey::generate(DhGroup::Modp2048, &rng).unwrap();
            assert_eq!(
                key.agree(&bad).unwrap_err(),
                CryptoError::InvalidPublicValue { group: 14 }
            );
        }
        for good in [two, p_minus_2] {
            let key = DhPrivateKey::generate(DhGroup::Modp2048, &rng).unwrap();
            assert!(key.agree(&good).is_ok());
        }
    }

    const MODP_X: &str = "be3fe22514be92a220b9322802787c320202ee7066bfbb7ec90cc5baea25d5da\
     ee61c490472932521919b5bfc96a17de4d20084e39348cbc9889b184633a8426";
    const MODP_Y: &str = "be36ba507bc491e3e5287f459a52833c73025c911eace8fd4997b76878c5080e\
     fb935ff96da354fa57fee45398705e500d92b308186b9fb1b16290a77227a088";
    const MODP_GX: &str = "ee4c124155561931b337c45035d1135af809b94912451043b70f89ce1ebd13d3\
     62197f8cbf31f0b8042e0defc570145ec28ad2a73ecc12513c7b58a4deaf9948\
     4997ff0f0ece9cb596fb4e87928df91e834cb09b5cebb82d1e55e81bf9dfd961\
     ba0756735a7a519b8f5c9d8acd55e2bff0ae62ed07f7c8581f59873fb349a9ff\
     c742c73955cfcf6d0cf57bf7735fc645e6cad64e48b686f465655ae16601a839\
     be863ce602212de752e119219d847fe8001a068876946755d95028641eba40ae\
     56e08901cb0d4347decd4ab7855fa48aa78da60c8491220942533c943be36844\
     c20a07e48124e688469b5625c91bb3ca93e6236950eca77bbbb5519d0e2746ab";
    const MODP_GY: &str = "d664e542788f21df5430489249c5c980dc66a05518a5ba7f2524e2670615dc85\
     dc89431fb381ae0d2a2fff569680e6eccd9fd35dde17e0c1c0c1dc972ae34e39\
     c90e29dcbf35f5ee95e3a8457e1c30b7612303bb1fbaeb10270631292927a7d1\
     358d576c3d23084bd3c5092b2e8255e0d4a290f2e037944d3624d27202b85659\
     156d52c79048c71e1209ce6f524ea4e11e17d0719f4b1928766cae13bb5785c0\
     76a37c980fa0b2aaa3132c2619d230fa04b40d92349ca7c89abcad4ce7f0f539\
     cafb12679246e817ca735b50135efd2c4fd7a62761a5b2e1727cd24293fffb3d\
     524b6864093360c1fa79275d3d4e46bad5d3bfaa18301308bf2dbc9d54b5ad31";
    const MODP_GXY: &str = "b6cbc5df8ccfb73dda8413eac4ac9596ac1bdb3eb4367c15626f493c92b210ac\
     70c5188cffee2c98156692c73ff11311a819777d1e51a147d3c2beebb5cbcd19\
     aba4f69fae46e827429b22040e920dba897f1b381956c1af762672538de78eb1\
     b29c7240091edfe82faa71a6f7882af9daf1a5985e07fcc16aeaa18d61373986\
     1d42460877383e8eb31b426a5eb794e6514c7d80c354d9f9d87f5722a6dba03b\
     42883ea24367289f97c0f7eea0cc1e9569835d215994267abf3ad9bfd0107497\
     1db2fa5717a8c683468017ee47aa211d15587663fd92c06e675448884b76dd48\
     51ab2642b050d663715c19595bb4cfb79c634918a1f6c287d51a94e8c3326b9e";
}
