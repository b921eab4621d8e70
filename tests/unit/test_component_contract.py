"""The contract every component of components/ keeps (the style of stelviodev/stelvio's component tests).

For each pulumi.ComponentResource class defined in components/:
- its args class is named `<Component>Args` (the `args` parameter of its constructor);
- its type token is `<TYPE_PREFIX>:<Component>` (components/hardening.py: one prefix for the package);
- every resource its code declares names it as parent (never the stack), and the engine receives that parent;
- every output attribute it sets is registered (register_outputs), so the engine records it.

The real program runs under the recording mocks (tests/mocks.py ContractMonitor) for stacks that together
declare every component; a component no stack declares fails here, so a new one cannot escape the contract.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

import components
from components.hardening import TYPE_PREFIX
from components.providers.selfsigned import generate_certificate
from tests.conftest import stack_secrets
from tests.mocks import (
    ContractMonitor,
    Declared,
    RecordingMocks,
    declare,
    object_store_config,
    run_program,
    stack_config,
)


def component_classes() -> list[type[pulumi.ComponentResource]]:
    found = []
    for module_info in pkgutil.walk_packages(components.__path__, "components."):
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, pulumi.ComponentResource) and cls.__module__ == module.__name__:
                found.append(cls)
    return sorted(found, key=lambda cls: cls.__name__)


COMPONENTS = component_classes()


@dataclass
class Run:
    name: str
    monitor: ContractMonitor


def _stacks() -> list[tuple[str, str, dict[str, Any], tuple[str, ...]]]:
    """(label, stack, config, secret keys): dev (SQLite, self-signed), staging (PostgreSQL) and prod (MariaDB,
    Redis, a given certificate) with backups on; prod again on a swarm (`target: swarm`, without backups, which
    do not run there)."""
    tls = generate_certificate("chat.example.com", 90)
    runs: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [("dev", "dev", stack_config("dev"), ())]
    for stack in ("staging", "prod"):
        secrets, secret_keys = stack_secrets(stack, tls)
        values = {**stack_config(stack), **secrets, "backup": {"enabled": True}}
        runs.append((f"{stack}+backup", stack, values, secret_keys))
    secrets, secret_keys = stack_secrets("prod", tls)
    store, store_keys = object_store_config()
    runs.append(("prod+swarm", "prod", {**stack_config("prod"), **secrets, **store, "target": "swarm"},
                 secret_keys + store_keys))
    return runs


@pytest.fixture(scope="module")
def runs() -> list[Run]:
    done = []
    for label, stack, values, secret_keys in _stacks():
        mocks = RecordingMocks()
        monitor = ContractMonitor(mocks)
        run_program(stack, values, secret_keys, mocks, monitor=monitor)
        done.append(Run(label, monitor))
    return done


def instances(runs: list[Run], cls: type) -> list[tuple[Run, pulumi.ComponentResource]]:
    return [(run, d.resource) for run in runs for d in run.monitor.declared if type(d.resource) is cls]


def urn_of(run: Run, declared: Declared) -> str:
    return run.monitor.urns[(declared.typ, declared.name)]


def test_components_are_found():
    # The discovery itself: a broken walk would make every parametrised test below vacuous.
    names = {cls.__name__ for cls in COMPONENTS}
    assert {"WebUI", "Proxy", "Migration", "Backup", "Redis", "Foundation"} <= names, names


@pytest.mark.parametrize("cls", COMPONENTS, ids=lambda cls: cls.__name__)
def test_args_class_is_named_for_the_component(cls):
    parameters = list(inspect.signature(cls.__init__).parameters)
    assert parameters[:4] == ["self", "name", "args", "opts"], parameters
    args_class = typing.get_type_hints(cls.__init__)["args"]
    assert inspect.isclass(args_class) and args_class.__name__ == f"{cls.__name__}Args", args_class


@pytest.mark.parametrize("cls", COMPONENTS, ids=lambda cls: cls.__name__)
def test_type_token_is_the_component_under_the_one_prefix(cls, runs):
    found = instances(runs, cls)
    assert found, f"no stack of {[run.name for run in runs]} declares {cls.__name__}: add one to _stacks()"
    for run, _ in found:
        tokens = {d.typ for d in run.monitor.declared if type(d.resource) is cls}
        assert tokens == {f"{TYPE_PREFIX}:{cls.__name__}"}, (run.name, tokens)


@pytest.mark.parametrize("cls", COMPONENTS, ids=lambda cls: cls.__name__)
def test_every_child_names_the_component_as_parent(cls, runs):
    checked = 0
    for run, component in instances(runs, cls):
        me = next(d for d in run.monitor.declared if d.resource is component)
        for child in run.monitor.declared:
            if child.declared_by is not component:
                continue
            checked += 1
            assert child.parent is component, (
                f"{run.name}: {child.typ} {child.name!r}, declared by {cls.__name__}, has parent "
                f"{type(child.parent).__name__ if child.parent else 'the stack'}: pass parent=self (child_opts)")
            # What the engine receives: the child's parent URN is the component's.
            assert run.monitor.parent_urns[urn_of(run, child)] == urn_of(run, me), (run.name, child.name)
    if cls.__name__ not in {"Database"}:  # SQLite needs no server resources, but the other stacks do
        assert checked, f"{cls.__name__} declared no resource in any stack"


def output_attributes(cls: type) -> list[str]:
    """The attributes the class itself declares as pulumi.Output[...] (or Optional of one)."""
    names = []
    for attr, hint in inspect.get_annotations(cls, eval_str=True).items():
        candidates = typing.get_args(hint) if typing.get_origin(hint) is typing.Union else (hint,)
        if any(typing.get_origin(c) is pulumi.Output or c is pulumi.Output for c in candidates):
            names.append(attr)
    return names


@pytest.mark.parametrize("cls", COMPONENTS, ids=lambda cls: cls.__name__)
def test_outputs_are_registered(cls, runs):
    for run, component in instances(runs, cls):
        me = next(d for d in run.monitor.declared if d.resource is component)
        urn = urn_of(run, me)
        assert urn in run.monitor.outputs, f"{run.name}: {cls.__name__} never calls register_outputs"
        registered = run.monitor.outputs[urn]
        for attr in output_attributes(cls):
            if getattr(component, attr, None) is not None:
                assert attr in registered, f"{run.name}: {cls.__name__}.{attr} is not registered ({registered})"


def test_the_checks_see_a_stack_parented_child():
    """A negative control: a component whose child forgets parent=self is caught by the records above."""

    class Careless(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__(f"{TYPE_PREFIX}:Careless", name)
            pulumi.CustomResource("test:index:Thing", f"{name}-thing")
            self.register_outputs({})

    Careless.__module__ = "components.careless"  # as if it lived in components/
    monitor = ContractMonitor(RecordingMocks())
    declare(lambda: Careless("careless"), "dev", monitor.mocks, monitor=monitor)
    thing = next(d for d in monitor.declared if d.name == "careless-thing")
    assert type(thing.declared_by).__name__ == "Careless" and thing.parent is None
    component = next(d for d in monitor.declared if d.name == "careless")
    assert monitor.parent_urns[monitor.urns[("test:index:Thing", "careless-thing")]] != \
        monitor.urns[(component.typ, component.name)]
