//! `perf`: benchmarks of the dataplane core.
//!
//! ```text
//! perf esp [--seconds S] [--rounds N] [--max-entries N] [--markdown FILE]
//! perf dpdk [--seconds S] [--sizes 64,512,1420] [--modes fwd,encrypt,decrypt]
//!           [--algs aes128gcm,chacha20poly1305] [--markdown FILE] [--hugepages]
//! perf ike [--tunnels N] [--window N] [--transports memory,udp]
//!          [--crypto-iterations N] [--markdown FILE]
//! perf gen --out FILE.pcap [--count N] [--size B|imix] [--flows N] [--dsts N]
//!          [--src ADDR] [--dst ADDR] [--esp SPI:ALG:HEXKEY --outer SRC,DST
//!          [--gre KEY|--gre-nokey] [--nat-t] [--esn] [--first-seq N]]
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
       perf dpdk [options]                  (perf dpdk --help)
       perf ike [options]                   (perf ike --help)
       perf gen --out FILE.pcap [options]   (perf gen --help)

  --seconds S       measurement time per variant and row (default 0.4)
  --rounds N        interleaved rounds per variant; the median is kept (default 5)
  --max-entries N   largest SA/FIB table in the lookup benchmark (default 1000000)
  --markdown FILE   also write the results as Markdown tables to FILE";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("esp") => esp(&args[1..]),
        Some("gen") => gen_cmd(&args[1..]),
        Some("dpdk") => dpdk_cmd(&args[1..]),
        Some("ike") => ike_cmd(&args[1..]),
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
        for backend in Backend::ALL {
            // ipsec-mb hands ChaCha20-Poly1305 to ring: no second ring row.
            if backend.effective(alg) != backend {
                continue;
            }
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

const GEN_USAGE: &str = "usage: perf gen --out FILE.pcap [options]

Writes Ethernet frames to a pcap: UDP flows, or an ESP stream for one SA.

  --count N          frames (default 1000)
  --size B|imix      IP packet size in bytes, or the simple IMIX (default 64)
  --flows N          distinct source address/port pairs (default 1)
  --dsts N           distinct destination addresses (default 1)
  --src ADDR         first source address (default 10.1.0.1; IPv6 allowed)
  --dst ADDR         first destination address (default 10.2.0.1)
  --dst-mac MAC      Ethernet destination (default 02:00:00:00:00:01)
  --esp SPI:ALG:KEY  encrypt: SPI in hex, ALG aes128gcm|aes256gcm|chacha20poly1305,
                     KEY in hex (key and 4-byte salt)
  --outer SRC,DST    outer addresses of the ESP stream (required with --esp)
  --gre KEY          GRE with this key inside ESP (default: plain IPsec tunnel mode)
  --gre-nokey        GRE without a key inside ESP
  --nat-t            UDP 4500 encapsulation
  --esn              extended sequence numbers
  --first-seq N      first sequence number (default 1)";

fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        bail!("MAC {s:?}: expected six hex bytes separated by ':'");
    }
    let mut m = [0u8; 6];
    for (b, p) in m.iter_mut().zip(parts) {
        *b = u8::from_str_radix(p, 16).with_context(|| format!("MAC {s:?}"))?;
    }
    Ok(m)
}

