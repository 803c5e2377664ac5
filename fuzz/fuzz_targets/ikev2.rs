//! The IKEv2 codec on arbitrary bytes: messages (parse, emit, parse again,
//! equal), parse_outer, inner chains, the RFC 7383 reassembler and the
//! fragment splitter.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    controlplane::ikev2::codec::fuzz_parse_all(data);
});
