//! AES-GCM from Intel's IPsec Multi-Buffer library (`libIPSec_MB`, the
//! library DPDK's `ipsec-secgw` and its `aesni_gcm` crypto device use).
//!
//! At ESP's small packet sizes its AVX-512/VAES code is 2.5x faster than
//! `ring` on this project's machines (72 bytes: about 123 cycles against
//! about 300), which is what lets one worker encrypt 64-byte packets at
//! line rate; see `docs/PERFORMANCE.md`.
//!
//! The library's direct API is used: one manager per process, initialised
//! once for the best architecture the CPU has, whose function pointers are
//! only read afterwards; per call, a context on the C stack. So a [`GcmKey`]
//! can be used from any number of threads at once.
//!
//! Only AES-GCM with a 16-byte tag and a 12-byte nonce (RFC 4106: salt ||
//! explicit IV) is bound: it is all ESP needs from here. ChaCha20-Poly1305
//! stays with `ring`, which is faster for it than this library's direct API.
#![allow(unsafe_code)]

use std::fmt;
use std::os::raw::{c_char, c_int};
use std::sync::OnceLock;

use zeroize::Zeroize;

/// Tag length (bytes).
pub const TAG_LEN: usize = 16;
/// Nonce length (bytes): RFC 4106's salt || explicit IV.
pub const NONCE_LEN: usize = 12;
/// Bytes reserved per key: at least the library's `struct gcm_key_data`
/// (1008 bytes in 1.3; the shim checks at compile time).
const KEY_DATA_SIZE: usize = 1024;

#[repr(C, align(64))]
struct KeyData([u8; KEY_DATA_SIZE]);

mod sys {
    use super::KeyData;
    use std::os::raw::{c_char, c_int};

    extern "C" {
        pub(crate) fn fv_imb_init() -> c_int;
        pub(crate) fn fv_imb_version() -> *const c_char;
        pub(crate) fn fv_imb_gcm_pre(key_len: u32, key: *const u8, out: *mut KeyData);
        pub(crate) fn fv_imb_gcm(
            decrypt: c_int,
            key_len: u32,
            k: *const KeyData,
            data: *mut u8,
            len: u64,
            iv: *const u8,
            aad: *const u8,
            aad_len: u64,
            tag: *mut u8,
        );
    }
}

/// The code path the library chose for this CPU (`IMB_ARCH`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arch {
    /// No AES-NI: the library's software AES (slow; `ring` is better then).
    NoAesni,
    /// SSE4.2 + AES-NI + PCLMULQDQ.
    Sse,
    /// AVX.
    Avx,
    /// AVX2.
    Avx2,
    /// AVX-512 (with VAES and VPCLMULQDQ where the CPU has them).
    Avx512,
}

impl Arch {
    fn from_raw(v: c_int) -> Option<Self> {
        Some(match v {
            1 => Self::NoAesni,
            2 => Self::Sse,
            3 => Self::Avx,
            4 => Self::Avx2,
            5 => Self::Avx512,
            _ => return None,
        })
    }

    /// Whether the AES rounds run on AES-NI (fast), not in software.
    pub fn has_aesni(self) -> bool {
        self != Self::NoAesni
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoAesni => "no-aesni",
            Self::Sse => "sse",
            Self::Avx => "avx",
            Self::Avx2 => "avx2",
            Self::Avx512 => "avx512",
        })
    }
}

/// Why a key could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The library could not be initialised on this machine (the `IMB_ERR`
    /// number, or -1 when it could not even allocate its manager).
    Unavailable(i32),
    /// Keys are 16 (AES-128) or 32 (AES-256) bytes.
    KeyLength(usize),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(e) => write!(
                f,
                "the IPsec Multi-Buffer library cannot run here (error {e})"
            ),
            Self::KeyLength(n) => write!(f, "AES-GCM key must be 16 or 32 bytes, got {n}"),
        }
    }
}

impl std::error::Error for Error {}

/// The tag did not verify (the data has been decrypted in place anyway and
/// must be discarded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagMismatch;

impl fmt::Display for TagMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AES-GCM tag mismatch")
    }
}

impl std::error::Error for TagMismatch {}

static INIT: OnceLock<Result<Arch, i32>> = OnceLock::new();

/// Initialises the library once per process; the architecture it uses, or
/// why it cannot run.
pub fn arch() -> Result<Arch, Error> {
    let r = *INIT.get_or_init(|| {
        // SAFETY: called once (OnceLock), before any other shim function can
        // run: every other entry point needs a GcmKey, which is only made
        // after this returned Ok. It only allocates and initialises the
        // shim's manager.
        let v = unsafe { sys::fv_imb_init() };
        Arch::from_raw(v).ok_or(v)
    });
    r.map_err(Error::Unavailable)
}

