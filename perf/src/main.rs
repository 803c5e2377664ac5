//! `perf`: benchmarks of the dataplane core.
//!
//! ```text
//! perf esp [--seconds S] [--rounds N] [--max-entries N] [--markdown FILE]
//! ```
//!
//! Measures the ESP path against the bare AEAD on the same buffers for every
//! algorithm, backend and size, then SA/FIB lookups from 1 entry up to
//! `--max-entries`, and checks the figures against the project's goals.

use std::fmt::Write as _;

use anyhow::{bail, Context, Result};
use dataplane::crypto::{Algorithm, Backend};
use perf::esp_bench::{esp_row, lookup_row, Config, EspRow, LookupRow, Size};

const USAGE: &str = "usage: perf esp [--seconds S] [--rounds N] [--max-entries N] [--markdown FILE]

  --seconds S       measurement time per variant and row (default 0.4)
  --rounds N        interleaved rounds per variant; the median is kept (default 5)
  --max-entries N   largest SA/FIB table in the lookup benchmark (default 1000000)
  --markdown FILE   also write the results as Markdown tables to FILE";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("esp") => esp(&args[1..]),
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n{USAGE}"),
    }
}

fn esp(args: &[String]) -> Result<()> {
    let mut cfg = Config::default();
    let mut markdown = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--seconds" => cfg.seconds = val()?.parse().context("--seconds")?,
            "--rounds" => cfg.rounds = val()?.parse().context("--rounds")?,
            "--max-entries" => cfg.max_entries = val()?.parse().context("--max-entries")?,
            "--markdown" => markdown = Some(val()?.clone()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    if !cfg.seconds.is_finite() || cfg.seconds <= 0.0 || cfg.rounds == 0 {
        bail!("--seconds must be > 0 and --rounds >= 1");
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "## ESP path vs bare AEAD (ns per packet, single core; median of {} rounds of {:.2} s)\n",
        cfg.rounds,
        cfg.seconds / cfg.rounds as f64
    );
    let _ = writeln!(
        out,
        "| algorithm | backend | size | copy | aead seal | esp encap | encap/aead throughput | encap added ns | encap Gbit/s | aead open | esp decap | decap/aead throughput | decap added ns | decap Gbit/s |"
    );
    let _ = writeln!(
        out,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    print!("{out}");
    let mut rows = Vec::new();
    for alg in [
        Algorithm::AesGcm128,
        Algorithm::AesGcm256,
        Algorithm::ChaCha20Poly1305,
    ] {
        for backend in [Backend::Ring, Backend::RustCrypto] {
            for size in [
                Size::Fixed(64),
                Size::Fixed(512),
                Size::Fixed(1420),
                Size::Imix,
            ] {
                let r = esp_row(&cfg, alg, backend, size);
                let line = format!(
                    "| {:?} | {:?} | {} | {:.1} | {:.1} | {:.1} | {:.1}% | {:+.1} | {:.2} | {:.1} | {:.1} | {:.1}% | {:+.1} | {:.2} |",
                    r.alg,
                    r.backend,
                    r.size.label(),
                    r.copy_ns,
                    r.aead_seal_ns,
                    r.esp_encap_ns,
                    100.0 * r.aead_seal_ns / r.esp_encap_ns,
                    r.esp_encap_ns - r.aead_seal_ns,
                    r.gbps(r.esp_encap_ns),
                    r.aead_open_ns,
                    r.esp_decap_ns,
                    100.0 * r.aead_open_ns / r.esp_decap_ns,
                    r.esp_decap_ns - r.aead_open_ns,
                    r.gbps(r.esp_decap_ns),
                );
                println!("{line}");
                let _ = writeln!(out, "{line}");
                rows.push(r);
            }
        }
    }

    let mut sizes = vec![1usize, 1_000, 100_000, 1_000_000];
    sizes.retain(|&n| n <= cfg.max_entries);
    let head = "\n## Lookups (ns per lookup, one table snapshot per 64 lookups; hot = 1024 keys cycled, all = every key once in random order)\n\n\
         | entries | SA hot | SA all | FIB v4 hot | FIB v4 all | FIB v6 hot | FIB v6 all |\n|---|---|---|---|---|---|---|";
    println!("{head}");
    let _ = writeln!(out, "{head}");
    let mut lrows = Vec::new();
    for n in sizes {
        let r = lookup_row(&cfg, n);
        let line = format!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            r.entries,
            r.sa_hot_ns,
            r.sa_all_ns,
            r.fib4_hot_ns,
            r.fib4_all_ns,
            r.fib6_hot_ns,
            r.fib6_all_ns
        );
        println!("{line}");
        let _ = writeln!(out, "{line}");
        lrows.push(r);
    }

    let goals = goals(&rows, &lrows);
    println!("\n{goals}");
    let _ = writeln!(out, "\n{goals}");
    if let Some(path) = markdown {
        std::fs::write(&path, out).with_context(|| format!("writing {path}"))?;
        println!("(written to {path})");
    }
    Ok(())
}

fn find(rows: &[EspRow], alg: Algorithm, backend: Backend, size: Size) -> Option<&EspRow> {
    rows.iter()
        .find(|r| r.alg == alg && r.backend == backend && r.size == size)
}

/// The project's goals for the dataplane core, checked on this run.
fn goals(rows: &[EspRow], lrows: &[LookupRow]) -> String {
    let mut s = String::from("## Goals, checked on this run\n\n");
    let mut line = |ok: bool, text: String| {
        let _ = writeln!(s, "- {} {text}", if ok { "MET   " } else { "MISSED" });
    };
    for r in rows.iter().filter(|r| r.size == Size::Fixed(1420)) {
        let enc = r.aead_seal_ns / r.esp_encap_ns;
        let dec = r.aead_open_ns / r.esp_decap_ns;
        line(
            enc >= 0.9 && dec >= 0.9,
            format!(
                "1420 B {:?}/{:?}: ESP path at >= 90% of bare AEAD throughput: encap {:.1}%, decap {:.1}%",
                r.alg,
                r.backend,
                100.0 * enc,
                100.0 * dec
            ),
        );
    }
    for r in rows.iter().filter(|r| r.size == Size::Fixed(64)) {
        let enc = r.esp_encap_ns - r.aead_seal_ns;
        let dec = r.esp_decap_ns - r.aead_open_ns;
        line(
            enc <= 40.0 && dec <= 40.0,
            format!(
                "64 B {:?}/{:?}: ESP adds <= 40 ns to the bare AEAD: encap {enc:+.1} ns, decap {dec:+.1} ns",
                r.alg, r.backend
            ),
        );
    }
    for alg in [Algorithm::AesGcm128, Algorithm::AesGcm256] {
        if let (Some(a), Some(b)) = (
            find(rows, alg, Backend::Ring, Size::Fixed(1420)),
            find(rows, alg, Backend::RustCrypto, Size::Fixed(1420)),
        ) {
            let x = b.esp_encap_ns / a.esp_encap_ns;
            let y = b.esp_decap_ns / a.esp_decap_ns;
            line(
                x >= 2.0 && y >= 2.0,
                format!("1420 B {alg:?}: ring >= 2x RustCrypto: encap {x:.2}x, decap {y:.2}x"),
            );
        }
    }
    for r in lrows {
        let worst = r.sa_hot_ns.max(r.fib4_hot_ns).max(r.fib6_hot_ns);
        line(
            worst < 20.0,
            format!(
                "{} entries: SA and FIB lookups under 20 ns (hot set): SA {:.1}, FIB v4 {:.1}, FIB v6 {:.1} ns",
                r.entries, r.sa_hot_ns, r.fib4_hot_ns, r.fib6_hot_ns
            ),
        );
    }
    s
}
