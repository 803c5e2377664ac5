//! The shared-memory rings between two processes: this test creates the
//! region (as the dataplane does) and runs itself again as the other
//! process (as the control plane), which opens it, bumps its generation
//! and streams numbered messages; replies go back on the other ring.
//! A second child attaches after the first one exited (a control-plane
//! restart) and goes on where the first stopped.

use std::process::Command;

use ffi::shm::{Dir, Layout, Region, ShmError};

const N: u64 = 50_000;

fn child(name: &str, start: u64) {
    let r = Region::open(name).unwrap();
    let generation = r.attach_control();
    let mut tx = r.producer(Dir::ToDataplane).unwrap();
    let mut rx = r.consumer(Dir::ToControl).unwrap();
    let mut buf = Vec::new();
    let mut i = start;
    let mut acks = 0u64;
    while i < start + N || acks < N {
        if i < start + N {
            let mut m = generation.to_le_bytes().to_vec();
            m.extend_from_slice(&i.to_le_bytes());
            match tx.push(&m) {
                Ok(()) => i += 1,
                Err(ShmError::Full) => {}
                Err(e) => panic!("{e}"),
            }
        }
        if rx.pop(&mut buf).unwrap() {
            assert_eq!(
                u64::from_le_bytes(buf[..8].try_into().unwrap()),
                start + acks
            );
            acks += 1;
        }
    }
}

#[test]
fn rings_across_processes_and_a_restart() {
    if let Ok(spec) = std::env::var("FFI_SHM_CHILD") {
        let (name, start) = spec.split_once(':').unwrap();
        child(name, start.parse().unwrap());
        return;
    }
    let name = format!("flexvpn-proc-{}", std::process::id());
    let region = Region::create(
        &name,
        Layout {
            slots: 256,
            slot_size: 64,
        },
    )
    .unwrap();
    struct Unlink(String);
    impl Drop for Unlink {
        fn drop(&mut self) {
            Region::unlink(&self.0);
        }
    }
    let _u = Unlink(name.clone());
    let mut rx = region.consumer(Dir::ToDataplane).unwrap();
    let mut tx = region.producer(Dir::ToControl).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut buf = Vec::new();
    for (round, start) in [(1u64, 0u64), (2, N)] {
        let mut c = Command::new(&exe)
            .args([
                "--exact",
                "rings_across_processes_and_a_restart",
                "--nocapture",
            ])
            .env("FFI_SHM_CHILD", format!("{name}:{start}"))
            .spawn()
            .unwrap();
        let mut got = 0u64;
        let mut pending_ack: Option<u64> = None;
        while got < N {
            if let Some(a) = pending_ack {
                match tx.push(&a.to_le_bytes()) {
                    Ok(()) => pending_ack = None,
                    Err(ShmError::Full) => continue,
                    Err(e) => panic!("{e}"),
                }
            }
            if rx.pop(&mut buf).unwrap() {
                let generation = u64::from_le_bytes(buf[..8].try_into().unwrap());
                let i = u64::from_le_bytes(buf[8..16].try_into().unwrap());
                assert_eq!(
                    generation, round,
                    "a restarted control plane has a new generation"
                );
                assert_eq!(i, start + got);
                pending_ack = Some(i);
                got += 1;
            } else if let Some(s) = c.try_wait().unwrap() {
                panic!("child exited early: {s}");
            }
        }
        while let Some(a) = pending_ack {
            match tx.push(&a.to_le_bytes()) {
                Ok(()) => pending_ack = None,
                Err(ShmError::Full) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert!(c.wait().unwrap().success());
        assert_eq!(region.cp_generation(), round);
    }
}
