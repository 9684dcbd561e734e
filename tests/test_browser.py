"""In a real browser (headless Chromium driven by Selenium; `make test-browser`): the rendered course loads
without console errors and shows every figure; in the student JupyterLab of `make lab`, a learner runs
02-baseline, answers an exercise, and the public test passes, or fails with its friendly message in view.

Screenshots go to build/screenshots/. Without chromium, chromedriver or selenium the tests skip, saying which.
"""
import functools
import http.server
import shutil
import threading

import pytest

import build_site
from course import ASSIGNMENTS, ROOT
from lab_server import free_loopback_port, running_lab

pytestmark = pytest.mark.browser
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: run `make test-browser`")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
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


# --- The learner's road: the student JupyterLab of `make lab` ------------------------------------------------
NO_SAVING_AND_EVERY_CELL_DRAWN = {
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"},
}
ASSIGNMENT, EXERCISE = "02-baseline", "build_baseline_model"
# What a learner might type: one line, so that the editor's automatic indentation and brackets stay out of it.
RIGHT_ANSWER = ('build_baseline_model = lambda: keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(50, '
                'activation="relu", kernel_initializer="he_uniform"), keras.layers.Dense(1, activation="sigmoid")])')
WRONG_ANSWER = RIGHT_ANSWER.replace('"relu"', '"tanh"')


def cell_index(grade_id):
    """The position of the cell with nbgrader id `grade_id` in the released notebook."""
    from course import notebook_path, read_notebook

    cells = read_notebook(notebook_path(ROOT, "notebooks", ASSIGNMENT)).cells
    return next(i for i, cell in enumerate(cells) if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def until(driver, condition, what, timeout=300):
    """Wait for `condition(driver)`; on time-out, a screenshot named after `what` and an AssertionError saying it."""
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.5).until(condition)
    except TimeoutException:
        driver.save_screenshot(str(SCREENSHOTS / f"failed-{what.replace(' ', '-')}.png"))
        raise AssertionError(f"timed out after {timeout} s waiting for: {what}") from None


def wait_until_idle(driver):
    """Wait until no cell shows the busy prompt [*]."""
    until(driver, lambda d: d.execute_script(
        "const prompts = Array.from(document.querySelectorAll('.jp-InputPrompt'));"
        "return prompts.length > 0 && !prompts.some(p => p.textContent.includes('[*]'));"), "cells done")


def menu(driver, top, item):
    driver.find_element(By.XPATH, f"//div[contains(@class,'lm-MenuBar-itemLabel') and text()='{top}']").click()
    driver.find_element(By.XPATH, f"//div[contains(@class,'lm-Menu-itemLabel') and text()='{item}']").click()


def cells(driver):
    return driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")


def run_cell(driver, index):
    cell = cells(driver)[index]
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", cell)
    cell.find_element(By.CSS_SELECTOR, ".jp-InputArea-editor").click()
    cell.find_element(By.CSS_SELECTOR, ".cm-content").send_keys(Keys.SHIFT, Keys.ENTER)
    wait_until_idle(driver)
    return cells(driver)[index]


def type_answer(driver, index, text):
    cell = cells(driver)[index]
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", cell)
    editor = cell.find_element(By.CSS_SELECTOR, ".cm-content")
    editor.click()
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys(Keys.DELETE)
    editor.send_keys(text)


def test_a_learner_answers_an_exercise_in_the_student_jupyterlab(browser, tmp_path):
    answer, public_test = cell_index(EXERCISE), cell_index(f"test_{EXERCISE}_public")
    with running_lab(tmp_path, settings=NO_SAVING_AND_EVERY_CELL_DRAWN) as (base, token):
        browser.get(f"{base}/lab/tree/{ASSIGNMENT}/{ASSIGNMENT}.ipynb?token={token}")
        until(browser, lambda d: len(cells(d)) > public_test, "the notebook's cells")
        until(browser, lambda d: "| Idle" in d.find_element(By.TAG_NAME, "body").text, "an idle kernel")
        menu(browser, "Run", "Run All Cells")
        wait_until_idle(browser)  # Run All stops at the first exercise still to do, as it would for a learner

        type_answer(browser, answer, RIGHT_ANSWER)
        run_cell(browser, answer)
        passed = run_cell(browser, public_test)
        browser.save_screenshot(str(SCREENSHOTS / "lab-public-test-passes.png"))
        assert not passed.find_elements(By.CSS_SELECTOR, "[data-mime-type='application/vnd.jupyter.stderr']")
        assert "Error" not in passed.find_element(By.CSS_SELECTOR, ".jp-Cell-outputWrapper").text

        type_answer(browser, answer, WRONG_ANSWER)
        run_cell(browser, answer)
        failed = run_cell(browser, public_test)
        browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", failed)
        browser.save_screenshot(str(SCREENSHOTS / "lab-public-test-friendly-message.png"))
        output = failed.find_element(By.CSS_SELECTOR, ".jp-Cell-outputWrapper")
        first_lines = output.text.strip().splitlines()[:3]
        assert first_lines and "activation" in " ".join(first_lines), first_lines
        assert "Traceback" not in output.text
        top = browser.execute_script("return arguments[0].getBoundingClientRect().top;", output)
        assert 0 <= top < browser.execute_script("return window.innerHeight;"), "the message is not on the screen"
