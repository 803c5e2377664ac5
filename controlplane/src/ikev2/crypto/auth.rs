//! The octets the AUTH payload covers, and AUTH with a shared key (RFC 7296
//! section 2.15).

use super::error::CryptoError;
use super::secret::SecretBytes;
use super::transforms::Prf;

//= https://www.rfc-editor.org/rfc/rfc7296#section-2.15
//# The pad string is added so that if the shared secret is derived
//# from a password, the IKE implementation need not store the password
//# in cleartext, but rather can store the value prf(Shared Secret,"Key
//# Pad for IKEv2"), which could not be used as a password equivalent
//# for protocols other than IKEv2.
/// The key pad of section 2.15, 17 ASCII octets without a terminator.
pub const KEY_PAD: &[u8; 17] = b"Key Pad for IKEv2";

/// The octets an AUTH payload covers ("InitiatorSignedOctets" or
/// "ResponderSignedOctets"):
/// RealMessage | Nonce(peer)Data | prf(SK_p, RestOfIDPayload).
///
/// For the initiator's AUTH: `real_message` is the IKE_SA_INIT request as
/// sent (first octet of the IKE header to the last of the last payload, no
/// UDP or non-ESP marker), `peer_nonce` the responder's nonce data (Nr),
/// `sk_p` SK_pi, `id_payload_body` the IDi payload without its generic
/// header (ID Type, three reserved octets, identification data). For the
/// responder's AUTH: the IKE_SA_INIT response, Ni, SK_pr, IDr.
///
/// The result is the input to a signature, or to [`psk_auth`].
///
/// # Errors
///
/// [`CryptoError::Internal`] only if the HMAC refused the key.
pub fn signed_octets(
    prf: Prf,
    real_message: &[u8],
    peer_nonce: &[u8],
    sk_p: &[u8],
    id_payload_body: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    //= https://www.rfc-editor.org/rfc/rfc7296#section-2.15
    //# InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI
    //# GenIKEHDR = [ four octets 0 if using port 4500 ] | RealIKEHDR
    //# RealIKEHDR =  SPIi | SPIr |  . . . | Length
    //# RealMessage1 = RealIKEHDR | RestOfMessage1
    //# NonceRPayload = PayloadHeader | NonceRData
    //# InitiatorIDPayload = PayloadHeader | RestOfInitIDPayload
    //# RestOfInitIDPayload = IDType | RESERVED | InitIDData
    //# MACedIDForI = prf(SK_pi, RestOfInitIDPayload)
    let maced_id = prf.compute(sk_p, id_payload_body)?;
    let mut out = Vec::with_capacity(real_message.len() + peer_nonce.len() + maced_id.len());
    out.extend_from_slice(real_message);
    out.extend_from_slice(peer_nonce);
    out.extend_from_slice(maced_id.as_bytes());
    Ok(out)
}

/// AUTH data for authentication with a shared key (Auth Method 2):
/// prf(prf(Shared Secret, "Key Pad for IKEv2"), signed octets).
///
/// With EAP (section 2.16) the same computation takes the MSK as the shared
/// secret.
///
/// # Errors
///
/// [`CryptoError::Internal`] only if the HMAC refused the key.
pub fn psk_auth(
    prf: Prf,
    shared_secret: &[u8],
    signed_octets: &[u8],
) -> Result<SecretBytes, CryptoError> {
    //= https://www.rfc-editor.org/rfc/rfc7296#section-2.15
    //# AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <InitiatorSignedOctets>)
    let padded = prf.compute(shared_secret, KEY_PAD)?;
    prf.compute(padded.as_bytes(), signed_octets)
}

/// Checks, in constant time, received AUTH data for authentication with a
/// shared key.
///
/// # Errors
///
/// [`CryptoError::AuthenticationFailed`] if `received` is not the expected
/// value (a wrong length included).
pub fn verify_psk_auth(
    prf: Prf,
    shared_secret: &[u8],
    signed_octets: &[u8],
    received: &[u8],
) -> Result<(), CryptoError> {
    let expected = psk_auth(prf, shared_secret, signed_octets)?;
    if expected.ct_eq(received) {
        Ok(())
    } else {
        Err(CryptoError::AuthenticationFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_signed_octets_layout() {
        let prf = Prf::HmacSha256;
        let msg = b"IKE_SA_INIT request octets";
        let nr = [0xab; 32];
        let sk_pi = [0x01; 32];
        // ID_FQDN (2), RESERVED, "spoke1.cisco.com".
        let mut id = vec![2, 0, 0, 0];
        id.extend_from_slice(b"spoke1.cisco.com");
        let octets = signed_octets(prf, msg, &nr, &sk_pi, &id).unwrap();
        let maced = prf.compute(&sk_pi, &id).unwrap();
        assert_eq!(&octets[..msg.len()], msg);
        assert_eq!(&octets[msg.len()..msg.len() + 32], &nr);
        assert_eq!(&octets[msg.len() + 32..], maced.as_bytes());
    }

    #[test]
    fn test_psk_auth_definition_and_verify() {
        let prf = Prf::HmacSha384;
        let octets = b"signed octets";
        let auth = psk_auth(prf, b"cisco123", octets).unwrap();
        // Computed step by step, with the pad as 17 octets, no NUL.
        let inner = prf.compute(b"cisco123", b"Key Pad for IKEv2").unwrap();
        let outer = prf.compute(inner.as_bytes(), octets).unwrap();
        assert_eq!(auth.as_bytes(), outer.as_bytes());
        assert_eq!(auth.len(), 48);
        verify_psk_auth(prf, b"cisco123", octets, auth.as_bytes()).unwrap();
        let mut bad = auth.as_bytes().to_vec();
        bad[0] ^= 0x80;
        assert_eq!(
            verify_psk_auth(prf, b"cisco123", octets, &bad),
            Err(CryptoError::AuthenticationFailed)
        );
        assert_eq!(
            verify_psk_auth(prf, b"cisco124", octets, auth.as_bytes()),
            Err(CryptoError::AuthenticationFailed)
        );
        assert_eq!(
            verify_psk_auth(prf, b"cisco123", octets, &auth.as_bytes()[..47]),
            Err(CryptoError::AuthenticationFailed)
        );
        assert_eq!(
            verify_psk_auth(prf, b"cisco123", octets, &[]),
            Err(CryptoError::AuthenticationFailed)
        );
    }

    /// A fixed value computed independently (Python's hmac module:
    /// hmac(hmac(b"secret", b"Key Pad for IKEv2"), b"abc"), SHA-256).
    #[test]
    fn test_psk_auth_fixed_value() {
        let auth = psk_auth(Prf::HmacSha256, b"secret", b"abc").unwrap();
        assert_eq!(hex::encode(auth.as_bytes()), PSK_AUTH_SECRET_ABC);
    }

    const PSK_AUTH_SECRET_ABC: &str =
        "740385f2f0dc7a1ab41f0092293d34a8a209d2c20f4875a1d30940ad19dc9bfd";
}
