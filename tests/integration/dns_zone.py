# SPDX-License-Identifier: ISC
"""DNSSEC-signed test zones served on loopback, for lib/dns and DANE tests.

Real tools from Debian's archive (./quickstart installs them): ldnsutils
(`ldns-keygen`, `ldns-signzone`) makes the keys and signs the zones, and
NSD serves them, authoritatively, on 127.0.0.1 at a high port (UDP and
TCP), in the foreground (`nsd -d -c CONFIG`) with a configuration of its
own: zonesdir, pidfile, log, xfrd state and zone list all live in a
temporary directory.  Nothing under /etc/nsd or /var/lib/nsd is read or
written, and no system service is started or stopped.

The hierarchy.  Every test zone is a child of one parent zone, "test."
by default, which the fixture makes and signs itself and which carries
the trust anchor (the DS of its key, written into the resolver file):

    test.                signed; the anchor
      signed.test.       signed; NS + DS in test.   -> secure
      unsigned.test.     not signed; NS, no DS      -> provably insecure
      bogus.test.        signed; NS + DS in test.,  -> bogus
                         its records altered after signing
      expired.test.      signed with signatures that ended in the past,
                         NS + DS in test.           -> bogus

so an unsigned zone is insecure by proof (test. denies its DS with a
signed NSEC), not merely for lack of an anchor, exactly as a real
unsigned domain under a signed TLD.  Which kind a zone is comes from
`kinds` (default "signed"); the zone names are free (children of the
parent).  Each zone gets an SOA and an NS (ns.<parent>, 127.0.0.1) unless
its records give them.  A "bogus" zone is signed, and then the data of
every A, AAAA, MX, TLSA, CNAME and TXT record is changed (an address plus
one, a preference plus one, the first octet of association data
inverted, a "x-" before a target, a character added to a text): the
signatures no longer match, as with an answer forged in transit, while
the DNSKEY, the NSEC chain and the SOA stay valid.  alter={zone:
["OWNER TYPE", ...]} narrows that to those record sets of a bogus zone
(the rest of it then validates: one forged answer among good ones).

The resolver file (config_path) is unbound.conf(5) for libunbound, the
file Tern's `dns_resolver_config` names: a stub-zone (not a forwarder:
libunbound recurses and validates) to 127.0.0.1@PORT for the parent and
for each child (so that a delegation libunbound learnt from an answer
never sends it to the glue's port 53), `do-not-query-localhost: no`,
`local-zone: "test." nodefault` (libunbound answers "test." itself
otherwise, RFC 6761), the parent's DS as `trust-anchor:`, and everything
else forwarded to a closed port on 127.0.0.1: no query leaves loopback.

    z = DnsZones(zones={"signed.test": ["@ MX 10 mx", "mx A 127.0.0.1"],
                        "unsigned.test": [...], "bogus.test": [...]},
                 kinds={"unsigned.test": "unsigned", "bogus.test": "bogus"})
    z.config_path      # for dns_resolver_config
    z.stop() / z.start()   # the server only: the zones stay
    z.close()

Records are zone-file lines, relative to the zone ($ORIGIN is the zone,
$TTL 300), or absolute with a final dot.  tlsa_rdata(cert) gives the
data of a TLSA record for a PEM certificate (DANE tests).
"""
import hashlib
import ipaddress
import ssl
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
KEYGEN = shutil.which("ldns-keygen") or "/usr/bin/ldns-keygen"
SIGNZONE = shutil.which("ldns-signzone") or "/usr/bin/ldns-signzone"
ALGORITHM = "ECDSAP256SHA256"
KINDS = ("signed", "unsigned", "bogus", "expired")
TTL = 300
START_TIMEOUT = 10.0        # seconds for NSD to answer for every zone


def available():
    return all(os.access(p, os.X_OK) for p in (NSD, KEYGEN, SIGNZONE))


