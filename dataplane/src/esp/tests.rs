//! ESP tests: published vectors reproduced byte for byte, round trips,
//! tampering, truncation, replay, sequence exhaustion, concurrency.

use super::*;
use crate::buffer::VecBuf;
use std::sync::Arc;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).unwrap()
}

const BACKENDS: [Backend; 3] = Backend::ALL;

fn sa_with(alg: Algorithm, backend: Backend, spi: u32, key: &[u8], esn: bool) -> Sa {
    Sa::new(SaConfig {
        spi,
        algorithm: alg,
        backend,
        key: key.to_vec(),
        esn,
        replay_window: 64,
    })
    .unwrap()
}

/// One ESP packet from draft-mcgrew-gcm-test-01 section 4: AES key, nonce
/// (salt || IV), AAD (SPI || [seq high ||] seq low), plaintext (payload,
/// padding, pad length, next header), ciphertext, ICV.
struct GcmCase {
    key: &'static str,
    nonce: &'static str,
    aad: &'static str,
    plaintext: &'static str,
    ciphertext: &'static str,
    tag: &'static str,
}

const GCM_CASES: &[GcmCase] = &[
    GcmCase {
        key: "4c80cdefbb5d10da906ac73c3613a634",
        nonce: "2e443b684956ed7e3b244cfe",
        aad: "000043218765432100000000",
        plaintext: "45000048699a000080114db7c0a80102c0a801010a9bf15638d301000001000000000000045f736970045f756470037369700963796265726369747902646b000021000101020201",
        ciphertext: "fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce61bc17d768fd9732",
        tag: "459018148f6cbe722fd04796562dfdb4",
    },
    GcmCase {
        key: "feffe9928665731c6d6a8f9467308308",
        nonce: "cafebabefacedbaddecaf888",
        aad: "0000a5f80000000a",
        plaintext: "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d001000001000000000000037369700963796265726369747902646b00000100010001",
        ciphertext: "deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1",
        tag: "83b70d3aa8bc6ee4c309e9d85a41ad4a",
    },
    GcmCase {
        key: "abbccddef00112233445566778899aababbccddef00112233445566778899aab",
        nonce: "112233440102030405060708",
        aad: "4a2cbfe300000002",
        plaintext: "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee0000000007002400020bf0000020405b40101040201020201",
        ciphertext: "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763748a637985771d347f0545659f14e99def842d8e",
        tag: "b335f4eecfdbf831824b4c4915956c96",
    },
    GcmCase {
        key: "00000000000000000000000000000000",
        nonce: "000000000000000000000000",
        aad: "0000000000000001",
        plaintext: "4500003c99c500008001cb7a40679318010101010800075c020044006162636465666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
        ciphertext: "4688daf2f973a392732909c331d56d60f694abaa414b5e7ff5fdcdfff5e9a284456476492719ffb64de7d9dca1e1d894bc3bd57873ed4d181d19d4d5c8c18af3",
        tag: "f821d496eeb096e98ad2b69e4799c71d",
    },
    GcmCase {
        key: "3de09874b388e6491988d0c3607eae1f",
        nonce: "57690e434e280000a2fca1a3",
        aad: "42f67e3f1010101010101010",
        plaintext: "4500003c99c300008001cb7c40679318010101010800085c020043006162636465666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
        ciphertext: "fba2caa4853cf9f0f22cb10d86dd83b0fec75691cf1a04b00d1138ec9c35791765acbd8701ad79845bf9fe3fba487bc91755e6662b4c8d0d1f5e22739530320a",
        tag: "e0d731cc978ecafaeae88f00e80d6e48",
    },
    GcmCase {
        key: "3de09874b388e6491988d0c3607eae1f",
        nonce: "57690e434e280000a2fca1a3",
        aad: "42f67e3f1010101010101010",
        plaintext: "4500001c42a200008001441f406793b6e00000020a00f5ff01020201",
        ciphertext: "fba2ca845e5df9f0f22c3e6e86dd831e1fc65792cd1af9130e1379ed",
        tag: "369f071f35e034be95f112e4e7d05d35",
    },
    GcmCase {
        key: "abbccddef00112233445566778899aab",
        nonce: "decaf888cafedebaceface74",
        aad: "000001000000000000000001",
        plaintext: "4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b800302d500004e20001e8c18d75b81dc91baa0476b91b924b280389d92c963bac046ec959b6266c04722b14923010101",
        ciphertext: "18a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1c349c1d2fbec168f9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e0f496c226f2127b27db35724e7845d68",
        tag: "651f57e65f354f75ff17015769623436",
    },
    GcmCase {
        key: "abbccddef00112233445566778899aababbccddef00112233445566778899aab",
        nonce: "73616c74616e640169766563",
        aad: "17405e67156f3126dd0db99b",
        plaintext: "45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb71260250101f646d540001",
        ciphertext: "f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef67549d524a3018d9a57ff4d3a31ce673119e",
        tag: "451626c2415771e3b7eebca614c89b35",
    },
    GcmCase {
        key: "3de09874b388e6491988d0c3607eae1f",
        nonce: "57690e434e280000a2fca1a3",
        aad: "42f67e3f1010101010101010",
        plaintext: "45000049333e00007f119182c3fb1d10c2b1d326c02831ce0035cb458003025b000001e0001e8c18d65759d52284a0352c71475c8880391c764d6e5ee0496b325ae270c03899493915010101",
        ciphertext: "fba2cad12fc1f9f00d3cebf305410db83d7784b607323d220f24b0a97d54182800cadb0f68d99ef0e0c0c89ae9bea8884e52d65bc1afd0740f742444747b5b39ab533163aad4550ee5160975",
        tag: "cdb608c5769189609763b8e18caa81e2",
    },
    GcmCase {
        key: "abbccddef00112233445566778899aababbccddef00112233445566778899aab",
        nonce: "73616c74616e640169766563",
        aad: "17405e67156f3126dd0db99b",
        plaintext: "636973636f0172756c657301746865016e6574776501646566696e6501746865746563686e6f6c6f67696573017468617477696c6c01646566696e65746f6d6f72726f7701020201",
        ciphertext: "d4b7ed86a1777f2ea13d6973d324c69e7b43f826fb56831226508bebd2dceb18d0a6df10e5487df074113e14c641024e3e6773d91a62ee429b043a10e3efe6b012a49363412364f8",
        tag: "c0cac587f249e56b11e24f30e44ccc76",
    },
    GcmCase {
        key: "7d773d00c144c525ac619d18c84a3f47",
        nonce: "d966426743457e9182443bc6",
        aad: "335467aeffffffff",
        plaintext: "01020201",
        ciphertext: "437f866b",
        tag: "cb3f699fe9b0822bac961c4504bef270",
    },
    GcmCase {
        key: "abbccddef00112233445566778899aab",
        nonce: "decaf888cafedebaceface74",
        aad: "000001000000000000000001",
        plaintext: "746f016265016f72016e6f7401746f0162650001",
        ciphertext: "29c9fc69a197d038ccdd14e2ddfcaa0543332164",
        tag: "412503524303ed3c6c5f283843af8c3e",
    },
    GcmCase {
        key: "6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961",
        nonce: "7475726e333021696765746d",
        aad: "796b6963ffffffffffffffff",
        plaintext: "45000030da3a00008001df3bc0a80005c0a800010800c6cd020007006162636465666768696a6b6c6d6e6f707172737401020201",
        ciphertext: "f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a864cd3d78ca4ae68a32b42458fb57dbe821dcc63b9",
        tag: "d0937ba2945f669368661a329fb4c053",
    },
];

