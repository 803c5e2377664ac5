//! Transform IDs (IANA "IKEv2 Parameters" registry) and the algorithm
//! descriptors this suite implements, with their key, salt, IV, ICV and
//! output lengths.
//!
//! The ID newtypes keep unknown values (a proposal may carry anything); the
//! descriptor enums are what was resolved from them and can be used.
//! The codec defines its own wire newtypes; the two meet through the
//! `u16` values (`EncrId(x.0)`).

use super::error::{CryptoError, TransformKind};

macro_rules! transform_id {
    ($(#[$meta:meta])* $name:ident { $($(#[$cmeta:meta])* $cname:ident = $value:expr,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u16);

        impl $name {
            $($(#[$cmeta])* pub const $cname: Self = Self($value);)*
        }
    };
}

transform_id! {
    /// Transform type 1 (ENCR) IDs.
    EncrId {
        /// ENCR_AES_CBC (RFC 3602), Key Length attribute 128/192/256.
        AES_CBC = 12,
        /// ENCR_AES_GCM_16 (RFC 4106, RFC 5282), 16-octet ICV.
        AES_GCM_16 = 20,
        /// ENCR_CHACHA20_POLY1305 (RFC 7634).
        CHACHA20_POLY1305 = 28,
    }
}

transform_id! {
    /// Transform type 2 (PRF) IDs.
    PrfId {
        /// PRF_HMAC_SHA2_256 (RFC 4868).
        HMAC_SHA2_256 = 5,
        /// PRF_HMAC_SHA2_384 (RFC 4868).
        HMAC_SHA2_384 = 6,
        /// PRF_HMAC_SHA2_512 (RFC 4868).
        HMAC_SHA2_512 = 7,
    }
}

transform_id! {
    /// Transform type 3 (INTEG) IDs.
    IntegId {
        /// NONE, used with AEAD ciphers.
        NONE = 0,
        /// AUTH_HMAC_SHA2_256_128 (RFC 4868).
        HMAC_SHA2_256_128 = 12,
        /// AUTH_HMAC_SHA2_384_192 (RFC 4868).
        HMAC_SHA2_384_192 = 13,
        /// AUTH_HMAC_SHA2_512_256 (RFC 4868).
        HMAC_SHA2_512_256 = 14,
    }
}

transform_id! {
    /// Transform type 4 (D-H group) IDs.
    DhGroupId {
        /// NONE (no PFS in CREATE_CHILD_SA).
        NONE = 0,
        /// 2048-bit MODP group (RFC 3526 section 3).
        MODP_2048 = 14,
        /// 256-bit random ECP group, NIST P-256 (RFC 5903).
        ECP_256 = 19,
        /// 384-bit random ECP group, NIST P-384 (RFC 5903).
        ECP_384 = 20,
        /// Curve25519 (RFC 8031).
        CURVE25519 = 31,
    }
}

/// An encryption algorithm of this suite, with its key size resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encr {
    /// AES-CBC with a 128-bit key (RFC 3602); needs an integrity algorithm.
    AesCbc128,
    /// AES-CBC with a 256-bit key (RFC 3602); needs an integrity algorithm.
    AesCbc256,
    /// AES-GCM with a 16-octet ICV and a 128-bit key (RFC 5282).
    AesGcm16_128,
    /// AES-GCM with a 16-octet ICV and a 256-bit key (RFC 5282).
    AesGcm16_256,
    /// ChaCha20-Poly1305 (RFC 7634).
    ChaCha20Poly1305,
}

impl Encr {
    /// Resolves a transform ID and its Key Length attribute (in bits).
    ///
    /// # Errors
    ///
    /// [`CryptoError::UnsupportedTransform`] for an unknown ID, a key length
    /// this suite does not implement, a missing Key Length attribute for
    /// AES, or a Key Length attribute for ChaCha20-Poly1305.
    pub fn from_transform(id: EncrId, key_bits: Option<u16>) -> Result<Self, CryptoError> {
        let unsupported = CryptoError::UnsupportedTransform {
            kind: TransformKind::Encryption,
            id: id.0,
            key_bits,
        };
        // AES takes a mandatory Key Length attribute (RFC 3602 section 5.3,
        // RFC 5282 section 7.3); ChaCha20-Poly1305 has a fixed 256-bit key
        // and is proposed without one (RFC 7634 section 3).
        match (id, key_bits) {
            (EncrId::AES_CBC, Some(128)) => Ok(Self::AesCbc128),
            (EncrId::AES_CBC, Some(256)) => Ok(Self::AesCbc256),
            (EncrId::AES_GCM_16, Some(128)) => Ok(Self::AesGcm16_128),
            (EncrId::AES_GCM_16, Some(256)) => Ok(Self::AesGcm16_256),
            (EncrId::CHACHA20_POLY1305, None) => Ok(Self::ChaCha20Poly1305),
            _ => Err(unsupported),
        }
    }

    /// The IANA transform ID.
    #[must_use]
    pub const fn id(self) -> EncrId {
        match self {
            Self::AesCbc128 | Self::AesCbc256 => EncrId::AES_CBC,
            Self::AesGcm16_128 | Self::AesGcm16_256 => EncrId::AES_GCM_16,
            Self::ChaCha20Poly1305 => EncrId::CHACHA20_POLY1305,
        }
    }

    /// The Key Length attribute to put in a proposal, in bits.
    #[must_use]
    pub const fn key_length_attribute(self) -> Option<u16> {
        match self {
            Self::AesCbc128 | Self::AesGcm16_128 => Some(128),
            Self::AesCbc256 | Self::AesGcm16_256 => Some(256),
            Self::ChaCha20Poly1305 => None,
        }
    }

    /// True for combined-mode (AEAD) ciphers, which take no integrity
    /// algorithm.
    #[must_use]
    pub const fn is_aead(self) -> bool {
        !matches!(self, Self::AesCbc128 | Self::AesCbc256)
    }

    /// Length of the cipher key proper, in octets.
    #[must_use]
    pub const fn key_len(self) -> usize {
        match self {
            Self::AesCbc128 | Self::AesGcm16_128 => 16,
            Self::AesCbc256 | Self::AesGcm16_256 | Self::ChaCha20Poly1305 => 32,
        }
    }

    /// Length of the salt that follows the key in the key material
    /// (RFC 5282 section 7.1, RFC 7634 section 2), 0 for CBC.
    #[must_use]
    pub const fn salt_len(self) -> usize {
        if self.is_aead() {
            4
        } else {
            0
        }
    }

    /// Octets of key material taken from prf+ for this cipher (SK_ei,
    /// SK_er, and each ESP encryption key): the key followed by the salt.
    #[must_use]
    pub const fn key_material_len(self) -> usize {
        self.key_len() + self.salt_len()
    }

    /// Length of the IV carried in each SK payload: 8 for the AEADs
    /// (RFC 5282 section 3.1, RFC 7634 section 2), the block size for CBC.
    #[must_use]
    pub const fn iv_len(self) -> usize {
        if self.is_aead() {
            8
        } else {
            16
        }
    }

    /// Length of the AEAD tag (16 for ENCR_AES_GCM_16 and
    /// ChaCha20-Poly1305); 0 for CBC, whose ICV length comes from the
    /// integrity algorithm.
    #[must_use]
    pub const fn tag_len(self) -> usize {
        if self.is_aead() {
            16
        } else {
            0
        }
    }

    /// The alignment the plaintext plus padding plus pad length must have:
    /// the AES block for CBC, none for the AEADs (counter modes).
    #[must_use]
    pub const fn block_len(self) -> usize {
        if self.is_aead() {
            1
        } else {
            16
        }
    }
}

/// A pseudorandom function of this suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Prf {
    /// PRF_HMAC_SHA2_256.
    HmacSha256,
    /// PRF_HMAC_SHA2_384.
    HmacSha384,
    /// PRF_HMAC_SHA2_512.
    HmacSha512,
}

impl Prf {
    /// Resolves a transform ID.
    ///
    /// # Errors
    ///
    /// [`CryptoError::UnsupportedTransform`] for an ID this suite does not
    /// implement.
    pub fn from_id(id: PrfId) -> Result<Self, CryptoError> {
        match id {
            PrfId::HMAC_SHA2_256 => Ok(Self::HmacSha256),
            PrfId::HMAC_SHA2_384 => Ok(Self::HmacSha384),
            PrfId::HMAC_SHA2_512 => Ok(Self::HmacSha512),
            _ => Err(CryptoError::UnsupportedTransform {
                kind: TransformKind::Prf,
                id: id.0,
                key_bits: None,
            }),
        }
    }

    /// The IANA transform ID.
    #[must_use]
    pub const fn id(self) -> PrfId {
        match self {
            Self::HmacSha256 => PrfId::HMAC_SHA2_256,
            Self::HmacSha384 => PrfId::HMAC_SHA2_384,
            Self::HmacSha512 => PrfId::HMAC_SHA2_512,
        }
    }

    /// Output length in octets (the hash length).
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            Self::HmacSha256 => 32,
            Self::HmacSha384 => 48,
            Self::HmacSha512 => 64,
        }
    }

    /// The preferred key length, which is the length of SK_d, SK_pi and
    /// SK_pr (RFC 7296 section 2.14). For the HMAC-SHA2 PRFs it is the
    /// output length (RFC 4868 section 2.1.2).
    #[must_use]
    pub const fn key_len(self) -> usize {
        self.output_len()
    }
}

