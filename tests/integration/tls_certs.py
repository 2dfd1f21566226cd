# SPDX-License-Identifier: ISC
"""Test certificates, made at test time with certtool (gnutls-bin): no key
is ever committed.

    certs = TestCerts()            # a fresh directory, mode 0755
    certs.ca                        # the test CAs' certificates (PEM path)
    certs.server("rsa")             # (cert, key) for mail.example.org
    certs.server("ecdsa")           # the same name, an ECDSA P-256 key
    certs.expired                   # (cert, key), expired in 2021
    certs.wrong_name                # (cert, key) for other.example.net
    certs.mismatch                  # (cert of one key, another key)
    certs.client                    # (cert, key) for a client certificate
    certs.server_chain("rsa")       # (leaf + its CA in one PEM, key)
    certs.ca_of("rsa")              # the CA that signed server("rsa")
    certs.fingerprint(path)         # lower-case hex SHA-256 of the DER
    tlsa_data(path, selector, mtype)  # TLSA association data, hex
    certs.cleanup()

TLSA data (RFC 6698 2.1): selector 0 is the DER certificate, 1 its
SubjectPublicKeyInfo; matching type 0 the bytes themselves, 1 their
SHA-256, 2 their SHA-512.

Key files are mode 0600 (owned by root when the tests run as root, so
that the unprivileged mail_owner cannot read them); certificates 0644.
"""
import hashlib
import os
import shutil
import ssl
import subprocess
import tempfile

CERTTOOL = shutil.which("certtool") or "/usr/bin/certtool"
HOSTNAME = "mail.example.org"


class CertError(RuntimeError):
    pass


def available():
    return os.access(CERTTOOL, os.X_OK)


