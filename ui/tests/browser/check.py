#!/usr/bin/env python3
"""Browser check of the built UI (ui/dist) against a stand-in Tauri shell.

Serves ui/dist on loopback with stub.js (a stand-in `window.__TAURI__`) and a busy wall
from `cargo run -p ui --example wall_fixture`, then, for English and Chinese at 1280x800
and tablet portrait 800x1280, has headless Chromium dump the DOM (checked below) and take
a screenshot. Layout and i18n only: the real app's end-to-end tests are in tests/.

Usage: cargo xtask ui && python3 ui/tests/browser/check.py [--out DIR]
Exit status 0 when every check held; the screenshots are written to DIR (default
/tmp/ui-shots).
"""

import argparse
import functools
import html.parser
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DIST = os.path.join(ROOT, "ui", "dist")
HERE = os.path.dirname(os.path.abspath(__file__))

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic", "--hide-scrollbars",
    # Virtual time: the page runs its timers (the stub's later updates, a few clock ticks)
    # without the run taking that long.
    "--virtual-time-budget=6000",
]

EXPECTED = {
    "en": {
        "connection": "Live",
        "hub": "Built-in demo",
        "notice": "Cannot write the local cache: No space left on device",
        "first_state": "Listening",
        "first_reason": "LLM rate limited (code 30201)",
        "taken_over": "Taken over by 王经理",
    },
    "zh-CN": {
        "connection": "实时",
        "hub": "内置演示",
        "notice": "无法写入本地缓存：No space left on device",
        "first_state": "聆听中",
        "first_reason": "大模型请求被限流（错误码 30201）",
        "taken_over": "王经理 已接管",
    },
}

# Live calls in the fixture, worst first, as `Board::by_health` orders them.
EXPECTED_ORDER = [
    "task-llm-429", "task-thinking", "task-slow-llm", "task-interrupts",
    "task-taken-over", "task-english", "task-just-started", "task-newcomer",
]


# Void elements and SVG shapes: no text inside, and the dump may or may not close them.
UNTRACKED = {"img", "br", "meta", "link", "input", "path", "circle", "rect", "line"}


class Dom(html.parser.HTMLParser):
    """Collects elements by id and the tiles' task ids, and the text inside each."""

    def __init__(self):
        super().__init__()
        self.stack = []  # (tag, id, classes, text parts)
        self.by_id = {}
        self.attrs_by_id = {}
        self.by_class = {}
        self.tiles = []
        self.body_attrs = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.body_attrs = attrs
        if attrs.get("id"):
            self.attrs_by_id[attrs["id"]] = attrs
        if tag == "li" and "data-task" in attrs:
            self.tiles.append(attrs["data-task"])
        if tag in UNTRACKED:
            return
        self.stack.append((tag, attrs.get("id"), (attrs.get("class") or "").split(), []))

    def handle_endtag(self, tag):
        if tag in UNTRACKED:
            return
        while self.stack:
            open_tag, element_id, classes, parts = self.stack.pop()
            text = " ".join("".join(parts).split())
            if element_id:
                self.by_id[element_id] = text
            for name in classes:
                self.by_class.setdefault(name, []).append(text)
            if self.stack:
                self.stack[-1][3].append(" " + "".join(parts) + " ")
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][3].append(data)


