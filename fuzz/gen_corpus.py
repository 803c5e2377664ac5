#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (run from fuzz/ with the
project's venv: ../.venv/bin/python gen_corpus.py). Packets are built with
scapy, independently of the code under test."""
import hashlib
import os

from scapy.all import (ARP, GRE, ICMP, IP, UDP, Dot1AD, Dot1Q, Ether, IPv6,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       Raw, raw)
from scapy.layers.ipsec import ESP

LOCAL, REMOTE = "198.51.100.1", "198.51.100.2"
E = Ether(dst="02:00:00:00:00:20", src="02:00:00:00:00:02")


def write(target, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


inner4 = IP(src="10.9.0.1", dst="192.168.1.5") / UDP(sport=1, dport=2) / Raw(b"x" * 20)
inner6 = IPv6(src="2001:db8::1", dst="2001:db8:1::5") / UDP(sport=1, dport=2) / Raw(b"y" * 20)
esp = ESP(spi=0x11223344, seq=1) / Raw(bytes(range(40)))
frames = [
    E / ARP(op=1, psrc=REMOTE, pdst=LOCAL),
    E / Dot1Q(vlan=10) / IP(src=REMOTE, dst=LOCAL) / UDP(sport=500, dport=500) / Raw(b"\0" * 28),
    E / Dot1AD(vlan=5) / Dot1Q(vlan=10) / inner4,
    E / IP(src=REMOTE, dst=LOCAL, options=b"\x94\x04\x00\x00") / ICMP(),
    E / IP(src=REMOTE, dst=LOCAL) / esp,
    E / IP(src=REMOTE, dst=LOCAL) / UDP(sport=4500, dport=4500) / esp,
    E / IP(src=REMOTE, dst=LOCAL) / UDP(sport=4500, dport=4500) / Raw(b"\0\0\0\0" + b"\1" * 28),
    E / IP(src=REMOTE, dst=LOCAL) / UDP(sport=4500, dport=4500) / Raw(b"\xff"),
    E / IP(src=REMOTE, dst=LOCAL, flags="MF") / esp,
    E / IP(src=REMOTE, dst="10.1.1.1", ttl=1) / UDP() / Raw(b"ttl"),
    E / IP(src=REMOTE, dst="192.168.3.3") / GRE(key_present=1, key=7, seqnum_present=1, sequence_number=9) / inner4,
    E / IP(src=REMOTE, dst="192.168.3.3") / GRE(chksum_present=1, proto=0x2001) / Raw(b"nhrp" * 5),
    E / IPv6(src="2001:db8::2", dst="2001:db8::1") / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / UDP() / Raw(b"z"),
    E / IPv6(src="2001:db8::2", dst="2001:db8::1") / IPv6ExtHdrFragment() / esp,
    E / IPv6(src="fe80::1", dst="ff02::1:ff00:1", hlim=255) / Raw(bytes([135, 0, 0, 0]) + b"\0" * 20),
    E / inner6,
    E / inner4,
]
for f in frames:
    b = raw(f)
    write("wire", b)
    write("wire", b[14:])          # as bare IP
    write("inbound", b"\x00" + b)  # mode even: a frame from the WAN port
    write("inbound", b"\x02" + b[: len(b) // 2])
# mode odd: sealed with the node's SA; inner IPv4 / IPv6 / NHRP by mode >> 1
for mode, inner in [(1, inner4), (3, inner6), (5, Raw(b"\x00\x01\x08\x00" + b"\0" * 16)),
                    (1, IP(src="10.9.0.1", dst="10.2.2.2") / UDP() / Raw(b"to tunnel")),
                    (1, IP(src="10.9.0.1", dst="198.51.100.1") / UDP()),
                    (3, Raw(b"\x60")), (1, Raw(b""))]:
    write("inbound", bytes([mode]) + raw(inner))
print("corpus written")
