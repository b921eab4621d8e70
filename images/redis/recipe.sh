# Redis from Debian's redis-server, as a non-root user (999:999) on port 6379. start-redis writes
# the configuration, with requirepass from $REDIS_PASSWORD, to /tmp at start. No persistence unless
# REDIS_APPENDONLY=yes (then into /data, a volume owned by 999).
REPO=$NAMESPACE/redis
PACKAGE=redis-server
REDIS_ID=999

resolve_version() { echo "${1:-$(debian_candidate "$PACKAGE")}"; }

build_rootfs() {
    local root=$1 version=$2
    # Created before the package so its postinst reuses this user (fixed uid) instead of a random one.
    add_user "$root" redis "$REDIS_ID" /data
    apt_install "$root" "$PACKAGE=$version" || die "apt-get install failed (log: $BUILD_LOG)"
    [[ $(installed_version "$root" "$PACKAGE") == "$version" ]] || die "installed $PACKAGE is not $version"
    mkdir -p "$root/data"
    chown "$REDIS_ID:$REDIS_ID" "$root/data"
    chmod 0750 "$root/data"
    install -m 0755 "$RECIPE_DIR/start-redis" "$root/usr/local/bin/start-redis"
}

image_config() {
    local version=$1
    CONFIG=(
        "LABEL org.opencontainers.image.title=redis"
        "LABEL org.opencontainers.image.version=$version"
        "WORKDIR /data"
        "USER $REDIS_ID:$REDIS_ID"
        "EXPOSE 6379"
        # The password reaches redis-cli through its REDISCLI_AUTH variable, not its arguments.
        'HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p 6379 ping | grep -q PONG'
        'CMD ["start-redis"]'
    )
}
