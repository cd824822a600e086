"""A Flask/FastAPI-style web worker (the standard library's http.server, so nothing else to
install): each request pulses the heartbeat, its count rides along as data, and SIGTERM
(systemctl stop, docker stop) ends it ``stopped``.

    python web_worker.py [--port 8080]      # serve until stopped
    python web_worker.py --once             # serve one request to itself, then stop
"""

import http.server
import json
import sys
import threading
import urllib.request

import hbmon

hb = hbmon.Heartbeat("web-worker", interval=30)
requests = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 -- http.server's name
        global requests
        requests += 1
        hb.set_data({"requests": requests})
        hb.pulse()  # a worker that stops answering stops beating: hbmon says hung
        body = json.dumps({"ok": True, "requests": requests}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main(argv):
    once = "--once" in argv
    port = 0 if once else int(argv[argv.index("--port") + 1]) if "--port" in argv else 8080
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    with hb:
        if not once:
            server.serve_forever()
            return
        threading.Thread(target=server.handle_request).start()
        urllib.request.urlopen("http://127.0.0.1:%d/" % server.server_address[1]).read()
    print("web-worker served %d request(s) and stopped" % requests)


if __name__ == "__main__":
    main(sys.argv[1:])
