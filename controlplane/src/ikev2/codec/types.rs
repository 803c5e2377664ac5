//! Numbers of the IKEv2 registries as newtypes that keep unknown values.
//!
//! Each is a `struct Name(pub uN)` with the IANA-registered values as
//! associated constants, so an unknown exchange type, payload type or notify
//! code is carried, logged and answered instead of failing the parse. Debug
//! and Display print the registered name when there is one, else the number.

use std::fmt;

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident($repr:ty) {
            $( $(#[$cmeta:meta])* $const:ident = $value:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $repr);

        impl $name {
            $( $(#[$cmeta])* pub const $const: Self = Self($value); )*

            /// Every registered value this type names.
            pub const KNOWN: &'static [Self] = &[$(Self::$const),*];

            /// The registered name, if this value has one.
            #[must_use]
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( Self::$const => Some(stringify!($const)), )*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}::{}", stringify!($name), n),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}", self.0),
                }
            }
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self {
                Self(v)
            }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> Self {
                v.0
            }
        }
    };
}

wire_enum! {
    /// IKE header Exchange Type (RFC 7296 section 3.1; IANA "IKEv2 Exchange
    /// Types"). Values 0-33 are reserved for IKEv1.
    ExchangeType(u8) {
        /// IKE_SA_INIT.
        IKE_SA_INIT = 34,
        /// IKE_AUTH.
        IKE_AUTH = 35,
        /// CREATE_CHILD_SA.
        CREATE_CHILD_SA = 36,
        /// INFORMATIONAL.
        INFORMATIONAL = 37,
        /// IKE_SESSION_RESUME (RFC 5723).
        IKE_SESSION_RESUME = 38,
        /// IKE_INTERMEDIATE (RFC 9242).
        IKE_INTERMEDIATE = 43,
        /// IKE_FOLLOWUP_KE (RFC 9370).
        IKE_FOLLOWUP_KE = 44,
    }
}

wire_enum! {
    /// Next Payload / payload type (RFC 7296 section 3.2; IANA "IKEv2
    /// Payload Types").
    PayloadType(u8) {
        /// No Next Payload.
        NONE = 0,
        /// Security Association.
        SA = 33,
        /// Key Exchange.
        KE = 34,
        /// Identification - Initiator.
        IDI = 35,
        /// Identification - Responder.
        IDR = 36,
        /// Certificate.
        CERT = 37,
        /// Certificate Request.
        CERTREQ = 38,
        /// Authentication.
        AUTH = 39,
        /// Nonce.
        NONCE = 40,
        /// Notify.
        NOTIFY = 41,
        /// Delete.
        DELETE = 42,
        /// Vendor ID.
        VENDOR_ID = 43,
        /// Traffic Selector - Initiator.
        TSI = 44,
        /// Traffic Selector - Responder.
        TSR = 45,
        /// Encrypted and Authenticated.
        SK = 46,
        /// Configuration.
        CP = 47,
        /// Extensible Authentication.
        EAP = 48,
        /// Generic Secure Password Method (RFC 6467); not parsed here.
        GSPM = 49,
        /// Encrypted and Authenticated Fragment (RFC 7383).
        SKF = 53,
        /// Puzzle Solution (RFC 8019); not parsed here.
        PS = 54,
    }
}

wire_enum! {
    /// Transform Type (RFC 7296 section 3.3.2).
    TransformType(u8) {
        /// Encryption Algorithm (ENCR).
        ENCR = 1,
        /// Pseudorandom Function (PRF).
        PRF = 2,
        /// Integrity Algorithm (INTEG).
        INTEG = 3,
        /// Diffie-Hellman group (D-H), "Key Exchange Method" since RFC 9370.
        DH = 4,
        /// Extended Sequence Numbers (ESN).
        ESN = 5,
    }
}