/// An integrity algorithm of this suite (used with AES-CBC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Integ {
    /// AUTH_HMAC_SHA2_256_128: HMAC-SHA-256, 32-octet key, ICV truncated
    /// to 16 octets.
    HmacSha256_128,
    /// AUTH_HMAC_SHA2_384_192: HMAC-SHA-384, 48-octet key, ICV truncated
    /// to 24 octets.
    HmacSha384_192,
    /// AUTH_HMAC_SHA2_512_256: HMAC-SHA-512, 64-octet key, ICV truncated
    /// to 32 octets.
    HmacSha512_256,
}

impl Integ {
    /// Resolves a transform ID; `NONE` gives `Ok(None)`.
    ///
    /// # Errors
    ///
    /// [`CryptoError::UnsupportedTransform`] for an ID this suite does not
    /// implement.
    pub fn from_id(id: IntegId) -> Result<Option<Self>, CryptoError> {
        match id {
            IntegId::NONE => Ok(None),
            IntegId::HMAC_SHA2_256_128 => Ok(Some(Self::HmacSha256_128)),
            IntegId::HMAC_SHA2_384_192 => Ok(Some(Self::HmacSha384_192)),
            IntegId::HMAC_SHA2_512_256 => Ok(Some(Self::HmacSha512_256)),
            _ => Err(CryptoError::UnsupportedTransform {
                kind: TransformKind::Integrity,
                id: id.0,
                key_bits: None,
            }),
        }
    }