fn parse_esp(s: &str) -> Result<(u32, Algorithm, Vec<u8>)> {
    let mut it = s.splitn(3, ':');
    let (Some(spi), Some(alg), Some(key)) = (it.next(), it.next(), it.next()) else {
        bail!("--esp {s:?}: expected SPI:ALG:KEY");
    };
    let spi = u32::from_str_radix(spi.trim_start_matches("0x"), 16).context("--esp SPI")?;
    let alg = match alg.to_ascii_lowercase().as_str() {
        "aes128gcm" => Algorithm::AesGcm128,
        "aes256gcm" => Algorithm::AesGcm256,
        "chacha20poly1305" => Algorithm::ChaCha20Poly1305,
        other => bail!("--esp algorithm {other:?}: aes128gcm, aes256gcm or chacha20poly1305"),
    };
    if key.len() % 2 != 0 {
        bail!("--esp key: odd number of hex digits");
    }
    let key = (0..key.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&key[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .context("--esp key")?;
    Ok((spi, alg, key))
}

fn gen_cmd(args: &[String]) -> Result<()> {
    use perf::traffic::{EspSpec, Generator, Sizes, Spec};
    let mut spec = Spec::default();
    let mut out = None;
    let mut count = 1000u64;
    let mut esp: Option<(u32, Algorithm, Vec<u8>)> = None;
    let mut outer = None;
    let mut mode = dataplane::tunnel::TunnelMode::Ipsec;
    let (mut nat_t, mut esn, mut first_seq) = (false, false, 1u64);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--out" => out = Some(val()?.clone()),
            "--count" => count = val()?.parse().context("--count")?,
            "--size" => spec.sizes = val()?.parse::<Sizes>()?,
            "--flows" => spec.flows = val()?.parse().context("--flows")?,
            "--dsts" => spec.destinations = val()?.parse().context("--dsts")?,
            "--src" => spec.src = val()?.parse().context("--src")?,
            "--dst" => spec.dst = val()?.parse().context("--dst")?,
            "--dst-mac" => spec.dst_mac = parse_mac(val()?)?,
            "--esp" => esp = Some(parse_esp(val()?)?),
            "--outer" => {
                let v = val()?;
                let (s, d) = v.split_once(',').context("--outer SRC,DST")?;
                outer = Some((
                    s.parse().context("--outer source")?,
                    d.parse().context("--outer destination")?,
                ));
            }
            "--gre" => {
                mode = dataplane::tunnel::TunnelMode::Gre {
                    key: Some(val()?.parse().context("--gre key")?),
                }
            }
            "--gre-nokey" => mode = dataplane::tunnel::TunnelMode::Gre { key: None },
            "--nat-t" => nat_t = true,
            "--esn" => esn = true,
            "--first-seq" => first_seq = val()?.parse().context("--first-seq")?,
            "-h" | "--help" => {
                println!("{GEN_USAGE}");
                return Ok(());
            }
            other => bail!("unknown option {other:?}\n{GEN_USAGE}"),
        }
    }
    let out = out.context("--out FILE is required")?;
    if let Some((spi, algorithm, key)) = esp {
        let (outer_src, outer_dst) = outer.context("--esp needs --outer SRC,DST")?;
        spec.esp = Some(EspSpec {
            spi,
            algorithm,
            key,
            esn,
            outer_src,
            outer_dst,
            mode,
            nat_t,
            first_seq,
        });
    } else if outer.is_some() || nat_t || esn {
        bail!("--outer, --nat-t and --esn only apply with --esp");
    }
    let mut g = Generator::new(spec)?;
    let file = std::fs::File::create(&out).with_context(|| format!("creating {out}"))?;
    let mut w = perf::pcap::PcapWriter::new(std::io::BufWriter::new(file), 1)?;
    for i in 0..count {
        w.write(i, &g.next_frame()?)?;
    }
    let n = w.count();
    w.finish()?;
    println!("wrote {n} frames to {out}");
    Ok(())
}

const DPDK_USAGE: &str = "usage: perf dpdk [options]

Runs the dataplane worker loop on one worker lcore (one EAL, one process):
the I/O ceiling, then each mode, per size; and the bare AEAD on the same
lcore. Default source (pcap): the worker polls a looping net_pcap
(infinite_rx=1, pcaps from our generator in a temp dir) and transmits to
net_null, as DPDK's ipsec-secgw was measured; decrypt runs with anti-replay
off (the looping sequence numbers repeat). --source ring: the main lcore
feeds the worker over net_ring and measures latency percentiles.

  --seconds S        measurement window per variant (default 1; 10% warm-up before)
  --sizes LIST       inner IP sizes (default 64,512,1420)
  --modes LIST       fwd,encrypt,decrypt (default all; the I/O ceiling always runs)
  --algs LIST        aes128gcm,aes256gcm,chacha20poly1305 (default aes128gcm,chacha20poly1305)
  --source pcap|ring where packets come from (default pcap; ring gives latency)
  --workers N        worker lcores (pcap source; each its own pcap and null
                     port); per-worker RESULT lines and a worker=total line
  --crypto B         AEAD backend of the dataplane: ipsec-mb (default: Intel's
                     IPsec Multi-Buffer library for AES-GCM, ring for
                     ChaCha20-Poly1305), ring or rustcrypto; the bare AEAD is
                     measured for it and for ring
  --runs N           run the whole list N times (pcap source), interleaved;
                     report each variant's median run and the spread
  --markdown FILE    also write the table to FILE
  --hugepages        raise 2 MiB huge pages (root) and run with --in-memory; the
                     old count is put back afterwards";

