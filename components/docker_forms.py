"""The forms in which pulumi-docker reads values back (docs/provider-contract.md). A program input in any other
form differs from the state after every create or refresh, so `up` never settles:

- durations: parsed with Go's time.ParseDuration and read back with Duration.String() (row C13): "120s" comes
  back as "2m0s";
- cpus: read back from NanoCPUs by ``nanoInt64ToDecimalString`` (row C11; terraform-provider-docker v4.5.0
  internal/provider/helpers.go): 1 -> "1.0", 1.5 -> "1.5", 10 -> "10.".
"""

from __future__ import annotations

import re
from fractions import Fraction

_UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
             "m": 60_000_000_000, "h": 3_600_000_000_000}
_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")


def parse(text: str) -> int:
    """Nanoseconds of a Go duration string ("1m30s", "250ms", "0"); ValueError otherwise."""
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body == "0":
        return 0
    total, position = 0.0, 0
    for match in _PART.finditer(body):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS_NS[match.group(2)]
        position = match.end()
    if position != len(body) or not body:
        raise ValueError(f"time: invalid duration {text!r}")
    return sign * int(round(total))


def _fraction(value: int, unit: int) -> str:
    whole, rest = divmod(value, unit)
    if not rest:
        return str(whole)
    digits = str(rest).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def format_ns(ns: int) -> str:
    """Duration.String(): "0s", "500ms", "5s", "2m0s", "1h0m0s", "1m30.5s"."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_fraction(ns, 1_000)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_fraction(ns, 1_000_000)}ms"
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = _fraction(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return f"{sign}{seconds}"


def canonical(text: str) -> str:
    return format_ns(parse(text))


def _float_string(value: Fraction, places: int) -> str:
    """Go's big.Rat.FloatString: `places` decimals, the last one rounded half away from zero."""
    scaled = abs(value) * 10**places
    rounded = int(scaled + Fraction(1, 2))
    whole, fraction = divmod(rounded, 10**places)
    sign = "-" if value < 0 and rounded else ""
    return f"{sign}{whole}" + (f".{fraction:0{places}d}" if places else "")


def nano_to_decimal(nano: int) -> str:
    """terraform-provider-docker's nanoInt64ToDecimalString, rule for rule."""
    if nano == 0:
        return "0"
    rat = Fraction(nano, 10**9)
    text = _float_string(rat, 9)
    if text.count("0") == 9:  # a "round" value: one decimal
        return _float_string(rat, 1)
    return text.rstrip("0")


def cpus_form(cpus: float | str) -> str:
    """`cpus` as the provider reads it back (what the program must send)."""
    return nano_to_decimal(int(round(float(cpus) * 1e9)))


def short_dur(ns: int) -> str:
    """How a swarm service's durations read back (row W3; terraform-provider-docker v4.5.0
    resource_docker_service_structures.go `shortDur`): Duration.String() without a trailing "0s" after minutes
    or "0m" after hours: "1m", "1m30s", "1h", "1h0m30s", "0s"."""
    text = format_ns(int(ns))
    if text.endswith("m0s"):
        text = text[:-2]
    if text.endswith("h0m"):
        text = text[:-2]
    return text
