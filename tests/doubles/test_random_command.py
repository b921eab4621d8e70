"""Conformance of the random and command doubles with docs/provider-contract.md (R*, K* rows)."""

from __future__ import annotations

import string

import bcrypt
import pytest

from plugins.command import Command
from plugins.protocol import CheckFailed
from plugins.random import DEFAULT_SPECIAL, RandomBytes, RandomPassword

PASSWORD, BYTES, COMMAND = RandomPassword(), RandomBytes(), Command()


def test_r12_check_keeps_the_programs_inputs_and_r2_r4_defaults_reach_the_outputs() -> None:
    checked = PASSWORD.check("pw", {"length": 12}, {}, b"")
    assert checked == {"length": 12}
    resource_id, outputs = PASSWORD.create("pw", checked, 0)
    assert resource_id == "none"  # R8
    assert outputs["special"] and outputs["upper"] and outputs["lower"] and outputs["numeric"]
    assert outputs["minSpecial"] == 0 and len(outputs["result"]) == 12
    assert bcrypt.checkpw(outputs["result"].encode(), outputs["bcryptHash"].encode())
    # R8: Go's bcrypt.DefaultCost (10) and version "2a", as upstream's generateHash writes it.
    assert outputs["bcryptHash"].startswith("$2a$10$")
    # Defaults in the state, not in the inputs: no change.
    assert PASSWORD.diff("none", outputs, checked, checked).changed == []


def test_r1_length_below_the_minimums_is_refused() -> None:
    with pytest.raises(CheckFailed):
        PASSWORD.check("pw", {"length": 3, "minUpper": 2, "minNumeric": 2}, {}, b"")


def test_r7_minimums_drawn_from_each_class_even_a_disabled_one() -> None:
    for _ in range(30):
        _, out = PASSWORD.create("pw", {"length": 8, "special": False, "minSpecial": 2, "minNumeric": 3,
                                        "overrideSpecial": "@#"}, 0)
        result = out["result"]
        assert sum(c in "@#" for c in result) >= 2 and sum(c.isdigit() for c in result) >= 3
        assert set(result) <= set(string.ascii_letters + string.digits + "@#")
    _, out = PASSWORD.create("pw", {"length": 200}, 0)
    assert set(out["result"]) - set(string.ascii_letters + string.digits) <= set(DEFAULT_SPECIAL)


@pytest.mark.parametrize("prop", ["length", "special", "upper", "lower", "numeric", "minLower", "minUpper",
                                  "minNumeric", "minSpecial", "overrideSpecial"])
def test_r1_r5_every_password_input_replaces(prop: str) -> None:
    _, olds = PASSWORD.create("pw", {"length": 10}, 0)
    assert PASSWORD.diff("none", olds, {"length": 10, prop: 99}, {}).replaces == [prop]


def test_r5_override_special_from_empty_to_null_is_no_change() -> None:
    _, outputs = PASSWORD.create("pw", {"length": 10, "overrideSpecial": ""}, 0)
    assert PASSWORD.diff("none", outputs, {"length": 10}, {}).changed == []


def test_r11_random_bytes_id_is_the_value_in_plain_text() -> None:
    resource_id, outputs = BYTES.create("b", {"length": 32}, 0)
    assert resource_id == outputs["base64"] and len(bytes.fromhex(outputs["hex"])) == 32
    assert BYTES.diff(resource_id, outputs, {"length": 16}, {}).replaces == ["length"]


def test_k1_k2_triggers_replace_other_inputs_update() -> None:
    olds = {"create": "true", "triggers": ["a"], "environment": {"A": "1"}}
    assert COMMAND.diff("x", olds, {**olds, "triggers": ["b"]}, olds).replaces == ["triggers"]
    diff = COMMAND.diff("x", olds, {**olds, "environment": {"A": "2"}}, olds)
    assert diff.changed == ["environment"] and diff.replaces == []


def test_k3_k4_k6_create_runs_in_sh_with_environment_and_trims_one_newline() -> None:
    inputs = COMMAND.check("cmd", {"create": 'printf "%s\\n\\n" "$GREETING"; echo oops >&2',
                                   "environment": {"GREETING": "hello"}}, {}, b"")
    resource_id, outputs = COMMAND.create("cmd", inputs, 0)
    assert resource_id.startswith("cmd") and len(resource_id) == len("cmd") + 8
    assert outputs["stdout"] == "hello\n" and outputs["stderr"] == "oops"


def test_k2_update_reruns_create_with_the_previous_output_in_env() -> None:
    olds = {"create": "echo one", "stdout": "one", "stderr": ""}
    news = COMMAND.check("cmd", {"create": 'echo "two after $PULUMI_COMMAND_STDOUT"'}, {}, b"")
    assert COMMAND.update("x", olds, news, olds, 0)["stdout"] == "two after one"


def test_k7_a_failing_create_fails_with_exit_status_and_output() -> None:
    with pytest.raises(RuntimeError) as failed:
        COMMAND.create("cmd", COMMAND.check("cmd", {"create": "echo partial; exit 3"}, {}, b""), 0)
    assert "exit status 3" in str(failed.value) and "partial" in str(failed.value)


def test_k10_timeout_kills_the_command() -> None:
    with pytest.raises(RuntimeError, match="timed out"):
        COMMAND.create("cmd", {"create": "sleep 30"}, 1)


def test_k9_delete_runs_only_a_given_delete_command(tmp_path) -> None:
    marker = tmp_path / "deleted"
    COMMAND.delete("x", {"create": "true"}, 0)
    assert not marker.exists()
    COMMAND.delete("x", {"delete": f"touch {marker}"}, 0)
    assert marker.exists()


def test_r13_k12_random_and_command_replace_create_before_delete() -> None:
    _, olds = PASSWORD.create("pw", {"length": 10}, 0)
    assert PASSWORD.diff("none", olds, {"length": 11}, {}).delete_before_replace is False
    olds = {"create": "true", "triggers": ["a"]}
    assert COMMAND.diff("x", olds, {**olds, "triggers": ["b"]}, olds).delete_before_replace is False


def test_k8_a_failing_update_fails_the_step() -> None:
    olds = {"create": "true", "stdout": "", "stderr": ""}
    with pytest.raises(RuntimeError, match="exit status 4"):
        COMMAND.update("x", olds, COMMAND.check("cmd", {"create": "exit 4"}, {}, b""), olds, 0)
