"""The TLS certificate nginx serves: generated for the stack, or given as (secret) config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from components.hardening import TYPE_PREFIX, child_opts
from components.providers.selfsigned import SelfSignedCertificate


@dataclass(frozen=True, kw_only=True)
class TlsCertificateArgs:
    hostname: str
    mode: str  # "self-signed" | "provided"
    validity_days: int = 365
    certificate_pem: Optional[str] = None
    private_key_pem: Optional[pulumi.Input[str]] = None


class TlsCertificate(pulumi.ComponentResource):
    certificate_pem: pulumi.Output[str]
    private_key_pem: pulumi.Output[str]
    # The CA clients should trust; for a provided certificate, the chain itself.
    ca_certificate_pem: pulumi.Output[str]

    def __init__(self, name: str, args: TlsCertificateArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:TlsCertificate", name, None, opts)
        if args.mode == "self-signed":
            generated = SelfSignedCertificate(f"{name}-self-signed", hostname=args.hostname,
                                              validity_days=args.validity_days,
                                              opts=child_opts(self))
            self.certificate_pem = generated.certificate_pem
            self.private_key_pem = pulumi.Output.secret(generated.private_key_pem)
            self.ca_certificate_pem = generated.ca_certificate_pem
        else:
            if not args.certificate_pem or args.private_key_pem is None:
                raise ValueError("a provided certificate needs certificate_pem and private_key_pem")
            self.certificate_pem = pulumi.Output.from_input(args.certificate_pem)
            self.private_key_pem = pulumi.Output.secret(args.private_key_pem)
            self.ca_certificate_pem = pulumi.Output.from_input(args.certificate_pem)
        # The key is a secret output: the state holds it encrypted, as it holds the generated passwords.
        self.register_outputs({"certificate_pem": self.certificate_pem,
                               "private_key_pem": self.private_key_pem,
                               "ca_certificate_pem": self.ca_certificate_pem})