/// Every GCM packet of draft-mcgrew-gcm-test-01 section 4 (AES-GCM with a
/// 16-byte ICV; the GMAC cases are out of scope), sealed by our ESP code
/// from its parts and opened back, on both backends.
#[test]
fn test_draft_mcgrew_gcm_test_01_packets() {
    let mut sa_level = 0;
    for (i, c) in GCM_CASES.iter().enumerate() {
        let key = h(c.key);
        let nonce = h(c.nonce);
        let aad = h(c.aad);
        let pt = h(c.plaintext);
        let alg = if key.len() == 16 {
            Algorithm::AesGcm128
        } else {
            Algorithm::AesGcm256
        };
        let esn = aad.len() == 12;
        let spi = u32::from_be_bytes(aad[..4].try_into().unwrap());
        let seq = if esn {
            u64::from_be_bytes(aad[4..12].try_into().unwrap())
        } else {
            u64::from(u32::from_be_bytes(aad[4..8].try_into().unwrap()))
        };
        let mut expected = Vec::new();
        expected.extend_from_slice(&spi.to_be_bytes());
        expected.extend_from_slice(&(seq as u32).to_be_bytes());
        expected.extend_from_slice(&nonce[4..]);
        expected.extend_from_slice(&h(c.ciphertext));
        expected.extend_from_slice(&h(c.tag));
        let payload = &pt[..pt.len() - 2 - usize::from(pt[pt.len() - 2])];
        let pad = usize::from(pt[pt.len() - 2]);
        assert_eq!(
            pad,
            pad_len(payload.len()),
            "case {i}: our padding rule matches the draft's"
        );
        for backend in BACKENDS {
            // AEAD level: every case.
            let k = AeadKey::new(backend, alg, &key).unwrap();
            let mut data = pt.clone();
            let tag = k.seal_in_place_detached(&nonce.clone().try_into().unwrap(), &aad, &mut data);
            assert_eq!(hex::encode(&data), c.ciphertext, "case {i} {backend:?}");
            assert_eq!(hex::encode(tag), c.tag, "case {i} {backend:?}");
            if spi <= 255 {
                continue; // SPIs 0..=255 are reserved: our SA refuses them
            }
            // ESP level: the whole packet, byte for byte.
            let mut keymat = key.clone();
            keymat.extend_from_slice(&nonce[..4]);
            let sa = sa_with(alg, backend, spi, &keymat, esn);
            let mut buf = VecBuf::new(payload);
            let iv: [u8; 8] = nonce[4..].try_into().unwrap();
            seal_with(&sa, &mut buf, pt[pt.len() - 1], seq, &iv, pad).unwrap();
            assert_eq!(
                hex::encode(buf.data()),
                hex::encode(&expected),
                "case {i} {backend:?}"
            );
            // Open it with a fresh SA whose window sits just before `seq`.
            let rx = sa_with(alg, backend, spi, &keymat, esn);
            if seq > 1 {
                rx.replay_window().commit(seq - 1).unwrap();
            }
            let opened = open(&rx, &mut buf).unwrap();
            assert_eq!(
                opened,
                Opened {
                    next_header: pt[pt.len() - 1],
                    seq
                }
            );
            assert_eq!(buf.data(), payload);
            sa_level += 1;
        }
    }
    assert_eq!(
        sa_level,
        BACKENDS.len() * (GCM_CASES.len() - 1),
        "all but the SPI-0 case ran at ESP level"
    );
}