wire_enum! {
    /// Transform Type 1, encryption algorithm IDs.
    EncrId(u16) {
        /// ENCR_DES_IV64.
        DES_IV64 = 1,
        /// ENCR_DES.
        DES = 2,
        /// ENCR_3DES.
        TRIPLE_DES = 3,
        /// ENCR_RC5.
        RC5 = 4,
        /// ENCR_IDEA.
        IDEA = 5,
        /// ENCR_CAST.
        CAST = 6,
        /// ENCR_BLOWFISH.
        BLOWFISH = 7,
        /// ENCR_3IDEA.
        TRIPLE_IDEA = 8,
        /// ENCR_DES_IV32.
        DES_IV32 = 9,
        /// ENCR_NULL.
        NULL = 11,
        /// ENCR_AES_CBC (RFC 3602).
        AES_CBC = 12,
        /// ENCR_AES_CTR (RFC 3686).
        AES_CTR = 13,
        /// ENCR_AES_CCM_8 (RFC 4309).
        AES_CCM_8 = 14,
        /// ENCR_AES_CCM_12.
        AES_CCM_12 = 15,
        /// ENCR_AES_CCM_16.
        AES_CCM_16 = 16,
        /// ENCR_AES_GCM_8 (RFC 4106).
        AES_GCM_8 = 18,
        /// ENCR_AES_GCM_12.
        AES_GCM_12 = 19,
        /// ENCR_AES_GCM_16.
        AES_GCM_16 = 20,
        /// ENCR_NULL_AUTH_AES_GMAC (RFC 4543).
        NULL_AUTH_AES_GMAC = 21,
        /// ENCR_CAMELLIA_CBC (RFC 5529).
        CAMELLIA_CBC = 23,
        /// ENCR_CAMELLIA_CTR.
        CAMELLIA_CTR = 24,
        /// ENCR_CAMELLIA_CCM_8.
        CAMELLIA_CCM_8 = 25,
        /// ENCR_CAMELLIA_CCM_12.
        CAMELLIA_CCM_12 = 26,
        /// ENCR_CAMELLIA_CCM_16.
        CAMELLIA_CCM_16 = 27,
        /// ENCR_CHACHA20_POLY1305 (RFC 7634).
        CHACHA20_POLY1305 = 28,
    }
}

wire_enum! {
    /// Transform Type 2, pseudorandom function IDs.
    PrfId(u16) {
        /// PRF_HMAC_MD5.
        HMAC_MD5 = 1,
        /// PRF_HMAC_SHA1.
        HMAC_SHA1 = 2,
        /// PRF_HMAC_TIGER.
        HMAC_TIGER = 3,
        /// PRF_AES128_XCBC (RFC 4434).
        AES128_XCBC = 4,
        /// PRF_HMAC_SHA2_256 (RFC 4868).
        HMAC_SHA2_256 = 5,
        /// PRF_HMAC_SHA2_384.
        HMAC_SHA2_384 = 6,
        /// PRF_HMAC_SHA2_512.
        HMAC_SHA2_512 = 7,
        /// PRF_AES128_CMAC (RFC 4615).
        AES128_CMAC = 8,
    }
}

wire_enum! {
    /// Transform Type 3, integrity algorithm IDs.
    IntegId(u16) {
        /// NONE (with combined-mode ciphers).
        NONE = 0,
        /// AUTH_HMAC_MD5_96.
        HMAC_MD5_96 = 1,
        /// AUTH_HMAC_SHA1_96.
        HMAC_SHA1_96 = 2,
        /// AUTH_DES_MAC.
        DES_MAC = 3,
        /// AUTH_KPDK_MD5.
        KPDK_MD5 = 4,
        /// AUTH_AES_XCBC_96.
        AES_XCBC_96 = 5,
        /// AUTH_HMAC_MD5_128.
        HMAC_MD5_128 = 6,
        /// AUTH_HMAC_SHA1_160.
        HMAC_SHA1_160 = 7,
        /// AUTH_AES_CMAC_96.
        AES_CMAC_96 = 8,
        /// AUTH_AES_128_GMAC.
        AES_128_GMAC = 9,
        /// AUTH_AES_192_GMAC.
        AES_192_GMAC = 10,
        /// AUTH_AES_256_GMAC.
        AES_256_GMAC = 11,
        /// AUTH_HMAC_SHA2_256_128 (RFC 4868).
        HMAC_SHA2_256_128 = 12,
        /// AUTH_HMAC_SHA2_384_192.
        HMAC_SHA2_384_192 = 13,
        /// AUTH_HMAC_SHA2_512_256.
        HMAC_SHA2_512_256 = 14,
    }
}

