# SPDX-License-Identifier: ISC
"""A small, strict, pure-Python reader of Tern queue files (lib/qfile.h).

A queue file is a sequence of records, each

    u8 type, u32 big-endian payload length (<= 64 KiB), payload

in this order:

    M magic "TERNQ1"    T arrival (u64 seconds, u32 microseconds)
    [C client]          name, addr (str), port (u16), helo, proto (str)
    S sender            addr (str), flags (u8), ret (u8), envid (str),
                        size (u64)
    (R recipient        addr (str), notify (u8), orcpt_type, orcpt (str)
     D its status       u8) x 1..n
    B begin content     empty
    X content x 0..n    the message bytes, each record non-empty
    E end               content size (u64), recipient count (u32)

A "str" is a u16 big-endian length and that many bytes (no NUL).  The
reader is independent of the C code on purpose: the tests compare what it
finds with what the client sent, so that a writer bug cannot hide behind
the same bug in a shared reader.  Any deviation from the format raises
QfileError.
"""
import collections
import struct

MAGIC = b"TERNQ1"
REC_HDR = 5
REC_MAX = 64 * 1024

ADDR_MAX = 512
ORCPT_TYPE_MAX = 32
ENVID_MAX = 100
HOST_MAX = 255
CLIENT_ADDR_MAX = 64
PROTO_MAX = 16

# Sender flags.
SMTPUTF8 = 0x01
EIGHTBITMIME = 0x02
BINARYMIME = 0x04

# RET=
RET_NONE, RET_FULL, RET_HDRS = 0, 1, 2

# NOTIFY= bits (the queue file's own, not smtpcmd's).
NOTIFY_SUCCESS = 0x01
NOTIFY_FAILURE = 0x02
NOTIFY_DELAY = 0x04
NOTIFY_NEVER = 0x08

# Recipient status.
RS_PENDING, RS_DELIVERED, RS_FAILED, RS_DONE = 0, 1, 2, 3

Client = collections.namedtuple("Client", "name addr port helo proto")
Recipient = collections.namedtuple("Recipient",
                                   "addr notify orcpt_type orcpt status")


class QfileError(ValueError):
    """The bytes are not a complete, well-formed queue file."""


class QueueFile:
    """What one queue file holds.

    Strings are decoded as UTF-8 (surrogateescape, so no byte is lost);
    content is the message bytes exactly as stored.
    """

    def __init__(self):
        self.arrival = None          # (seconds, microseconds)
        self.client = None           # Client, or None without a C record
        self.sender = None           # "" for <>
        self.flags = 0
        self.ret = RET_NONE
        self.envid = ""
        self.size = 0                # declared SIZE=, 0 if none
        self.recipients = []         # [Recipient]
        self.content = b""
        self.content_records = []    # length of each X record
        self.record_types = b""      # the types in file order, b"MTCSRDBXE"

    @property
    def rcpt_addrs(self):
        return [r.addr for r in self.recipients]

    def first_field_and_rest(self):
        """(first header field, unfolded, as bytes; the bytes after it)."""
        c = self.content
        end = 0
        while True:
            i = c.find(b"\r\n", end)
            if i < 0:
                return c, b""
            end = i + 2
            if c[end:end + 1] not in (b" ", b"\t"):
                return c[:end], c[end:]


class _Cursor:
    def __init__(self, payload, what):
        self.p = payload
        self.off = 0
        self.what = what

    def take(self, n):
        if len(self.p) - self.off < n:
            raise QfileError("malformed %s record" % self.what)
        b = self.p[self.off:self.off + n]
        self.off += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def string(self, maximum, name):
        n = self.u16()
        b = self.take(n)
        if n > maximum:
            raise QfileError("%s too long" % name)
        if b"\0" in b:
            raise QfileError("NUL byte in %s" % name)
        return b.decode("utf-8", "surrogateescape")

    def done(self):
        if self.off != len(self.p):
            raise QfileError("malformed %s record" % self.what)


# Which record types may come right before each type (the format's order).
_AFTER = {
    b"T": b"M",
    b"C": b"T",
    b"S": b"TC",
    b"R": b"SD",
    b"D": b"R",
    b"B": b"D",
    b"X": b"BX",
    b"E": b"BX",
}
_SINGLE = set(b"MTCSBE")