fn dpdk_cmd(args: &[String]) -> Result<()> {
    use perf::dpdk_bench::{self, DpdkConfig};
    let mut cfg = DpdkConfig::default();
    let mut markdown = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--seconds" => cfg.seconds = val()?.parse().context("--seconds")?,
            "--sizes" => {
                cfg.sizes = val()?
                    .split(',')
                    .map(|s| {
                        let n: usize = s.trim().parse().with_context(|| format!("size {s:?}"))?;
                        if !(64..=1500).contains(&n) {
                            bail!("size {n} outside 64..=1500");
                        }
                        Ok(n)
                    })
                    .collect::<Result<_>>()?
            }
            "--modes" => {
                cfg.modes = val()?
                    .split(',')
                    .map(|s| s.trim().parse())
                    .collect::<Result<_>>()?
            }
            "--algs" => {
                cfg.algs = val()?
                    .split(',')
                    .map(|s| dpdk_bench::parse_alg(s.trim()))
                    .collect::<Result<_>>()?
            }
            "--markdown" => markdown = Some(val()?.clone()),
            "--hugepages" => cfg.hugepages = true,
            "--source" => cfg.source = val()?.parse()?,
            "--workers" => cfg.workers = val()?.parse().context("--workers")?,
            "--runs" => cfg.runs = val()?.parse().context("--runs")?,
            "--crypto" => {
                let v = val()?;
                cfg.crypto = Backend::from_name(v)
                    .with_context(|| format!("--crypto {v:?}: ipsec-mb, ring or rustcrypto"))?;
            }
            "-h" | "--help" => {
                println!("{DPDK_USAGE}");
                return Ok(());
            }
            other => bail!("unknown option {other:?}\n{DPDK_USAGE}"),
        }
    }
    let report = dpdk_bench::run(&cfg)?;
    let md = dpdk_bench::markdown(&report);
    println!("\n{md}");
    if let Some(path) = markdown {
        std::fs::write(&path, &md).with_context(|| format!("writing {path}"))?;
        println!("(written to {path})");
    }
    Ok(())
}

const IKE_USAGE: &str = "usage: perf ike [options]

End-to-end IKEv2 tunnels per second (IKE_SA_INIT + IKE_AUTH + first Child
SA; PSK, X25519, AES-GCM-256) of one responder Endpoint on one thread
against our own load generator; the responder thread's CPU time is counted.

  --tunnels N             tunnels per transport (default 20000)
  --window N              tunnels being set up at once (default 64)
  --transports LIST       memory,udp (default both)
  --crypto-iterations N   iterations of the crypto-only ceiling (default 5000)
  --markdown FILE         also write the table to FILE";

fn ike_cmd(args: &[String]) -> Result<()> {
    use perf::ike_bench;
    let mut cfg = ike_bench::IkeBenchConfig::default();
    let mut markdown = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--tunnels" => cfg.tunnels = val()?.parse().context("--tunnels")?,
            "--window" => cfg.window = val()?.parse().context("--window")?,
            "--transports" => {
                cfg.transports = val()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<Vec<_>>>()?;
            }
            "--crypto-iterations" => {
                cfg.crypto_iterations = val()?.parse().context("--crypto-iterations")?;
            }
            "--markdown" => markdown = Some(val()?.clone()),
            "-h" | "--help" => {
                println!("{IKE_USAGE}");
                return Ok(());
            }
            other => bail!("unknown option {other:?}\n{IKE_USAGE}"),
        }
    }
    if cfg.tunnels == 0 || cfg.window == 0 {
        bail!("--tunnels and --window must be >= 1");
    }
    let report = ike_bench::run(&cfg)?;
    let md = ike_bench::markdown(&report);
    print!("{md}");
    if let Some(path) = markdown {
        std::fs::write(&path, &md).with_context(|| format!("writing {path}"))?;
    }
    Ok(())
}