wire_enum! {
    /// Transform Type 4, Diffie-Hellman group numbers (also the KE
    /// payload's group).
    DhGroup(u16) {
        /// NONE.
        NONE = 0,
        /// 768-bit MODP.
        MODP_768 = 1,
        /// 1024-bit MODP.
        MODP_1024 = 2,
        /// 1536-bit MODP (RFC 3526).
        MODP_1536 = 5,
        /// 2048-bit MODP.
        MODP_2048 = 14,
        /// 3072-bit MODP.
        MODP_3072 = 15,
        /// 4096-bit MODP.
        MODP_4096 = 16,
        /// 6144-bit MODP.
        MODP_6144 = 17,
        /// 8192-bit MODP.
        MODP_8192 = 18,
        /// 256-bit random ECP (RFC 5903).
        ECP_256 = 19,
        /// 384-bit random ECP.
        ECP_384 = 20,
        /// 521-bit random ECP.
        ECP_521 = 21,
        /// 1024-bit MODP with 160-bit prime order subgroup (RFC 5114).
        MODP_1024_160 = 22,
        /// 2048-bit MODP with 224-bit prime order subgroup.
        MODP_2048_224 = 23,
        /// 2048-bit MODP with 256-bit prime order subgroup.
        MODP_2048_256 = 24,
        /// 192-bit random ECP.
        ECP_192 = 25,
        /// 224-bit random ECP.
        ECP_224 = 26,
        /// brainpoolP224r1 (RFC 6954).
        BRAINPOOL_P224R1 = 27,
        /// brainpoolP256r1.
        BRAINPOOL_P256R1 = 28,
        /// brainpoolP384r1.
        BRAINPOOL_P384R1 = 29,
        /// brainpoolP512r1.
        BRAINPOOL_P512R1 = 30,
        /// Curve25519 (RFC 8031).
        CURVE25519 = 31,
        /// Curve448 (RFC 8031).
        CURVE448 = 32,
    }
}

wire_enum! {
    /// Transform Type 5, extended sequence numbers.
    EsnId(u16) {
        /// No Extended Sequence Numbers.
        NO_ESN = 0,
        /// Extended Sequence Numbers.
        ESN = 1,
    }
}

wire_enum! {
    /// Transform attribute types (RFC 7296 section 3.3.5).
    TransformAttributeType(u16) {
        /// Key Length (in bits), TV format.
        KEY_LENGTH = 14,
    }
}

wire_enum! {
    /// Security Protocol Identifier (Proposal, Notify and Delete payloads).
    ProtocolId(u8) {
        /// None: a Notify that concerns no SA in particular.
        NONE = 0,
        /// IKE.
        IKE = 1,
        /// AH.
        AH = 2,
        /// ESP.
        ESP = 3,
    }
}

wire_enum! {
    /// Identification payload ID Type (RFC 7296 section 3.5).
    IdType(u8) {
        /// A single four-octet IPv4 address.
        IPV4_ADDR = 1,
        /// A fully qualified domain name string.
        FQDN = 2,
        /// A fully qualified RFC 822 email address string.
        RFC822_ADDR = 3,
        /// A single sixteen-octet IPv6 address.
        IPV6_ADDR = 5,
        /// The binary DER encoding of an ASN.1 X.500 Distinguished Name.
        DER_ASN1_DN = 9,
        /// The binary DER encoding of an ASN.1 X.509 GeneralName.
        DER_ASN1_GN = 10,
        /// An opaque octet stream (vendor-specific information).
        KEY_ID = 11,
        /// Fibre Channel name (RFC 4595).
        FC_NAME = 12,
        /// ID_NULL (RFC 7619).
        NULL = 13,
    }
}