def chromium(*args):
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        sys.exit("chromium is not installed (cargo xtask setup installs it)")
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=120,
        )
    if result.returncode != 0:
        sys.exit(f"chromium failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def build_site(site):
    if not os.path.exists(os.path.join(DIST, "ui_bg.wasm")):
        sys.exit(f"{DIST} has no built UI: run `cargo xtask ui` first")
    shutil.copytree(DIST, site, dirs_exist_ok=True)
    now_ms = str(int(time.time() * 1000))
    fixture = subprocess.run(
        ["cargo", "run", "-q", "-p", "ui", "--example", "wall_fixture", "--", now_ms],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    json.loads(fixture)  # fail here, not in the page, if it is not JSON
    with open(os.path.join(site, "fixture.js"), "w", encoding="utf-8") as out:
        out.write("window.__SWITCHBOARD_FIXTURE__ = " + fixture + ";\n")
    shutil.copy(os.path.join(HERE, "stub.js"), os.path.join(site, "stub.js"))
    index = os.path.join(site, "index.html")
    with open(index, encoding="utf-8") as f:
        page = f.read()
    hook = '<script type="module" src="boot.js"></script>'
    if hook not in page:
        sys.exit("ui/static/index.html no longer loads boot.js the way this check expects")
    page = page.replace(hook, '<script src="fixture.js"></script>\n  <script src="stub.js"></script>\n  ' + hook)
    with open(index, "w", encoding="utf-8") as f:
        f.write(page)


def serve(site):
    handler = functools.partial(QuietHandler, directory=site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm", ".js": "text/javascript"}

    def log_message(self, *args):
        pass


def check_dom(dom, language, problems):
    expect = EXPECTED[language]
    label = f"[{language}]"

    def need(condition, message):
        if not condition:
            problems.append(f"{label} {message}")

    need(dom.tiles == EXPECTED_ORDER, f"tiles should be {EXPECTED_ORDER}, were {dom.tiles}")
    need(dom.by_id.get("summary-live") == str(len(EXPECTED_ORDER)), f"summary should count {len(EXPECTED_ORDER)} live calls, said {dom.by_id.get('summary-live')!r}")
    need(expect["connection"] in dom.by_id.get("connection-status", ""), f"header status should say {expect['connection']!r}: {dom.by_id.get('connection-status')!r}")
    need(dom.by_id.get("hub-demo") == expect["hub"], f"footer should show the demo badge {expect['hub']!r}: {dom.by_id.get('hub-demo')!r}")
    notices = dom.by_class.get("banner-notice", [])
    need(any(expect["notice"] in text for text in notices), f"a notice banner should say {expect['notice']!r}: {notices}")
    need("error-banner" not in dom.by_id, f"no error banner expected: {dom.by_id.get('error-banner')!r}")
    badges = [text for text in dom.by_class.get("badge", [])]
    need(any(text.startswith(expect["first_state"]) for text in badges), f"a badge should say {expect['first_state']!r}: {badges}")
    reasons = dom.by_class.get("tile-reason-text", [])
    need(reasons[:1] == [expect["first_reason"]], f"the first tile's reason should be {expect['first_reason']!r}: {reasons[:1]}")
    oversight = dom.by_class.get("tile-oversight", [])
    need(expect["taken_over"] in oversight, f"a tile should say {expect['taken_over']!r}: {oversight}")
    calls = dom.body_attrs.get("data-stub-calls", "").split()
    need(calls[:1] == ["listen:switchboard://live"] or (calls[:2] == ["app_info", "listen:switchboard://live"]),
         f"the UI should listen before anything but app_info: {calls}")
    need(calls.index("listen:switchboard://live") < calls.index("live_snapshot") if "live_snapshot" in calls and "listen:switchboard://live" in calls else False,
         f"the UI should listen before asking for the snapshot: {calls}")
    need(calls.count("live_snapshot") == 1, f"the snapshot should be asked for once: {calls}")
    need(dom.body_attrs.get("data-stub-listeners") == "1", f"one live listener expected: {dom.body_attrs.get('data-stub-listeners')}")


EXPECTED_EMPTY = {
    "en": ("No live calls yet", "Connecting to the hub.", "Connecting…"),
    "zh-CN": ("暂无进行中的通话", "正在连接中心服务。", "正在连接…"),
}


def check_empty(dom, language, problems):
    title, explanation, status = EXPECTED_EMPTY[language]
    label = f"[{language}, empty]"
    if dom.tiles:
        problems.append(f"{label} no tiles expected: {dom.tiles}")
    if dom.by_id.get("wall-empty-title") != title:
        problems.append(f"{label} empty title should be {title!r}: {dom.by_id.get('wall-empty-title')!r}")
    if explanation not in dom.by_id.get("wall-empty", ""):
        problems.append(f"{label} empty state should explain {explanation!r}: {dom.by_id.get('wall-empty')!r}")
    if status not in dom.by_id.get("connection-status", ""):
        problems.append(f"{label} header should say {status!r}: {dom.by_id.get('connection-status')!r}")
    if dom.by_id.get("hub-url") != "https://hub.example.invalid:8720":
        problems.append(f"{label} footer should show the hub's URL: {dom.by_id.get('hub-url')!r}")


BIG_WALL_CALLS = 1000
# Rows on a 1280x800 screen plus the overscan: far fewer tiles than calls.
BIG_WALL_MAX_RENDERED = 80


def check_big(dom, problems):
    label = "[big wall]"
    total = dom.attrs_by_id.get("wall-tiles", {}).get("data-total")
    if total != str(BIG_WALL_CALLS):
        problems.append(f"{label} the wall should hold {BIG_WALL_CALLS} tiles, said {total!r}")
    if dom.by_id.get("summary-live") != str(BIG_WALL_CALLS):
        problems.append(f"{label} the summary should count {BIG_WALL_CALLS}: {dom.by_id.get('summary-live')!r}")
    if not 0 < len(dom.tiles) <= BIG_WALL_MAX_RENDERED:
        problems.append(f"{label} only the rows on screen should be rendered, {len(dom.tiles)} tiles were")
    # One call in twenty has a slow LLM (wall_fixture.rs): those are degraded and lead.
    if not dom.tiles or int(dom.tiles[0].rsplit("-", 1)[1]) % 20 != 0:
        problems.append(f"{label} a slow call should lead the wall: {dom.tiles[:3]}")
    style = dom.attrs_by_id.get("wall-tiles", {}).get("style", "")
    if "padding-bottom" not in style or "padding-bottom: 0px" in style:
        problems.append(f"{label} the rows below the screen should be padded, not rendered: {style!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/ui-shots", help="where the screenshots go")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        site = os.path.join(tmp, "site")
        build_site(site)
        server = serve(site)
        try:
            base = f"http://127.0.0.1:{server.server_address[1]}/index.html"
            for language in EXPECTED:
                dom = Dom()
                dom.feed(chromium("--window-size=1280,800", "--dump-dom", f"{base}?lang={language}"))
                check_dom(dom, language, problems)
                for width, height in ((1280, 800), (800, 1280)):
                    shot = os.path.join(args.out, f"wall-{language}-{width}x{height}.png")
                    chromium(f"--window-size={width},{height}", f"--screenshot={shot}", f"{base}?lang={language}")
                    print(f"screenshot: {shot}")
                dom = Dom()
                dom.feed(chromium("--window-size=1280,800", "--dump-dom", f"{base}?lang={language}&empty=1"))
                check_empty(dom, language, problems)
                shot = os.path.join(args.out, f"empty-{language}-1280x800.png")
                chromium("--window-size=1280,800", f"--screenshot={shot}", f"{base}?lang={language}&empty=1")
                print(f"screenshot: {shot}")
            dom = Dom()
            dom.feed(chromium("--window-size=1280,800", "--dump-dom", f"{base}?lang=en&big=1"))
            check_big(dom, problems)
            shot = os.path.join(args.out, "big-en-1280x800.png")
            chromium("--window-size=1280,800", f"--screenshot={shot}", f"{base}?lang=en&big=1")
            print(f"screenshot: {shot}")
        finally:
            server.shutdown()
    if problems:
        print("\n".join(["browser check FAILED:", *problems]), file=sys.stderr)
        return 1
    print("browser check passed: listen before snapshot, 8 tiles worst first, summary, banners, footer;"
          f" empty wall while connecting; both languages; {BIG_WALL_CALLS} live calls with only the rows on"
          " screen rendered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
