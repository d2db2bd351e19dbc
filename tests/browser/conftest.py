"""Browser tests: the real app served on a free local port, driven by Playwright in Debian's
Chromium (never a downloaded browser). Skipped, saying why, where Chromium is missing."""

from __future__ import annotations

import re
import shutil
import socket
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from deliberation import create_app
from deliberation.extensions import db as _db
from tests.conftest import ON_POSTGRES, _base_config

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-quic"]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# One app and one server for all browser tests: Flask-SocketIO's server is a process-wide
# extension, so a second app started while pages of the first are connected would steal it.
@pytest.fixture(scope="session")
def live_app(database_template, tmp_path_factory):
    if ON_POSTGRES:
        pytest.skip("browser tests run in the SQLite pass; the PostgreSQL pass covers the data layer")
    path = tmp_path_factory.mktemp("browser") / "browser.db"
    shutil.copy(database_template, path)
    app = create_app({**_base_config(f"sqlite:///{path}"), "WTF_CSRF_ENABLED": True})
    return app


@pytest.fixture(scope="session")
def live_server(live_app):
    port = _free_port()
    server = make_server("127.0.0.1", port, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=5)
    with live_app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium` (make test does it when run as root)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    contexts = []

    def factory(locale: str = "zh-CN", width: int = 1280, height: int = 900):
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height},
                                      extra_http_headers={"Accept-Language": locale})
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("response", lambda r: _check_html(page, r))
        return page

    yield factory
    for context in contexts:
        context.close()


def html_problems(html: str) -> list[str]:
    """HTML5 parse errors, and ids used more than once."""
    import html5lib

    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    parser.parse(html)
    ids = re.findall(r'\sid="([^"]+)"', html)
    return [str(e) for e in parser.errors[:3]] + [f"id {i} used twice" for i in sorted({i for i in ids
                                                                                       if ids.count(i) > 1})]


def _check_html(page, response) -> None:
    """Every page a journey loads (GET or the answer to a POST) must be valid HTML: checked on
    the document as the server sent it."""
    if response.request.resource_type != "document" or "text/html" not in response.headers.get("content-type", ""):
        return
    try:
        body = response.text()
    except Exception:  # noqa: BLE001 - a redirect has no body to check
        return
    problems = html_problems(body)
    if problems:
        page.errors.append(f"invalid HTML at {response.url}: {problems}")


AXE = (Path(__file__).parent / "vendor" / "axe-4.10.3.min.js").read_text()
RUN_AXE = """async () => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
  return result.violations.map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')}`);
}"""


def assert_accessible(page) -> None:
    """axe-core on the page as it is now — at 360 px and at 1920 px, in normal and in large
    text (the large-text switch only sets a class on <html>) — finds no WCAG 2.1 A/AA
    violation. Injected through the DevTools protocol, so the page's Content-Security-Policy
    stays on. The page is left as it was."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    viewport = page.viewport_size
    large = page.evaluate("() => document.documentElement.classList.contains('text-large')")
    problems = {}
    try:
        for width, height in ((360, 800), (1920, 1080)):
            page.set_viewport_size({"width": width, "height": height})
            for text_large in (False, True):
                page.evaluate("(on) => document.documentElement.classList.toggle('text-large', on)", text_large)
                violations = page.evaluate(RUN_AXE)
                if violations:
                    problems[(width, "large" if text_large else "normal")] = violations
    finally:
        page.set_viewport_size(viewport)
        page.evaluate("(on) => document.documentElement.classList.toggle('text-large', on)", large)
    assert problems == {}, (page.url, problems)


def log_in(page, base: str, contact: str, password: str | None = None) -> None:
    """Log in through the real form and wait for the home page."""
    from tests.factories import PASSWORD

    page.goto(f"{base}/login")
    page.fill("#contact", contact)
    page.fill("#password", password or PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")


def shoot(page, name: str) -> None:
    """Save a full-page screenshot for people to look at (tests/browser/screenshots/)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
