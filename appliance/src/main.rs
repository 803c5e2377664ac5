//! `appliance`: the operator-facing binary.
//!
//! Not implemented yet. The two-process appliance (dataplane + control plane,
//! `appliance run --config FILE`, `appliance show ...`, `/metrics`) arrives
//! with a later issue; until then this binary only says so.

fn main() -> anyhow::Result<()> {
    anyhow::bail!(
        "the appliance is not implemented yet; run `scripts/run-main.sh` for the dataplane benchmark"
    )
}
