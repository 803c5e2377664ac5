//! Snapshot tests of the IKE SA and Child SA transition tables: the
//! rendered tables must equal the committed files in `tests/snapshots/`.
//! After a deliberate change of a lifecycle, write the files again with
//! `UPDATE_SNAPSHOTS=1 cargo test -p controlplane --test state_tables`
//! and review the diff.

use std::path::PathBuf;

use controlplane::ikev2::state::{render_child_table, render_ike_table};

fn check(name: &str, rendered: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, rendered).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_SNAPSHOTS=1)", path.display()));
    assert!(
        committed == rendered,
        "the transition table changed; review and update {}:\n--- committed\n{committed}\n--- now\n{rendered}",
        path.display()
    );
}

#[test]
fn snapshot_ike_sa_transitions() {
    check("ike_sa_transitions.txt", &render_ike_table());
}

#[test]
fn snapshot_child_sa_transitions() {
    check("child_sa_transitions.txt", &render_child_table());
}
