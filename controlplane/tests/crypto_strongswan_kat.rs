//! Known answers captured from strongSwan 5.9.8 (Debian 12 package), an
//! implementation nobody on this team wrote: two charons in network
//! namespaces, PSK authentication, logging `ike = 4`, `chd = 4`, `net = 4`.
//! The values below are what strongSwan computed and printed (g^ir,
//! SKEYSEED, the seven keys, the AUTH octets and values, the first Child
//! SA's keys) and the IKE messages it received; no network is used here.
//!
//! Each capture is checked through our code alone: SKEYSEED and the keys
//! from g^ir, the nonces and the SPIs; both AUTH payloads from the
//! IKE_SA_INIT messages; the Child SA KEYMAT; and both IKE_AUTH messages,
//! as sent by strongSwan, opened with the SK ciphers we derived.
//!
//! How they were made (to make new ones): `apt-get install
//! --no-install-recommends strongswan-charon strongswan-swanctl
//! libstrongswan-standard-plugins libstrongswan-extra-plugins`; a veth pair
//! between namespaces `swa` (10.231.0.1) and `swb` (10.231.0.2); per side a
//! `strongswan.conf` loading `random nonce kdf openssl curve25519 sha1 sha2
//! hmac gcm aes chapoly pem pkcs1 pkcs8 x509 pubkey socket-default vici
//! kernel-libipsec kernel-netlink` with a filelog at `ike = 4, chd = 4,
//! net = 4`, and a `swanctl.conf` connection `kat` (local/remote PSK with
//! ids `spoke1.example` / `hub.example`, secret `flexvpn-kat-psk`, the
//! proposals named on each capture, one child); `charon` started with
//! `ip netns exec swX unshare -m sh -c 'mount -t tmpfs tmpfs /run &&
//! STRONGSWAN_CONF=... exec /usr/lib/ipsec/charon'`, then `swanctl
//! --initiate` in `swa`. The hex dumps were read off the responder's log
//! (keys, octets, AUTH, child keys, the request packets it received) and
//! the initiator's (the response packets). The Child SA then failed to
//! install (no kernel SPD here), after its keys were derived and logged.

use controlplane::ikev2::crypto::{
    psk_auth, signed_octets, skeyseed, verify_psk_auth, ChildSaKeys, DhGroup, Encr, EspSuite,
    IkeSaKeys, IkeSuite, Integ, Prf, Role,
};

/// The pre-shared key of both captures.
const PSK: &[u8] = b"flexvpn-kat-psk";