def tlsa_rdata(cert_path, usage=3, selector=1, mtype=1):
    """The record data ("U S M HEX") of a TLSA record for the first
    certificate in the PEM file cert_path: selector 0 the certificate,
    1 its SubjectPublicKeyInfo (by openssl(1)); matching type 0 the data
    itself, 1 SHA2-256, 2 SHA2-512."""
    with open(cert_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    if selector == 1:
        pem = subprocess.run(
            ["openssl", "x509", "-inform", "DER", "-noout", "-pubkey"],
            input=der, stdout=subprocess.PIPE, check=True, timeout=30).stdout
        der = subprocess.run(
            ["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem,
            stdout=subprocess.PIPE, check=True, timeout=30).stdout
    elif selector != 0:
        raise ValueError("selector %r" % selector)
    data = {0: lambda d: d, 1: lambda d: hashlib.sha256(d).digest(),
            2: lambda d: hashlib.sha512(d).digest()}[mtype](der)
    return "%d %d %d %s" % (usage, selector, mtype, data.hex())


def _udp_tcp_port():
    """A port on 127.0.0.1 free for both UDP and TCP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free UDP+TCP port on 127.0.0.1")


def _closed_port():
    """A UDP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", 0))
        return u.getsockname()[1]


def _wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def soa_query(port, zone, timeout=0.5):
    """Ask 127.0.0.1@port for the SOA of zone over UDP; True when the
    answer is authoritative, NOERROR and not empty."""
    qid = int.from_bytes(os.urandom(2), "big")
    msg = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + \
        _wire_name(zone) + struct.pack("!HH", 6, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(msg, ("127.0.0.1", port))
            data = s.recv(4096)
        except OSError:
            return False
    if len(data) < 12:
        return False
    rid, flags, _, ancount, _, _ = struct.unpack("!HHHHHH", data[:12])
    return rid == qid and flags & 0x8000 and flags & 0x0400 and \
        flags & 0xF == 0 and ancount > 0


def _run(argv, cwd):
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (
            " ".join(argv), p.returncode,
            p.stdout.decode("utf-8", "replace").strip()))
    return p.stdout.decode("utf-8", "replace")


def _alter(rtype, rdata):
    """The record data of one record, changed (for a bogus zone), or
    None when the type is not one this fixture alters."""
    f = rdata.split()
    if rtype == "A" or rtype == "AAAA":
        a = ipaddress.ip_address(f[0])
        return str(a + 1 if int(a) + 1 < 2 ** a.max_prefixlen else a - 1)
    if rtype == "MX":
        return "%d %s" % ((int(f[0]) + 1) % 65536, f[1])
    if rtype == "TLSA":
        data = "".join(f[3:])
        return "%s %s %s %02x%s" % (f[0], f[1], f[2],
                                    int(data[:2], 16) ^ 0xFF, data[2:])
    if rtype == "CNAME":
        return "x-" + f[0]
    if rtype == "TXT":
        return rdata[:-1] + 'x"' if rdata.endswith('"') else rdata + "x"
    return None


class DnsZones:
    """A parent zone, its child zones, NSD serving them, and the resolver
    file that validates them with the parent's trust anchor."""

    def __init__(self, zones, kinds=None, parent="test", alter=None):
        kinds = dict(kinds or {})
        self.alter = {self._fqdn(z): [self._rr_key(r, self._fqdn(z))
                                      for r in rrs]
                      for z, rrs in (alter or {}).items()}
        self.parent = parent.strip(".").lower()
        self.dir = tempfile.mkdtemp(prefix="tern-dnszone-")
        # Tern's unprivileged smtp agent reads unbound.conf in here; the
        # private keys stay 0600 (ldns-keygen makes them so).
        os.chmod(self.dir, 0o755)
        self.port = None
        self.proc = None
        self.log_path = os.path.join(self.dir, "nsd.log")
        self.nsd_conf = os.path.join(self.dir, "nsd.conf")
        self.config_path = os.path.join(self.dir, "unbound.conf")
        self.closed_port = _closed_port()
        self.zones = {}             # name -> kind, the children
        self.anchor = None          # the parent's DS record, as text
        try:
            self._make(zones, kinds)
            self.start()
        except BaseException:
            self.close()
            raise

    # ---- zones ------------------------------------------------------------

    def _fqdn(self, name):
        return name.strip(".").lower() + "."

    def _rr_key(self, text, zone):
        """"OWNER TYPE" (owner relative to zone, "@", or absolute) as
        (absolute owner, TYPE)."""
        owner, rtype = text.split()
        if owner == "@":
            owner = zone
        elif not owner.endswith("."):
            owner = owner + "." + zone
        return owner.lower(), rtype.upper()

    def _base_records(self, zone, records):
        types = set()
        for r in records:
            f = r.split()
            types.update(x.upper() for x in f[:4])
        out = ["$ORIGIN %s" % zone, "$TTL %d" % TTL]
        if "SOA" not in types:
            out.append("@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 %d"
                       % (self.parent, self.parent, TTL))
        if "NS" not in types:
            out.append("@ IN NS ns.%s." % self.parent)
        return out + list(records)

    def _keygen(self, zone):
        out = _run([KEYGEN, "-k", "-a", ALGORITHM, zone], self.dir)
        base = out.strip().splitlines()[-1].strip()
        with open(os.path.join(self.dir, base + ".ds")) as f:
            ds = f.read().split()
        # "NAME IN DS tag alg digesttype digest" (with or without a TTL)
        i = ds.index("DS")
        return base, "%s %d IN DS %s" % (ds[0], TTL, " ".join(ds[i + 1:]))

    def _sign(self, zone, src, base, expired=False):
        now = int(time.time())
        if expired:
            # Long past: validators allow some clock skew (libunbound up
            # to a day, val-sig-skew-max).
            inception, expiration = now - 60 * 86400, now - 30 * 86400
        else:
            inception, expiration = now - 3600, now + 30 * 86400
        dst = src + ".signed"
        _run([SIGNZONE, "-o", zone, "-f", dst, "-i", str(inception),
              "-e", str(expiration), src, base], self.dir)
        return dst

    def _write(self, name, lines):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def _break(self, path, only=None):
        """Change the data of every record _alter knows, after signing,
        or of those record sets only ([(owner, TYPE)]) when given."""
        with open(path) as f:
            lines = f.read().splitlines()
        out, changed = [], 0
        for line in lines:
            f = line.split(None, 4)
            if len(f) == 5 and f[2] == "IN" and (
                    only is None or (f[0].lower(), f[3]) in only):
                new = _alter(f[3], f[4].split(";")[0].strip())
                if new is not None:
                    line = "\t".join(f[:4] + [new])
                    changed += 1
            out.append(line)
        if changed == 0:
            raise ValueError("%s: no record to alter for a bogus zone"
                             % os.path.basename(path))
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")

    def _make(self, zones, kinds):
        parent = self.parent + "."
        parent_records = []
        delegations = []
        for name, records in zones.items():
            zone = self._fqdn(name)
            if zone == parent:
                parent_records += list(records)
                continue
            if not zone.endswith("." + parent) or \
                    zone.count(".") != parent.count(".") + 1:
                raise ValueError("%s is not a child of %s" % (zone, parent))
            kind = kinds.pop(name, kinds.pop(zone.rstrip("."), "signed"))
            if kind not in KINDS:
                raise ValueError("%s: kind %r not one of %s"
                                 % (zone, kind, KINDS))
            src = self._write(zone + "zone",
                              self._base_records(zone, records))
            delegations.append("%s IN NS ns.%s" % (zone, parent))
            if kind != "unsigned":
                base, ds = self._keygen(zone)
                src = self._sign(zone, src, base, kind == "expired")
                if kind == "bogus":
                    self._break(src, self.alter.pop(zone, None))
                delegations.append(ds)
            self.zones[zone] = (kind, os.path.basename(src))
        if kinds or self.alter:
            raise ValueError("kinds or alter for unknown or not bogus "
                             "zones: %s" % ", ".join(sorted(kinds) +
                                                     sorted(self.alter)))
        src = self._write(parent + "zone", self._base_records(
            parent, ["ns IN A 127.0.0.1"] + parent_records + delegations))
        base, self.anchor = self._keygen(parent)
        self.parent_file = os.path.basename(self._sign(parent, src, base))
        self._write_resolver_conf()

    def _write_resolver_conf(self):
        self.port = self.port or _udp_tcp_port()
        stubs = [self.parent + "."] + sorted(self.zones)
        lines = ["server:",
                 "\tverbosity: 0",
                 "\tdo-not-query-localhost: no",
                 "\tdo-ip6: no",
                 '\tlocal-zone: "%s." nodefault' % self.parent,
                 '\ttrust-anchor: "%s"' % self.anchor]
        for z in stubs:
            lines += ["stub-zone:", '\tname: "%s"' % z,
                      "\tstub-addr: 127.0.0.1@%d" % self.port]
        lines += ["forward-zone:", '\tname: "."',
                  "\tforward-addr: 127.0.0.1@%d" % self.closed_port]
        self._write("unbound.conf", lines)

    def _write_nsd_conf(self):
        lines = ["server:",
                 "\tip-address: 127.0.0.1@%d" % self.port,
                 "\tport: %d" % self.port,
                 "\tdo-ip4: yes",
                 "\tdo-ip6: no",
                 "\tserver-count: 1",
                 "\treuseport: no",
                 '\tzonesdir: "%s"' % self.dir,
                 '\tdatabase: ""',
                 '\tzonelistfile: "%s/zone.list"' % self.dir,
                 '\txfrdfile: "%s/xfrd.state"' % self.dir,
                 '\txfrdir: "%s"' % self.dir,
                 '\tpidfile: "%s/nsd.pid"' % self.dir,
                 '\tlogfile: "%s"' % self.log_path,
                 '\tusername: ""',
                 '\tchroot: ""',
                 "\thide-version: yes",
                 "\tverbosity: 1",
                 "remote-control:",
                 "\tcontrol-enable: no"]
        files = [(self.parent + ".", self.parent_file)] + \
            [(z, f) for z, (_, f) in sorted(self.zones.items())]
        for zone, f in files:
            lines += ["zone:", '\tname: "%s"' % zone, '\tzonefile: "%s"' % f]
        self._write("nsd.conf", lines)

    # ---- the server -------------------------------------------------------

    def served(self):
        """True when NSD answers the SOA of every zone."""
        return all(soa_query(self.port, z)
                   for z in [self.parent + "."] + sorted(self.zones))

    def start(self):
        """Start NSD (in the foreground, its own process group) and wait
        until it answers for every zone."""
        if self.proc is not None:
            return
        self._write_nsd_conf()
        self.proc = subprocess.Popen(
            [NSD, "-d", "-c", self.nsd_conf], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True)
        end = time.monotonic() + START_TIMEOUT
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                break
            if self.served():
                return
            time.sleep(0.05)
        log = self.log()
        self.stop()
        raise RuntimeError("nsd did not serve the test zones on port %d:\n%s"
                           % (self.port, log))

    def stop(self):
        """Stop NSD (the zones and the resolver file stay)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