wire_enum! {
    /// Certificate Encoding (CERT and CERTREQ payloads, RFC 7296 section
    /// 3.6).
    CertEncoding(u8) {
        /// PKCS #7 wrapped X.509 certificate.
        PKCS7_X509 = 1,
        /// PGP Certificate.
        PGP = 2,
        /// DNS Signed Key.
        DNS_SIGNED_KEY = 3,
        /// X.509 Certificate - Signature.
        X509_SIGNATURE = 4,
        /// Kerberos Token.
        KERBEROS_TOKEN = 6,
        /// Certificate Revocation List (CRL).
        CRL = 7,
        /// Authority Revocation List (ARL).
        ARL = 8,
        /// SPKI Certificate.
        SPKI = 9,
        /// X.509 Certificate - Attribute.
        X509_ATTRIBUTE = 10,
        /// Raw RSA Key (deprecated).
        RAW_RSA_KEY = 11,
        /// Hash and URL of X.509 certificate.
        HASH_URL_X509_CERT = 12,
        /// Hash and URL of X.509 bundle.
        HASH_URL_X509_BUNDLE = 13,
        /// OCSP Content (RFC 4806).
        OCSP_CONTENT = 14,
        /// Raw Public Key (RFC 7670).
        RAW_PUBLIC_KEY = 15,
    }
}

wire_enum! {
    /// Authentication Method (RFC 7296 section 3.8, RFC 4754, RFC 7427).
    AuthMethod(u8) {
        /// RSA Digital Signature (PKCS #1 v1.5 with SHA-1).
        RSA_SIG = 1,
        /// Shared Key Message Integrity Code.
        SHARED_KEY_MIC = 2,
        /// DSS Digital Signature.
        DSS_SIG = 3,
        /// ECDSA with SHA-256 on the P-256 curve (RFC 4754).
        ECDSA_SHA256_P256 = 9,
        /// ECDSA with SHA-384 on the P-384 curve.
        ECDSA_SHA384_P384 = 10,
        /// ECDSA with SHA-512 on the P-521 curve.
        ECDSA_SHA512_P521 = 11,
        /// Generic Secure Password Authentication Method (RFC 6467).
        GENERIC_SECURE_PASSWORD = 12,
        /// NULL Authentication (RFC 7619).
        NULL = 13,
        /// Digital Signature (RFC 7427): the data carries an ASN.1
        /// AlgorithmIdentifier before the signature.
        DIGITAL_SIGNATURE = 14,
    }
}

wire_enum! {
    /// Hash algorithm identifiers of SIGNATURE_HASH_ALGORITHMS (RFC 7427
    /// section 4, RFC 8420).
    HashAlgorithm(u16) {
        /// SHA1.
        SHA1 = 1,
        /// SHA2-256.
        SHA2_256 = 2,
        /// SHA2-384.
        SHA2_384 = 3,
        /// SHA2-512.
        SHA2_512 = 4,
        /// Identity (RFC 8420, for EdDSA).
        IDENTITY = 5,
    }
}

