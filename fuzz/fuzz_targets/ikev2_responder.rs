//! The IKEv2 endpoint as a responder (a hub) on arbitrary datagrams, on
//! arbitrary inner payload chains sealed with a real IKE SA's keys (so
//! that they get past the ICV), and on time passing.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    controlplane::ikev2::fuzz_responder(data);
});
