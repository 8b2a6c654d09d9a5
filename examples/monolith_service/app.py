"""A monolith: one process serving HTTP that enqueues to the embedded default (no `stem serve`,
no Redis: the producer client runs the `stem` CLI on the shared SQLite file) and runs a
`stem worker` beside itself, stopped when the app stops.

    POST /signup {"email": "ada@example.com"}  ->  202 {"task_id": "..."}
    GET  /tasks/ID                             ->  the task's record
"""

import json
import os
import signal
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import stem_sdk  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(HERE, "..", "..", "sdk-python"))

from stem_sdk import Client, StemError

STEM = os.environ.get("STEM_BIN", "stem")
client = Client(bin=STEM)  # no url: the CLI on the embedded default


class App(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path != "/signup":
            return self.reply(404, {"error": "no such page"})
        try:
            email = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))["email"]
            handle = client.enqueue("send_welcome", [email])
        except (ValueError, KeyError) as e:
            return self.reply(400, {"error": "expected {\"email\": ...}: %s" % e})
        except StemError as e:
            return self.reply(503, {"error": str(e)})
        self.reply(202, {"task_id": handle.id})

    def do_GET(self):
        if not self.path.startswith("/tasks/"):
            return self.reply(404, {"error": "no such page"})
        self.reply(200, client.info(self.path[len("/tasks/"):]))

    def log_message(self, *args):
        pass


def main():
    port = int(os.environ.get("PORT", "8000"))
    worker = subprocess.Popen([STEM, "worker", "--manifest", os.path.join(HERE, "stem.toml"), "--concurrency", "2"])
    server = ThreadingHTTPServer(("127.0.0.1", port), App)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("app listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    finally:
        worker.terminate()
        worker.wait(30)


if __name__ == "__main__":
    main()
