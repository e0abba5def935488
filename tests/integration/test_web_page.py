"""The page server (`python -m bot.web`) as the launcher starts it: the page, its headers and the widget's files."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from bot.config import PROJECT_ROOT
from bot.sms.standin import free_port
from bot.web.server import SOCKETIO_JS, STATIC

RASA_URL = "http://127.0.0.1:5999"
# Everything HTML would read as markup, so the page shows it escaped or fails the test.
AGENCY = 'Smith & <b>Sons</b> "Recovery" <script>alert(1)</script>'
PHONE = "1-800-555-0199"


def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.web", *args], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})},
    )


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    port = free_port()
    process = _start("--host", "127.0.0.1", "--port", str(port), "--rasa-url", RASA_URL,
                     env={"AGENCY_NAME": AGENCY, "AGENCY_PHONE": PHONE})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"python -m bot.web exited with {process.returncode}:\n{process.stdout.read()}")
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("python -m bot.web did not answer /healthz within 30 s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_healthz_answers_json(web):
    response = requests.get(f"{web}/healthz", timeout=5)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_the_page_names_the_agency_escaped(web):
    response = requests.get(f"{web}/", timeout=5)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert "Resolve your account" in page
    escaped = "Smith &amp; &lt;b&gt;Sons&lt;/b&gt; &quot;Recovery&quot; &lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"<title>Resolve your account · {escaped}</title>" in page
    assert "<b>Sons</b>" not in page and "<script>alert(1)" not in page
    assert f'href="tel:18005550199">{PHONE}</a>' in page
    assert f'<script src="/widget/widget.js" data-rasa-url="{RASA_URL}" data-title="{escaped}" defer></script>' in page
    assert "{{" not in page  # every placeholder filled


def test_the_page_has_a_strict_content_security_policy(web):
    headers = requests.get(f"{web}/", timeout=5).headers
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"  # no inline code at all
    assert policy["connect-src"] == f"'self' {RASA_URL} ws://127.0.0.1:5999"
    assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["require-trusted-types-for"] == "'script'"
    assert "unsafe" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_the_page_has_no_inline_script_or_handler():
    template = (STATIC / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in template and not re.search(r"\son[a-z]+\s*=", template)  # no onclick= and the like
    widget = (STATIC / "widget.js").read_text(encoding="utf-8")
    assert "innerHTML" not in widget and "insertAdjacentHTML" not in widget and "document.write" not in widget


@pytest.mark.parametrize("name, kind, source", [
    ("widget.js", "text/javascript", STATIC / "widget.js"),
    ("widget.css", "text/css", STATIC / "widget.css"),
    ("socket.io.min.js", "text/javascript", SOCKETIO_JS),
])
def test_the_widget_files_are_served_for_any_page(web, name, kind, source):
    response = requests.get(f"{web}/widget/{name}", timeout=5)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(kind)
    assert response.content == source.read_bytes()
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"


def test_the_socketio_client_is_the_pinned_4x_build(web):
    body = requests.get(f"{web}/widget/socket.io.min.js", timeout=5).text
    assert body.startswith("/*!\n * Socket.IO v4.8.4")


@pytest.mark.parametrize("path", [
    "/nope", "/widget/", "/widget/nope.js", "/widget/../server.py", "/widget/%2e%2e/server.py",
    "/widget/package.json", "/static/index.html", "/index.html", "/healthz/x", "/page.css/x",
])
def test_unknown_paths_are_not_found(web, path):
    response = requests.get(f"{web}{path}", timeout=5)
    assert response.status_code == 404, path


def test_a_rasa_url_that_is_not_http_is_refused():
    process = _start("--port", str(free_port()), "--rasa-url", "javascript:alert(1)")
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 2 and "http(s) URL" in output
