"""Contract doubles for the resource plugins this machine cannot install (docker, random, command).

The Pulumi engine starts a double like any plugin (``pulumi-resource-<package>`` on PATH, see ``plugins/bin``):
the engine keeps deciding order, replacement, state, secrets and refresh. A double only answers the provider
protocol the way the upstream provider does for the resource types and inputs the program uses; each behaviour is
a row of docs/provider-contract.md (cited there against the upstream source) and each row has a conformance test in
tests/plugins. A real plugin, when installed, always wins (deploy/plugins.py decides and says which served).
"""