struct Capture {
    encr: Encr,
    prf: Prf,
    integ: Option<Integ>,
    dh: DhGroup,
    esp_encr: Encr,
    esp_integ: Option<Integ>,
    g_ir: &'static str,
    skeyseed: &'static str,
    sk_d: &'static str,
    sk_ei: &'static str,
    sk_er: &'static str,
    sk_pi: &'static str,
    sk_pr: &'static str,
    sk_ai: &'static str,
    sk_ar: &'static str,
    ni: &'static str,
    nr: &'static str,
    init_request: &'static str,
    init_response: &'static str,
    /// IDi payload body (ID type, reserved, data) as strongSwan logged it.
    idi: &'static str,
    idr: &'static str,
    auth_i: &'static str,
    auth_r: &'static str,
    /// The IKE_AUTH request and response (UDP 4500, marker removed).
    ike_auth_request: &'static str,
    ike_auth_response: &'static str,
    esp_encr_i: &'static str,
    esp_encr_r: &'static str,
    esp_integ_i: &'static str,
    esp_integ_r: &'static str,
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn check(c: &Capture) {
    let suite = IkeSuite::new(c.encr, c.prf, c.integ, c.dh).unwrap();
    let (ni, nr) = (h(c.ni), h(c.nr));
    let init_request = h(c.init_request);
    let init_response = h(c.init_response);
    let spi_i: [u8; 8] = init_request[..8].try_into().unwrap();
    let spi_r: [u8; 8] = init_response[8..16].try_into().unwrap();
    assert_eq!(init_response[..8], spi_i);
    // The KE payloads carry the values strongSwan agreed on.
    assert_eq!(h(c.g_ir).len(), c.dh.shared_secret_len());

    // SKEYSEED and the seven secrets.
    let seed = skeyseed(c.prf, &ni, &nr, &h(c.g_ir)).unwrap();
    assert_eq!(seed.as_bytes(), h(c.skeyseed));
    let keys = IkeSaKeys::derive(&suite, seed.as_bytes(), &ni, &nr, &spi_i, &spi_r).unwrap();
    assert_eq!(keys.sk_d(), h(c.sk_d));
    assert_eq!(keys.sk_ai(), h(c.sk_ai));
    assert_eq!(keys.sk_ar(), h(c.sk_ar));
    assert_eq!(keys.sk_ei(), h(c.sk_ei));
    assert_eq!(keys.sk_er(), h(c.sk_er));
    assert_eq!(keys.sk_pi(), h(c.sk_pi));
    assert_eq!(keys.sk_pr(), h(c.sk_pr));

    // Both AUTH payloads, computed and verified.
    let octets_i = signed_octets(c.prf, &init_request, &nr, keys.sk_pi(), &h(c.idi)).unwrap();
    let auth_i = psk_auth(c.prf, PSK, &octets_i).unwrap();
    assert_eq!(auth_i.as_bytes(), h(c.auth_i));
    verify_psk_auth(c.prf, PSK, &octets_i, &h(c.auth_i)).unwrap();
    let octets_r = signed_octets(c.prf, &init_response, &ni, keys.sk_pr(), &h(c.idr)).unwrap();
    assert_eq!(
        psk_auth(c.prf, PSK, &octets_r).unwrap().as_bytes(),
        h(c.auth_r)
    );

    // The IKE_AUTH messages strongSwan sent, opened with our ciphers: the
    // responder's inbound cipher takes the request, the initiator's the
    // response. The SK payload is the first payload (next payload 46).
    let responder = keys.sk_ciphers(&suite, Role::Responder).unwrap();
    let initiator = keys.sk_ciphers(&suite, Role::Initiator).unwrap();
    let request = h(c.ike_auth_request);
    assert_eq!(request[16], 46);
    let inner = responder
        .inbound
        .open(&request[..32], &request[32..])
        .unwrap();
    assert!(contains(inner.as_bytes(), &h(c.idi)));
    assert!(contains(inner.as_bytes(), &h(c.auth_i)));
    assert!(initiator
        .inbound
        .open(&request[..32], &request[32..])
        .is_err());
    let response = h(c.ike_auth_response);
    assert_eq!(response[16], 46);
    let inner = initiator
        .inbound
        .open(&response[..32], &response[32..])
        .unwrap();
    assert!(contains(inner.as_bytes(), &h(c.idr)));
    assert!(contains(inner.as_bytes(), &h(c.auth_r)));

    // The first Child SA (created in IKE_AUTH): KEYMAT = prf+(SK_d, Ni | Nr).
    let esp = EspSuite::new(c.esp_encr, c.esp_integ).unwrap();
    let child = ChildSaKeys::derive(c.prf, keys.sk_d(), &esp, None, &ni, &nr).unwrap();
    let i2r = child.initiator_to_responder();
    let r2i = child.responder_to_initiator();
    assert_eq!(i2r.encr_key_material(), h(c.esp_encr_i));
    assert_eq!(r2i.encr_key_material(), h(c.esp_encr_r));
    assert_eq!(i2r.integ_key().unwrap_or_default(), h(c.esp_integ_i));
    assert_eq!(r2i.integ_key().unwrap_or_default(), h(c.esp_integ_r));
}

#[test]
fn crypto_strongswan_gcm_x25519() {
    check(&GCM_X25519);
}

#[test]
fn crypto_strongswan_cbc_hmac_modp2048() {
    check(&CBC_MODP);
}

/// IKE: aes256gcm16-prfsha256-x25519, ESP: aes128gcm16.
const GCM_X25519: Capture = Capture {
    encr: Encr::AesGcm16_256,
    prf: Prf::HmacSha256,
    integ: None,
    dh: DhGroup::Curve25519,
    esp_encr: Encr::AesGcm16_128,
    esp_integ: None,
    g_ir: "e16f99becdb3fa5e4fcc9f8cc28771c2a03f152eb969f4e03c32c34e0e6ae725",
    skeyseed: "91d4c76536a3dcccf90f2f40aca8ff6069ea46ff1b2faeb5eb4bffa5ac1b14b6",
    sk_d: "b1f8648f960a4098e2a3f355057831840a664bc294f0326398fcbbe3148bc673",
    sk_ei: "5788c275983996d0c6ee94467b445e95e79c6fbe51073caacef905ed13d99e81\
        9cc4a64e",
    sk_er: "15cef6508efb215d924cd73e2163cd6a6b7ad5f4d2d1cd95e1d5e603619ec8b8\
        d1939c36",
    sk_pi: "26a1370860f8a72e4184860075c9c4ea3de74198ccf13f32bfc54cb3da8e7574",
    sk_pr: "c03bb97d88315c333d90259f6e0076ba415fe3d97d3c2f137e170716d75cb922",
    sk_ai: "",
    sk_ar: "",
    ni: "676e914c7207fdfb3f5cc38b8723fe8237c9918a3a03b006b93ce32d195bb7c2",
    nr: "4a4b0effc8c1537d0a8db3448d63018d1ebda8eda6e48826a6547040f278d851",
    init_request: "f0e2dcdc99e5058200000000000000002120220800000000000000e822000028\
        00000024010100030300000c01000014800e0100030000080200000500000008\
        0400001f28000028001f0000f8103f53936d585fd676ac2ee6549c0241748250\
        f7d9efbab819cb9cd3cedb5e29000024676e914c7207fdfb3f5cc38b8723fe82\
        37c9918a3a03b006b93ce32d195bb7c22900001c000040042f615ab4364b0dca\
        7552b1c03249d445ffe494f52900001c000040052d468c247117bacb57990bc8\
        1fa6df8583d4fc3e290000080000402e290000100000402f0002000300040005\
        0000000800004016",
    init_response: "f0e2dcdc99e50582f7a406b6d764d77d2120222000000000000000f022000028\
        00000024010100030300000c01000014800e0100030000080200000500000008\
        0400001f28000028001f0000d5b972bbd9f983f4b34044f37af25e2ec3e91771\
        a0934147bdb04e007e4e5d0f290000244a4b0effc8c1537d0a8db3448d63018d\
        1ebda8eda6e48826a6547040f278d8512900001c000040046d9a381adf5c7d8a\
        0dfc8fac2108b3b9b3ddeb522900001c000040059041e852f8386a57f484f558\
        8e9498fe70d4bb3b290000080000402e290000100000402f0002000300040005\
        29000008000040220000000800004014",
    idi: "0200000073706f6b65312e6578616d706c65",
    idr: "020000006875622e6578616d706c65",
    auth_i: "a781a42bc052639c6a9d33386c6dc2028cf597de681e3b31c7f23e6d0a22f20e",
    auth_r: "7c2b9ed3b792c1df2e2bf21dab72f141956f2eabae1efb3670d7691a5e28bb68",
    ike_auth_request: "f0e2dcdc99e50582f7a406b6d764d77d2e202308000000010000010e230000f2\
        56f746220920e818202431abb68064361dc421fbc74b8e55f18a90f5bb90a383\
        c2d62e5eaafc35d17c9535a1a2183a666e4126d92ea6cb5dd418fd8b89f19818\
        ea46405c7ac91ed7c0ab47911845aad19eed5955ac411eabf9aac92ad8d8e209\
        75f3a5b50aeb04e3f9373cfde2805a4e28a2e350756e88d6fd1aa58c02159ea1\
        c900e33241695abeb845ecd8f03b7fdf22e1cd9a9cf27b2502db481c402af26d\
        b299bab6a01b7850e5753d51b32f114fc73cf96ca8dcebdf8770f443cbfa0a41\
        eae9b650ba1b1ca07f6304935dc658bd59474afca3b448b0b3dac66180da9274\
        56fcc267da42bf744447039927d6",
    ike_auth_response: "f0e2dcdc99e50582f7a406b6d764d77d2e202320000000010000008c24000070\
        0adc9253ca9646f841d685ee56f96735301b75c1477836835bf511e7c24e169a\
        5245f929837372fb64e2b41c2f5e335391f3164a0f9be13402719509f4a0fa7c\
        38bd98a449becde0e955b0523e5b246a7d9a833c6bc0b8bb0d280e3612c1ec4e\
        a5d77b48574e1f3f6e864107",
    esp_encr_i: "db7d5f310654d868721610d91f71eae031ebdc1a",
    esp_encr_r: "f9b6fd8c748cf913636acaf7d90266ec0d912157",
    esp_integ_i: "",
    esp_integ_r: "",
};

/// IKE: aes128-sha384-modp2048, ESP: aes256-sha256.
const CBC_MODP: Capture = Capture {
    encr: Encr::AesCbc128,
    prf: Prf::HmacSha384,
    integ: Some(Integ::HmacSha384_192),
    dh: DhGroup::Modp2048,
    esp_encr: Encr::AesCbc256,
    esp_integ: Some(Integ::HmacSha256_128),
    g_ir: "e27705f4b079da66b45b945d2a5879fec84a8a8c506735e2858f699df4897f01\
        e3ae0fd94b7eda76a5662d4a848069f048b3cbf050fc931121d6c855e6dd53c5\
        6f5969166281beb1fa4830e4c19e930892c067a937e835d1801b51cb3d872045\
        87ae76048ef338a6d6c0bc4b8104bfd69be68f7fb2088de3a74de055740cd0e3\
        197f6970f1df1ebcbe5613eeae6bf923af8efbf5f6f29b98b5a57981f0c8fe59\
        5d1e49a10b5f855634e4b45bd95f85588bbc0d1c5cebf15d0069a72e1ef6ac07\
        4942441ab5c931544cfca9026d64f280f3dbdec7e6dcd2dca0e28e02f8c00970\
        e610623e6d7a318c27b7b8e51d6bcd3608ceedaef589a04d621860f806eb77e6",
    skeyseed: "f4b422726fa5daef51ddb2f5fc13e2572bf418a3b06140b657e9a9a7baa0be54\
        76b175cd51f406f08ca8cdc59efa0ba5",
    sk_d: "33a7989c3988d8189cfca31279bcf7c428b887e39086f57ecc5323b48b2af726\
        e3ee3815168b059b967792e218fca50f",
    sk_ei: "e0e2e6f20aa2df6c91ba6685cabbb865",
    sk_er: "2d59f530f16aea09311d0bab43ee787f",
    sk_pi: "af4b85523d13c279508fe6801c891b0c2e7ab84c62fcdaec5f61e05bf28bf8f7\
        0af69500d3379953670b0fc69f409c66",
    sk_pr: "38dc3cb560cccb76f5238ed15cb9cf65e0e51ff9a3f1f3f70d84ac5351b2abb3\
        6b0ab7186235b70050456b44f80c2e9f",
    sk_ai: "db0454eee8206b057e35e25d4706d7dcf6e9feac8bd10db2184dc0db7c7111fd\
        86a8073c2c824d6114509f872198338a",
    sk_ar: "41b113e68c7e3d9e56f65a1c9c56749ad67ae9981d563b0948e39dea361ebd9e\
        84a75915d802abe4b5a1dfc5cdafaa45",
    ni: "bdc84769ae27083368e27668748b853caf36f48e0d398f1c32ee7b35099f8a17",
    nr: "61ed068e47137fb5a659abe526c0b90002043ec347443d29084b938998a49c74",
    init_request: "55f2b5cf15473c0800000000000000002120220800000000000001d022000030\
        0000002c010100040300000c0100000c800e0080030000080300000d03000008\
        02000006000000080400000e28000108000e000034b89a6f3361dc394fe11fee\
        e9e0c4adbcbee09c6d0c02a9c0c61027cab93deefa9fa9903e18d44ec18b2f19\
        71a0710f7200e21ca09eeb3a52278c53622824cd8c5d83eff36fdffac0d445eb\
        3fa108e00d1b6fe1fdf2422ee2296880b44d7772f5a4c3521d452710f14acae3\
        d9d8da153b302ee88e9a78c85e1cc9a2d87f2ea2c346796071e406889bd28e28\
        66ccec8fbd6e3756f3799f7631010ba6362793419618a5a027e8522665ab590f\
        1cf69f4288d644eac019d84f80a79370df304a899e0593ffa1c01e9e2097c3d1\
        0b181616b7a504467d0001a309a0340b77c34cbba812fc479461d5e8b885d14a\
        b489f712dad5eb6b0fe1d461ee9546c65cf07cdf29000024bdc84769ae270833\
        68e27668748b853caf36f48e0d398f1c32ee7b35099f8a172900001c00004004\
        cd0d803104b55404b41672407031d9d443d8aacc2900001c000040057e074ed9\
        b32c480dc8a2f02a367c41e4744b296d290000080000402e290000100000402f\
        00020003000400050000000800004016",
    init_response: "55f2b5cf15473c0806e4ce905ee85a862120222000000000000001d822000030\
        0000002c010100040300000c0100000c800e0080030000080300000d03000008\
        02000006000000080400000e28000108000e0000f183459e446b72b99fbb3ac8\
        6abfa453025d50e74f845124d5cb75893a07e6e05f6fdb723255fdbe49ebe3d2\
        f95dad495c0b5f811543b0f75ac90c5289700a5706d35bf95c54c1818ee8f686\
        476217768c149834745a1db34d401909f7e024b82630dbb09b231be58c8b4fd7\
        26fddd7719730affd851c89cd7198f40822c29968249311ea9fba6a143c5dc25\
        09ccf66832d4e21d1e60d474fb652e61caff928dcc57cac86591ce00ebbf4e74\
        7814c73eaaf0d94bfc916c5536f96d508d08375a8365370c2f45dabde08d173e\
        143a1fa6d31db44d5a631412013088368f6ff1ac82cf86cd2377bc1b2f21db8c\
        f0b4f7d235926cbb49d790500e659e9d0b13d5052900002461ed068e47137fb5\
        a659abe526c0b90002043ec347443d29084b938998a49c742900001c00004004\
        6485a7c8e15e1bb173486dbb5798b86312ec49742900001c00004005c154d84e\
        e8be0ae04c942902dd6f6e9453b5c74a290000080000402e290000100000402f\
        000200030004000529000008000040220000000800004014",
    idi: "0200000073706f6b65312e6578616d706c65",
    idr: "020000006875622e6578616d706c65",
    auth_i: "a6551b0d159ae4f7e0fb0364ed77a36d951c53a84cb344813563f9e5f1e9e06f\
        2d480ba17d877b8c2d239f7a9c52924c",
    auth_r: "bf1b59c51df7ed3d5633f092c84a3a8c83d80055b3dd47b5ba6453a8b287d92e\
        e8f0dd09bc265de4ecfedcb555d2a050",
    ike_auth_request: "55f2b5cf15473c0806e4ce905ee85a862e20230800000001000001382300011c\
        e00ff0f7eca5febf07456056dfca7f846ef8576da7e564f97339a2a1b3b8989e\
        754a91f2208ca6423667197e147c702dafa75dba12277b99df6ccd72fffcfa71\
        3cdb445461811135898c486e821a9ab83fcb031d523c0505ba15866d73b28a4c\
        0fcfa847cff7f952cb7b60ba65d64409156440b5dcdbf04f146b1ec759d7484d\
        a142f99251a46d35d4d07daa0b610107030f338baa3ea89a71c7e7a8110f3b67\
        ba3666693937ee4a4bb802c485a915e2d9d0479da5abddb4d304c9365d1da2aa\
        5478368cc5c1f22a9d03444fc6ccf96030ae1e3d79ef1a5984887ba6c58e3c22\
        bca758193a6b13eb6f7488909c0ad53eae14f09e2c52655838cb3f8b35ebd10a\
        fe4e227f91d57d74ba80cd68b789f243a9b7e7369ecbe717",
    ike_auth_response: "55f2b5cf15473c0806e4ce905ee85a862e20232000000001000000b82400009c\
        682f957f4b62bd63dae8eb329562c345773fbd984d1fa88b36363166658f91e7\
        594b837981bdc3a07e6fb33c677e047ceb8d59fe8d29ce68571340699a3cb45c\
        a397c00c7c1934711d23a7282c0186351401ad280e509e27de300fa909fa684d\
        7add4f0e02088b9c2b652db07f41b1deb710360e517424b6dad12668983af1ee\
        bd11b70ff4882d661cd513c6a1cda7942db51521bc21d610",
    esp_encr_i: "53a65f93d7d49f6828d6434af4cf55a40bb95e696b942dcd919a02238118d23c",
    esp_encr_r: "df9d6d213a22b051238442f47d6d870f5a52acead2017e77693ccdbb2b959231",
    esp_integ_i: "f8d059b947277703ae267f02d7d41d9c2a6eb50a469d65527549c04f480cad9c",
    esp_integ_r: "8628a99a5e97adc83ebbd1b126a32a00f3c384c905d539fc09c01f6022b45acd",
};