def parse(data):
    """Parse a whole queue file (bytes) into a QueueFile."""
    data = bytes(data)
    q = QueueFile()
    want = bytes([ord("M")]) + struct.pack(">I", len(MAGIC)) + MAGIC
    if len(data) >= len(want) and data[:len(want) - 1] == want[:-1] and \
            data[len(want) - 1] != want[-1]:
        raise QfileError("unsupported queue file version")
    if data[:len(want)] != want:
        raise QfileError("bad magic")
    off = len(want)
    prev = ord("M")
    seen = {ord("M")}
    types = [ord("M")]
    content = []
    while off < len(data):
        if prev == ord("E"):
            raise QfileError("data after end record")
        if len(data) - off < REC_HDR:
            raise QfileError("truncated record")
        t = data[off]
        (rlen,) = struct.unpack(">I", data[off + 1:off + 5])
        tb = bytes([t])
        if tb not in _AFTER:
            raise QfileError("unknown record type %r" % tb)
        if rlen > REC_MAX:
            raise QfileError("record too long")
        if rlen > len(data) - off - REC_HDR:
            raise QfileError("truncated record")
        if t in _SINGLE and t in seen:
            raise QfileError("duplicate %s record" % tb.decode())
        if prev == ord("R") and t != ord("D"):
            raise QfileError("recipient without status record")
        if t == ord("B") and not q.recipients:
            raise QfileError("no recipients")
        if prev not in _AFTER[tb]:
            raise QfileError("%s record out of order" % tb.decode())
        seen.add(t)
        types.append(t)
        payload = data[off + REC_HDR:off + REC_HDR + rlen]
        c = _Cursor(payload, tb.decode())
        if tb == b"T":
            sec, usec = c.u64(), c.u32()
            c.done()
            if usec >= 1000000:
                raise QfileError("bad arrival time")
            q.arrival = (sec, usec)
        elif tb == b"C":
            name = c.string(HOST_MAX, "client name")
            addr = c.string(CLIENT_ADDR_MAX, "client address")
            port = c.u16()
            helo = c.string(HOST_MAX, "HELO name")
            proto = c.string(PROTO_MAX, "protocol name")
            c.done()
            q.client = Client(name, addr, port, helo, proto)
        elif tb == b"S":
            q.sender = c.string(ADDR_MAX, "sender address")
            q.flags = c.u8()
            q.ret = c.u8()
            q.envid = c.string(ENVID_MAX, "ENVID")
            q.size = c.u64()
            c.done()
            if q.flags & ~(SMTPUTF8 | EIGHTBITMIME | BINARYMIME) or (
                    q.flags & EIGHTBITMIME and q.flags & BINARYMIME):
                raise QfileError("bad sender flags")
            if q.ret not in (RET_NONE, RET_FULL, RET_HDRS):
                raise QfileError("bad RET value")
        elif tb == b"R":
            addr = c.string(ADDR_MAX, "recipient address")
            notify = c.u8()
            otype = c.string(ORCPT_TYPE_MAX, "ORCPT type")
            orcpt = c.string(ADDR_MAX, "ORCPT address")
            c.done()
            if not addr:
                raise QfileError("empty recipient address")
            if notify & ~0x0f or (notify & NOTIFY_NEVER and
                                  notify != NOTIFY_NEVER):
                raise QfileError("bad NOTIFY flags")
            if bool(otype) != bool(orcpt):
                raise QfileError("incomplete ORCPT")
            q.recipients.append(Recipient(addr, notify, otype, orcpt, None))
        elif tb == b"D":
            st = c.u8()
            c.done()
            if st not in (RS_PENDING, RS_DELIVERED, RS_FAILED, RS_DONE):
                raise QfileError("bad recipient status")
            q.recipients[-1] = q.recipients[-1]._replace(status=st)
        elif tb == b"B":
            c.done()
        elif tb == b"X":
            if rlen == 0:
                raise QfileError("empty content record")
            content.append(payload)
            q.content_records.append(rlen)
        elif tb == b"E":
            size, nrcpt = c.u64(), c.u32()
            c.done()
            if nrcpt != len(q.recipients):
                raise QfileError("recipient count mismatch")
            if size != sum(q.content_records):
                raise QfileError("content size mismatch")
        prev = t
        off += REC_HDR + rlen
    if prev != ord("E"):
        raise QfileError("missing end record")
    q.content = b"".join(content)
    q.record_types = bytes(types)
    return q


def read(path):
    """Read and parse the queue file at path."""
    with open(path, "rb") as f:
        return parse(f.read())
