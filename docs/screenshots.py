#!/usr/bin/env python3
"""Takes the dashboard's screenshots in docs/img/ (README shows them): the overview in
light and dark, a process page, the History and Send heartbeats pages, and the overview at
a phone's width -- Debian's headless chromium, driven by its chromedriver over WebDriver
(standard library only), on a real `hbmon serve` watching a few processes in a temporary
directory (one killed, one late, one erroring, a failed job). Not run in CI: run it by
hand after changing the look of a page.

Usage: python3 docs/screenshots.py   (needs chromium and chromium-driver: .ci/tools;
builds the debug hbmon unless $HBMON names one)
"""
import base64, json, os, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as reply:
        return json.load(reply)["value"]


def main():
    hbmon = os.environ.get("HBMON")
    if not hbmon:
        subprocess.run(["cargo", "build", "--quiet", "--bin", "hbmon"], cwd=ROOT, check=True)
        hbmon = os.path.join(ROOT, "target/debug/hbmon")
    work = tempfile.mkdtemp()
    env = dict(os.environ, HBMON_FILE=os.path.join(work, "heartbeat_status.json"), HOME=work,
               XDG_CONFIG_HOME=os.path.join(work, "config"))
    children = []

    def hb(*args, check=True):
        subprocess.run([hbmon, *args], env=env, check=check, stdout=subprocess.DEVNULL)

    try:
        web, queue, doomed = (subprocess.Popen(["sleep", "100000"]) for _ in range(3))
        children += [web, queue, doomed]
        hb("beat", "web", "--pid", str(web.pid), "--interval", "30s",
           "--data", '{"requests": 1840, "p95_ms": 42}')
        hb("beat", "queue-worker", "--pid", str(queue.pid), "--interval", "10s", "--data", '{"queue": 3}')
        hb("beat", "importer", "--pid", str(doomed.pid), "--interval", "30s")
        hb("beat", "report", "--no-pid", "--kind", "job", "--interval", "2s")
        hb("beat", "mailer", "--pid", str(web.pid), "--interval", "60s")
        hb("run", "nightly-backup", "--interval", "1d", "--", "sh", "-c", "echo copying; exit 3", check=False)
        port = free_port()
        serve = subprocess.Popen([hbmon, "serve", "--listen", f"127.0.0.1:{port}"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        children.append(serve)
        time.sleep(3)
        doomed.kill()
        hb("beat", "mailer", "--pid", str(web.pid), "--error", "SMTP 421: try again later")
        time.sleep(4)

        driver_port = free_port()
        driver = subprocess.Popen(["chromedriver", f"--port={driver_port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        children.append(driver)
        driver_url = f"http://127.0.0.1:{driver_port}"
        for _ in range(100):
            try:
                if call(driver_url, "GET", "/status")["ready"]:
                    break
            except OSError:
                time.sleep(0.1)
        os.makedirs(os.path.join(ROOT, "docs/img"), exist_ok=True)
        base = f"http://127.0.0.1:{port}"
        shots = [("overview-light", "#/", "light", False), ("overview-dark", "#/", "dark", False),
                 ("process", "#/process/importer", "light", False), ("history", "#/history", "light", False),
                 ("send", "#/send", "light", False), ("overview-phone", "#/", "light", True)]
        for name, page, scheme, phone in shots:
            options = {"binary": "/usr/bin/chromium",
                       "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                "--window-size=1280,900", f"--user-data-dir={work}/profile-{name}"]}
            if phone:
                options["mobileEmulation"] = {"deviceMetrics": {"width": 375, "height": 800, "pixelRatio": 2}}
            session = call(driver_url, "POST", "/session", {"capabilities": {"alwaysMatch": {
                "browserName": "chrome", "goog:chromeOptions": options}}})["sessionId"]
            at = f"/session/{session}"
            try:
                call(driver_url, "POST", at + "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia",
                     "params": {"features": [{"name": "prefers-color-scheme", "value": scheme}]}})
                call(driver_url, "POST", at + "/url", {"url": base + "/" + page})
                time.sleep(3)  # the live snapshot, the history read, the plots drawn
                png = base64.b64decode(call(driver_url, "GET", at + "/screenshot"))
                path = os.path.join(ROOT, "docs/img", name + ".png")
                with open(path, "wb") as f:
                    f.write(png)
                print(os.path.relpath(path, ROOT))
            finally:
                call(driver_url, "DELETE", at)
    finally:
        for child in children:
            child.kill()
            child.wait()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    sys.exit(main())
