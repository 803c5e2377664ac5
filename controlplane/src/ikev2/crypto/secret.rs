//! Secret octet strings: zeroized on drop, never printed.

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Secret octets (keys, SKEYSEED, g^ir, decrypted payloads). The buffer is
/// allocated once at its final size and overwritten with zeros when dropped;
/// `Debug` shows only the length.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Box<[u8]>);

impl SecretBytes {
    /// Takes ownership of `bytes`. The vector's spare capacity, if any, is
    /// zeroized too.
    #[must_use]
    pub fn new(mut bytes: Vec<u8>) -> Self {
        if bytes.len() == bytes.capacity() {
            return Self(bytes.into_boxed_slice());
        }
        // `into_boxed_slice` would reallocate and leave the old buffer
        // behind: copy, then wipe the original.
        let boxed: Box<[u8]> = bytes.as_slice().into();
        bytes.zeroize();
        Self(boxed)
    }

    /// Copies `bytes` into a new secret.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.into())
    }

    /// A secret of `len` zero octets, to be filled in place.
    #[must_use]
    pub fn zeroed(len: usize) -> Self {
        Self(vec![0; len].into_boxed_slice())
    }

    /// The secret octets.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret octets, mutably.
    pub fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Number of octets.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if there are no octets.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time comparison with `other` (the lengths are not secret).
    #[must_use]
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        self.0.len() == other.len() && bool::from(self.0.ct_eq(other))
    }
}

impl AsRef<[u8]> for SecretBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for SecretBytes {}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} octets)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_debug_is_redacted() {
        let s = SecretBytes::from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        let shown = format!("{s:?}");
        assert_eq!(shown, "SecretBytes(4 octets)");
        assert!(!shown.contains("de"));
    }

    #[test]
    fn test_ct_eq() {
        let s = SecretBytes::new(vec![1, 2, 3]);
        assert!(s.ct_eq(&[1, 2, 3]));
        assert!(!s.ct_eq(&[1, 2, 4]));
        assert!(!s.ct_eq(&[1, 2]));
    }

    #[test]
    fn test_new_with_spare_capacity() {
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(&[7; 10]);
        let s = SecretBytes::new(v);
        assert_eq!(s.as_bytes(), &[7; 10]);
    }
}
