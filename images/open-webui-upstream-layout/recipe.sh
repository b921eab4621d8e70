# Open WebUI from the same PyPI package and venv as images/open-webui, arranged the way upstream's
# published image is at run time, so the program can be tested against what most users deploy.
# The facts reproduced, from upstream's Dockerfile (open-webui/open-webui, read at commits 08d67bf0
# and 00a89829) and backend/start.sh (commits 8b020075 and 059cf821):
#   - `ARG UID=0` / `ARG GID=0` ("non-root configurations are untested"), `USER $UID:$GID`: root;
#   - `ENV HOME=/root`, `RUN chown -R $UID:$GID /app $HOME`: /app and /root owned by root, and
#     /root/.cache/chroma/telemetry_user_id written at build time;
#   - the backend source at /app/backend (open_webui/ is not an installed package there), the built
#     frontend at /app/build, /app/package.json and /app/CHANGELOG.md beside it (open_webui/env.py
#     reads the version and the frontend from BASE_DIR = /app when FROM_INIT_PY is unset);
#   - /app/backend/data created by root and holding files: the model caches upstream's ENV points
#     into it (SENTENCE_TRANSFORMERS_HOME, HF_HOME, WHISPER_MODEL_DIR, TIKTOKEN_CACHE_DIR);
#   - `WORKDIR /app/backend`, `CMD ["bash", "start.sh"]`, and a start.sh that writes
#     .webui_secret_key into its own directory when WEBUI_SECRET_KEY is empty (our start.sh here);
#   - `HEALTHCHECK CMD curl ... /health | jq -ne 'input.status == true'`, so curl and jq are installed.
# Not reproduced: the non-slim model downloads, pandoc/ffmpeg/gcc (nothing at start needs them),
# Python from python:3.11-slim's /usr/local (Debian's python3 is the same 3.11 here).
OWUI_RECIPE_DIR=$IMAGES_DIR/open-webui
# install_venv, resolve_version and VENV come from the open-webui recipe: the same cached venv.
# shellcheck source=images/open-webui/recipe.sh
. "$OWUI_RECIPE_DIR/recipe.sh"
REPO=$NAMESPACE/open-webui-upstream-layout

# This image is built from the open-webui recipe's files too: they count for the cache key.
eval "own_$(declare -f inputs_hash)"
inputs_hash() {
    {
        own_inputs_hash "$@"
        find "$OWUI_RECIPE_DIR" -type f -print0 | sort -z | xargs -0 sha256sum | sed "s#  $IMAGES_DIR/#  #"
    } | sha_of_stdin
}

build_rootfs() {
    local root=$1 version=$2 site
    apt_install "$root" python3 python3-venv jq || die "apt-get install failed (log: $BUILD_LOG)"
    RECIPE_DIR=$OWUI_RECIPE_DIR install_venv "$root" "$version"
    site=$(cd "$root" && echo "${VENV#/}"/lib/python3*/site-packages)
    [[ -d $root/$site/open_webui ]] || die "no open_webui package in $site"
    mkdir -p "$root/app/backend"
    # Upstream runs the source tree, not an installed package: open_webui is importable only from
    # /app/backend (the working directory), as in upstream's image.
    mv "$root/$site/open_webui" "$root/app/backend/open_webui"
    rm -rf "$root/$site"/open_webui-*.dist-info "$root$VENV/bin/open-webui"
    mv "$root/app/backend/open_webui/frontend" "$root/app/build"
    cp "$root/app/backend/open_webui/CHANGELOG.md" "$root/app/CHANGELOG.md"
    printf '{\n  "name": "open-webui",\n  "version": "%s"\n}\n' "$version" >"$root/app/package.json"
    install -m 0755 "$RECIPE_DIR/start.sh" "$root/app/backend/start.sh"
    # The data directory as upstream's build leaves it: made by root, with the model caches in it.
    local dir
    for dir in cache/embedding/models cache/whisper/models cache/tiktoken; do
        mkdir -p "$root/app/backend/data/$dir"
        echo "stands for the model files upstream's non-slim image downloads here at build time" \
            >"$root/app/backend/data/$dir/.image-seed"
    done
    mkdir -p "$root/root/.cache/chroma"
    printf '%s' 00000000-0000-0000-0000-000000000000 >"$root/root/.cache/chroma/telemetry_user_id"
    chown -R 0:0 "$root/app" "$root/root"
}

image_config() {
    local version=$1
    CONFIG=(
        "ENV PATH=$VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        "ENV HOME=/root"
        "ENV ENV=prod"
        "ENV PORT=8080"
        "ENV USE_SLIM_DOCKER=true"
        "ENV OLLAMA_BASE_URL=/ollama"
        "ENV OPENAI_API_BASE_URL="
        "ENV OPENAI_API_KEY="
        "ENV WEBUI_SECRET_KEY="
        "ENV SCARF_NO_ANALYTICS=true"
        "ENV DO_NOT_TRACK=true"
        "ENV ANONYMIZED_TELEMETRY=false"
        "ENV WHISPER_MODEL=base"
        "ENV WHISPER_MODEL_DIR=/app/backend/data/cache/whisper/models"
        "ENV SENTENCE_TRANSFORMERS_HOME=/app/backend/data/cache/embedding/models"
        "ENV HF_HOME=/app/backend/data/cache/embedding/models"
        "ENV TIKTOKEN_ENCODING_NAME=cl100k_base"
        "ENV TIKTOKEN_CACHE_DIR=/app/backend/data/cache/tiktoken"
        "ENV DOCKER=true"
        "LABEL org.opencontainers.image.title=open-webui-upstream-layout"
        "LABEL org.opencontainers.image.version=$version"
        "WORKDIR /app/backend"
        "USER 0:0"
        "EXPOSE 8080"
        "HEALTHCHECK CMD curl --silent --fail http://localhost:\${PORT:-8080}/health | jq -ne 'input.status == true' || exit 1"
        'CMD ["bash", "start.sh"]'
    )
}
