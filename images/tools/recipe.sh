# Backup and migration helper: Debian minbase + python3, the PostgreSQL, MariaDB/MySQL and SQLite
# clients, gnupg (encrypted backups), rsync, and the ops package owui_ops (`python3 -m owui_ops`) in
# /opt/owui-ops, found through a .pth file (no PYTHONPATH needed). The migration and volume-ownership
# steps copy that directory into a volume for app-image containers (owui_ops/steps.py). Runs as
# 1000:1000, the app's user, so it can read and write the app's data volume. The tag is the project's
# version of this package list and of owui_ops: bump it when either changes.
REPO=$NAMESPACE/tools
TOOLS_ID=1000
PACKAGES=(python3 postgresql-client mariadb-client sqlite3 gnupg rsync)
OPS_PACKAGE=$IMAGES_DIR/../owui_ops
# Hashed with the recipe by images/build, so a changed package rebuilds the image.
EXTRA_INPUTS=("$OPS_PACKAGE")

resolve_version() {
    local v=${1:-${OWUI_TOOLS_VERSION:-1.1.0}}
    [[ $v =~ ^[A-Za-z0-9_.-]+$ ]] || die "tools version must be a Docker tag, got '$v'"
    echo "$v"
}

build_rootfs() {
    local root=$1
    apt_install "$root" "${PACKAGES[@]}" || die "apt-get install failed (log: $BUILD_LOG)"
    add_user "$root" tools "$TOOLS_ID" /tmp
    install -d -m 0755 "$root/opt/owui-ops/owui_ops"
    install -m 0644 "$OPS_PACKAGE"/*.py "$root/opt/owui-ops/owui_ops/"
    echo /opt/owui-ops >"$root/usr/lib/python3/dist-packages/owui-ops.pth"
}

image_config() {
    local version=$1
    CONFIG=(
        "ENV HOME=/tmp"
        "LABEL org.opencontainers.image.title=tools"
        "LABEL org.opencontainers.image.version=$version"
        "WORKDIR /tmp"
        "USER $TOOLS_ID:$TOOLS_ID"
        'CMD ["/bin/bash"]'
    )
}
