# Open WebUI from the released PyPI package, slim (no torch/GPU wheels), upstream's layout:
# /app/backend, data in /app/backend/data, port 8080, /health. Runs as 1000:1000 with a read-only
# root: start-open-webui puts everything it writes under /tmp or the data directory.
REPO=$NAMESPACE/open-webui
APP_ID=1000
VENV=/opt/open-webui

resolve_version() {
    local v=${1:-${OWUI_VERSION:-0.12.4}}
    [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "open-webui version must look like 0.12.4, got '$v'"
    echo "$v"
}

# The venv is the slow part (~1 GB of wheels): cache it per version and pip inputs, so changing
# the start script or the image config does not download everything again.
install_venv() {
    local root=$1 version=$2 key tar
    key=$( {
        echo "$version python=$(installed_version "$root" python3)"
        cat "$RECIPE_DIR/requirements-extra.txt"
    } | sha_of_stdin)
    tar=$IMAGE_CACHE/open-webui-venv-$version-$key.tar
    if [[ -s $tar ]]; then
        log "reusing the cached venv $(basename "$tar")"
        tar --numeric-owner -xpf "$tar" -C "$root"
        return 0
    fi
    # pip inside the chroot verifies TLS against a copy of the host's CA bundle (which may hold a
    # local interception CA); the copy is removed before the tree becomes an image.
    cp "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" "$root/tmp/build-ca.crt"
    cp "$RECIPE_DIR/requirements-extra.txt" "$root/tmp/requirements-extra.txt"
    mkdir -p "$IMAGE_CACHE/pip" "$root/root/.cache/pip"
    local status=0
    CHROOT_BINDS="$IMAGE_CACHE/pip:/root/.cache/pip" in_chroot "$root" \
        PIP_CERT=/tmp/build-ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 <<EOF || status=$?
python3 -m venv $VENV
$VENV/bin/pip install -q --no-deps open-webui==$version
purelib=\$($VENV/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
$VENV/bin/python - "\$purelib/requirements-slim.txt" /tmp/requirements-extra.txt >/tmp/requirements-add.txt <<'PY'
import re, sys
from importlib.metadata import requires
name = lambda line: re.split(r"[\s\[<>=!~;#]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")
lines = lambda path: [l.strip() for l in open(path) if l.strip() and not l.startswith("#")]
slim = {name(l) for l in lines(sys.argv[1])}
# Requirements from open-webui's metadata, extras' markers dropped ("pkg==1.0; extra == 'all'").
wheel = {name(r): r.split(";")[0].strip() for r in requires("open-webui") or []}
for line in lines(sys.argv[2]):
    if name(line) not in slim:
        print(wheel.get(name(line), line))
PY
cat /tmp/requirements-add.txt
$VENV/bin/pip install -q -r "\$purelib/requirements-slim.txt" -r /tmp/requirements-add.txt
EOF
    rm -f "$root/tmp/build-ca.crt" "$root"/tmp/requirements-*.txt
    rmdir "$root/root/.cache/pip" 2>/dev/null || true
    ((status == 0)) || die "pip install of open-webui $version failed (log: $BUILD_LOG)"
    # A slim install must not have pulled torch or CUDA wheels.
    if compgen -G "$root$VENV/lib/python3*/site-packages/torch" >/dev/null ||
        compgen -G "$root$VENV/lib/python3*/site-packages/nvidia" >/dev/null; then
        die "the open-webui $version venv contains torch/nvidia packages"
    fi
    tar --numeric-owner -C "$root" -c "${VENV#/}" | atomic_write "$tar" || die "could not write $tar"
    find "$IMAGE_CACHE" -maxdepth 1 -name "open-webui-venv-$version-*.tar" ! -name "$(basename "$tar")" -delete
}

build_rootfs() {
    local root=$1 version=$2
    apt_install "$root" python3 python3-venv || die "apt-get install failed (log: $BUILD_LOG)"
    add_user "$root" app "$APP_ID" /tmp
    install_venv "$root" "$version"
    install -m 0755 "$RECIPE_DIR/start-open-webui" "$root/usr/local/bin/start-open-webui"
    # Owned by the app user in the image, so a fresh named volume mounted here is writable by it
    # (Docker copies the image directory's owner and mode into an empty volume).
    mkdir -p "$root/app/backend/data"
    chown "$APP_ID:$APP_ID" "$root/app/backend/data"
    chmod 0750 "$root/app/backend/data"
}

image_config() {
    local version=$1
    CONFIG=(
        "ENV PATH=$VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        "ENV HOME=/tmp"
        "ENV ENV=prod"
        "ENV PORT=8080"
        "ENV DATA_DIR=/app/backend/data"
        "ENV STATIC_DIR=/tmp/open-webui/static"
        "ENV USE_SLIM_DOCKER=true"
        "ENV OFFLINE_MODE=true"
        "ENV FROM_INIT_PY=true"
        "ENV ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS=false"
        "ENV SCARF_NO_ANALYTICS=true"
        "ENV DO_NOT_TRACK=true"
        "ENV ANONYMIZED_TELEMETRY=false"
        "ENV PYTHONDONTWRITEBYTECODE=1"
        "ENV PYTHONUNBUFFERED=1"
        "LABEL org.opencontainers.image.title=open-webui"
        "LABEL org.opencontainers.image.version=$version"
        "WORKDIR /app/backend"
        "USER $APP_ID:$APP_ID"
        "EXPOSE 8080"
        'HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD curl --fail --silent --show-error --max-time 4 "http://127.0.0.1:${PORT:-8080}/health" >/dev/null || exit 1'
        'CMD ["start-open-webui"]'
    )
}
