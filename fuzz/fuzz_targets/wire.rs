//! Every wire parser on arbitrary bytes, with emit/parse round trips.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dataplane::wire::fuzz_parse_all(data);
});
