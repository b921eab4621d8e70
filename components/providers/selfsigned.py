"""A private CA and a server certificate signed by it, generated once and kept in state.

Dev stacks get HTTPS with a certificate that clients can verify against the exported CA (no
`curl -k`). The private keys are secret outputs; the CA key is not kept at all once the server
certificate is signed, so nothing else can be issued from this CA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any, Optional

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider

_OUTPUTS = ("ca_certificate_pem", "certificate_pem", "private_key_pem", "not_after")


def generate_certificate(hostname: str, validity_days: int,
                         now: Optional[dt.datetime] = None) -> dict[str, str]:
    """PEM texts of a CA certificate, a server certificate for `hostname`, and its key (P-256)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = now or dt.datetime.now(dt.timezone.utc)
    not_after = now + dt.timedelta(days=validity_days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Open WebUI stack CA ({hostname})")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        alt_names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(hostname))]
    except ValueError:
        alt_names = [x509.DNSName(hostname)]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        # Strict verifiers (cryptography, used by sslyze) need the link to the issuing key.
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return {
        "ca_certificate_pem": ca_cert.public_bytes(pem).decode(),
        "certificate_pem": cert.public_bytes(pem).decode(),
        "private_key_pem": key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode(),
        "not_after": not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class _SelfSignedProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        generated = generate_certificate(props["hostname"], int(props["validity_days"]))
        return CreateResult(id_=f"selfsigned-{props['hostname']}", outs={**props, **generated})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in ("hostname", "validity_days") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=False)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_=id_, outs=props)


class SelfSignedCertificate(Resource, module="tls", name="SelfSignedCertificate"):
    ca_certificate_pem: pulumi.Output[str]
    certificate_pem: pulumi.Output[str]
    private_key_pem: pulumi.Output[str]
    not_after: pulumi.Output[str]

    def __init__(self, name: str, *, hostname: pulumi.Input[str], validity_days: pulumi.Input[int],
                 opts: Optional[pulumi.ResourceOptions] = None):
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["private_key_pem"])
        props = {"hostname": hostname, "validity_days": validity_days, **{k: None for k in _OUTPUTS}}
        super().__init__(_SelfSignedProvider(), name, props,
                         pulumi.ResourceOptions.merge(opts, secret_opts))