/// RFC 7634 Appendix A: the ESP packet with ChaCha20-Poly1305.
#[test]
fn test_rfc7634_appendix_a() {
    let keymat = h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f a0a1a2a3");
    let inner = h(
        "45000054a6f200004001e778c6336405c000020508005b7a3a080000553bec10
                   0007362708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223
                   2425262728292a2b2c2d2e2f3031323334353637",
    );
    let packet = h("01020304000000051011121314151617
                    24039428b97f417e3c13753a4f05087b67c352e6a7fab1b982d466ef407ae5c6
                    14ee8099d52844eb61aa95dfab4c02f72aa71e7c4c4f64c9befe2facc638e8f3
                    cbec163fac469b502773f6fb94e664da9165b82829f641e0
                    76aaa8266b7fb0f7b11b369907e1ad43");
    for backend in BACKENDS {
        let sa = sa_with(
            Algorithm::ChaCha20Poly1305,
            backend,
            0x0102_0304,
            &keymat,
            false,
        );
        let mut buf = VecBuf::new(&inner);
        let iv = [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17];
        seal_with(&sa, &mut buf, 4, 5, &iv, pad_len(inner.len())).unwrap();
        assert_eq!(hex::encode(buf.data()), hex::encode(&packet), "{backend:?}");
        let rx = sa_with(
            Algorithm::ChaCha20Poly1305,
            backend,
            0x0102_0304,
            &keymat,
            false,
        );
        let mut buf = VecBuf::new(&packet);
        assert_eq!(
            open(&rx, &mut buf),
            Ok(Opened {
                next_header: 4,
                seq: 5
            })
        );
        assert_eq!(buf.data(), &inner[..]);
    }
}

fn keymat(alg: Algorithm) -> Vec<u8> {
    (0..alg.keymat_len() as u8).collect()
}

#[test]
fn test_roundtrip_all_algorithms_sizes_esn() {
    for alg in Algorithm::ALL {
        for backend in BACKENDS {
            for esn in [false, true] {
                let tx = sa_with(alg, backend, 0x1000, &keymat(alg), esn);
                let rx = sa_with(alg, backend, 0x1000, &keymat(alg), esn);
                if esn {
                    tx.set_next_seq((1 << 32) - 3);
                    rx.replay_window().commit((1 << 32) - 4).unwrap();
                }
                for len in 0..70usize {
                    let payload: Vec<u8> = (0..len as u8).collect();
                    let mut buf = VecBuf::new(&payload);
                    let seq = seal(&tx, &mut buf, 47).unwrap();
                    assert_eq!(buf.len() % 4, 0, "ESP packet ends on a 4-byte boundary");
                    assert_eq!(buf.len(), PREFIX_LEN + len + pad_len(len) + 2 + ICV_LEN);
                    let o = open(&rx, &mut buf).unwrap();
                    assert_eq!(
                        o,
                        Opened {
                            next_header: 47,
                            seq
                        }
                    );
                    assert_eq!(buf.data(), &payload[..]);
                    rx.count(1, buf.len() as u64);
                }
                if esn {
                    assert!(tx.next_seq() > 1 << 32, "crossed the 2^32 boundary");
                }
                assert_eq!(rx.packets(), 70);
                assert_eq!(
                    tx.packets(),
                    70,
                    "sealed packets counted by the sequence number"
                );
                assert_eq!(rx.bytes(), (0..70).sum::<u64>());
            }
        }
    }
}

fn sealed(alg: Algorithm, len: usize) -> (Sa, Vec<u8>) {
    let tx = sa_with(alg, Backend::Ring, 0x2000, &keymat(alg), false);
    let mut buf = VecBuf::new(&vec![0xabu8; len]);
    seal(&tx, &mut buf, 4).unwrap();
    (
        sa_with(alg, Backend::Ring, 0x2000, &keymat(alg), false),
        buf.to_vec(),
    )
}

#[test]
fn test_every_single_byte_tamper_is_caught() {
    for alg in Algorithm::ALL {
        let (rx, pkt) = sealed(alg, 41);
        for i in 0..pkt.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = pkt.clone();
                bad[i] ^= bit;
                let mut buf = VecBuf::new(&bad);
                let r = open(&rx, &mut buf);
                let ok = match i {
                    0..=3 => r == Err(DropReason::NoSa),
                    // a sequence number of 0 is refused before decryption
                    4..=7 => matches!(r, Err(DropReason::IcvMismatch | DropReason::Replay)),
                    _ => r == Err(DropReason::IcvMismatch),
                };
                assert!(ok, "{alg:?} byte {i} bit {bit:#x}: {r:?}");
            }
        }
        // No failed packet moved the window: the original still opens.
        assert_eq!(rx.replay_window().top(), 0);
        let mut buf = VecBuf::new(&pkt);
        assert!(open(&rx, &mut buf).is_ok());
    }
}