    /// The IANA transform ID.
    #[must_use]
    pub const fn id(self) -> IntegId {
        match self {
            Self::HmacSha256_128 => IntegId::HMAC_SHA2_256_128,
            Self::HmacSha384_192 => IntegId::HMAC_SHA2_384_192,
            Self::HmacSha512_256 => IntegId::HMAC_SHA2_512_256,
        }
    }

    /// Key length in octets (SK_ai, SK_ar, ESP integrity keys): the hash
    /// output length (RFC 4868 section 2.1.1).
    #[must_use]
    pub const fn key_len(self) -> usize {
        match self {
            Self::HmacSha256_128 => 32,
            Self::HmacSha384_192 => 48,
            Self::HmacSha512_256 => 64,
        }
    }

    /// Length of the truncated ICV in octets: half the hash output, the
    /// leftmost bits of the HMAC (RFC 4868 section 2.3).
    #[must_use]
    pub const fn icv_len(self) -> usize {
        self.key_len() / 2
    }

    /// The PRF with the same hash, used to compute the full HMAC.
    pub(crate) const fn prf(self) -> Prf {
        match self {
            Self::HmacSha256_128 => Prf::HmacSha256,
            Self::HmacSha384_192 => Prf::HmacSha384,
            Self::HmacSha512_256 => Prf::HmacSha512,
        }
    }
}