wire_enum! {
    /// Notify Message Type (RFC 7296 section 3.10.1 and the IANA registry).
    /// 0-16383 are errors, 16384 and up status types.
    NotifyType(u16) {
        /// The message contained an unknown payload with the critical bit.
        UNSUPPORTED_CRITICAL_PAYLOAD = 1,
        /// A message for an unknown IKE SA.
        INVALID_IKE_SPI = 4,
        /// The major version is not supported.
        INVALID_MAJOR_VERSION = 5,
        /// A malformed message (only sent protected).
        INVALID_SYNTAX = 7,
        /// A message ID outside the window.
        INVALID_MESSAGE_ID = 9,
        /// An ESP/AH SPI is unknown.
        INVALID_SPI = 11,
        /// None of the proposals is acceptable.
        NO_PROPOSAL_CHOSEN = 14,
        /// The KE group is not the one selected; data is the expected group.
        INVALID_KE_PAYLOAD = 17,
        /// Authentication failed.
        AUTHENTICATION_FAILED = 24,
        /// Only a single pair of traffic selectors is accepted.
        SINGLE_PAIR_REQUIRED = 34,
        /// No more Child SAs are accepted on this IKE SA.
        NO_ADDITIONAL_SAS = 35,
        /// No address can be assigned.
        INTERNAL_ADDRESS_FAILURE = 36,
        /// A CP payload was required but missing.
        FAILED_CP_REQUIRED = 37,
        /// The traffic selectors are not acceptable.
        TS_UNACCEPTABLE = 38,
        /// A packet arrived on a Child SA with selectors that do not match.
        INVALID_SELECTORS = 39,
        /// MOBIKE: the addresses are not acceptable (RFC 4555).
        UNACCEPTABLE_ADDRESSES = 40,
        /// MOBIKE: unexpected NAT (RFC 4555).
        UNEXPECTED_NAT_DETECTED = 41,
        /// Mobile IPv6 home address (RFC 5026).
        USE_ASSIGNED_HOA = 42,
        /// Try again later (collisions, rekeying).
        TEMPORARY_FAILURE = 43,
        /// The Child SA to rekey or delete does not exist.
        CHILD_SA_NOT_FOUND = 44,
        /// Group ID not valid (G-IKEv2).
        INVALID_GROUP_ID = 45,
        /// Authorization failed (G-IKEv2).
        AUTHORIZATION_FAILED = 46,
        /// State not found (RFC 9370 key exchanges).
        STATE_NOT_FOUND = 47,
        /// First message of an IKE SA from this peer.
        INITIAL_CONTACT = 16384,
        /// The sender's message window size.
        SET_WINDOW_SIZE = 16385,
        /// More traffic selectors would be accepted.
        ADDITIONAL_TS_POSSIBLE = 16386,
        /// IPComp is supported.
        IPCOMP_SUPPORTED = 16387,
        /// Hash of the sender's address and port.
        NAT_DETECTION_SOURCE_IP = 16388,
        /// Hash of the recipient's address and port.
        NAT_DETECTION_DESTINATION_IP = 16389,
        /// Stateless cookie.
        COOKIE = 16390,
        /// Transport mode is requested.
        USE_TRANSPORT_MODE = 16391,
        /// Hash-and-URL certificate lookup is supported.
        HTTP_CERT_LOOKUP_SUPPORTED = 16392,
        /// This CREATE_CHILD_SA rekeys the SA whose SPI is in the notify.
        REKEY_SA = 16393,
        /// TFC padding is not supported.
        ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
        /// Non-first fragments are also sent on this SA.
        NON_FIRST_FRAGMENTS_ALSO = 16395,
        /// MOBIKE is supported (RFC 4555).
        MOBIKE_SUPPORTED = 16396,
        /// MOBIKE: an additional IPv4 address.
        ADDITIONAL_IP4_ADDRESS = 16397,
        /// MOBIKE: an additional IPv6 address.
        ADDITIONAL_IP6_ADDRESS = 16398,
        /// MOBIKE: no additional addresses.
        NO_ADDITIONAL_ADDRESSES = 16399,
        /// MOBIKE: update the SA addresses.
        UPDATE_SA_ADDRESSES = 16400,
        /// MOBIKE: return routability cookie.
        COOKIE2 = 16401,
        /// MOBIKE: NATs are not allowed.
        NO_NATS_ALLOWED = 16402,
        /// Re-authentication lifetime (RFC 4478).
        AUTH_LIFETIME = 16403,
        /// Multiple authentication is supported (RFC 4739).
        MULTIPLE_AUTH_SUPPORTED = 16404,
        /// Another authentication round follows (RFC 4739).
        ANOTHER_AUTH_FOLLOWS = 16405,
        /// Redirect is supported (RFC 5685).
        REDIRECT_SUPPORTED = 16406,
        /// Redirect to another gateway (RFC 5685).
        REDIRECT = 16407,
        /// Redirected from a gateway (RFC 5685).
        REDIRECTED_FROM = 16408,
        /// Session resumption ticket lifetime (RFC 5723).
        TICKET_LT_OPAQUE = 16409,
        /// Ticket request (RFC 5723).
        TICKET_REQUEST = 16410,
        /// Ticket acknowledged (RFC 5723).
        TICKET_ACK = 16411,
        /// Ticket refused (RFC 5723).
        TICKET_NACK = 16412,
        /// Opaque ticket (RFC 5723).
        TICKET_OPAQUE = 16413,
        /// Link ID (RFC 5739).
        LINK_ID = 16414,
        /// Use WESP (RFC 5840).
        USE_WESP_MODE = 16415,
        /// ROHC is supported (RFC 5857).
        ROHC_SUPPORTED = 16416,
        /// EAP-only authentication (RFC 5998).
        EAP_ONLY_AUTHENTICATION = 16417,
        /// Childless IKE SA initiation (RFC 6023).
        CHILDLESS_IKEV2_SUPPORTED = 16418,
        /// Quick crash detection (RFC 6290).
        QUICK_CRASH_DETECTION = 16419,
        /// Message ID sync is supported (RFC 6311).
        IKEV2_MESSAGE_ID_SYNC_SUPPORTED = 16420,
        /// Replay counter sync is supported (RFC 6311).
        IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED = 16421,
        /// Message ID sync (RFC 6311).
        IKEV2_MESSAGE_ID_SYNC = 16422,
        /// Replay counter sync (RFC 6311).
        IPSEC_REPLAY_COUNTER_SYNC = 16423,
        /// Secure password methods (RFC 6467).
        SECURE_PASSWORD_METHODS = 16424,
        /// PSK persist (RFC 6631).
        PSK_PERSIST = 16425,
        /// PSK confirm (RFC 6631).
        PSK_CONFIRM = 16426,
        /// ERP is supported (RFC 6867).
        ERX_SUPPORTED = 16427,
        /// IFOM capability (RFC 6903).
        IFOM_CAPABILITY = 16428,
        /// Sender request ID (G-IKEv2).
        SENDER_REQUEST_ID = 16429,
        /// IKEv2 fragmentation is supported (RFC 7383).
        IKEV2_FRAGMENTATION_SUPPORTED = 16430,
        /// Hash algorithms accepted for signature authentication (RFC 7427).
        SIGNATURE_HASH_ALGORITHMS = 16431,
        /// IKE SA cloning is supported (RFC 7791).
        CLONE_IKE_SA_SUPPORTED = 16432,
        /// Clone this IKE SA (RFC 7791).
        CLONE_IKE_SA = 16433,
        /// Puzzle (RFC 8019).
        PUZZLE = 16434,
        /// Use a post-quantum preshared key (RFC 8784).
        USE_PPK = 16435,
        /// PPK identity (RFC 8784).
        PPK_IDENTITY = 16436,
        /// AUTH computed without the PPK (RFC 8784).
        NO_PPK_AUTH = 16437,
        /// IKE_INTERMEDIATE is supported (RFC 9242).
        INTERMEDIATE_EXCHANGE_SUPPORTED = 16438,
    }
}

