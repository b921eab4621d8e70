# Backup and migration helper: Debian minbase + python3, the PostgreSQL, MariaDB/MySQL and SQLite
# clients, gnupg (encrypted backups), rsync and curl. Runs as 1000:1000, the app's user, so it can
# read and write the app's data volume. The tag is the project's version of this package list.
REPO=$NAMESPACE/tools
TOOLS_ID=1000
PACKAGES=(python3 postgresql-client mariadb-client sqlite3 gnupg rsync)

resolve_version() {
    local v=${1:-${OWUI_TOOLS_VERSION:-1.0.0}}
    [[ $v =~ ^[A-Za-z0-9_.-]+$ ]] || die "tools version must be a Docker tag, got '$v'"
    echo "$v"
}

build_rootfs() {
    local root=$1
    apt_install "$root" "${PACKAGES[@]}" || die "apt-get install failed (log: $BUILD_LOG)"
    add_user "$root" tools "$TOOLS_ID" /tmp
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