#[test]
fn test_truncation_and_length_lies() {
    let (rx, pkt) = sealed(Algorithm::AesGcm128, 20);
    for n in 0..pkt.len() {
        let mut buf = VecBuf::new(&pkt[..n]);
        let r = open(&rx, &mut buf);
        assert!(
            matches!(r, Err(DropReason::Malformed | DropReason::IcvMismatch)),
            "length {n}: {r:?}"
        );
    }
    // Extra bytes appended (a lying outer length): the ICV moves, so it fails.
    let mut long = pkt.clone();
    long.extend_from_slice(&[0; 4]);
    assert_eq!(
        open(&rx, &mut VecBuf::new(&long)),
        Err(DropReason::IcvMismatch)
    );
}

#[test]
fn test_bad_padding_and_dummy_packets_are_dropped() {
    let alg = Algorithm::AesGcm128;
    let tx = sa_with(alg, Backend::Ring, 0x3000, &keymat(alg), false);
    let rx = sa_with(alg, Backend::Ring, 0x3000, &keymat(alg), false);
    // Pad length larger than the plaintext, sealed validly.
    let mut buf = VecBuf::new(&[]);
    seal_with(&tx, &mut buf, 4, 1, &[0; 8], 0).unwrap();
    // Forge: rebuild with a trailer claiming 200 bytes of padding.
    let mut buf2 = VecBuf::new(&[0xc8]);
    seal_with(&tx, &mut buf2, 4, 2, &[1; 8], 0).unwrap();
    let d = buf2.to_vec();
    // The plaintext was [0xc8, pad_len=0, nh=4]; we want [pad_len=0xc8, nh]:
    // seal a payload whose last byte becomes the pad length instead.
    let mut forged = VecBuf::new(&[]);
    // payload empty, pad 0 -> plaintext [0, nh]; use nh=4 but pad byte 7
    seal_with(&tx, &mut forged, 4, 3, &[2; 8], 0).unwrap();
    assert!(open(&rx, &mut buf).is_ok());
    assert!(d.len() > MIN_PACKET_LEN);
    // Wrong padding content: payload then a pad byte that is not 1.
    let mut wrong = VecBuf::new(&[9, 9, 9, 9, 9, 9, 5]);
    // 7-byte payload -> pad_len(7) = 3; claim pad 1 so the byte 5 is "padding"
    wrong.trim(1);
    let mut with_bad_pad = VecBuf::new(&[9, 9, 9, 9, 9, 9, 5]);
    seal_with(&tx, &mut with_bad_pad, 4, 4, &[3; 8], 0).unwrap();
    // Decrypting gives [9 x6, 5, 0, 4]: pad 0, fine. Now build one whose
    // pad length byte says 1 over a pad byte of 5 by sealing payload
    // [9 x5, 5, 1] with pad 0 and next header 4: trailer reads pad=1.
    let mut bad_pad = VecBuf::new(&[9, 9, 9, 9, 9, 5]);
    bad_pad.append(1);
    bad_pad.data_mut()[6] = 1;
    bad_pad.trim(1);
    // Simplest exact construction: payload [9,9,9,9,9,5] + pad_len byte 1
    // as part of the payload, then seal with pad 0 writes [.., 0, nh]:
    // decrypt trailer = (pad_len=0). So instead seal raw with next header
    // value used as the "pad length" position: see `raw_seal` below.
    drop((wrong, with_bad_pad, bad_pad, forged));
    let raw = raw_seal(&tx, 5, &[9, 9, 9, 9, 9, 5, 1, 4]); // pad_len 1, pad byte 5
    assert_eq!(
        open(&rx, &mut VecBuf::new(&raw)),
        Err(DropReason::BadPadding)
    );
    let raw = raw_seal(&tx, 6, &[200, 4]); // pad_len 200 > plaintext
    assert_eq!(
        open(&rx, &mut VecBuf::new(&raw)),
        Err(DropReason::BadPadding)
    );
    let raw = raw_seal(&tx, 7, &[1, 2, 2, NEXT_HEADER_DUMMY]); // a dummy packet
    assert_eq!(
        open(&rx, &mut VecBuf::new(&raw)),
        Err(DropReason::BadNextHeader)
    );
    let raw = raw_seal(&tx, 8, &[7, 7, 1, 2, 2, 4]); // correct: payload [7,7]
    let mut ok = VecBuf::new(&raw);
    assert_eq!(
        open(&rx, &mut ok),
        Ok(Opened {
            next_header: 4,
            seq: 8
        })
    );
    assert_eq!(ok.data(), &[7, 7]);
}

