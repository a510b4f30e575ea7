"""Take the screenshots in docs/: each list tab and Settings at desktop (1366×900) and phone
(390×844) width, in the light theme, on the demo data; and docs/screenshot.png, the four tabs
side by side, for the README.

    .venv/bin/python -m tools.screenshots            # needs `make install-test` (Playwright)

It serves the app as deployed (gunicorn, ``bench.harness.gunicorn``) on a new SQLite file in a
temporary folder, seeded with ``flask demo``, signs in as the Super Admin in Debian's Chromium
and writes PNG files; nothing else is touched.
"""

import base64
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import harness

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
TABS = ("activity", "email", "logins", "settings")
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
CHROMIUM = "/usr/bin/chromium"


def seed(database_url):
    """Create and seed the demo database at ``database_url``."""
    env = dict(os.environ, ACTIVITY_STREAM_DATABASE_URL=database_url)
    env["ACTIVITY_STREAM_SECRET_KEY"] = harness.SECRET_KEY
    for command in (["db", "upgrade"], ["demo"]):
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=600,
        )


def shoot(base_url):
    """Write every tab at every size into ``OUT``; return the desktop files by tab."""
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    desktop = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        for size, (width, height) in SIZES.items():
            context = browser.new_context(
                viewport={"width": width, "height": height}, is_mobile=size == "phone"
            )
            page = context.new_page()
            page.goto(f"{base_url}/login")
            page.fill("input[name=email]", "owner@example.com")
            page.fill("input[name=password]", "demo-password")
            with page.expect_navigation():
                page.click("form button[type=submit]")
            for tab in TABS:
                page.goto(f"{base_url}/stream/{tab}")
                page.wait_for_selector(f'#panel[data-tab="{tab}"]')
                path = OUT / f"{tab}-{size}.png"
                page.screenshot(path=str(path))
                if size == "desktop":
                    desktop[tab] = path
            context.close()
        compose(browser, desktop)
        browser.close()
    return desktop


def compose(browser, desktop):
    """Write docs/screenshot.png: the four desktop screenshots in a 2×2 grid, captioned."""
    cells = "".join(
        f'<figure><img src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}">'
        f"<figcaption>{tab.capitalize()}</figcaption></figure>"
        for tab, path in desktop.items()
    )
    page = browser.new_page(viewport={"width": 1400, "height": 960})
    page.set_content(
        "<style>body{margin:0;background:#e9ebf2;font:600 18px system-ui}"
        "main{display:grid;grid-template-columns:1fr 1fr;gap:16px;padding:16px}"
        "figure{margin:0}img{width:100%;border-radius:8px;box-shadow:0 2px 8px #0003}"
        "figcaption{padding:6px 2px 0;color:#1c2030}</style>"
        f"<main>{cells}</main>"
    )
    page.screenshot(path=str(ROOT / "docs" / "screenshot.png"), full_page=True)
    page.close()


def main():
    """Serve the demo, take the screenshots, print where they went."""
    with tempfile.TemporaryDirectory(prefix="activity-stream-shots-") as tmp:
        database_url = f"sqlite:///{tmp}/stream.db"
        seed(database_url)
        with harness.gunicorn(database_url, Path(tmp) / "server.log", workers=1) as (port, _):
            desktop = shoot(f"http://127.0.0.1:{port}")
    for path in sorted(OUT.glob("*.png")):
        print(path.relative_to(ROOT))
    print("docs/screenshot.png", f"({len(desktop)} tabs)")


if __name__ == "__main__":
    main()
