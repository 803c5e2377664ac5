//! The whole receive pipeline (classification, ESP open, decapsulation,
//! forwarding) on arbitrary frames, and on validly sealed arbitrary
//! plaintexts so that the fuzzer reaches past the ICV check.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dataplane::fuzzing::inbound(data);
});
