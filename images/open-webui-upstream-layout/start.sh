#!/usr/bin/env bash
# Starts Open WebUI the way upstream's backend/start.sh does (open-webui/open-webui, read at commits
# 8b020075 and 059cf821), written from that behaviour for this test image:
# - it runs from its own directory (/app/backend), where the open_webui source tree is;
# - when neither WEBUI_SECRET_KEY nor WEBUI_JWT_SECRET_KEY is set, it keeps a generated key in
#   .webui_secret_key in that directory (not in the data volume: a new container makes a new key)
#   and reuses the file when it exists;
# - uvicorn trusts X-Forwarded-* from every address (--forwarded-allow-ips '*').
# The Playwright, Ollama, CUDA and Hugging Face Space branches are left out: this image has none of them.
cd "$(dirname "${BASH_SOURCE[0]}")" || exit 1

key_file=.webui_secret_key
if [[ -z "${WEBUI_SECRET_KEY:-}" && -z "${WEBUI_JWT_SECRET_KEY:-}" ]]; then
    echo "Loading WEBUI_SECRET_KEY from file, not provided as an environment variable."
    if [[ ! -e $key_file ]]; then
        echo "Generating WEBUI_SECRET_KEY"
        head -c 12 /dev/urandom | base64 >"$key_file"
    fi
    echo "Loading WEBUI_SECRET_KEY from $key_file"
    WEBUI_SECRET_KEY=$(cat "$key_file")
fi
export WEBUI_SECRET_KEY

exec uvicorn open_webui.main:app --host "${HOST:-0.0.0.0}" --port "${PORT:-8080}" \
    --forwarded-allow-ips '*' --workers "${UVICORN_WORKERS:-1}"