/// An ESP packet whose plaintext (trailer included) is exactly `pt`.
fn raw_seal(sa: &Sa, seq: u64, pt: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&sa.spi().to_be_bytes());
    p.extend_from_slice(&(seq as u32).to_be_bytes());
    let iv = seq.to_be_bytes();
    p.extend_from_slice(&iv);
    let mut ct = pt.to_vec();
    let (aad, n) = sa.aad(seq);
    let tag = sa
        .aead
        .seal_in_place_detached(&sa.nonce(&iv), &aad[..n], &mut ct);
    p.extend_from_slice(&ct);
    p.extend_from_slice(&tag);
    p
}

#[test]
fn test_replay_and_too_old() {
    let alg = Algorithm::ChaCha20Poly1305;
    let tx = sa_with(alg, Backend::Ring, 0x4000, &keymat(alg), false);
    let rx = sa_with(alg, Backend::Ring, 0x4000, &keymat(alg), false);
    let pkts: Vec<Vec<u8>> = (0..200)
        .map(|_| {
            let mut b = VecBuf::new(&[1, 2, 3]);
            seal(&tx, &mut b, 4).unwrap();
            b.to_vec()
        })
        .collect();
    assert!(open(&rx, &mut VecBuf::new(&pkts[10])).is_ok());
    assert_eq!(
        open(&rx, &mut VecBuf::new(&pkts[10])),
        Err(DropReason::Replay)
    );
    assert!(open(&rx, &mut VecBuf::new(&pkts[150])).is_ok());
    // seq 11 + 64 <= 151: left of the window
    assert_eq!(
        open(&rx, &mut VecBuf::new(&pkts[10 + 1])),
        Err(DropReason::ReplayTooOld)
    );
    // inside the window, out of order: fine once
    assert!(open(&rx, &mut VecBuf::new(&pkts[100])).is_ok());
    assert_eq!(
        open(&rx, &mut VecBuf::new(&pkts[100])),
        Err(DropReason::Replay)
    );
}

