"""Real-browser test fixtures: a Streamlit server on a free localhost port, and Chromium.

``app_server`` starts ``streamlit run app.py`` headless with the cache, uploads and runs folders
in a temporary folder (the repo's ``data/`` is only read: the bundled dataset lives there), waits
until it answers its health check, yields its base URL and stops it. ``chromium`` is Debian's
``/usr/bin/chromium`` driven by Playwright (no browser download). ``browser_page`` is a fresh
page per test; ``open_app_page`` loads a URL and waits until Streamlit has finished running the
script. Screenshots go to ``test-artifacts/screenshots/`` (gitignored).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium keeps trying to reach Google services on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 60.0
# The first run of a page may parse a dataset and import Keras (about 6 s on 2 shared cores).
SCRIPT_RUN_TIMEOUT_MS = 90_000
# Most expectations wait for what a rerun draws: on a loaded machine an Augmentation rerun
# (variants and a batch through Keras) takes tens of seconds, so allow a script run's time.
EXPECT_TIMEOUT_MS = SCRIPT_RUN_TIMEOUT_MS


def free_port() -> int:
    """Return a localhost TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with code {process.returncode}:\n{log_path.read_text()}"
            )
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(
        f"streamlit not healthy after {SERVER_START_TIMEOUT_S} s:\n{log_path.read_text()}"
    )


@contextmanager
def running_app(work: Path, script: str = "app.py") -> Iterator[str]:
    """Run ``streamlit run <script>`` (from the repo root) on a free localhost port; yield its
    base URL; stop it.

    The cache, uploads and runs folders go under ``work``; the server's output goes to
    ``work/streamlit.log`` (shown if it fails to start).
    """
    port = free_port()
    env = {
        **os.environ,
        "FLOWERDASH_CACHE_DIR": str(work / "cache"),
        "FLOWERDASH_UPLOADS_DIR": str(work / "uploads"),
        "FLOWERDASH_RUNS_DIR": str(work / "runs"),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    log_path = work / "streamlit.log"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.headless=true",
        "--server.address=localhost",
        f"--server.port={port}",
        "--server.fileWatcherType=none",
    ]
    with log_path.open("wb") as log:
        # Its own process group, so that stopping it stops whatever it started in that group.
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://localhost:{port}"
    try:
        _wait_healthy(url, process, log_path)
        yield url
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM the process group ``process`` leads, then SIGKILL what is left of it (the leader
    too if it has not exited after ``grace_s``), and reap the leader."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextmanager
def launched_chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def app_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder ``app_server`` keeps its cache, uploads and runs in."""
    return tmp_path_factory.mktemp("app_server")


@pytest.fixture(scope="session")
def app_server(app_home: Path) -> Iterator[str]:
    """Start the dashboard on a free localhost port; yield its base URL; stop it afterwards."""
    with running_app(app_home) as url:
        yield url


@pytest.fixture(scope="session")
def app_runs_dir(app_home: Path) -> Path:
    """The runs folder of ``app_server``: where the trainings started in the browser write."""
    return app_home / "runs"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (scripts/ensure_chromium.sh)")
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def browser_page(chromium: Browser) -> Iterator[Page]:
    """A fresh page (1440x1000) in its own browser context."""
    from playwright.sync_api import expect

    # Playwright's 5 s default is short for a busy CI machine (2 cores, Keras loading); only a
    # failing wait lasts this long.
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    context = chromium.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(SCRIPT_RUN_TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


def wait_for_script_run(page: Page) -> None:
    """Wait until Streamlit is not running a script. Only meaningful once a run is known to
    have started (something it draws is visible): right after a click or a fill, the rerun it
    asks for may not have begun yet, so wait for what that rerun shows instead."""
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]',
        timeout=SCRIPT_RUN_TIMEOUT_MS,
    )


def wait_for_page(page: Page, title: str) -> None:
    """Wait until the page titled ``title`` has been drawn and its script run has ended (the
    first visit to a page may import Keras: allow a script run's time, not an expect's)."""
    from playwright.sync_api import expect

    heading = page.get_by_role("heading", name=title, exact=True)
    expect(heading).to_be_visible(timeout=SCRIPT_RUN_TIMEOUT_MS)
    wait_for_script_run(page)  # the run that drew the title has begun: this waits for its end


@pytest.fixture
def open_app_page(browser_page: Page, app_server: str) -> Callable[[str], Page]:
    """Return ``open(path)``: load ``app_server + path`` and wait for its script to finish."""

    def open_page(path: str = "/") -> Page:
        browser_page.goto(f"{app_server}{path}")
        # Every page draws its title first: once it shows, the script run has begun, so the
        # script state that follows is that run's end (not the state before it started).
        browser_page.locator("h1").first.wait_for(timeout=SCRIPT_RUN_TIMEOUT_MS)
        wait_for_script_run(browser_page)
        return browser_page

    return open_page


def choose_option(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the select box labelled ``label``, as a user does: open its list,
    click the option. Right after a page switch the first click on a select box may only focus
    it (the list opens and closes again while the page is still being laid out), so the box is
    clicked again until its list shows; a person would click twice too."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.get_by_test_id("stSelectbox").filter(has_text=label).first
    listbox = page.get_by_role("listbox", name=label)
    for _ in range(5):
        box.click()
        try:
            listbox.wait_for(state="visible", timeout=3_000)
            break
        except PlaywrightTimeout:
            continue
    listbox.get_by_role("option").filter(has_text=option).first.click()
    listbox.wait_for(state="hidden")


def wait_for_layout(page: Page) -> None:
    """Wait until the browser has laid out and painted the page as it is now (two frames)."""
    page.evaluate(
        "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )


def save_screenshot(page: Page, path: Path) -> None:
    """Save the whole page: Streamlit scrolls inside its own container, so ``full_page`` alone
    would cut it at the window's height; the window is made as tall as the content instead."""
    viewport = page.viewport_size or {"width": 1440, "height": 1000}
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
        "[data-testid=stMainBlockContainer], [data-testid=stSidebarContent]')]"
        ".map(e => e.scrollHeight), document.body.scrollHeight)"
    )
    page.set_viewport_size({"width": viewport["width"], "height": max(viewport["height"], height)})
    wait_for_layout(page)
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(viewport)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """``test-artifacts/screenshots/``, created."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
