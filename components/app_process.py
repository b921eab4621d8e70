"""How the app process starts and is health-checked, the same for every Open WebUI image.

The program does not run an image's own start script: upstream's backend/start.sh (open-webui/open-webui,
commits 8b020075, 059cf821) writes `.webui_secret_key` into /app/backend when WEBUI_SECRET_KEY is empty
(read-only root here) and passes `--forwarded-allow-ips '*'` to uvicorn, which would override the
stack's FORWARDED_ALLOW_IPS. Nor does it rely on an image's tools for the health check: upstream's
HEALTHCHECK needs curl and jq. Every Open WebUI image has python3, so both are python3 scripts using
only the standard library.
"""

from __future__ import annotations

from components.docker_forms import format_ns

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
# checks). Docker runs a container's first check one interval after it starts and each next one an interval after
# the previous ended (moby daemon/health.go, monitor; Docker 20.10 has no start_interval, API 1.44+), so an app that
# is ready just after a check is noticed a whole interval late, and every deploy waits that long for "healthy".
# Checking more often costs an exec each time (one check a second took 13-17 % of a core here, dockerd, containerd,
# runc and the check's python3 together), so
# instead a check made while the app process is younger than its start period waits for it, asking every 0.25 s
# for at most STARTUP_WAIT_SECONDS. Past the start period a check asks once: a wedged app still fails each check
# within seconds. The process's age is read from /proc (PID 1's start time against the uptime, both since boot).
START_PERIOD_SECONDS = 120
START_PERIOD = format_ns(START_PERIOD_SECONDS * 10**9)  # the healthcheck's start_period, in the read-back form
STARTUP_WAIT_SECONDS = 25
# Docker kills a check that runs longer than the health timeout; the waiting check needs its wait plus one answer.
HEALTH_TIMEOUT_SECONDS = STARTUP_WAIT_SECONDS + 5
HEALTH_URL = "http://127.0.0.1:8080/health"


def health_command(start_period_seconds: int = START_PERIOD_SECONDS,
                   wait_seconds: int = STARTUP_WAIT_SECONDS, url: str = HEALTH_URL) -> list[str]:
    script = f"""\
import json, os, time, urllib.request
def serving():
    try:
        with urllib.request.urlopen({url!r}, timeout=3) as answer:
            return json.load(answer).get("status") is True
    except Exception:
        return False
started = int(open("/proc/1/stat").read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
young = float(open("/proc/uptime").read().split()[0]) - started < {start_period_seconds}
deadline = time.monotonic() + ({wait_seconds} if young else 0)
while not serving():
    if time.monotonic() >= deadline:
        raise SystemExit(1)
    time.sleep(0.25)
"""
    return ["python3", "-c", script]


HEALTH_COMMAND = health_command()

# The app writes these at start besides DATA_DIR; each is on the /tmp tmpfs.
STATIC_DIR = "/tmp/open-webui/static"