wire_enum! {
    /// Configuration payload CFG Type (RFC 7296 section 3.15).
    CfgType(u8) {
        /// CFG_REQUEST.
        REQUEST = 1,
        /// CFG_REPLY.
        REPLY = 2,
        /// CFG_SET.
        SET = 3,
        /// CFG_ACK.
        ACK = 4,
    }
}

wire_enum! {
    /// Configuration attribute types (RFC 7296 section 3.15.1 and the IANA
    /// registry). Values 16384-32767 are private use: Cisco's FlexVPN
    /// attributes are carried as unknown values.
    CfgAttributeType(u16) {
        /// INTERNAL_IP4_ADDRESS (0 or 4 octets).
        INTERNAL_IP4_ADDRESS = 1,
        /// INTERNAL_IP4_NETMASK (0 or 4 octets).
        INTERNAL_IP4_NETMASK = 2,
        /// INTERNAL_IP4_DNS (0 or 4 octets).
        INTERNAL_IP4_DNS = 3,
        /// INTERNAL_IP4_NBNS (0 or 4 octets).
        INTERNAL_IP4_NBNS = 4,
        /// INTERNAL_IP4_DHCP (0 or 4 octets).
        INTERNAL_IP4_DHCP = 6,
        /// APPLICATION_VERSION (0 or more octets).
        APPLICATION_VERSION = 7,
        /// INTERNAL_IP6_ADDRESS (0 or 17 octets: address, prefix length).
        INTERNAL_IP6_ADDRESS = 8,
        /// INTERNAL_IP6_DNS (0 or 16 octets).
        INTERNAL_IP6_DNS = 10,
        /// INTERNAL_IP6_DHCP (0 or 16 octets).
        INTERNAL_IP6_DHCP = 12,
        /// INTERNAL_IP4_SUBNET (0 or 8 octets: address, netmask).
        INTERNAL_IP4_SUBNET = 13,
        /// SUPPORTED_ATTRIBUTES (a multiple of 2 octets).
        SUPPORTED_ATTRIBUTES = 14,
        /// INTERNAL_IP6_SUBNET (0 or 17 octets: address, prefix length).
        INTERNAL_IP6_SUBNET = 15,
        /// INTERNAL_DNS_DOMAIN (RFC 8598, 0 or more octets).
        INTERNAL_DNS_DOMAIN = 25,
    }
}

