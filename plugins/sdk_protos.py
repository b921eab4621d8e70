"""The Pulumi SDK's generated protocol modules (pulumi/runtime/proto) for a plugin process, without the SDK.

`from pulumi.runtime.proto import provider_pb2` first runs pulumi/__init__.py, pulumi/runtime/__init__.py and
pulumi/runtime/proto/__init__.py, which import the whole SDK (automation, runtime, mocks, every protocol module):
0.34 s of a double's 0.36 s start here against 0.13 s for the modules it uses (`python -X importtime`, measured
2026-12-01). The engine starts a package's plugin when the program first uses that package, one package after
another (the step generator registers the default provider, which loads the plugin), so every preview and update
paid the SDK three times. A double uses nothing of the SDK but the generated modules.
"""

from __future__ import annotations

import importlib.util
import sys

PARENTS = ("pulumi", "pulumi.runtime", "pulumi.runtime.proto")


def enter_parents_bare() -> None:
    """Enter the proto module's parent packages in sys.modules without running their __init__ (same directories,
    same names, so the generated modules import as they do under the SDK). Only for a process that never imports
    the SDK itself: the `python -m plugins` launcher; a process that already has the SDK keeps it."""
    for name in PARENTS:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None:
            raise ModuleNotFoundError(f"{name} is not installed (requirements.txt: pulumi)", name=name)
        sys.modules[name] = importlib.util.module_from_spec(spec)