/// The library's version string (for example "1.3.0").
pub fn version() -> String {
    // SAFETY: imb_get_version_str returns a pointer to a static
    // NUL-terminated string; it needs no initialisation.
    let p: *const c_char = unsafe { sys::fv_imb_version() };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-null, NUL-terminated and static (see above).
    unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned()
}

/// An expanded AES-GCM key (round keys and GHASH powers), 64-byte aligned
/// as the library's vector code needs. Zeroed when dropped.
pub struct GcmKey {
    data: KeyData,
    key_len: u32,
}

impl fmt::Debug for GcmKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcmKey")
            .field("bits", &(self.key_len * 8))
            .finish_non_exhaustive()
    }
}

impl Drop for GcmKey {
    fn drop(&mut self) {
        self.data.0.zeroize();
    }
}

impl GcmKey {
    /// Expands `key` (16 or 32 bytes).
    pub fn new(key: &[u8]) -> Result<Self, Error> {
        if key.len() != 16 && key.len() != 32 {
            return Err(Error::KeyLength(key.len()));
        }
        arch()?;
        let mut k = Self {
            data: KeyData([0; KEY_DATA_SIZE]),
            key_len: key.len() as u32,
        };
        // SAFETY: the manager is initialised (arch() returned Ok); `key` has
        // key_len readable bytes; `data` is KEY_DATA_SIZE >= sizeof(struct
        // gcm_key_data) writable bytes aligned to 64, as the shim checks at
        // compile time.
        unsafe { sys::fv_imb_gcm_pre(k.key_len, key.as_ptr(), &mut k.data) };
        Ok(k)
    }

    /// Key length in bytes (16 or 32).
    pub fn key_len(&self) -> usize {
        self.key_len as usize
    }

    /// Encrypts `data` in place and returns the tag.
    #[inline]
    pub fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
    ) -> [u8; TAG_LEN] {
        self.crypt(false, nonce, aad, data)
    }

    /// Decrypts `data` in place and checks `tag` (in constant time).
    #[inline]
    pub fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), TagMismatch> {
        let computed = self.crypt(true, nonce, aad, data);
        if tags_equal(&computed, tag) {
            Ok(())
        } else {
            Err(TagMismatch)
        }
    }

    /// Encrypts or decrypts `data` in place; the tag over the ciphertext.
    #[inline]
    fn crypt(
        &self,
        decrypt: bool,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
    ) -> [u8; TAG_LEN] {
        let mut tag = [0u8; TAG_LEN];
        // SAFETY: the key was expanded by fv_imb_gcm_pre with the manager
        // initialised (GcmKey::new); `data` is len readable and writable
        // bytes (in place is allowed by the direct API); `nonce` is 12
        // readable bytes, `aad` aad_len, `tag` 16 writable bytes. The call
        // keeps no pointer.
        unsafe {
            sys::fv_imb_gcm(
                c_int::from(decrypt),
                self.key_len,
                &self.data,
                data.as_mut_ptr(),
                data.len() as u64,
                nonce.as_ptr(),
                aad.as_ptr(),
                aad.len() as u64,
                tag.as_mut_ptr(),
            )
        };
        tag
    }
}

