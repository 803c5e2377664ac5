//! The control-plane/dataplane message codec on arbitrary bytes (what one
//! process reads from the other's ring): decode never panics, and what
//! decodes encodes back to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dataplane::ctl::fuzz_decode(data);
});