/// A Diffie-Hellman group of this suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DhGroup {
    /// Group 14, 2048-bit MODP (RFC 3526 section 3).
    Modp2048,
    /// Group 19, NIST P-256 (RFC 5903).
    Ecp256,
    /// Group 20, NIST P-384 (RFC 5903).
    Ecp384,
    /// Group 31, Curve25519 (RFC 8031).
    Curve25519,
}

impl DhGroup {
    /// Resolves a transform ID.
    ///
    /// # Errors
    ///
    /// [`CryptoError::UnsupportedTransform`] for an ID this suite does not
    /// implement (including `NONE`, which the caller handles as "no PFS").
    pub fn from_id(id: DhGroupId) -> Result<Self, CryptoError> {
        match id {
            DhGroupId::MODP_2048 => Ok(Self::Modp2048),
            DhGroupId::ECP_256 => Ok(Self::Ecp256),
            DhGroupId::ECP_384 => Ok(Self::Ecp384),
            DhGroupId::CURVE25519 => Ok(Self::Curve25519),
            _ => Err(CryptoError::UnsupportedTransform {
                kind: TransformKind::DhGroup,
                id: id.0,
                key_bits: None,
            }),
        }
    }

    /// The IANA transform ID.
    #[must_use]
    pub const fn id(self) -> DhGroupId {
        match self {
            Self::Modp2048 => DhGroupId::MODP_2048,
            Self::Ecp256 => DhGroupId::ECP_256,
            Self::Ecp384 => DhGroupId::ECP_384,
            Self::Curve25519 => DhGroupId::CURVE25519,
        }
    }

    /// Length of the Key Exchange Data in a KE payload: the modulus length
    /// for MODP, x || y for ECP (RFC 5903 section 7), 32 for Curve25519
    /// (RFC 8031 section 2).
    #[must_use]
    pub const fn public_value_len(self) -> usize {
        match self {
            Self::Modp2048 => 256,
            Self::Ecp256 => 64,
            Self::Ecp384 => 96,
            Self::Curve25519 => 32,
        }
    }

    /// Length of the shared secret g^ir: the modulus length for MODP, the
    /// x coordinate for ECP (RFC 5903 section 7), 32 for Curve25519.
    #[must_use]
    pub const fn shared_secret_len(self) -> usize {
        match self {
            Self::Modp2048 => 256,
            Self::Ecp256 | Self::Curve25519 => 32,
            Self::Ecp384 => 48,
        }
    }
}

/// The transforms of an IKE SA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IkeSuite {
    encr: Encr,
    prf: Prf,
    integ: Option<Integ>,
    dh: DhGroup,
}

impl IkeSuite {
    /// Checks the combination: an AEAD cipher takes no integrity
    /// algorithm, any other cipher needs one.
    ///
    /// # Errors
    ///
    /// [`CryptoError::InvalidTransformCombination`].
    pub fn new(
        encr: Encr,
        prf: Prf,
        integ: Option<Integ>,
        dh: DhGroup,
    ) -> Result<Self, CryptoError> {
        check_combination(encr, integ)?;
        Ok(Self {
            encr,
            prf,
            integ,
            dh,
        })
    }

