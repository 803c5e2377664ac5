//! The PRFs (HMAC-SHA2, RFC 4868), prf+ (RFC 7296 section 2.13) and the
//! truncated HMAC-SHA2 integrity checksums (RFC 4868).

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use super::error::CryptoError;
use super::secret::SecretBytes;
use super::transforms::{Integ, Prf};

/// The largest PRF output (HMAC-SHA-512).
pub(crate) const MAX_PRF_LEN: usize = 64;

/// The largest number of prf+ iterations: the counter is one octet.
const MAX_PRF_PLUS_ITERATIONS: usize = 255;

/// One keyed HMAC, the same code for every hash.
#[derive(Clone)]
enum Keyed {
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

impl Keyed {
    fn new(prf: Prf, key: &[u8]) -> Result<Self, CryptoError> {
        // HMAC takes keys of any length; the error cannot happen but is not
        // unwrapped.
        Ok(match prf {
            Prf::HmacSha256 => {
                Self::Sha256(Hmac::new_from_slice(key).map_err(|_| CryptoError::Internal)?)
            }
            Prf::HmacSha384 => {
                Self::Sha384(Hmac::new_from_slice(key).map_err(|_| CryptoError::Internal)?)
            }
            Prf::HmacSha512 => {
                Self::Sha512(Hmac::new_from_slice(key).map_err(|_| CryptoError::Internal)?)
            }
        })
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(m) => m.update(data),
            Self::Sha384(m) => m.update(data),
            Self::Sha512(m) => m.update(data),
        }
    }

    /// Writes the full output into `out[..output_len]` and returns its
    /// length.
    fn finalize_into(self, out: &mut [u8; MAX_PRF_LEN]) -> usize {
        match self {
            Self::Sha256(m) => copy_out(&m.finalize().into_bytes(), out),
            Self::Sha384(m) => copy_out(&m.finalize().into_bytes(), out),
            Self::Sha512(m) => copy_out(&m.finalize().into_bytes(), out),
        }
    }
}

fn copy_out(tag: &[u8], out: &mut [u8; MAX_PRF_LEN]) -> usize {
    out[..tag.len()].copy_from_slice(tag);
    tag.len()
}

impl Prf {
    /// prf(key, data) where the data is the concatenation of `parts`.
    ///
    /// # Errors
    ///
    /// [`CryptoError::Internal`] only if the HMAC implementation refused
    /// the key, which it does for no length.
    pub fn compute_parts(self, key: &[u8], parts: &[&[u8]]) -> Result<SecretBytes, CryptoError> {
        let mut mac = Keyed::new(self, key)?;
        for p in parts {
            mac.update(p);
        }
        let mut out = [0u8; MAX_PRF_LEN];
        let n = mac.finalize_into(&mut out);
        let result = SecretBytes::from_slice(&out[..n]);
        out.zeroize();
        Ok(result)
    }

    /// prf(key, data).
    ///
    /// # Errors
    ///
    /// As [`Prf::compute_parts`].
    pub fn compute(self, key: &[u8], data: &[u8]) -> Result<SecretBytes, CryptoError> {
        self.compute_parts(key, &[data])
    }

    /// The most octets prf+ can produce with this PRF: 255 blocks.
    #[must_use]
    pub const fn prf_plus_max_len(self) -> usize {
        MAX_PRF_PLUS_ITERATIONS * self.output_len()
    }

