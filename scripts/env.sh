# Source me: the offline Pulumi environment this project uses (engine from scripts/pulumi-toolchain,
# state in a local file backend). `source scripts/env.sh` from the repository root.
_owui_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
eval "$("$_owui_root/scripts/pulumi-toolchain" --engine-lite --env)"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://${OWUI_STATE_DIR:-$HOME/.local/share/openwebui-pulumi/state}}"
mkdir -p "${PULUMI_BACKEND_URL#file://}"
# The passphrase protects the stack's secrets in state; set your own for anything but a trial.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-openwebui-dev-only}"
export PATH="$_owui_root/venv/bin:$PATH"
unset _owui_root
