//! UDP encapsulation of ESP (RFC 3948): telling IKE, ESP and NAT keepalives
//! apart on port 4500.

use super::{Error, Result};

/// IKE's port.
pub const IKE_PORT: u16 = 500;
/// The NAT traversal port (IKE with a non-ESP marker, and ESP).
pub const NAT_T_PORT: u16 = 4500;
/// Length of the non-ESP marker in front of IKE messages on port 4500.
pub const NON_ESP_MARKER_LEN: usize = 4;

/// What a UDP/4500 payload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UdpEncap {
    /// A NAT keepalive: a single 0xFF byte (RFC 3948 section 2.3).
    NatKeepalive,
    /// IKE behind the non-ESP marker (RFC 3948 section 2.2).
    Ike,
    /// ESP: the first four bytes are a non-zero SPI (RFC 3948 section 2.1).
    Esp,
}

/// Classifies a UDP/4500 payload.
pub fn classify(payload: &[u8]) -> Result<UdpEncap> {
    match payload {
        [0xff] => Ok(UdpEncap::NatKeepalive),
        [0, 0, 0, 0, rest @ ..] => {
            // An IKE header is 28 bytes.
            if rest.len() < 28 {
                Err(Error::Truncated)
            } else {
                Ok(UdpEncap::Ike)
            }
        }
        p if p.len() >= 8 => Ok(UdpEncap::Esp),
        _ => Err(Error::Truncated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_classify() {
        assert_eq!(classify(&[0xff]), Ok(UdpEncap::NatKeepalive));
        assert_eq!(classify(&[0u8; 32]), Ok(UdpEncap::Ike));
        assert_eq!(classify(&[0u8; 31]), Err(Error::Truncated));
        assert_eq!(classify(&[1, 2, 3, 4, 0, 0, 0, 1]), Ok(UdpEncap::Esp));
        assert_eq!(classify(&[1, 2, 3, 4, 0, 0, 0]), Err(Error::Truncated));
        assert_eq!(classify(&[]), Err(Error::Truncated));
        assert_eq!(classify(&[0xfe]), Err(Error::Truncated));
    }
}
