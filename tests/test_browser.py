"""In a real browser (headless Chromium driven by Selenium; `make test-browser`): the rendered course loads
without console errors and shows every figure; in the student JupyterLab of `make lab`, a learner runs
02-baseline, answers an exercise, and the public test passes, or fails with its friendly message in view.

Screenshots go to build/screenshots/. Without chromium, chromedriver or selenium the tests skip, saying which.
"""
import functools
import http.server
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from course import ASSIGNMENTS, ROOT
from submissions import solution_cells
from test_lab import free_loopback_port

pytestmark = pytest.mark.browser
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: run `make test-browser`")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are needed (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def console_errors(driver):
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


@pytest.fixture(scope="module")
def site_url(tmp_path_factory):
    """The site built by `make site`'s tool into a temporary folder, served over HTTP on the loopback."""
    from test_site import build_site

    mathjax = ROOT / "build" / "mathjax" / "es5"
    if not (mathjax / "tex-chtml-full.js").is_file():
        pytest.skip("MathJax for the offline site is missing: run `make test-browser` (it fetches it with npm)")
    out = tmp_path_factory.mktemp("site")
    build_site.build(out, mathjax_dir=mathjax)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_loopback_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def wait_for_mathjax(driver, timeout=30):
    """Wait until MathJax 3 has typeset the page, if the page loads it."""
    driver.set_script_timeout(timeout)
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const wait = () => window.MathJax && MathJax.startup && MathJax.startup.promise"
        "  ? MathJax.startup.promise.then(() => done(true)) : setTimeout(wait, 100);"
        "document.querySelector('script[src*=tex-chtml]') ? wait() : done(false);")


@pytest.mark.parametrize("page", ["index", *ASSIGNMENTS])
def test_a_site_page_loads_without_console_errors_and_shows_its_figures(browser, site_url, page):
    browser.get_log("browser")  # forget what earlier pages logged
    browser.get(f"{site_url}/{page}.html")
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    wait_for_mathjax(browser)
    broken = browser.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt);")
    browser.save_screenshot(str(SCREENSHOTS / f"site-{page}.png"))
    assert console_errors(browser) == []
    assert broken == [], f"figures that did not render: {broken}"
    if page != "index":
        assert browser.execute_script("return document.images.length") > 0
