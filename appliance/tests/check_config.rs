//! `appliance check-config`: the seed configurations load with their
//! warnings but cannot run without the certificates they reference; with
//! pre-shared keys instead they pass; a bad line fails with its number.

use std::process::Command;

fn run(path: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_appliance"))
        .arg("check-config")
        .arg(path)
        .output()
        .expect("run appliance");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn seed_configs_pass_and_errors_fail() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../controlplane/tests/configs");
    for name in ["static-hub.conf", "static-spoke1.conf", "bgp-spoke2.conf"] {
        let (ok, text) = run(&dir.join(name));
        assert!(!ok, "{name}: {text}");
        assert!(text.contains("trustpoint CA is not defined"), "{text}");
        assert!(text.contains(": loads ("), "{text}");
        assert!(text.contains("cannot run"), "{text}");
    }
    for name in ["static-hub.conf", "static-spoke1.conf", "bgp-spoke2.conf"] {
        let psk = std::fs::read_to_string(dir.join(name))
            .unwrap()
            .replace("rsa-sig", "pre-share")
            .replace("pki trustpoint CA", "keyring local k")
            + "crypto ikev2 keyring k\n peer any\n  address 0.0.0.0 0.0.0.0\n  pre-shared-key s\n";
        let f =
            std::env::temp_dir().join(format!("check-config-psk-{}-{name}", std::process::id()));
        std::fs::write(&f, psk).unwrap();
        let (ok, text) = run(&f);
        let _ = std::fs::remove_file(&f);
        assert!(ok, "{name}: {text}");
        assert!(text.contains(": ok: "), "{text}");
    }
    let bad = std::env::temp_dir().join(format!("check-config-{}.conf", std::process::id()));
    std::fs::write(
        &bad,
        "hostname x\n!\ninterface Tunnel0\n ip address 10.0.0.1 255.255.0.255\n",
    )
    .unwrap();
    let (ok, text) = run(&bad);
    let _ = std::fs::remove_file(&bad);
    assert!(!ok, "{text}");
    assert!(text.contains("line 4: error:"), "{text}");
}