wire_enum! {
    /// Traffic selector type (RFC 7296 section 3.13.1).
    TsType(u8) {
        /// A range of IPv4 addresses.
        IPV4_ADDR_RANGE = 7,
        /// A range of IPv6 addresses.
        IPV6_ADDR_RANGE = 8,
        /// Fibre Channel address range (RFC 4595).
        FC_ADDR_RANGE = 9,
        /// Security label (RFC 9478).
        SECLABEL = 10,
    }
}

wire_enum! {
    /// EAP Code (RFC 3748 section 4, RFC 6696 for 5 and 6).
    EapCode(u8) {
        /// Request.
        REQUEST = 1,
        /// Response.
        RESPONSE = 2,
        /// Success.
        SUCCESS = 3,
        /// Failure.
        FAILURE = 4,
        /// Initiate (ERP).
        INITIATE = 5,
        /// Finish (ERP).
        FINISH = 6,
    }
}

impl NotifyType {
    /// True for error types (0-16383), which make the request fail.
    #[must_use]
    pub fn is_error(self) -> bool {
        self.0 < 16384
    }
}

impl PayloadType {
    /// True for the payload types this codec parses (RFC 7296's and
    /// RFC 7383's SKF). Other types are unknown: skipped unless critical.
    #[must_use]
    pub fn is_supported(self) -> bool {
        matches!(self.0, 33..=48 | 53)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names() {
        assert_eq!(
            format!("{:?}", ExchangeType::IKE_AUTH),
            "ExchangeType::IKE_AUTH"
        );
        assert_eq!(format!("{:?}", ExchangeType(99)), "ExchangeType(99)");
        assert_eq!(PayloadType::SKF.to_string(), "SKF");
        assert_eq!(PayloadType(200).to_string(), "200");
        assert_eq!(NotifyType(16430), NotifyType::IKEV2_FRAGMENTATION_SUPPORTED);
        assert!(NotifyType::NO_PROPOSAL_CHOSEN.is_error());
        assert!(!NotifyType::COOKIE.is_error());
        assert_eq!(u16::from(DhGroup::CURVE25519), 31);
        assert_eq!(EncrId::from(20), EncrId::AES_GCM_16);
        assert!(PayloadType::EAP.is_supported());
        assert!(!PayloadType::GSPM.is_supported());
        assert!(!PayloadType::NONE.is_supported());
        assert_eq!(NotifyType::KNOWN.len(), 78);
        // No two constants share a value (the name lookup relies on it).
        for k in NotifyType::KNOWN {
            assert_eq!(NotifyType::KNOWN.iter().filter(|x| *x == k).count(), 1);
        }
    }
}
