"""How the app process starts and is health-checked, the same for every Open WebUI image.

The program does not run an image's own start script: upstream's backend/start.sh (open-webui/open-webui,
commits 8b020075, 059cf821) writes `.webui_secret_key` into /app/backend when WEBUI_SECRET_KEY is empty
(read-only root here) and passes `--forwarded-allow-ips '*'` to uvicorn, which would override the
stack's FORWARDED_ALLOW_IPS. Nor does it rely on an image's tools for the health check: upstream's
HEALTHCHECK needs curl and jq. Every Open WebUI image has python3, so both are python3 one-liners
using only the standard library.
"""

from __future__ import annotations

# Finds open_webui without importing it: an installed package (our images) or the source tree in the
# working directory /app/backend (upstream's `WORKDIR /app/backend`, `COPY ./backend .`). The app
# refreshes files in STATIC_DIR at every start and the package's static/ holds files the frontend
# build has not (swagger-ui, fonts), so a STATIC_DIR outside the package (a tmpfs) gets a copy first.
LAUNCHER = """\
import importlib.util, os, shutil, sys
spec = importlib.util.find_spec("open_webui")
if spec is None or not spec.submodule_search_locations:
    sys.exit("open-webui launcher: no open_webui package here (cwd " + os.getcwd() + ")")
if not os.environ.get("WEBUI_SECRET_KEY"):
    sys.exit("open-webui launcher: WEBUI_SECRET_KEY is empty (the stack always sets it)")
package_static = os.path.join(list(spec.submodule_search_locations)[0], "static")
static_dir = os.environ.get("STATIC_DIR")
if static_dir and os.path.realpath(static_dir) != os.path.realpath(package_static):
    shutil.copytree(package_static, static_dir, dirs_exist_ok=True)
os.execv(sys.executable, [sys.executable, "-m", "uvicorn", "open_webui.main:app",
         "--host", os.environ.get("HOST", "0.0.0.0"), "--port", os.environ.get("PORT", "8080"),
         "--forwarded-allow-ips", os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
         "--workers", os.environ.get("UVICORN_WORKERS", "1")])
"""

ENTRYPOINT = ["python3"]
COMMAND = ["-c", LAUNCHER]

# /health answers {"status": true} once the process serves (what upstream's `jq 'input.status == true'`
# checks).
HEALTH_COMMAND = [
    "python3", "-c",
    "import json, urllib.request; "
    "r = urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4); "
    "raise SystemExit(0 if json.load(r).get('status') is True else 1)",
]

# The app writes these at start besides DATA_DIR; each is on the /tmp tmpfs.
STATIC_DIR = "/tmp/open-webui/static"