    /// Resolves a suite from the transform IDs of an accepted proposal.
    ///
    /// # Errors
    ///
    /// [`CryptoError::UnsupportedTransform`] or
    /// [`CryptoError::InvalidTransformCombination`].
    pub fn from_ids(
        encr: EncrId,
        encr_key_bits: Option<u16>,
        prf: PrfId,
        integ: IntegId,
        dh: DhGroupId,
    ) -> Result<Self, CryptoError> {
        Self::new(
            Encr::from_transform(encr, encr_key_bits)?,
            Prf::from_id(prf)?,
            Integ::from_id(integ)?,
            DhGroup::from_id(dh)?,
        )
    }

    /// The encryption algorithm.
    #[must_use]
    pub const fn encr(&self) -> Encr {
        self.encr
    }

    /// The PRF.
    #[must_use]
    pub const fn prf(&self) -> Prf {
        self.prf
    }

    /// The integrity algorithm, `None` with an AEAD.
    #[must_use]
    pub const fn integ(&self) -> Option<Integ> {
        self.integ
    }

    /// The Diffie-Hellman group.
    #[must_use]
    pub const fn dh(&self) -> DhGroup {
        self.dh
    }

    /// Length of SK_ai and SK_ar (0 with an AEAD).
    #[must_use]
    pub const fn integ_key_len(&self) -> usize {
        match self.integ {
            Some(i) => i.key_len(),
            None => 0,
        }
    }
}

/// The transforms of an ESP Child SA that matter for its keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EspSuite {
    encr: Encr,
    integ: Option<Integ>,
}

impl EspSuite {
    /// Checks the combination as [`IkeSuite::new`] does.
    ///
    /// # Errors
    ///
    /// [`CryptoError::InvalidTransformCombination`].
    pub fn new(encr: Encr, integ: Option<Integ>) -> Result<Self, CryptoError> {
        check_combination(encr, integ)?;
        Ok(Self { encr, integ })
    }

    /// The encryption algorithm.
    #[must_use]
    pub const fn encr(&self) -> Encr {
        self.encr
    }

    /// The integrity algorithm, `None` with an AEAD.
    #[must_use]
    pub const fn integ(&self) -> Option<Integ> {
        self.integ
    }

    /// Octets of KEYMAT one direction takes: encryption key material
    /// (key and salt) then the integrity key.
    #[must_use]
    pub const fn keymat_len_per_direction(&self) -> usize {
        self.encr.key_material_len()
            + match self.integ {
                Some(i) => i.key_len(),
                None => 0,
            }
    }
}