    /// prf+(key, seed) truncated to `len` octets, where the seed is the
    /// concatenation of `seed_parts`.
    ///
    /// # Errors
    ///
    /// [`CryptoError::PrfPlusTooLong`] if `len` exceeds
    /// [`Prf::prf_plus_max_len`].
    pub fn prf_plus_parts(
        self,
        key: &[u8],
        seed_parts: &[&[u8]],
        len: usize,
    ) -> Result<SecretBytes, CryptoError> {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.13
        //# prf+ (K,S) = T1 | T2 | T3 | T4 | ...
        //#
        //# where:
        //# T1 = prf (K, S | 0x01)
        //# T2 = prf (K, T1 | S | 0x02)
        //# T3 = prf (K, T2 | S | 0x03)
        //# T4 = prf (K, T3 | S | 0x04)
        //# ...
        //= https://www.rfc-editor.org/rfc/rfc7296#section-2.13
        //# The prf+ function is not defined beyond 255 times the size of the
        //# prf function output.
        let max = self.prf_plus_max_len();
        if len > max {
            return Err(CryptoError::PrfPlusTooLong {
                requested: len,
                max,
            });
        }
        let keyed = Keyed::new(self, key)?;
        let mut out = SecretBytes::zeroed(len);
        let mut t = [0u8; MAX_PRF_LEN];
        let mut t_len = 0;
        let mut filled = 0;
        let mut counter: u8 = 1;
        while filled < len {
            let mut mac = keyed.clone();
            mac.update(&t[..t_len]);
            for p in seed_parts {
                mac.update(p);
            }
            mac.update(&[counter]);
            t_len = mac.finalize_into(&mut t);
            let take = t_len.min(len - filled);
            out.as_mut_bytes()[filled..filled + take].copy_from_slice(&t[..take]);
            filled += take;
            // At most 255 iterations run (checked above), so the counter
            // never wraps while it is still used.
            counter = counter.wrapping_add(1);
        }
        t.zeroize();
        Ok(out)
    }

    /// prf+(key, seed) truncated to `len` octets.
    ///
    /// # Errors
    ///
    /// As [`Prf::prf_plus_parts`].
    pub fn prf_plus(self, key: &[u8], seed: &[u8], len: usize) -> Result<SecretBytes, CryptoError> {
        self.prf_plus_parts(key, &[seed], len)
    }
}

/// The largest truncated ICV (HMAC-SHA-512-256).
pub(crate) const MAX_ICV_LEN: usize = 32;

impl Integ {
    /// The truncated HMAC of the concatenation of `parts`, written to
    /// `out`, which must be [`Integ::icv_len`] octets long.
    ///
    /// # Errors
    ///
    /// [`CryptoError::KeyLength`] if `key` is not [`Integ::key_len`] octets
    /// or `out` is not [`Integ::icv_len`] octets.
    pub fn compute_icv(
        self,
        key: &[u8],
        parts: &[&[u8]],
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        if key.len() != self.key_len() {
            return Err(CryptoError::KeyLength {
                expected: self.key_len(),
                received: key.len(),
            });
        }
        if out.len() != self.icv_len() {
            return Err(CryptoError::KeyLength {
                expected: self.icv_len(),
                received: out.len(),
            });
        }
        let mut mac = Keyed::new(self.prf(), key)?;
        for p in parts {
            mac.update(p);
        }
        let mut full = [0u8; MAX_PRF_LEN];
        let _ = mac.finalize_into(&mut full);
        // RFC 4868 section 2.3: the ICV is the leftmost half of the HMAC.
        out.copy_from_slice(&full[..self.icv_len()]);
        full.zeroize();
        Ok(())
    }

