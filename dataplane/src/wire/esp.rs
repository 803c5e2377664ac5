//! The ESP header (RFC 4303 section 2): SPI and sequence number.

use super::{Error, Result};

/// Header length.
pub const HEADER_LEN: usize = 8;

/// A view of an ESP packet.
#[derive(Clone, Copy, Debug)]
pub struct EspPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EspPacket<T> {
    /// Requires the 8-byte header and a non-zero SPI (RFC 4303 section 2.1:
    /// SPI 0 is reserved for local use and MUST NOT be sent on the wire).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if b[..4] == [0; 4] {
            return Err(Error::Malformed);
        }
        Ok(Self { buffer })
    }

    /// The SPI.
    pub fn spi(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The low 32 bits of the sequence number.
    pub fn sequence(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[4], b[5], b[6], b[7]])
    }

    /// Everything after the header (IV, ciphertext, ICV).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse() {
        let b = [1, 2, 3, 4, 0, 0, 0, 5, 9];
        let p = EspPacket::new_checked(&b[..]).unwrap();
        assert_eq!(
            (p.spi(), p.sequence(), p.payload()),
            (0x0102_0304, 5, &[9][..])
        );
        for n in 0..8 {
            assert_eq!(
                EspPacket::new_checked(&b[..n]).err(),
                Some(Error::Truncated)
            );
        }
        assert_eq!(
            EspPacket::new_checked(&[0u8; 8][..]).err(),
            Some(Error::Malformed)
        );
    }
}
