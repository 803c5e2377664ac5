//! A bounds-checked reader over bytes, and the writer helpers of emission.
//!
//! Every read states what it reads so that an error names the field. A
//! length-prefixed part is read with [`Reader::sub`], which returns a reader
//! over exactly that many bytes; the part's parser then ends with
//! [`Reader::expect_end`], so trailing bytes are an error, never ignored.

use super::error::{EmitError, Error, Result};

/// A cursor over a byte slice that never reads past its end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over all of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when everything was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// How many bytes were read so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(Error::Truncated {
                what,
                needed: n,
                available: self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A reader over the next `n` bytes (a length-prefixed part); this
    /// reader moves past them.
    pub(crate) fn sub(&mut self, n: usize, what: &'static str) -> Result<Self> {
        self.take(n, what).map(Self::new)
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// One octet.
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A big-endian 16-bit integer.
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16> {
        self.array(what).map(u16::from_be_bytes)
    }

    /// A big-endian 32-bit integer.
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32> {
        self.array(what).map(u32::from_be_bytes)
    }

    /// Fails if bytes remain.
    pub(crate) fn expect_end(&self, what: &'static str) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes {
                what,
                count: self.remaining(),
            })
        }
    }
}

/// Appends a 16-bit length placeholder and returns its offset, for
/// [`patch_u16_len`].
pub(crate) fn reserve_u16(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    at
}

/// Writes at `at` the length of everything from `start` to the end of
/// `out`, failing if it does not fit in 16 bits.
pub(crate) fn patch_u16_len(
    out: &mut [u8],
    at: usize,
    start: usize,
    what: &'static str,
) -> core::result::Result<(), EmitError> {
    let length = out.len() - start;
    let v = u16::try_from(length).map_err(|_| EmitError::TooLong { what, length })?;
    out[at..at + 2].copy_from_slice(&v.to_be_bytes());
    Ok(())
}

/// A count as one octet, failing above 255.
pub(crate) fn count_u8(count: usize, what: &'static str) -> core::result::Result<u8, EmitError> {
    u8::try_from(count).map_err(|_| EmitError::TooMany { what, count })
}

/// A length as 16 bits, failing above 65535.
pub(crate) fn len_u16(length: usize, what: &'static str) -> core::result::Result<u16, EmitError> {
    u16::try_from(length).map_err(|_| EmitError::TooLong { what, length })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_reader() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
        let mut r = Reader::new(&b);
        assert_eq!(r.u8("a"), Ok(1));
        assert_eq!(r.u16("b"), Ok(0x0203));
        assert_eq!(r.u32("c"), Ok(0x0405_0607));
        let mut s = r.sub(2, "sub").unwrap();
        assert_eq!(r.position(), 9);
        assert_eq!(s.u8("x"), Ok(8));
        assert_eq!(
            s.expect_end("sub"),
            Err(Error::TrailingBytes {
                what: "sub",
                count: 1
            })
        );
        assert_eq!(
            s.u16("y").unwrap_err(),
            Error::Truncated {
                what: "y",
                needed: 2,
                available: 1
            }
        );
        assert!(r.array::<8>("d").is_err());
        assert_eq!(r.remaining(), 6, "a failed read consumes nothing");
        assert_eq!(r.rest(), &[10, 11, 12, 13, 14, 15]);
        assert!(r.is_empty());
        assert_eq!(r.expect_end("all"), Ok(()));
        assert!(r.sub(1, "more").is_err());
    }

    #[test]
    fn test_patch() {
        let mut v = vec![9];
        let at = reserve_u16(&mut v);
        v.extend_from_slice(&[0; 5]);
        patch_u16_len(&mut v, at, 0, "x").unwrap();
        assert_eq!(&v[..3], &[9, 0, 8]);
        let mut big = vec![0u8; 70_000];
        assert_eq!(
            patch_u16_len(&mut big, 0, 0, "big"),
            Err(EmitError::TooLong {
                what: "big",
                length: 70_000
            })
        );
        assert!(count_u8(256, "n").is_err());
        assert_eq!(count_u8(255, "n"), Ok(255));
        assert!(len_u16(65_536, "n").is_err());
    }
}
