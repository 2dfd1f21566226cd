# SPDX-License-Identifier: ISC
"""Attribute messages (lib/attr.h), the wire format Tern's processes speak
to each other, for tests that play one end: smtpd to cleanup or tlsproxy.

One message is a u32 body length, then each attribute as u8 type, u8 name
length, name, u32 value length, value; integers are big-endian, an INT
value is eight bytes of two's complement."""
import struct

# lib/attr.h: value types.
T_STR, T_INT, T_DATA = 1, 2, 3


def encode(pairs):
    """One message of (name, value) pairs, in order: an int (or bool) as
    INT, a str as STR, anything else as DATA bytes."""
    body = b""
    for name, v in pairs:
        if isinstance(v, int):
            t, val = T_INT, struct.pack(">q", v)
        elif isinstance(v, str):
            t, val = T_STR, v.encode()
        else:
            t, val = T_DATA, bytes(v)
        n = name.encode()
        body += struct.pack(">BB", t, len(n)) + n
        body += struct.pack(">I", len(val)) + val
    return struct.pack(">I", len(body)) + body


def decode(body):
    """A message body (without its length) as {name: value}: int, str or
    bytes by type."""
    out = {}
    i = 0
    while i < len(body):
        t, nlen = body[i], body[i + 1]
        name = body[i + 2:i + 2 + nlen].decode()
        i += 2 + nlen
        (vlen,) = struct.unpack(">I", body[i:i + 4])
        val = body[i + 4:i + 4 + vlen]
        i += 4 + vlen
        if t == T_INT:
            out[name] = struct.unpack(">q", val)[0]
        elif t == T_STR:
            out[name] = val.decode()
        else:
            out[name] = val
    return out


def recv_exact(sock, n):
    """Exactly n bytes from sock; EOFError when the peer closes first."""
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(min(n - len(data), 1 << 20))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return bytes(data)


def read(sock):
    """One message from sock as {name: value}; EOFError when the peer
    closed."""
    (n,) = struct.unpack(">I", recv_exact(sock, 4))
    return decode(recv_exact(sock, n))