/// Compares two tags without a data-dependent branch or early exit.
#[inline]
fn tags_equal(a: &[u8; TAG_LEN], b: &[u8; TAG_LEN]) -> bool {
    let x = u128::from_ne_bytes(*a) ^ u128::from_ne_bytes(*b);
    // black_box keeps the compiler from turning the fold into an early exit.
    std::hint::black_box(x) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ring::aead as r;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    fn check(key: &str, nonce: &str, aad: &str, pt: &str, ct: &str, tag: &str) {
        let k = GcmKey::new(&h(key)).unwrap();
        let nonce: [u8; 12] = h(nonce).try_into().unwrap();
        let mut data = h(pt);
        let t = k.seal_in_place(&nonce, &h(aad), &mut data);
        assert_eq!(hex::encode(&data), hex::encode(h(ct)), "ciphertext");
        assert_eq!(hex::encode(t), hex::encode(h(tag)), "tag");
        k.open_in_place(&nonce, &h(aad), &mut data, &t).unwrap();
        assert_eq!(data, h(pt));
        for i in 0..TAG_LEN {
            let mut bad = t;
            bad[i] ^= 0x80;
            let mut d = h(ct);
            assert_eq!(
                k.open_in_place(&nonce, &h(aad), &mut d, &bad),
                Err(TagMismatch)
            );
        }
    }

    #[test]
    fn test_arch_and_version() {
        let a = arch().expect("libIPSec_MB initialises on the test machines");
        assert!(a.has_aesni(), "arch {a}");
        assert!(version().starts_with('1'), "{}", version());
    }

    /// McGrew and Viega, "The Galois/Counter Mode of Operation": test
    /// cases 2, 3 and 4 (AES-128) and 16 (AES-256, with AAD).
    #[test]
    fn test_gcm_spec_vectors() {
        check(
            "00000000000000000000000000000000",
            "000000000000000000000000",
            "",
            "00000000000000000000000000000000",
            "0388dace60b6a392f328c2b971b2fe78",
            "ab6e47d42cec13bdf53a67b21257bddf",
        );
        let pt = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
                  1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
        check(
            "feffe9928665731c6d6a8f9467308308",
            "cafebabefacedbaddecaf888",
            "",
            pt,
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e
             21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
            "4d5c2af327cd64a62cf35abd2ba6fab4",
        );
        check(
            "feffe9928665731c6d6a8f9467308308",
            "cafebabefacedbaddecaf888",
            "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            &pt[..pt.len() - 8],
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e
             21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
            "5bc94fbc3221a5db94fae95ae7121a47",
        );
        check(
            "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            "cafebabefacedbaddecaf888",
            "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            &pt[..pt.len() - 8],
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
             8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            "76fc6ece0f4e1768cddf8853bb2d551b",
        );
    }

    #[test]
    fn test_key_length_and_debug() {
        assert_eq!(GcmKey::new(&[0; 24]).unwrap_err(), Error::KeyLength(24));
        assert_eq!(GcmKey::new(&[]).unwrap_err(), Error::KeyLength(0));
        let k = GcmKey::new(&[7; 32]).unwrap();
        assert_eq!(k.key_len(), 32);
        assert_eq!(format!("{k:?}"), "GcmKey { bits: 256, .. }");
    }

    #[test]
    fn test_empty_plaintext_is_gmac() {
        // Test case 1 of the GCM specification: empty input, zero key.
        let k = GcmKey::new(&[0; 16]).unwrap();
        let t = k.seal_in_place(&[0; 12], &[], &mut []);
        assert_eq!(hex::encode(t), "58e2fccefa7e3061367f1d57a4e7455a");
        assert!(k.open_in_place(&[0; 12], &[], &mut [], &t).is_ok());
    }

    #[test]
    fn test_one_key_many_threads() {
        let k = std::sync::Arc::new(GcmKey::new(&[3; 16]).unwrap());
        let handles: Vec<_> = (0..4u8)
            .map(|i| {
                let k = k.clone();
                std::thread::spawn(move || {
                    for n in 0..2000u32 {
                        let mut nonce = [i; 12];
                        nonce[..4].copy_from_slice(&n.to_be_bytes());
                        let pt: Vec<u8> = (0..(n % 300) as usize).map(|x| x as u8 ^ i).collect();
                        let mut d = pt.clone();
                        let t = k.seal_in_place(&nonce, &[i; 8], &mut d);
                        k.open_in_place(&nonce, &[i; 8], &mut d, &t).unwrap();
                        assert_eq!(d, pt);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }

    fn ring_seal(key: &[u8], nonce: [u8; 12], aad: &[u8], data: &mut [u8]) -> [u8; 16] {
        let alg = if key.len() == 16 {
            &r::AES_128_GCM
        } else {
            &r::AES_256_GCM
        };
        let k = r::LessSafeKey::new(r::UnboundKey::new(alg, key).unwrap());
        let t = k
            .seal_in_place_separate_tag(
                r::Nonce::assume_unique_for_key(nonce),
                r::Aad::from(aad),
                data,
            )
            .unwrap();
        t.as_ref().try_into().unwrap()
    }

    proptest! {
        // Every length from 0 to 2100 bytes, AADs of ESP's 8 and 12 bytes
        // and others, both key sizes, at unaligned offsets: the library
        // agrees with ring byte for byte, and opens what ring sealed.
        #[test]
        fn agrees_with_ring(big in any::<bool>(), key in any::<[u8; 32]>(), nonce in any::<[u8; 12]>(),
                            aad in prop::collection::vec(any::<u8>(), 0..20),
                            pt in prop::collection::vec(any::<u8>(), 0..2100),
                            offset in 0usize..64) {
            let key = if big { &key[..] } else { &key[..16] };
            let k = GcmKey::new(key).unwrap();
            let mut buf = vec![0u8; offset + pt.len()];
            buf[offset..].copy_from_slice(&pt);
            let t = k.seal_in_place(&nonce, &aad, &mut buf[offset..]);
            let mut expect = pt.clone();
            let te = ring_seal(key, nonce, &aad, &mut expect);
            prop_assert_eq!(&buf[offset..], &expect[..]);
            prop_assert_eq!(t, te);
            prop_assert!(k.open_in_place(&nonce, &aad, &mut buf[offset..], &te).is_ok());
            prop_assert_eq!(&buf[offset..], &pt[..]);
            if !pt.is_empty() {
                let mut tampered = expect.clone();
                tampered[pt.len() / 2] ^= 1;
                prop_assert_eq!(k.open_in_place(&nonce, &aad, &mut tampered, &te), Err(TagMismatch));
            }
        }
    }
}
