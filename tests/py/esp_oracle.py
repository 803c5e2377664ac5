#!/usr/bin/env python3
"""Independent ESP oracle for the system tests, built on scapy.

usage: esp_oracle.py decrypt CASES.json   -> prints one JSON object per case
       esp_oracle.py encrypt CASES.json   -> writes each case's pcap

A case (JSON object):
  alg        "AES-GCM" | "CHACHA20-POLY1305"  (scapy names; key length picks 128/256)
  key        hex of key || 4-byte salt
  spi        integer
  esn        bool: extended sequence numbers
  mode       "gre" (GRE inside ESP, next header 47) | "ipsec" (tunnel mode, next header 4/41)
  gre_key    integer or null
  nat_t      null or [sport, dport]  (UDP encapsulation, RFC 3948)
  outer      [src, dst]  (IPv4 or IPv6 strings)
  pcap       path: input for decrypt, output for encrypt (Ethernet frames)
  inner      encrypt only: list of hex inner IP packets
  seqs       encrypt only: list of 64-bit sequence numbers, one per packet
  eth        encrypt only: [dst_mac, src_mac]

decrypt prints {"case": i, "inner": [hex...], "errors": [...]} per case:
the decrypted inner IP packets in order (GRE removed in gre mode).
"""
import json
import sys

from scapy.all import GRE, IP, UDP, Ether, IPv6, Raw, raw, rdpcap, wrpcap  # noqa: E402
from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402


def outer_cls(addr):
    return IPv6 if ":" in addr else IP


def make_sa(c, tunnel):
    nat = UDP(sport=c["nat_t"][0], dport=c["nat_t"][1]) if c.get("nat_t") else None
    kw = dict(spi=c["spi"], crypt_algo=c["alg"], crypt_key=bytes.fromhex(c["key"]),
              nat_t_header=nat, esn_en=bool(c.get("esn")))
    if tunnel:
        src, dst = c["outer"]
        kw["tunnel_header"] = outer_cls(src)(src=src, dst=dst)
    return SecurityAssociation(ESP, **kw)


def inner_of(c, dec):
    """The inner IP packet of a decrypted packet."""
    if c["mode"] == "gre":
        # transport-mode decryption leaves outer IP / GRE / inner
        gre = dec[GRE]
        if gre.proto not in (0x0800, 0x86DD):
            raise ValueError(f"GRE protocol {gre.proto:#x}")
        if c.get("gre_key") is not None and (not gre.key_present or gre.key != c["gre_key"]):
            raise ValueError(f"GRE key {gre.key} != {c['gre_key']}")
        return raw(gre.payload)
    return raw(dec)


def decrypt(cases):
    for i, c in enumerate(cases):
        out, errors = [], []
        tunnel = c["mode"] == "ipsec"
        for n, frame in enumerate(rdpcap(c["pcap"])):
            pkt = frame.payload  # below Ethernet
            sa = make_sa(c, tunnel)
            try:
                esp = pkt[ESP]
                seq_hi = None
                if c.get("esn"):
                    # scapy does not infer the ESN high bits: the test feeds
                    # them through the pcap comment-free way, as a field.
                    seq_hi = c["seq_hi"][n]
                dec = sa.decrypt(pkt.copy(), esn=seq_hi) if c.get("esn") else sa.decrypt(pkt.copy())
                if esp.spi != c["spi"]:
                    raise ValueError("SPI")
                out.append(inner_of(c, dec).hex())
            except Exception as e:  # report, do not stop: the test asserts
                errors.append(f"frame {n}: {type(e).__name__}: {e}")
        print(json.dumps({"case": i, "inner": out, "errors": errors}))


def encrypt(cases):
    for c in cases:
        src, dst = c["outer"]
        O = outer_cls(src)
        frames = []
        for hexpkt, seq in zip(c["inner"], c["seqs"]):
            b = bytes.fromhex(hexpkt)
            inner = IPv6(b) if b[0] >> 4 == 6 else IP(b)
            seq_lo, seq_hi = seq & 0xFFFFFFFF, seq >> 32
            if c["mode"] == "gre":
                g = GRE(proto=0x86DD if inner.version == 6 else 0x0800)
                if c.get("gre_key") is not None:
                    g.key_present = 1
                    g.key = c["gre_key"]
                plain = (O(src=src, dst=dst, nh=47) if O is IPv6 else O(src=src, dst=dst, proto=47)) / g / inner
                sa = make_sa(c, tunnel=False)   # transport mode over outer/GRE
            else:
                plain = inner
                sa = make_sa(c, tunnel=True)
            # scapy reads seq_num=0 as "not given" (seq_num or self.seq_num):
            # a low half of 0 (ESN crossing 2^32) goes through the SA instead.
            sa.seq_num = seq_lo
            kw = dict(seq_num=seq_lo or None)
            if c.get("esn"):
                kw["esn"] = seq_hi
            enc = sa.encrypt(plain, **kw)
            frames.append(Ether(dst=c["eth"][0], src=c["eth"][1]) / enc)
        wrpcap(c["pcap"], frames)
    print(json.dumps({"written": len(cases)}))


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        cases = json.load(f)
    {"decrypt": decrypt, "encrypt": encrypt}[mode](cases)
