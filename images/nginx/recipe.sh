# nginx from Debian's package, as a non-root user (101:101) on unprivileged ports (8080 http,
# 8443 https). No configuration is baked in: start-nginx writes $NGINX_CONF and the TLS PEMs to
# /tmp/nginx at start. pid, temp paths and logs work with a read-only root and only /tmp writable.
REPO=$NAMESPACE/nginx
PACKAGE=nginx
NGINX_ID=101

resolve_version() { echo "${1:-$(debian_candidate "$PACKAGE")}"; }

build_rootfs() {
    local root=$1 version=$2
    add_user "$root" nginx "$NGINX_ID" /nonexistent
    apt_install "$root" "$PACKAGE=$version" || die "apt-get install failed (log: $BUILD_LOG)"
    [[ $(installed_version "$root" "$PACKAGE") == "$version" ]] || die "installed $PACKAGE is not $version"
    # The compiled-in paths point at the read-only root. Point them at /tmp/nginx (created by
    # start-nginx), so a conf that forgets a temp path or pid still works; logs go to the console.
    ln -sf /dev/stdout "$root/var/log/nginx/access.log"
    ln -sf /dev/stderr "$root/var/log/nginx/error.log"
    local d
    for d in body proxy fastcgi uwsgi scgi; do
        rm -rf "$root/var/lib/nginx/$d"
        ln -s "/tmp/nginx/$d" "$root/var/lib/nginx/$d"
    done
    ln -sf /tmp/nginx/nginx.pid "$root/run/nginx.pid"
    # The Debian default site listens on port 80 and is never loaded (-c /tmp/nginx/nginx.conf);
    # removing it avoids anyone including it by accident.
    rm -f "$root/etc/nginx/sites-enabled/default"
    install -m 0755 "$RECIPE_DIR/start-nginx" "$root/usr/local/bin/start-nginx"
}

image_config() {
    local version=$1
    CONFIG=(
        "LABEL org.opencontainers.image.title=nginx"
        "LABEL org.opencontainers.image.version=$version"
        "WORKDIR /tmp"
        "USER $NGINX_ID:$NGINX_ID"
        "EXPOSE 8080 8443"
        'CMD ["start-nginx"]'
    )
}
