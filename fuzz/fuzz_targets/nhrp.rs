//! The NHRP codec on arbitrary bytes: parse, emit, parse again, equal.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    controlplane::nhrp::codec::fuzz_parse_all(data);
});
