# Shared helpers for images/build: cache paths, input hashing, the Debian root filesystem, running
# commands in a chroot, and docker import/save/load. Sourced, not executed.
#
# Why root filesystems and `docker import`: no container registry is reachable, so there is no base
# image to pull and no FROM. Each image starts from one cached `debootstrap --variant=minbase` tarball.

IMAGES_DIR=${IMAGES_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
SUITE=${OWUI_IMAGES_SUITE:-bookworm}
CACHE_ROOT=${OWUI_CACHE:-$HOME/.cache/openwebui-pulumi}
IMAGE_CACHE=$CACHE_ROOT/images
BUILD_LABEL=org.openwebui-pulumi.build-hash
# Image names are $NAMESPACE/<image>; another namespace keeps a benchmark away from the real images.
NAMESPACE=${OWUI_IMAGES_NAMESPACE:-openwebui-local}
# Packages every image gets: TLS roots and curl for health checks.
BASE_INCLUDE=ca-certificates,curl

log() { echo "images: $*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# A Docker tag allows [A-Za-z0-9_.-]: Debian versions carry an epoch (5:) and + or ~.
tag_of() {
    local v=${1#*:}
    v=${v//[^A-Za-z0-9_.-]/-}
    echo "${v:0:128}"
}

sha_of_stdin() { sha256sum | cut -c1-12; }

# Hash of everything that decides an image's content: the shared helpers, the recipe's folder and
# the requested version. Editing any of them gives a new cache entry instead of a stale image.
inputs_hash() {
    local recipe_dir=$1 version=$2
    {
        echo "suite=$SUITE base=$BASE_INCLUDE version=$version"
        cat "$IMAGES_DIR/lib.sh"
        find "$recipe_dir" -type f -print0 | sort -z | xargs -0 sha256sum | sed "s#  $IMAGES_DIR/#  #"
    } | sha_of_stdin
}

# The Debian mirror the host's apt already uses (read at run time so no host name is written down);
# empty means debootstrap's own default.
host_mirror() {
    apt-cache policy 2>/dev/null | awk -v s="$SUITE/main" '$3 == s { print $2; exit }'
}

# Make sure the host's apt knows candidate versions (a fresh machine has no package lists).
host_apt_ready() {
    if ! apt-cache policy 2>/dev/null | grep -q "$SUITE/main"; then
        log "apt-get update (no package lists on this host yet)"
        apt-get update -qq >/dev/null || die "apt-get update failed"
    fi
}

# Candidate version of a Debian package, as the image build's apt will see it: the chroot uses the
# host's sources, so the host's candidate is the one installed.
debian_candidate() {
    host_apt_ready
    local v
    v=$(apt-cache policy "$1" | awk '/Candidate:/ { print $2 }')
    [[ -n $v && $v != "(none)" ]] || die "no candidate version of Debian package $1"
    echo "$v"
}

need_host_tools() {
    [[ $(id -u) -eq 0 ]] || die "building root filesystems needs root (debootstrap, chroot)"
    local missing=()
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v unshare >/dev/null || missing+=(util-linux)
    if ((${#missing[@]})); then
        host_apt_ready
        log "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
            die "apt-get install ${missing[*]} failed"
    fi
}

# Remove a build tree. --one-file-system so a mount left inside can never take host files along.
remove_tree() {
    if [[ -n $1 && -d $1 ]]; then rm -rf --one-file-system "$1"; fi
}

# Write stdin to $1 atomically: readers never see a half-written cache file.
atomic_write() {
    local dest=$1 tmp
    tmp=$(mktemp "$dest.partial.XXXXXX")
    if cat >"$tmp"; then
        mv -f "$tmp" "$dest"
    else
        rm -f "$tmp"
        return 1
    fi
}

# The shared minbase root filesystem, built once and cached as a tarball.
base_rootfs_tar() {
    local key tar root mirror
    key=$(echo "debootstrap variant=minbase suite=$SUITE include=$BASE_INCLUDE arch=$(dpkg --print-architecture) v1" |
        sha_of_stdin)
    tar=$IMAGE_CACHE/rootfs/debian-$SUITE-minbase-$key.tar
    if [[ ! -s $tar ]]; then
        mkdir -p "$IMAGE_CACHE/rootfs"
        root=$(mktemp -d "$IMAGE_CACHE/rootfs/build.XXXXXX")
        chmod 0755 "$root" # mktemp makes it 0700, and it becomes the image's /
        mirror=$(host_mirror)
        log "debootstrap $SUITE minbase (once; cached as $(basename "$tar"))"
        # shellcheck disable=SC2086  # an empty mirror must vanish, not become an empty argument
        if ! debootstrap --variant=minbase --include="$BASE_INCLUDE" "$SUITE" "$root" $mirror \
            >>"$BUILD_LOG" 2>&1; then
            remove_tree "$root"
            die "debootstrap failed (log: $BUILD_LOG)"
        fi
        # Device nodes and the package cache do not belong in an image.
        tar --numeric-owner -C "$root" -c --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
            --exclude='./var/cache/apt/archives/*.deb' . | atomic_write "$tar" ||
            die "could not write $tar"
        remove_tree "$root"
    fi
    echo "$tar"
}

# Unpack the base into a fresh build tree; prints its path.
new_rootfs() {
    local base root
    base=$(base_rootfs_tar)
    root=$(mktemp -d "$IMAGE_CACHE/build.XXXXXX")
    tar --numeric-owner -xpf "$base" -C "$root"
    chmod 0755 "$root" # mktemp makes it 0700, and it becomes the image's /
    # The base tarball has no device nodes; package scripts need a few. Left out again at import.
    mknod -m 666 "$root/dev/null" c 1 3
    mknod -m 666 "$root/dev/zero" c 1 5
    mknod -m 666 "$root/dev/full" c 1 7
    mknod -m 666 "$root/dev/random" c 1 8
    mknod -m 666 "$root/dev/urandom" c 1 9
    # Name resolution for apt and pip inside; emptied again before import (Docker supplies its own).
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    echo "$root"
}

# Run a shell script (stdin) inside the chroot, with a clean environment (the host's PIP_*, SSL_*
# and similar settings name paths that do not exist inside) and a private mount namespace, so the
# /proc and bind mounts made here disappear when the command ends, even on failure.
# Extra arguments are VAR=value settings; CHROOT_BINDS="host_dir:dir_in_root ..." adds bind mounts.
in_chroot() {
    local root=$1
    shift
    CHROOT_BINDS=${CHROOT_BINDS:-} unshare --mount --propagation private -- sh -c '
        root=$1; shift
        mount -t proc proc "$root/proc"
        for bind in $CHROOT_BINDS; do
            mount --bind "${bind%%:*}" "$root${bind#*:}"
        done
        exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@" chroot "$root" /bin/sh -eux
    ' in_chroot "$root" "$@" >>"$BUILD_LOG" 2>&1
}

# apt inside the build tree, configured like the host's apt (same sources, same Acquire options) so
# it installs the same versions the host reports. The image's own apt setup is put back afterwards.
apt_install() {
    local root=$1
    shift
    mv "$root/etc/apt" "$root/etc/apt.image"
    mkdir -p "$root/etc/apt"
    cp -a "$root/etc/apt.image/." "$root/etc/apt/"
    if [[ -f /etc/apt/sources.list.d/debian.sources || -s /etc/apt/sources.list ]]; then
        rm -f "$root/etc/apt/sources.list"
        [[ -s /etc/apt/sources.list ]] && cp /etc/apt/sources.list "$root/etc/apt/"
        [[ -f /etc/apt/sources.list.d/debian.sources ]] && cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
    fi
    cp -a /etc/apt/apt.conf.d/. "$root/etc/apt/apt.conf.d/"
    # Package scripts must not start services on the build host.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    local status=0
    in_chroot "$root" <<EOF || status=$?
apt-get update -qq
apt-get -y -qq dist-upgrade
apt-get install -y -qq --no-install-recommends $*
apt-get clean
EOF
    rm -rf "$root/etc/apt"
    mv "$root/etc/apt.image" "$root/etc/apt"
    rm -f "$root/usr/sbin/policy-rc.d"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/apt/* \
        "$root"/var/log/dpkg.log "$root"/var/cache/debconf/*-old
    return $status
}

# Installed version of a Debian package inside a build tree.
installed_version() { chroot "$1" dpkg-query -W -f '${Version}' "$2"; }

# Add a system user and group with fixed numeric ids (the images run as numbers, not names).
add_user() {
    local root=$1 name=$2 id=$3 home=$4
    local system=""
    ((id < 1000)) && system=--system
    in_chroot "$root" <<EOF
getent group $id >/dev/null || groupadd $system --gid $id $name
getent passwd $id >/dev/null || useradd $system --uid $id --gid $id --home-dir $home --no-create-home --shell /usr/sbin/nologin $name
EOF
}

# Import a build tree as an image; the remaining arguments are `docker import --change` lines.
import_rootfs() {
    local root=$1 ref=$2 hash=$3
    shift 3
    local changes=(--change "LABEL $BUILD_LABEL=$hash")
    local c
    for c in "$@"; do changes+=(--change "$c"); done
    # Docker supplies these at run time; the build host's values do not belong in the image.
    : >"$root/etc/resolv.conf"
    : >"$root/etc/hostname"
    tar --numeric-owner -C "$root" -c --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' . |
        docker import "${changes[@]}" - "$ref" >/dev/null
}

image_hash() { docker image inspect --format "{{ index .Config.Labels \"$BUILD_LABEL\" }}" "$1" 2>/dev/null; }