    /// Checks in constant time that `icv` is the truncated HMAC of the
    /// concatenation of `parts`.
    ///
    /// # Errors
    ///
    /// [`CryptoError::IntegrityCheckFailed`] on a mismatch or a wrong ICV
    /// length; [`CryptoError::KeyLength`] for a wrong key length.
    pub fn verify_icv(self, key: &[u8], parts: &[&[u8]], icv: &[u8]) -> Result<(), CryptoError> {
        if icv.len() != self.icv_len() {
            return Err(CryptoError::IntegrityCheckFailed);
        }
        let mut expected = [0u8; MAX_ICV_LEN];
        let expected = &mut expected[..self.icv_len()];
        self.compute_icv(key, parts, expected)?;
        let ok = bool::from(expected.ct_eq(icv));
        expected.zeroize();
        if ok {
            Ok(())
        } else {
            Err(CryptoError::IntegrityCheckFailed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace([' ', '\n'], "")).unwrap()
    }

    /// RFC 4231 section 4: HMAC-SHA-256/384/512 test cases 1-4, 6 and 7
    /// (test case 5 is a truncated output, covered by RFC 4868 below).
    #[test]
    fn test_rfc4231_hmac() {
        struct Case {
            key: Vec<u8>,
            data: Vec<u8>,
            sha256: &'static str,
            sha384: &'static str,
            sha512: &'static str,
        }
        let cases = [
            Case {
                key: vec![0x0b; 20],
                data: b"Hi There".to_vec(),
                sha256: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
                sha384: "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c\
                         faea9ea9076ede7f4af152e8b2fa9cb6",
                sha512: "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
                         daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
            },
            Case {
                key: b"Jefe".to_vec(),
                data: b"what do ya want for nothing?".to_vec(),
                sha256: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                sha384: "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
                         8e2240ca5e69e2c78b3239ecfab21649",
                sha512: "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
                         9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
            },
            Case {
                key: vec![0xaa; 20],
                data: vec![0xdd; 50],
                sha256: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
                sha384: "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b\
                         2a5ab39dc13814b94e3ab6e101a34f27",
                sha512: "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39\
                         bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
            },
            Case {
                key: (1..=25).collect(),
                data: vec![0xcd; 50],
                sha256: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
                sha384: "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e\
                         6801dd23c4a7d679ccf8a386c674cffb",
                sha512: "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db\
                         a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
            },
            Case {
                key: vec![0xaa; 131],
                data: b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                sha256: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
                sha384: "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6\
                         0c2ef6ab4030fe8296248df163f44952",
                sha512: "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352\
                         6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
            },
            Case {
                key: vec![0xaa; 131],
                data: b"This is a test using a larger than block-size key and a larger \
                        than block-size data. The key needs to be hashed before being \
                        used by the HMAC algorithm."
                    .to_vec(),
                sha256: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
                sha384: "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5\
                         a678cc31e799176d3860e6110c46523e",
                sha512: "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944\
                         b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
            },
        ];
        for (i, c) in cases.iter().enumerate() {
            for (prf, want) in [
                (Prf::HmacSha256, c.sha256),
                (Prf::HmacSha384, c.sha384),
                (Prf::HmacSha512, c.sha512),
            ] {
                let got = prf.compute(&c.key, &c.data).unwrap();
                assert_eq!(got.as_bytes(), h(want), "case {} {prf:?}", i + 1);
            }
        }
    }

    /// RFC 4868 section 2.7.1: the PRF test vectors, whose keys have the
    /// PRF's preferred length.
    #[test]
    fn test_rfc4868_prf() {
        let jefe = |n: usize| b"Jefe".repeat(n / 4);
        let cases: [(Prf, Vec<u8>, Vec<u8>, &str); 8] = [
            (
                Prf::HmacSha256,
                vec![0x0b; 32],
                b"Hi There".to_vec(),
                "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7",
            ),
            (
                Prf::HmacSha256,
                jefe(32),
                b"what do ya want for nothing?".to_vec(),
                "167f928588c5cc2eef8e3093caa0e87c9ff566a14794aa61648d81621a2a40c6",
            ),
            (
                Prf::HmacSha256,
                vec![0xaa; 32],
                vec![0xdd; 50],
                "cdcb1220d1ecccea91e53aba3092f962e549fe6ce9ed7fdc43191fbde45c30b0",
            ),
            (
                Prf::HmacSha256,
                (1..=32).collect(),
                vec![0xcd; 50],
                "372efcf9b40b35c2115b1346903d2ef42fced46f0846e7257bb156d3d7b30d3f",
            ),
            (
                Prf::HmacSha384,
                vec![0x0b; 48],
                b"Hi There".to_vec(),
                "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee9737a959796489bddbc\
                 4c5df61d5b3297b4fb68dab9f1b582c2",
            ),
            (
                Prf::HmacSha384,
                jefe(48),
                b"what do ya want for nothing?".to_vec(),
                "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184da86a368e9b8e16f5\
                 349524ca4e82400cbde0686d403371c9",
            ),
            (
                Prf::HmacSha512,
                vec![0x0b; 64],
                b"Hi There".to_vec(),
                "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8\
                 ac2878ebd5803f6f0b61dbce5e251ff8789a4722c1be65aea45fd464e89f8f5b",
            ),
            (
                Prf::HmacSha512,
                jefe(64),
                b"what do ya want for nothing?".to_vec(),
                "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454\
                 6aa334ae9fb9afc2184932d8695e397bfa0ffb93466cfcceaae38c833b7dba38",
            ),
        ];
        for (prf, key, data, want) in cases {
            assert_eq!(key.len(), prf.key_len());
            let got = prf.compute(&key, &data).unwrap();
            assert_eq!(got.as_bytes(), h(want), "{prf:?} {want}");
        }
    }

    /// RFC 4868 section 2.7.2: authenticator test vectors (the same HMACs
    /// truncated to half), and a mismatch.
    #[test]
    fn test_rfc4868_integrity() {
        let cases = [
            (
                Integ::HmacSha256_128,
                vec![0x0b; 32],
                "198a607eb44bfbc69903a0f1cf2bbdc5",
            ),
            (
                Integ::HmacSha384_192,
                vec![0x0b; 48],
                "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973",
            ),
            (
                Integ::HmacSha512_256,
                vec![0x0b; 64],
                "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8",
            ),
        ];
        for (integ, key, want) in cases {
            let mut icv = vec![0; integ.icv_len()];
            integ
                .compute_icv(&key, &[b"Hi ", b"There"], &mut icv)
                .unwrap();
            assert_eq!(icv, h(want), "{integ:?}");
            integ.verify_icv(&key, &[b"Hi There"], &icv).unwrap();
            icv[3] ^= 1;
            assert_eq!(
                integ.verify_icv(&key, &[b"Hi There"], &icv),
                Err(CryptoError::IntegrityCheckFailed)
            );
            assert_eq!(
                integ.verify_icv(&key, &[b"Hi There"], &icv[1..]),
                Err(CryptoError::IntegrityCheckFailed)
            );
            assert!(integ.verify_icv(&key[1..], &[b"Hi There"], &icv).is_err());
        }
    }

    /// prf+ against the definition written out by hand (an independent
    /// computation with the plain PRF), for lengths around block edges.
    #[test]
    fn test_prf_plus_against_definition() {
        let key = b"prf+ key";
        let seed = b"seed octets";
        for prf in [Prf::HmacSha256, Prf::HmacSha384, Prf::HmacSha512] {
            let n = prf.output_len();
            let t1 = prf.compute_parts(key, &[seed, &[1]]).unwrap();
            let t2 = prf
                .compute_parts(key, &[t1.as_bytes(), seed, &[2]])
                .unwrap();
            let t3 = prf
                .compute_parts(key, &[t2.as_bytes(), seed, &[3]])
                .unwrap();
            let mut expected = t1.as_bytes().to_vec();
            expected.extend_from_slice(t2.as_bytes());
            expected.extend_from_slice(t3.as_bytes());
            for len in [0, 1, n - 1, n, n + 1, 2 * n, 3 * n - 1, 3 * n] {
                let got = prf.prf_plus(key, seed, len).unwrap();
                assert_eq!(got.as_bytes(), &expected[..len], "{prf:?} {len}");
            }
            let split = prf
                .prf_plus_parts(key, &[b"seed ", b"octets"], 2 * n)
                .unwrap();
            assert_eq!(split.as_bytes(), &expected[..2 * n]);
        }
    }

    /// The 255-iteration limit: the last block uses counter 0xff, one more
    /// octet is an error, not a wrapped counter.
    #[test]
    fn test_prf_plus_limit() {
        let prf = Prf::HmacSha256;
        let max = prf.prf_plus_max_len();
        assert_eq!(max, 255 * 32);
        let all = prf.prf_plus(b"k", b"s", max).unwrap();
        let t254 = &all.as_bytes()[253 * 32..254 * 32];
        let t255 = prf.compute_parts(b"k", &[t254, b"s", &[0xff]]).unwrap();
        assert_eq!(&all.as_bytes()[254 * 32..], t255.as_bytes());
        assert_eq!(
            prf.prf_plus(b"k", b"s", max + 1).unwrap_err(),
            CryptoError::PrfPlusTooLong {
                requested: max + 1,
                max
            }
        );
    }
}
