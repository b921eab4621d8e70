"""sslyze against a Mozilla server-side TLS 6.0 profile, judged from sslyze's JSON report.

`scan(host, port, ca_file, profile)` returns the problems found (empty = compliant). The report is
judged here, criterion by criterion, with the same rules as sslyze's own checker; sslyze's printed
compliance verdict is parsed as well and anything it names that the JSON judgement missed is added.
The exit code alone proves nothing: on an unparsable profile sslyze prints an error and exits 0.

`certificate_path_validation` is left out for a private CA (dev stacks, the standalone test
deployment): see `ScanReport.ignored`. With the project's self-signed certificates sslyze's strict
verifier (cryptography's web-PKI policy) refuses even the supplied CA, because the leaf has no
Authority Key Identifier; Python's ssl module and curl accept it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Optional, Union

HERE = Path(__file__).resolve().parent
PROFILES = {
    "intermediate": HERE / "mozilla_intermediate_6.0.json",
    "modern": HERE / "mozilla_modern_6.0.json",
}
PRIVATE_CA_IGNORED = ("certificate_path_validation",)
# The scan commands sslyze's checker needs (sslyze.mozilla_tls_profile.tls_config_checker).
NEEDED_COMMANDS = (
    "ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites",
    "tls_1_1_cipher_suites", "tls_1_2_cipher_suites", "tls_1_3_cipher_suites",
    "heartbleed", "robot", "openssl_ccs_injection", "tls_fallback_scsv", "tls_compression",
    "session_renegotiation", "certificate_info", "elliptic_curves", "tls_extended_master_secret",
)
VERSION_FIELDS = (
    ("ssl_2_0_cipher_suites", "SSLv2"), ("ssl_3_0_cipher_suites", "SSLv3"),
    ("tls_1_0_cipher_suites", "TLSv1"), ("tls_1_1_cipher_suites", "TLSv1.1"),
    ("tls_1_2_cipher_suites", "TLSv1.2"), ("tls_1_3_cipher_suites", "TLSv1.3"),
)
# Mozilla's profiles use ANSI X9.62 names for some curves; sslyze reports SECG names.
CURVE_ALIASES = {"prime256v1": "secp256r1", "prime192v1": "secp192r1"}


class ScanError(RuntimeError):
    """The scan could not judge the server (bad profile, no connection, incomplete scan)."""


@dataclass
class ScanReport:
    target: str
    profile: Path
    problems: dict[str, str]
    ignored: dict[str, str]
    sslyze_verdict: dict[str, str]
    versions: list[str]
    seconds: float
    json_report: Optional[Path] = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def problem_list(self) -> list[str]:
        return [f"{key}: {text}" for key, text in sorted(self.problems.items())]


def profile_path(profile: Union[str, Path]) -> Path:
    """A profile name ("intermediate", "modern") or a path to one sslyze configuration object."""
    return PROFILES[profile] if isinstance(profile, str) and profile in PROFILES else Path(profile)


def load_profile(path: Path) -> dict[str, Any]:
    """The profile as sslyze itself parses it; raises ScanError where sslyze would print an error."""
    from pydantic import ValidationError
    from sslyze.mozilla_tls_profile.tls_config_checker import TlsConfigurationAsJson

    try:
        model = TlsConfigurationAsJson.model_validate_json(Path(path).read_text())
    except (OSError, ValidationError) as err:
        raise ScanError(f"sslyze cannot use TLS profile {path}: {err}") from err
    profile = model.model_dump()
    profile["ciphers"] = {k: set(v) for k, v in profile["ciphers"].items()}
    return profile


def scan(host: str, port: int, ca_file: Union[str, Path], profile: Union[str, Path] = "intermediate",
         *, ignore: tuple[str, ...] = PRIVATE_CA_IGNORED, timeout: float = 240) -> list[str]:
    """Problems found by sslyze against `profile` (empty list = compliant)."""
    return scan_report(host, port, ca_file, profile, ignore=ignore, timeout=timeout).problem_list


def scan_report(host: str, port: int, ca_file: Union[str, Path],
                profile: Union[str, Path] = "intermediate", *,
                ignore: tuple[str, ...] = PRIVATE_CA_IGNORED, timeout: float = 240,
                keep_json: Optional[Path] = None) -> ScanReport:
    path = profile_path(profile)
    config = load_profile(path)
    target = f"{host}:{port}"
    with tempfile.TemporaryDirectory(prefix="sslyze-") as tmp:
        out = Path(keep_json) if keep_json else Path(tmp) / "report.json"
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "sslyze", f"--custom_tls_config={path}",
             f"--certinfo_ca_file={ca_file}", f"--json_out={out}", target],
            capture_output=True, text=True, timeout=timeout)
        seconds = time.monotonic() - started
        console = proc.stdout + proc.stderr
        if "Could not parse custom TLS configuration" in console:
            raise ScanError(f"sslyze refused the profile {path}:\n{console[-2000:]}")
        if not out.exists():
            raise ScanError(f"sslyze wrote no JSON report (exit {proc.returncode}):\n{console[-2000:]}")
        report = json.loads(out.read_text())
    verdict = parse_console_verdict(console, target)
    if proc.returncode not in (0, 1) or (proc.returncode == 0) != (not verdict):
        raise ScanError(f"sslyze exit {proc.returncode} does not match its verdict {verdict}")
    found = judge_report(report, config)
    # Anything sslyze's own checker names that the JSON judgement did not is a problem too.
    for key, text in verdict.items():
        found.setdefault(key, f"{text} (sslyze)")
    problems = {k: v for k, v in found.items() if k not in ignore}
    ignored = {k: v for k, v in found.items() if k in ignore}
    return ScanReport(target=target, profile=path, problems=problems, ignored=ignored,
                      sslyze_verdict=verdict, versions=supported_versions(report),
                      seconds=seconds, json_report=Path(keep_json) if keep_json else None,
                      details=report_details(report))


def parse_console_verdict(console: str, target: str) -> dict[str, str]:
    """sslyze's printed compliance section: {criterion: text}; {} when it says compliant."""
    _, marker, section = console.partition("COMPLIANCE AGAINST TLS CONFIGURATION")
    if not marker or "Checking results against custom TLS configuration" not in section:
        raise ScanError(f"sslyze did not check {target} against the custom profile:\n{console[-2000:]}")
    if f"{target}: OK - Compliant" in section:
        return {}
    if f"{target}: FAILED - Not compliant" not in section:
        raise ScanError(f"sslyze gave no verdict for {target}:\n{section[-2000:]}")
    return dict(re.findall(r"^\s+\* (\w+): (.*)$", section, flags=re.MULTILINE))


