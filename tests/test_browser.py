"""A real-browser test of the HTML reports: rendered in headless Chromium, at a desktop and a phone width.

The checks live in tests/browser.py; the small broken pages below prove each of them can fail. Skipped, with the
reason, where no Chromium or no Playwright is installed (.ci/run installs Chromium; `make test` installs Playwright).
"""

import pytest
from browser import CHROMIUM_ARGS, PHONE, check_report_page, default_artifacts_dir, find_chromium

# A 1x1 PNG, so the good page's image decodes.
PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="


@pytest.fixture(scope="module")
def browser():
    """One headless system Chromium for the whole module: each launch costs about half a second."""
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium found (looked for chromium, chromium-browser, google-chrome and $NNPROBE_CHROMIUM);"
                    " install it with `apt-get install chromium`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: `.venv/bin/pip install -c constraints.txt playwright`"
                    " (it is in the dev extra); never `playwright install`, the system Chromium is used")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def report_html(quick_report):
    """The report under test: the combined report of a real `nnprobe reproduce --quick` run (tests/conftest.py)."""
    return quick_report / "report.html"


def test_report_renders_in_a_real_browser(browser, report_html):
    found = check_report_page(browser, report_html, artifacts_dir=default_artifacts_dir(), name="report")
    assert all(path.stat().st_size > 0 for path in found.screenshots)  # saved for a person to look at
    assert found.image_count > 0  # else the image checks below would pass on nothing
    assert not found.problems(), "\n".join(found.problems())  # every failed check at once, not the first only


# The pages a user gets from the commands that are not in `reproduce`: the audit (its verdict, checks and null
# distributions) and a comparison of two files of predictions (tables only, with a user's long file names).
OWN_PAGES = {
    "audit": ["audit", "--small", "--device", "cpu"],
    "compare": ["compare", "synth:ab?n=3000&lift=0.02", "--boot", "500"],
}


@pytest.mark.parametrize("command", sorted(OWN_PAGES))
def test_each_commands_own_page_renders_in_a_real_browser(browser, tmp_path, command):
    import subprocess
    import sys

    out = tmp_path / command
    run = subprocess.run([sys.executable, "-m", "nnprobe", *OWN_PAGES[command], "--out", str(out), "-q"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    found = check_report_page(browser, out / "report.html", artifacts_dir=tmp_path, name=command)
    assert not found.problems(), "\n".join(found.problems())


def write_page(tmp_path, body):
    """A small page around `body`, written as tmp_path/page.html."""
    path = tmp_path / "page.html"
    path.write_text('<!doctype html><html lang="en"><head><meta charset="utf-8">'
                    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>t</title></head>'
                    f"<body>{body}</body></html>")
    return path


def check(browser, tmp_path, body):
    """`check_report_page` on a small page around `body`, its screenshots kept in tmp_path."""
    return check_report_page(browser, write_page(tmp_path, body), artifacts_dir=tmp_path, name="page")


def test_a_good_page_has_no_problems(browser, tmp_path):
    # A too-wide table is fine inside a scroll container that fits: the reader can scroll it.
    found = check(browser, tmp_path, f'<img src="data:image/png;base64,{PNG_1X1}" alt="One grey pixel">'
                                     '<div style="overflow-x: auto"><table><tr><td style="min-width: 900px">wide'
                                     "</td></tr></table></div>")
    assert found.image_count == 1
    assert found.problems() == []  # else the checks fail good reports too
    assert [path.name for path in found.screenshots] == ["page-first-screen.png", "page-1280.png", "page-390.png"]


def test_an_image_that_does_not_decode_is_found(browser, tmp_path):
    found = check(browser, tmp_path, '<img src="data:image/png;base64,AAAA" alt="A broken picture">')
    assert found.broken_images == ["data:image/png;base64,AAAA"]  # the page loads, the image does not


def test_alt_texts_that_are_file_names_or_missing_are_found(browser, tmp_path):
    image = f'src="data:image/png;base64,{PNG_1X1}"'
    found = check(browser, tmp_path, f'<img {image} alt="fig.png"><img {image}><img {image} alt="">')
    assert found.bad_alt_texts == ["fig.png", None, ""]  # a file name, no alt, an empty alt
    assert found.broken_images == []  # the images themselves are fine


def test_console_errors_and_uncaught_exceptions_are_found(browser, tmp_path):
    found = check(browser, tmp_path, '<script>console.error("boom")</script><script>throw new Error("bang")</script>')
    assert "boom" in found.console_errors
    assert any("bang" in message for message in found.console_errors)  # from pageerror, not the console


def test_a_request_that_leaves_the_page_is_found(browser, tmp_path):
    found = check(browser, tmp_path, '<img src="http://example.com/x.png" alt="A picture from elsewhere">')
    assert found.outside_requests == ["http://example.com/x.png"]
    assert found.broken_images == ["http://example.com/x.png"]  # the request is stopped, so nothing goes out


def test_a_table_wider_than_the_phone_is_found(browser, tmp_path):
    found = check(browser, tmp_path, '<table class="wide"><tr><td style="min-width: 900px">too wide to read'
                                     "</td></tr></table>")
    assert found.phone_scroll_width > PHONE["width"]
    assert len(found.phone_too_wide) == 1  # the table only, not again its row and cell
    assert found.phone_too_wide[0].startswith('<table class="wide"> "too wide to read"')