#[test]
fn test_anti_replay_disabled_accepts_repeats_but_not_forgeries() {
    let alg = Algorithm::AesGcm128;
    let tx = sa_with(alg, Backend::Ring, 0x4100, &keymat(alg), false);
    let rx = sa_with(alg, Backend::Ring, 0x4100, &keymat(alg), false).without_anti_replay();
    assert!(!rx.anti_replay());
    assert!(tx.anti_replay(), "on by default");
    let pkts: Vec<Vec<u8>> = (0..200)
        .map(|_| {
            let mut b = VecBuf::new(&[1, 2, 3]);
            seal(&tx, &mut b, 4).unwrap();
            b.to_vec()
        })
        .collect();
    for i in [10, 10, 150, 11, 10] {
        let mut b = VecBuf::new(&pkts[i]);
        assert_eq!(open(&rx, &mut b).map(|o| o.seq), Ok(i as u64 + 1));
        assert_eq!(b.data(), &[1, 2, 3]);
    }
    assert_eq!(rx.replay_window().top(), 0, "the window does not move");
    let mut bad = pkts[20].clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(
        open(&rx, &mut VecBuf::new(&bad)),
        Err(DropReason::IcvMismatch)
    );
}

#[test]
fn test_sequence_exhaustion_stops_the_sa() {
    let alg = Algorithm::AesGcm128;
    let tx = sa_with(alg, Backend::Ring, 0x5000, &keymat(alg), false);
    tx.set_next_seq(u64::from(u32::MAX) - 1);
    assert!(!tx.rekey_needed());
    assert_eq!(
        seal(&tx, &mut VecBuf::new(&[0]), 4),
        Ok(u64::from(u32::MAX) - 1)
    );
    assert!(tx.rekey_needed(), "past the soft limit");
    assert_eq!(
        seal(&tx, &mut VecBuf::new(&[0]), 4),
        Ok(u64::from(u32::MAX))
    );
    for _ in 0..3 {
        assert_eq!(
            seal(&tx, &mut VecBuf::new(&[0]), 4),
            Err(DropReason::SeqExhausted)
        );
    }
    // ESN: the 64-bit counter stops at its maximum too.
    let tx = sa_with(alg, Backend::Ring, 0x5001, &keymat(alg), true);
    tx.set_next_seq(tx.max_seq());
    assert_eq!(seal(&tx, &mut VecBuf::new(&[0]), 4), Ok(tx.max_seq()));
    assert_eq!(tx.packets(), 1);
    assert_eq!(
        seal(&tx, &mut VecBuf::new(&[0]), 4),
        Err(DropReason::SeqExhausted)
    );
    assert_eq!(
        seal(&tx, &mut VecBuf::new(&[0]), 4),
        Err(DropReason::SeqExhausted)
    );
}

