"""A stand-in for Open WebUI behind nginx: answers every request with what it received, as JSON.

Run inside the tools image (stdlib only): `python3 echo_upstream.py 8080`. The security tests read
the echoed headers to see what nginx forwards; /health answers 200 for the health check.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"method": self.command, "path": self.path,
                           "headers": [[k, v] for k, v in self.headers.items()]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _answer

    def log_message(self, format: str, *args) -> None:  # one short line per request on stderr
        sys.stderr.write(f"{self.command} {self.path}\n")


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1] if len(sys.argv) > 1 else 8080)), Echo).serve_forever()
