"""Fakes the role tests share: a module that sets the facts it is given (a platform without its host), and keys and
certificates made with cryptography (a site CA, server certificates, the wrong variants of them)."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

FAKE_FACTS_MODULE = """#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={"facts": {"type": "dict", "required": True}}, supports_check_mode=True)
    module.exit_json(changed=False, ansible_facts=module.params["facts"])


if __name__ == "__main__":
    main()
"""


def key():
    """A new private key (EC P-256)."""
    return ec.generate_private_key(ec.SECP256R1())


def write_pem(path, key=None, cert=None):
    """Write a key or a certificate to `path` as PEM; its path, as a string."""
    if key is not None:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def x509_cert(subject_key, cn, issuer_key=None, issuer_name=None, sans=(), ca=False, days=(-1, 365)):
    """A certificate for `cn` (and DNS `sans`), self-signed unless an issuer is given, valid between the `days`."""
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or name)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=days[0]))
        .not_valid_after(now + datetime.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    return builder.sign(issuer_key or subject_key, hashes.SHA256())
