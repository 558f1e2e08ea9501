#!/usr/bin/env python3
"""Writes fuzz_vpci's seed programs for blk, 9p, console and net into
tests/fuzz/corpus/vpci (the rng and balloon seeds were written by hand).

Each seed is a program in fuzz_vpci.c's language: a device byte, then
operations.  They bring queues up, place real requests in guest RAM and
kick, so that a campaign starts from devices doing work rather than from
the transport alone.  usage: tests/fuzz/vpci_seeds.py [DIR]
"""
import os
import struct
import sys

QBASE = 0x100000  # queue q: descriptors at QBASE + q*0x10000, avail +0x1000
DATA = 0x200000   # buffers from here on


def store(gpa, value8):
    """op 5: an 8-byte store into guest RAM."""
    return bytes([5]) + gpa.to_bytes(3, "little") + value8


def store_bytes(gpa, data):
    out = b""
    data = data + bytes(-len(data) % 8)
    for i in range(0, len(data), 8):
        out += store(gpa + i, data[i:i + 8])
    return out


def bring_up(mask, size_log2):
    return bytes([6, mask, size_log2])


def kick(q):
    return bytes([4]) + struct.pack("<H", q)


def pause(n):
    return bytes([7]) * n


def outside(q, data):
    """op 0x0f: bytes from outside (a received frame, typed input)."""
    return bytes([0x0f, q]) + struct.pack("<H", len(data)) + data


class Queue:
    def __init__(self, q):
        self.q, self.next_desc, self.ring = q, 0, []

    def chain(self, bufs):
        """bufs: (gpa, len, writable); returns the program that places the
        chain and makes it available (without a kick): the descriptors,
        then the whole available ring as the driver sees it now."""
        base = QBASE + self.q * 0x10000
        prog = b""
        for i, (gpa, length, writable) in enumerate(bufs):
            d = self.next_desc + i
            flags = (1 if i + 1 < len(bufs) else 0) | (2 if writable else 0)
            prog += store(base + 16 * d, struct.pack("<Q", gpa))
            prog += store(base + 16 * d + 8, struct.pack("<IHH", length, flags, d + 1))
        self.ring.append(self.next_desc)
        self.next_desc += len(bufs)
        avail = struct.pack("<HH", 0, len(self.ring)) + b"".join(struct.pack("<H", h) for h in self.ring)
        return prog + store_bytes(base + 0x1000, avail)


def blk(kind):
    q = Queue(0)
    prog = bytes([kind]) + bring_up(1, 4)
    reqs = [(1, 0, b"\xa5" * 512, False), (0, 0, 512, True), (8, 0, 20, True), (4, 0, None, None)]
    for n, (rtype, sector, data, _) in enumerate(reqs):
        hdr, buf, st = DATA + n * 0x10000, DATA + n * 0x10000 + 0x1000, DATA + n * 0x10000 + 0x3000
        prog += store_bytes(hdr, struct.pack("<IIQ", rtype, 0, sector))
        bufs = [(hdr, 16, False)]
        if isinstance(data, bytes):
            prog += store_bytes(buf, data)
            bufs.append((buf, len(data), False))
        elif data:
            bufs.append((buf, data, True))
        bufs.append((st, 1, True))
        p = q.chain(bufs)
        prog += p + kick(0) + pause(8)
    return prog


def p9msg(mtype, tag, body):
    return struct.pack("<IBH", 7 + len(body), mtype, tag) + body


def p9str(s):
    return struct.pack("<H", len(s)) + s


def ninep(kind):
    q = Queue(0)
    msgs = [
        p9msg(100, 0xffff, struct.pack("<I", 65536) + p9str(b"9P2000.L")),
        p9msg(104, 1, struct.pack("<II", 0, 0xffffffff) + p9str(b"") + p9str(b"") + struct.pack("<I", 0)),
        p9msg(110, 2, struct.pack("<IIH", 0, 1, 0)),  # walk: clone fid 0 to 1
        p9msg(14, 3, struct.pack("<I", 1) + p9str(b"f") + struct.pack("<III", 2, 0o644, 0)),
        p9msg(118, 4, struct.pack("<IQI", 1, 0, 5) + b"hello"),
        p9msg(116, 5, struct.pack("<IQI", 1, 0, 64)),
        p9msg(24, 6, struct.pack("<IQ", 0, 0x3fff)),  # getattr on the root
        p9msg(12, 9, struct.pack("<II", 0, 0o200000)),  # lopen the root, O_DIRECTORY
        p9msg(40, 7, struct.pack("<IQI", 0, 0, 4096)),
        p9msg(120, 8, struct.pack("<I", 1)),
    ]
    prog = bytes([kind]) + bring_up(1, 5)
    for n, m in enumerate(msgs):
        req, rep = DATA + n * 0x8000, DATA + n * 0x8000 + 0x1000
        prog += store_bytes(req, m)
        p = q.chain([(req, len(m), False), (rep, 0x4000, True)])
        prog += p + kick(0) + pause(15)
    return prog


def console():
    rx, tx = Queue(0), Queue(1)
    prog = bytes([0x84]) + bring_up(3, 3)
    p = rx.chain([(DATA, 64, True)])
    prog += p + kick(0)
    prog += store_bytes(DATA + 0x1000, b"hello, console\n")
    p = tx.chain([(DATA + 0x1000, 15, False)])
    prog += p + kick(1) + pause(5) + outside(0, b"typed\r") + pause(10)
    return prog


def net():
    rx, tx = Queue(0), Queue(1)
    prog = bytes([0x85]) + bring_up(3, 3)
    for i in range(2):
        p = rx.chain([(DATA + i * 0x1000, 2048, True)])
        prog += p
    prog += kick(0)
    frame = bytes(12) + b"\xff" * 6 + b"\x52\x54\x00\x00\x00\x01" + b"\x08\x06" + bytes(46)
    prog += store_bytes(DATA + 0x4000, frame)
    p = tx.chain([(DATA + 0x4000, len(frame), False)])
    prog += p + kick(1) + pause(5) + outside(0, frame) + pause(10)
    return prog


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "vpci")
    seeds = {"blk-rw": blk(0x80), "blk-ro": blk(0x81), "9p-passthrough": ninep(0x82),
             "9p-mapped-ro": ninep(0x83), "console-io": console(), "net-tx-rx": net()}
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
