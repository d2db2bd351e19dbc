"""Page weight and first paint (run: `make bench-pages`).

Serves the demo community with gunicorn and opens the main pages in headless Chromium (Debian's,
through Playwright), each in a fresh browser context (cold cache), as a logged-in resident on a
360 px phone. For each page it reports the bytes transferred for the page with its scripts,
styles and images — text responses counted gzip-compressed, as nginx (deploy/nginx.conf) sends
them — and the time to first contentful paint. Targets: under 100 KB, first paint under 1 s.
Nothing asserts: figures are printed (and written as JSON with --json).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agenda_bench import ROOT, Server, machine  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
TARGETS = {"kb": 100, "fcp_ms": 1000}
PAGES = ["/login", "/", "/c/yangguang/", "/c/yangguang/items", "/c/yangguang/items/1", "/c/yangguang/measures/7",
         "/c/yangguang/measures/8/results", "/c/yangguang/records", "/c/yangguang/records/1",
         "/c/yangguang/meetings/1", "/c/yangguang/meetings/1/minutes", "/c/yangguang/meetings/2/projector",
         "/c/yangguang/conventions/1", "/c/yangguang/conventions/2", "/c/yangguang/conventions/2/compare?a=base&b=2",
         "/c/yangguang/conventions/1/print"]
TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")
RESIDENT = "13800000010"


def seed(workdir: Path) -> str:
    url = f"sqlite:///{workdir / 'pages.db'}"
    env = {**os.environ, "DATABASE_URL": url, "INSTANCE_PATH": str(workdir / "instance"), "SECRET_KEY": "bench"}
    flask = str(Path(sys.executable).with_name("flask"))
    for command in (["db", "upgrade"], ["demo"]):
        subprocess.run([flask, "--app", "app", *command], cwd=ROOT, env=env, check=True,  # noqa: S603
                       capture_output=True)
    return url


def measure(base: str) -> list[dict]:
    from playwright.sync_api import sync_playwright

    from deliberation.demo import DEMO_PASSWORD

    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for path in PAGES:
            context = browser.new_context(viewport={"width": 360, "height": 800}, locale="zh-CN")
            if path != "/login":  # log in first, then measure the page with an empty cache
                page = context.new_page()
                page.goto(base + "/login")
                page.fill("#contact", RESIDENT)
                page.fill("#password", DEMO_PASSWORD)
                page.click("main button[type=submit]")
                page.wait_for_url(base + "/")
                page.close()
            page = context.new_page()
            client = context.new_cdp_session(page)
            client.send("Network.enable")
            client.send("Network.setCacheDisabled", {"cacheDisabled": True})
            sizes: list[tuple[str, int, int]] = []

            def on_response(response, sizes=sizes):
                try:
                    body = response.body()
                except Exception:  # noqa: BLE001 - redirects and aborted requests have no body
                    return
                kind = response.headers.get("content-type", "")
                wire = len(gzip.compress(body, 6)) if kind.startswith(TEXT_TYPES) else len(body)
                sizes.append((response.url, len(body), wire))

            page.on("response", on_response)
            page.goto(base + path, wait_until="load")
            page.wait_for_timeout(300)
            fcp = page.evaluate("() => { const e = performance.getEntriesByName('first-contentful-paint')[0];"
                                " return e ? e.startTime : null; }")
            rows.append({"page": path, "requests": len(sizes), "raw_kb": round(sum(s[1] for s in sizes) / 1024, 1),
                         "kb": round(sum(s[2] for s in sizes) / 1024, 1),
                         "fcp_ms": round(fcp) if fcp is not None else None})
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
            context.close()
        browser.close()
    return rows


def report(rows: list[dict], m: dict) -> str:
    lines = [f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}; {m['date']}", "",
             "| page | requests | KB (gzip) | KB raw | first paint ms | within targets |", "|---|---:|---:|---:|---:|---|"]
    for r in rows:
        ok = r["kb"] < TARGETS["kb"] and r["fcp_ms"] is not None and r["fcp_ms"] < TARGETS["fcp_ms"]
        lines.append(f"| `{r['page']}` | {r['requests']} | {r['kb']} | {r['raw_kb']} | {r['fcp_ms']} | "
                     f"{'yes' if ok else 'NO'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium")
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    workdir = Path(tempfile.mkdtemp(prefix="dh-pages-bench-"))
    server = None
    try:
        url = seed(workdir)
        server = Server("app:app", {"DATABASE_URL": url, "INSTANCE_PATH": str(workdir / "instance"),
                                    "SECRET_KEY": "bench", "RATELIMIT_ENABLED": "0", "CLOSE_DUE_EVERY": "0"},
                        threads=16)
        asyncio.run(server.wait())
        rows = measure(server.base)
    finally:
        if server:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(report(rows, machine()))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "pages": rows}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