#[test]
fn test_no_room() {
    let alg = Algorithm::AesGcm128;
    let tx = sa_with(alg, Backend::Ring, 0x6000, &keymat(alg), false);
    let mut b = VecBuf::from_slice(&[1, 2, 3], 8, 64);
    assert_eq!(seal(&tx, &mut b, 4), Err(DropReason::NoRoom));
    let mut b = VecBuf::from_slice(&[1, 2, 3], 64, 8);
    assert_eq!(seal(&tx, &mut b, 4), Err(DropReason::NoRoom));
    assert_eq!(b.data(), &[1, 2, 3], "untouched on failure");
    assert_eq!(tx.next_seq(), 1, "no sequence number spent");
}

#[test]
fn test_config_errors() {
    let alg = Algorithm::AesGcm256;
    let mut cfg = SaConfig {
        spi: 255,
        algorithm: alg,
        backend: Backend::Ring,
        key: keymat(alg),
        esn: false,
        replay_window: 64,
    };
    assert_eq!(Sa::new(cfg.clone()).unwrap_err(), SaError::ReservedSpi(255));
    cfg.spi = 256;
    cfg.key.pop();
    assert!(matches!(Sa::new(cfg.clone()), Err(SaError::Key(_))));
    cfg.key = keymat(alg);
    cfg.replay_window = 32;
    assert!(matches!(Sa::new(cfg.clone()), Err(SaError::Window(_))));
    cfg.replay_window = 4096;
    let sa = Sa::new(cfg.clone()).unwrap();
    let dbg = format!("{sa:?} {cfg:?}");
    assert!(!dbg.contains("key: ["), "no key bytes in Debug: {dbg}");
}

/// Several threads seal on one SA: no sequence number leaves twice.
#[test]
fn test_concurrent_seal_unique_sequence_numbers() {
    let alg = Algorithm::AesGcm128;
    let tx = Arc::new(sa_with(alg, Backend::Ring, 0x7000, &keymat(alg), false));
    let seqs: Vec<u64> = (0..4)
        .map(|_| {
            let tx = Arc::clone(&tx);
            std::thread::spawn(move || {
                let mut v = Vec::new();
                let mut buf = VecBuf::with_capacity(256, 64);
                for _ in 0..20_000 {
                    buf.reset_from(&[1; 40], 64);
                    v.push(seal(&tx, &mut buf, 4).unwrap());
                }
                v
            })
        })
        .flat_map(|h| h.join().unwrap())
        .collect();
    let mut s = seqs.clone();
    s.sort_unstable();
    s.dedup();
    assert_eq!(s.len(), seqs.len());
    assert_eq!(s.first(), Some(&1));
    assert_eq!(s.last(), Some(&80_000));
}