def _server_result(report: dict[str, Any]) -> dict[str, Any]:
    results = report.get("server_scan_results") or []
    if len(results) != 1:
        raise ScanError(f"expected one server in the sslyze report, got {len(results)}: "
                        f"{report.get('invalid_server_strings')}")
    server = results[0]
    if server["connectivity_status"] != "COMPLETED" or server["scan_status"] != "COMPLETED":
        raise ScanError(f"sslyze could not scan: {server['connectivity_status']} "
                        f"{server.get('connectivity_error_trace')}")
    for command in NEEDED_COMMANDS:
        attempt = server["scan_result"][command]
        if attempt["status"] != "COMPLETED":
            raise ScanError(f"sslyze scan command {command}: {attempt['status']} "
                            f"{attempt.get('error_reason')} {attempt.get('error_trace')}")
    return server["scan_result"]


def supported_versions(report: dict[str, Any]) -> list[str]:
    result = _server_result(report)
    return [name for key, name in VERSION_FIELDS if result[key]["result"]["is_tls_version_supported"]]


def judge_report(report: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    """{criterion: problem} for one server's JSON report, keyed like sslyze's checker."""
    result = _server_result(report)
    problems: dict[str, str] = {}
    problems.update(_judge_protocols(result, config))
    problems.update(_judge_certificates(result["certificate_info"]["result"], config))
    curves = {c["name"] for c in result["elliptic_curves"]["result"].get("supported_curves") or []}
    extra_curves = curves - set(config["tls_curves"])
    if extra_curves:
        problems["tls_curves"] = f"TLS curves {sorted(extra_curves)} are supported, but should be rejected."
    problems.update(_judge_vulnerabilities(result))
    return problems


def _judge_protocols(result: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    problems: dict[str, str] = {}
    versions, suites, tls13_suites = set(), set(), set()
    smallest_ecdh, smallest_dh = None, None
    for key, name in VERSION_FIELDS:
        outcome = result[key]["result"]
        if not outcome["is_tls_version_supported"]:
            continue
        versions.add(name)
        for accepted in outcome["accepted_cipher_suites"]:
            (tls13_suites if name == "TLSv1.3" else suites).add(accepted["cipher_suite"]["name"])
            key_info = accepted.get("ephemeral_key") or {}
            if key_info.get("type_name") == "ECDH":
                # OpenSSL reports 253 bits for X25519 (255): the same +3 as sslyze's checker.
                size = key_info["size"] + 3
                smallest_ecdh = size if smallest_ecdh is None else min(smallest_ecdh, size)
            elif key_info.get("type_name") == "DH":
                smallest_dh = key_info["size"] if smallest_dh is None else min(smallest_dh, key_info["size"])
    if versions - set(config["tls_versions"]):
        problems["tls_versions"] = (f"TLS versions {sorted(versions - set(config['tls_versions']))} "
                                    "are supported, but should be rejected.")
    if tls13_suites - set(config["ciphersuites"]):
        problems["ciphersuites"] = (f"TLS 1.3 cipher suites {sorted(tls13_suites - set(config['ciphersuites']))} "
                                    "are supported, but should be rejected.")
    if suites - set(config["ciphers"]["iana"]):
        problems["ciphers"] = (f"Cipher suites {sorted(suites - set(config['ciphers']['iana']))} "
                               "are supported, but should be rejected.")
    if config["ecdh_param_size"] and smallest_ecdh is not None and smallest_ecdh < config["ecdh_param_size"]:
        problems["ecdh_param_size"] = (f"ECDH parameter size is {smallest_ecdh}, "
                                       f"should be >= {config['ecdh_param_size']}.")
    if smallest_dh is not None and (not config["dh_param_size"] or smallest_dh < config["dh_param_size"]):
        # A profile without dh_param_size (6.0) allows no DHE at all; the cipher check names the suites.
        problems["dh_param_size"] = f"DH key exchange offered with {smallest_dh}-bit parameters."
    return problems


def _judge_certificates(info: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    problems: dict[str, str] = {}
    key_types, signatures = set(), set()
    allowed_curves = {CURVE_ALIASES.get(c, c) for c in config["certificate_curves"]}
    for deployment in info["certificate_deployments"]:
        leaf = deployment["received_certificate_chain"][0]
        subject = leaf["subject"]["rfc4514_string"]
        if not deployment.get("verified_certificate_chain"):
            errors = {r["trust_store"]["name"]: r.get("validation_error")
                      for r in deployment["path_validation_results"]}
            problems["certificate_path_validation"] = (
                f"Certificate path validation failed for {subject} "
                f"(supplied CA file: {errors.get('Supplied CA file', 'not given')}).")
        key = leaf["public_key"]
        if key["algorithm"] == "ECPublicKey":
            key_types.add("ecdsa")
            if key["ec_curve_name"] not in allowed_curves:
                problems["certificate_curves"] = f"Certificate curve is {key['ec_curve_name']}."
        elif key["algorithm"] == "RSAPublicKey":
            key_types.add("rsa")
            if config["rsa_key_size"] and key["key_size"] < config["rsa_key_size"]:
                problems["rsa_key_size"] = f"RSA key size is {key['key_size']}."
        else:
            key_types.add(key["algorithm"])
        signatures.add(leaf["signature_algorithm_oid"]["name"])
        lifespan = (_when(leaf["not_valid_after"]) - _when(leaf["not_valid_before"])).days
        if lifespan > config["maximum_certificate_lifespan"]:
            problems["maximum_certificate_lifespan"] = (
                f"Certificate life span is {lifespan} days, should be at most "
                f"{config['maximum_certificate_lifespan']}.")
    if not key_types & set(config["certificate_types"]):
        problems["certificate_types"] = f"Deployed certificate types are {sorted(key_types)}."
    if not signatures & set(config["certificate_signatures"]):
        problems["certificate_signatures"] = f"Deployed certificate signatures are {sorted(signatures)}."
    return problems


def _judge_vulnerabilities(result: dict[str, Any]) -> dict[str, str]:
    def outcome(command: str) -> dict[str, Any]:
        return result[command]["result"]

    checks = {
        "tls_vulnerability_compression": outcome("tls_compression")["supports_compression"],
        "tls_vulnerability_ccs_injection": outcome("openssl_ccs_injection")["is_vulnerable_to_ccs_injection"],
        "tls_vulnerability_fallback_scsv": not outcome("tls_fallback_scsv")["supports_fallback_scsv"],
        "tls_vulnerability_heartbleed": outcome("heartbleed")["is_vulnerable_to_heartbleed"],
        "tls_vulnerability_robot": outcome("robot")["robot_result"] == "VULNERABLE_STRONG_ORACLE",
        "tls_vulnerability_renegotiation": not outcome("session_renegotiation")["supports_secure_renegotiation"],
        "tls_vulnerability_extended_master_secret": not outcome("tls_extended_master_secret")["supports_ems_extension"],
    }
    return {key: "vulnerable or missing protection" for key, bad in checks.items() if bad}


def report_details(report: dict[str, Any]) -> dict[str, Any]:
    """What a reader of bench/security-scan.txt wants: versions, suites, curves, certificate."""
    result = _server_result(report)
    suites = {name: sorted(a["cipher_suite"]["name"] for a in result[key]["result"]["accepted_cipher_suites"])
              for key, name in VERSION_FIELDS if result[key]["result"]["is_tls_version_supported"]}
    leaf = result["certificate_info"]["result"]["certificate_deployments"][0]["received_certificate_chain"][0]
    return {
        "suites": suites,
        "curves": [c["name"] for c in result["elliptic_curves"]["result"].get("supported_curves") or []],
        "certificate": f"{leaf['public_key']['algorithm']} "
                       f"{leaf['public_key'].get('ec_curve_name') or leaf['public_key']['key_size']}, "
                       f"{leaf['signature_algorithm_oid']['name']}, "
                       f"{(_when(leaf['not_valid_after']) - _when(leaf['not_valid_before'])).days} days",
    }


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