class TestCerts:
    def __init__(self, hostname=HOSTNAME):
        self.hostname = hostname
        self.dir = tempfile.mkdtemp(prefix="tern-certs-")
        os.chmod(self.dir, 0o755)
        self._serial = 0
        try:
            self._make(hostname)
        except BaseException:
            self.cleanup()
            raise

    def _make(self, hostname):
        # Two CAs, so that each server certificate's chain is signed with
        # its own kind of key: an ECDSA-only client can verify the ECDSA
        # chain, an RSA-only client the RSA one.  self.ca holds both.
        self._ca = {}
        for kind in ("rsa", "ecdsa"):
            key = self._key("ca-" + kind, kind)
            self._ca[kind] = (self._cert("ca-" + kind, key, [
                'cn = "Tern Test CA %s"' % kind, "ca", "cert_signing_key",
                "expiration_days = 30"], self_signed=True), key)
        self.ca = self.path("ca-bundle.pem")
        with open(self.ca, "w") as out:
            for kind in ("rsa", "ecdsa"):
                with open(self._ca[kind][0]) as f:
                    out.write(f.read())
        self._servers = {}
        for kind in ("rsa", "ecdsa"):
            key = self._key("server-" + kind, kind)
            self._servers[kind] = (self._cert(
                "server-" + kind, key, self._server_template(hostname),
                ca=kind), key)
        key = self._key("expired", "rsa")
        self.expired = (self._cert("expired", key, [
            'cn = "%s"' % hostname, 'dns_name = "%s"' % hostname,
            "tls_www_server", "signing_key", "encryption_key",
            'activation_date = "2020-01-01 00:00:00 UTC"',
            'expiration_date = "2021-01-01 00:00:00 UTC"']), key)
        key = self._key("wrongname", "rsa")
        self.wrong_name = (self._cert(
            "wrongname", key,
            self._server_template("other.example.net")), key)
        # The RSA server certificate with another RSA key.
        self.mismatch = (self._servers["rsa"][0], self._key("other", "rsa"))
        key = self._key("client", "rsa")
        self.client = (self._cert("client", key, [
            'cn = "client.example.test"', "tls_www_client", "signing_key",
            "expiration_days = 30"]), key)
        key = self._key("client-self", "ecdsa")
        self.client_self_signed = (self._cert("client-self", key, [
            'cn = "self.client.example.test"', "tls_www_client",
            "signing_key", "expiration_days = 30"], self_signed=True), key)

    @staticmethod
    def _server_template(name):
        return ['cn = "%s"' % name, 'dns_name = "%s"' % name,
                "tls_www_server", "signing_key", "encryption_key",
                "expiration_days = 30"]

    def path(self, name):
        return os.path.join(self.dir, name)

    def _run(self, args):
        r = subprocess.run([CERTTOOL] + args, capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise CertError("certtool %s: %s%s" % (" ".join(args), r.stdout,
                                                   r.stderr))
        return r

    def _key(self, name, kind):
        out = self.path(name + ".key")
        args = ["--generate-privkey", "--outfile", out]
        if kind == "rsa":
            args += ["--key-type", "rsa", "--bits", "2048"]
        else:
            args += ["--key-type", "ecdsa", "--curve", "secp256r1"]
        self._run(args)
        os.chmod(out, 0o600)
        if os.geteuid() == 0:
            os.chown(out, 0, 0)
        return out

    def _cert(self, name, key, template, self_signed=False, ca="rsa"):
        tmpl = self.path(name + ".tmpl")
        self._serial += 1
        with open(tmpl, "w") as f:
            f.write("\n".join(template + ["serial = %d" % self._serial])
                    + "\n")
        out = self.path(name + ".pem")
        if self_signed:
            args = ["--generate-self-signed", "--load-privkey", key]
        else:
            args = ["--generate-certificate", "--load-privkey", key,
                    "--load-ca-certificate", self._ca[ca][0],
                    "--load-ca-privkey", self._ca[ca][1]]
        self._run(args + ["--template", tmpl, "--outfile", out])
        os.chmod(out, 0o644)
        return out

    def server(self, kind="rsa"):
        return self._servers[kind]

    def server_for(self, name, kind="rsa"):
        """(cert, key): a server certificate whose CN and only DNS name is
        name (a wildcard such as "*.example.net" too), signed by the kind
        CA."""
        tag = "for-" + "".join(c if c.isalnum() else "_" for c in name)
        key = self._key(tag, kind)
        return (self._cert(tag, key, self._server_template(name), ca=kind),
                key)

    def ca_of(self, kind="rsa"):
        return self._ca[kind][0]

    def server_chain(self, kind="rsa"):
        """The server certificate followed by its CA's, as a server sends
        them for a DANE-TA(2) record naming the CA."""
        out = self.path("chain-%s.pem" % kind)
        if not os.path.exists(out):
            with open(out, "w") as f:
                for part in (self._servers[kind][0], self._ca[kind][0]):
                    with open(part) as g:
                        f.write(g.read())
            os.chmod(out, 0o644)
        return out, self._servers[kind][1]

    @staticmethod
    def fingerprint(pem_path):
        """Lower-case hex SHA-256 of the first certificate in a PEM file."""
        with open(pem_path) as f:
            pem = f.read()
        start = pem.index("-----BEGIN CERTIFICATE-----")
        end = pem.index("-----END CERTIFICATE-----", start) + 25
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem[start:end])) \
            .hexdigest()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def cert_der(pem_path):
    """The DER bytes of the first certificate in a PEM file."""
    with open(pem_path) as f:
        pem = f.read()
    start = pem.index("-----BEGIN CERTIFICATE-----")
    end = pem.index("-----END CERTIFICATE-----", start) + 25
    return ssl.PEM_cert_to_DER_cert(pem[start:end])


def _der_item(buf, i):
    """(start of contents, end of item) of the DER item at buf[i]."""
    n = buf[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7f
        n = int.from_bytes(buf[i:i + k], "big")
        i += k
    return i, i + n


def spki_der(der):
    """The SubjectPublicKeyInfo of a DER certificate: tbsCertificate's
    seventh item, or its sixth when there is no [0] version."""
    start, _ = _der_item(der, 0)            # Certificate
    i, _ = _der_item(der, start)            # tbsCertificate contents
    if der[i] == 0xa0:                      # [0] EXPLICIT version
        i = _der_item(der, i)[1]
    for _ in range(5):                      # serial .. subject
        i = _der_item(der, i)[1]
    return der[i:_der_item(der, i)[1]]


def tlsa_data(pem_path, selector, mtype):
    """Hex association data of a TLSA record for the first certificate
    of pem_path."""
    der = cert_der(pem_path)
    data = der if selector == 0 else spki_der(der)
    if mtype == 1:
        data = hashlib.sha256(data).digest()
    elif mtype == 2:
        data = hashlib.sha512(data).digest()
    return data.hex()
