#!/usr/bin/python3
# SPDX-License-Identifier: ISC
#
# bench/tls-client.py -- the STARTTLS client of bench/tls (smtp-source
# speaks no TLS).  Talks to 127.0.0.1 only; every socket has a timeout
# and every loop a bound.  The certificate is not verified: both servers
# use the same throw-away self-signed one.
#
#   tls-client.py send PORT WORKERS COUNT SIZE SENDER RECIPIENT
#       COUNT messages, each on its own connection: EHLO, STARTTLS, EHLO,
#       MAIL, RCPT, DATA (SIZE bytes), QUIT; WORKERS processes side by side.
#   tls-client.py handshake PORT WORKERS COUNT new|resumed
#       COUNT connections: EHLO, STARTTLS, handshake, QUIT; "resumed"
#       offers the session of the worker's previous connection (so each
#       worker's first connection is a new one).
#   tls-client.py first PORT
#       One connection: milliseconds from sending STARTTLS to the end of
#       the handshake.
#   tls-client.py hold PORT COUNT SECONDS
#       Opens COUNT TLS sessions (after EHLO again), prints "open N", and
#       keeps them idle until SECONDS pass or stdin closes, then QUITs.
#
# Prints one line "key=value ..." on stdout; exits non-zero on failures.
import multiprocessing
import select
import socket
import ssl
import sys
import time

TIMEOUT = 60
HOST = "127.0.0.1"


def context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Smtp:
    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
        self.buf = b""
        self.reply("220")

    def line(self):
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise OSError("connection closed by the server")
            self.buf += d
            if len(self.buf) > 1 << 20:
                raise OSError("reply line too long")
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self, want):
        for _ in range(1000):
            ln = self.line()
            if len(ln) < 4 or ln[3] != "-":
                break
        if not ln.startswith(want):
            raise OSError("expected %s, got %r" % (want, ln))
        return ln

    def cmd(self, text, want="250"):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.reply(want)

    def starttls(self, ctx, session=None):
        """EHLO, STARTTLS, handshake; returns the handshake time in s."""
        self.cmd("EHLO client.localdomain")
        t0 = time.monotonic()
        self.cmd("STARTTLS", "220")
        if self.buf:
            raise OSError("data after 220 to STARTTLS")
        self.sock = ctx.wrap_socket(self.sock, server_hostname=None,
                                    session=session)
        return time.monotonic() - t0

    def quit(self):
        self.cmd("QUIT", "221")
        self.sock.close()


def body(size):
    lines, n = [], 0
    while n < size:
        ln = ("x" * 76)[: max(1, min(76, size - n - 2))]
        lines.append(ln)
        n += len(ln) + 2
    return "\r\n".join(lines)


def send_worker(args):
    port, count, size, sender, rcpt = args
    ctx, text, fails, err = context(), body(size), 0, ""
    msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: tls bench\r\n\r\n%s\r\n."
           % (sender, rcpt, text))
    for _ in range(count):
        try:
            s = Smtp(port)
            s.starttls(ctx)
            s.cmd("EHLO client.localdomain")
            s.cmd("MAIL FROM:<%s>" % sender)
            s.cmd("RCPT TO:<%s>" % rcpt)
            s.cmd("DATA", "354")
            s.cmd(msg)
            s.quit()
        except (OSError, ssl.SSLError) as e:
            fails, err = fails + 1, str(e)
    return count - fails, fails, err


def handshake_worker(args):
    port, count, resume = args
    ctx, sess, ok, reused, fails, hs, err = context(), None, 0, 0, 0, 0.0, ""
    tickets = offered = 0
    for _ in range(count):
        try:
            s = Smtp(port)
            offered += sess is not None
            hs += s.starttls(ctx, sess)
            if s.sock.session_reused:
                reused += 1
            # The reply to QUIT brings any TLS 1.3 ticket along; the
            # session is read before the socket is closed (then it is None).
            s.cmd("QUIT", "221")
            got = s.sock.session
            s.sock.close()
            if got is not None and got.has_ticket:
                tickets += 1
            if resume:
                sess = got
            ok += 1
        except (OSError, ssl.SSLError) as e:
            fails, err = fails + 1, str(e)
    return ok, fails, reused, hs, err, tickets, offered


def split(count, workers):
    return [count // workers + (1 if i < count % workers else 0)
            for i in range(workers)]


def pool_run(fn, jobs):
    with multiprocessing.Pool(len(jobs)) as pool:
        return pool.map(fn, jobs)


def main(a):
    mode, port = a[0], int(a[1])
    if mode == "send":
        workers, count, size = int(a[2]), int(a[3]), int(a[4])
        t0 = time.monotonic()
        res = pool_run(send_worker, [(port, n, size, a[5], a[6])
                                     for n in split(count, workers)])
        ms = (time.monotonic() - t0) * 1000
        ok, fails = sum(r[0] for r in res), sum(r[1] for r in res)
        err = next((r[2] for r in res if r[2]), "")
        print("ok=%d fail=%d ms=%.0f" % (ok, fails, ms))
        if fails:
            print("last error: " + err, file=sys.stderr)
        return 1 if fails else 0
    if mode == "handshake":
        workers, count, resume = int(a[2]), int(a[3]), a[4] == "resumed"
        t0 = time.monotonic()
        res = pool_run(handshake_worker, [(port, n, resume)
                                          for n in split(count, workers)])
        ms = (time.monotonic() - t0) * 1000
        ok, fails = sum(r[0] for r in res), sum(r[1] for r in res)
        reused, hs = sum(r[2] for r in res), sum(r[3] for r in res)
        err = next((r[4] for r in res if r[4]), "")
        tickets, offered = sum(r[5] for r in res), sum(r[6] for r in res)
        print("ok=%d fail=%d reused=%d ms=%.0f hs_ms=%.2f tickets=%d offered=%d"
              % (ok, fails, reused, ms, hs * 1000 / max(ok, 1), tickets,
                 offered))
        if fails:
            print("last error: " + err, file=sys.stderr)
        return 1 if fails else 0
    if mode == "first":
        s = Smtp(port)
        hs = s.starttls(context())
        s.quit()
        print("ms=%.1f" % (hs * 1000))
        return 0
    if mode == "hold":
        count, seconds = int(a[2]), float(a[3])
        ctx, conns = context(), []
        for _ in range(count):
            s = Smtp(port)
            s.starttls(ctx)
            s.cmd("EHLO client.localdomain")
            conns.append(s)
        print("open %d" % len(conns), flush=True)
        select.select([sys.stdin], [], [], seconds)
        for s in conns:
            try:
                s.quit()
            except (OSError, ssl.SSLError):
                pass
        return 0
    print("usage: see the comment at the top", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
