//! `appliance demo`: the scenario with a timeline.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::scenario::{Scenario, Variant};

/// Average round trip (ms) in ping's summary line, and the loss.
fn rtt(out: &str) -> Option<(f64, String)> {
    let line = out.lines().find(|l| l.contains("min/avg/max"))?;
    let avg: f64 = line
        .split('=')
        .nth(1)?
        .trim()
        .split('/')
        .nth(1)?
        .parse()
        .ok()?;
    let loss = out
        .lines()
        .find(|l| l.contains("packet loss"))?
        .split(',')
        .find(|p| p.contains("packet loss"))?
        .trim()
        .to_string();
    Some((avg, loss))
}

/// A UDP receiver (host2) and sender (host1), as Python one-liners, for
/// the throughput over the shortcut: what the receiver counted, in bits
/// per second.
fn throughput(s: &Scenario, dst: &str, seconds: u32) -> Result<f64> {
    let recv = format!(
        "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('{dst}',5001))\ns.settimeout(1.0)\nn=0\nend=None\nstart=time.time()\ngiveup=start+10\nwhile True:\n  try:\n    d=s.recv(2048)\n  except socket.timeout:\n    if time.time()>(end or giveup): break\n    continue\n  if end is None:\n    start=time.time(); end=start+{seconds}\n  n+=len(d)\n  if time.time()>end: break\nprint(n*8/max(time.time()-start,1e-3))\n"
    );
    let send = format!(
        "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nb=b'x'*1372\nend=time.time()+{}\nwhile time.time()<end:\n  for _ in range(64):\n    try: s.sendto(b,('{dst}',5001))\n    except OSError: pass\n",
        seconds + 1
    );
    let ns2 = s.topo.hosts[1].ns.clone();
    let ns1 = s.topo.hosts[0].ns.clone();
    let rx = std::process::Command::new("ip")
        .args(["netns", "exec", &ns2, "python3", "-c", &recv])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("python3 receiver")?;
    std::thread::sleep(Duration::from_millis(500));
    let tx = std::process::Command::new("ip")
        .args(["netns", "exec", &ns1, "python3", "-c", &send])
        .status()
        .context("python3 sender")?;
    if !tx.success() {
        bail!("sender failed");
    }
    let out = rx.wait_with_output()?;
    let bps: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("receiver output")?;
    Ok(bps)
}

/// Runs the demo; the timeline goes to `out`. `keep`: leave everything
/// running until Enter is pressed (to look around with `appliance show`).
///
/// # Errors
///
/// A step did not happen in time (the error carries the logs).
pub fn run(exe: &Path, out: &mut dyn Write, keep: bool) -> Result<()> {
    let tag = format!("d{}", std::process::id() % 100_000);
    let dir = std::env::temp_dir().join(format!("flexvpn-demo-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    let t0 = Instant::now();
    let at = || format!("{:6.2}s", t0.elapsed().as_secs_f64());
    writeln!(out, "{} building the network: hub, spoke1, spoke2, host1 (192.168.110.10), host2 (192.168.120.10) in namespaces; each appliance is a DPDK dataplane (net_af_packet, no hugepages) and a control plane", at())?;
    let mut s = Scenario::start(exe, &tag, &dir, Variant::default())?;
    writeln!(
        out,
        "{} processes running; files and logs in {}",
        at(),
        dir.display()
    )?;
    s.wait("tunnels up", Duration::from_secs(60), |s| {
        (1..3).all(|i| {
            s.show(i, &["crypto", "ikev2", "client", "flexvpn"])
                .contains("Current State:UP")
        })
    })?;
    for i in 1..3 {
        let c = s.show(i, &["crypto", "ikev2", "client", "flexvpn"]);
        let addr = c
            .lines()
            .find_map(|l| l.split("Assigned address : ").nth(1))
            .unwrap_or("?");
        writeln!(
            out,
            "{} tunnel up: {} Tunnel0 -> hub, address {addr} from the hub's pool",
            at(),
            s.nodes[i].name
        )?;
    }
    // The first packets: through the hub, which redirects.
    let first = s.ping(0, "192.168.120.10", &["-c", "5", "-i", "0.2", "-W", "2"]);
    let first = first.with_context(|| s.logs())?;
    let (before, loss) = rtt(&first).unwrap_or((f64::NAN, String::new()));
    writeln!(
        out,
        "{} first packets host1 -> host2 via the hub: avg rtt {before:.3} ms ({loss})",
        at()
    )?;
    s.wait("redirect", Duration::from_secs(20), |s| {
        !s.show(0, &["metrics"])
            .contains("flexvpn_nhrp_redirects_sent_total 0\n")
    })?;
    writeln!(
        out,
        "{} hub sent an NHRP redirect (Traffic Indication) to spoke1",
        at()
    )?;
    s.wait("shortcut", Duration::from_secs(30), |s| {
        s.show(1, &["ip", "route"])
            .contains("H     192.168.120.0/24")
    })?;
    let nhrp = s.show(1, &["ip", "nhrp"]);
    let via = nhrp
        .lines()
        .find(|l| l.starts_with("192.168.120.0/24"))
        .unwrap_or("")
        .to_string();
    writeln!(
        out,
        "{} shortcut up: spoke1 {via} (spoke-to-spoke IKEv2/IPsec, NHRP route installed)",
        at()
    )?;
    let after = s.ping(0, "192.168.120.10", &["-c", "10", "-i", "0.2", "-W", "2"]);
    let after = after.with_context(|| s.logs())?;
    let (rtt_after, loss) = rtt(&after).unwrap_or((f64::NAN, String::new()));
    writeln!(out, "{} latency host1 -> host2: {before:.3} ms via the hub, {rtt_after:.3} ms over the shortcut ({loss})", at())?;
    match throughput(&s, "192.168.120.10", 3) {
        Ok(bps) => writeln!(
            out,
            "{} throughput over the shortcut (UDP, 1400-byte packets, 3 s): {:.1} Mbit/s",
            at(),
            bps / 1e6
        )?,
        Err(e) => writeln!(out, "{} throughput not measured: {e:#}", at())?,
    }
    writeln!(
        out,
        "\n--- show ip nhrp (spoke1) ---\n{}",
        s.show(1, &["ip", "nhrp"])
    )?;
    writeln!(
        out,
        "--- show crypto ikev2 sa (hub) ---\n{}",
        s.show(0, &["crypto", "ikev2", "sa"])
    )?;
    for i in 1..3 {
        writeln!(
            out,
            "--- show dataplane ({}) ---\n{}",
            s.nodes[i].name,
            s.show(i, &["dataplane"])
        )?;
    }
    if keep {
        writeln!(
            out,
            "running; try: appliance show --socket {} ip route   (Enter stops)",
            s.nodes[1].socket.display()
        )?;
        out.flush()?;
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    }
    let ok = s.stop();
    writeln!(
        out,
        "{} stopped{}",
        at(),
        if ok {
            ""
        } else {
            " (a process did not exit cleanly; see the logs)"
        }
    )?;
    if !ok {
        bail!("a process did not stop cleanly\n{}", s.logs());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_rtt_parse() {
        let out = "5 packets transmitted, 5 received, 0% packet loss, time 801ms\nrtt min/avg/max/mdev = 0.210/0.412/0.925/0.264 ms\n";
        let (avg, loss) = rtt(out).unwrap();
        assert!((avg - 0.412).abs() < 1e-9);
        assert_eq!(loss, "0% packet loss");
        assert!(rtt("nothing").is_none());
    }
}