fn check_combination(encr: Encr, integ: Option<Integ>) -> Result<(), CryptoError> {
    //= https://www.rfc-editor.org/rfc/rfc5282#section-8
    //# This document updates [RFC4306] to require that when an
    //# authenticated encryption algorithm is selected as the encryption
    //# algorithm for any SA (IKE or ESP), an integrity algorithm MUST NOT
    //# be selected for that SA.
    //= https://www.rfc-editor.org/rfc/rfc7296#section-3.3
    //# Combined-mode ciphers include both integrity and encryption in a
    //# single encryption algorithm, and MUST either offer no integrity
    //# algorithm or a single integrity algorithm of "NONE"
    if encr.is_aead() == integ.is_some() {
        return Err(CryptoError::InvalidTransformCombination);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_encr_lengths() {
        // GCM: key + 4-octet salt (RFC 5282 section 7.1), 8-octet IV.
        let g = Encr::from_transform(EncrId::AES_GCM_16, Some(128)).unwrap();
        assert_eq!(g, Encr::AesGcm16_128);
        assert_eq!((g.key_len(), g.key_material_len(), g.iv_len()), (16, 20, 8));
        assert_eq!(g.tag_len(), 16);
        let g = Encr::from_transform(EncrId::AES_GCM_16, Some(256)).unwrap();
        assert_eq!((g.key_len(), g.key_material_len()), (32, 36));
        // ChaCha20-Poly1305: 32 + 4 salt, no Key Length attribute.
        let c = Encr::from_transform(EncrId::CHACHA20_POLY1305, None).unwrap();
        assert_eq!((c.key_material_len(), c.iv_len(), c.tag_len()), (36, 8, 16));
        assert!(Encr::from_transform(EncrId::CHACHA20_POLY1305, Some(256)).is_err());
        // CBC: no salt, 16-octet IV and block.
        let b = Encr::from_transform(EncrId::AES_CBC, Some(256)).unwrap();
        assert_eq!(
            (b.key_material_len(), b.iv_len(), b.block_len()),
            (32, 16, 16)
        );
        assert!(!b.is_aead());
        assert!(Encr::from_transform(EncrId::AES_CBC, None).is_err());
        assert!(Encr::from_transform(EncrId::AES_CBC, Some(192)).is_err());
        assert!(Encr::from_transform(EncrId(3), None).is_err());
        for e in [
            Encr::AesCbc128,
            Encr::AesCbc256,
            Encr::AesGcm16_128,
            Encr::AesGcm16_256,
            Encr::ChaCha20Poly1305,
        ] {
            assert_eq!(
                Encr::from_transform(e.id(), e.key_length_attribute()).unwrap(),
                e
            );
        }
    }

    #[test]
    fn test_integ_lengths() {
        let cases = [
            (IntegId::HMAC_SHA2_256_128, 32, 16),
            (IntegId::HMAC_SHA2_384_192, 48, 24),
            (IntegId::HMAC_SHA2_512_256, 64, 32),
        ];
        for (id, key, icv) in cases {
            let i = Integ::from_id(id).unwrap().unwrap();
            assert_eq!((i.key_len(), i.icv_len(), i.id()), (key, icv, id));
        }
        assert_eq!(Integ::from_id(IntegId::NONE).unwrap(), None);
        assert!(Integ::from_id(IntegId(2)).is_err());
    }

    #[test]
    fn test_prf_and_groups() {
        assert_eq!(Prf::from_id(PrfId(5)).unwrap().output_len(), 32);
        assert_eq!(Prf::from_id(PrfId(6)).unwrap().output_len(), 48);
        assert_eq!(Prf::from_id(PrfId(7)).unwrap().key_len(), 64);
        assert!(Prf::from_id(PrfId(2)).is_err());
        let lens = [(14, 256, 256), (19, 64, 32), (20, 96, 48), (31, 32, 32)];
        for (id, public, shared) in lens {
            let g = DhGroup::from_id(DhGroupId(id)).unwrap();
            assert_eq!(g.id().0, id);
            assert_eq!(
                (g.public_value_len(), g.shared_secret_len()),
                (public, shared)
            );
        }
        assert!(DhGroup::from_id(DhGroupId::NONE).is_err());
        assert!(DhGroup::from_id(DhGroupId(2)).is_err());
    }

    #[test]
    fn test_combinations() {
        let aead = Encr::AesGcm16_256;
        let cbc = Encr::AesCbc128;
        let i = Some(Integ::HmacSha256_128);
        let p = Prf::HmacSha256;
        let g = DhGroup::Curve25519;
        assert!(IkeSuite::new(aead, p, None, g).is_ok());
        assert!(IkeSuite::new(aead, p, i, g).is_err());
        assert!(IkeSuite::new(cbc, p, i, g).is_ok());
        assert!(IkeSuite::new(cbc, p, None, g).is_err());
        assert_eq!(
            EspSuite::new(aead, None)
                .unwrap()
                .keymat_len_per_direction(),
            36
        );
        assert_eq!(
            EspSuite::new(cbc, i).unwrap().keymat_len_per_direction(),
            48
        );
        let s = IkeSuite::from_ids(EncrId(20), Some(128), PrfId(5), IntegId(0), DhGroupId(19));
        assert_eq!(s.unwrap().encr(), Encr::AesGcm16_128);
    }
}
