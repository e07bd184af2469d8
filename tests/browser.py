"""Checks of an HTML report in a real browser: the system Chromium, driven by Playwright (tests/test_browser.py).

`check_report_page` loads one page at a desktop and a phone width and returns what it found, without asserting,
so the same function serves the real reports and the deliberately broken pages that prove each check can fail.
"""

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# This machine's network is closed (and CI's should not matter): without these flags Chromium tries to reach
# Google's update, sync and QUIC services at start-up.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

DESKTOP = {"width": 1280, "height": 800}  # also the size of the first-screen screenshot
PHONE = {"width": 390, "height": 844}  # an iPhone 12-14's CSS viewport

# An alt text that is only a file name tells a screen-reader user nothing.
FILE_NAME = re.compile(r"\.(png|gif|jpe?g|svg|webp)$", re.IGNORECASE)

# For each <img>: what the checks on images need. Runs in the page.
IMAGES_JS = """() => Array.from(document.images, img => ({
    src: img.getAttribute("src") || "",
    alt: img.getAttribute("alt"),
    decoded: img.complete && img.naturalWidth > 0,
}))"""

# Elements whose box sticks out past the viewport's sides, each described by tag, class, text excerpt and box.
# One is excused when an ancestor with overflow-x auto/scroll/hidden/clip clips it and that ancestor fits: a table
# in a scroll container. <html> and <body> do not count as such ancestors, since their overflow goes to the
# viewport, where hidden means cut off unseen. Only the outermost offenders are listed: a too-wide table's rows
# and cells stick out too, and would only repeat it.
TOO_WIDE_JS = """() => {
    const width = window.innerWidth;
    const fits = box => box.left >= -1 && box.right <= width + 1;  // a pixel of slack for rounding
    const clipped = el => {
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
            const clips = ["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(a).overflowX);
            if (clips && fits(a.getBoundingClientRect())) return true;
        }
        return false;
    };
    const offends = el => {
        const box = el.getBoundingClientRect();
        return box.width > 0 && !fits(box) && !clipped(el);
    };
    const offenders = Array.from(document.body.querySelectorAll("*")).filter(offends);
    return offenders.filter(el => !offenders.includes(el.parentElement)).map(el => {
        const box = el.getBoundingClientRect();
        const cls = el.getAttribute("class");
        const text = (el.textContent || "").replace(/\\s+/g, " ").trim().slice(0, 60);
        return `<${el.tagName.toLowerCase()}${cls ? ` class="${cls}"` : ""}> "${text}" `
            + `spans x ${Math.round(box.left)}..${Math.round(box.right)}`;
    });
}"""


@dataclass
class PageFindings:
    """What `check_report_page` found; every list is empty on a page without problems."""

    image_count: int  # <img> elements on the page
    broken_images: list[str] = field(default_factory=list)  # src excerpts of images that did not decode
    bad_alt_texts: list[str | None] = field(default_factory=list)  # missing (None), empty or a file name
    console_errors: list[str] = field(default_factory=list)  # console.error messages and uncaught exceptions
    outside_requests: list[str] = field(default_factory=list)  # URLs other than the page's own file and data:
    phone_scroll_width: int = 0  # document.documentElement.scrollWidth at the phone width
    phone_too_wide: list[str] = field(default_factory=list)  # elements sticking out past the phone's viewport
    screenshots: list[Path] = field(default_factory=list)  # files written, first screen then full pages

    def problems(self) -> list[str]:
        """One line per failed check, for an assertion message that shows them all at once."""
        checks = [
            ("images that do not decode", self.broken_images),
            ("alt texts that are not words (missing, empty or a file name)", self.bad_alt_texts),
            ("console errors", self.console_errors),
            ("requests that leave the page", self.outside_requests),
            (f"elements wider than the {PHONE['width']} px phone viewport (page scrollWidth {self.phone_scroll_width})",
             self.phone_too_wide),
        ]
        return [f"{title}: {found}" for title, found in checks if found]


def find_chromium() -> str | None:
    """Path of the system Chromium: $NNPROBE_CHROMIUM, else the first of the usual names on PATH, else None."""
    if os.environ.get("NNPROBE_CHROMIUM"):
        return os.environ["NNPROBE_CHROMIUM"]
    names = ("chromium", "chromium-browser", "google-chrome")
    return next((path for path in map(shutil.which, names) if path), None)


def default_artifacts_dir() -> Path:
    """Folder for screenshots: $NNPROBE_TEST_ARTIFACTS, else <repo>/test-artifacts/browser (git-ignored)."""
    return Path(os.environ.get("NNPROBE_TEST_ARTIFACTS") or REPO / "test-artifacts" / "browser")


def check_report_page(browser, html_path: Path, *, artifacts_dir: Path, name: str) -> PageFindings:
    """Load a page at the desktop and the phone width, check it, and save screenshots.

    Parameters
    ----------
    browser : playwright.sync_api.Browser
        A launched Chromium; one per test module, since launching costs about half a second.
    html_path : Path
        The page, opened as a file:// URL.
    artifacts_dir : Path
        Folder for the screenshots `<name>-1280.png`, `<name>-390.png` (full pages) and `<name>-first-screen.png`
        (what a 1280x800 window shows first); created when missing.
    name : str
        Prefix of the screenshot file names.

    Returns
    -------
    PageFindings
        Images, console and requests are checked at both widths, overflow at the phone width only.
    """
    own_url = html_path.resolve().as_uri()
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    findings = PageFindings(image_count=0)
    console_errors, outside_requests = [], []

    def on_console(message):
        if message.type == "error":
            console_errors.append(message.text)

    def on_request(request):
        if request.url != own_url:  # data: URLs never show up here: Chromium decodes them without a request
            outside_requests.append(request.url)

    def only_own_file(route):
        # Recorded by on_request, stopped here: a report must not reach the network, and a test must not either.
        if route.request.url == own_url:
            route.continue_()
        else:
            route.abort()

    for viewport in (DESKTOP, PHONE):
        page = browser.new_page(viewport=viewport)
        page.on("console", on_console)
        page.on("pageerror", lambda error: console_errors.append(f"uncaught {error}"))
        page.on("request", on_request)
        page.route("**/*", only_own_file)
        page.goto(own_url)  # waits for the load event, so images have loaded or failed

        images = page.evaluate(IMAGES_JS)
        findings.image_count = len(images)
        findings.broken_images += [image["src"][:80] for image in images if not image["decoded"]]
        findings.bad_alt_texts += [image["alt"] for image in images if not is_words(image["alt"])]

        width = viewport["width"]
        if viewport is PHONE:
            findings.phone_scroll_width = page.evaluate("document.documentElement.scrollWidth")
            findings.phone_too_wide = page.evaluate(TOO_WIDE_JS)
            if findings.phone_scroll_width > width and not findings.phone_too_wide:
                # Something overflows that no element box shows (a wide pseudo-element, say): still a failure.
                findings.phone_too_wide = ["(no element box sticks out; see the page's scrollWidth)"]
        else:
            first_screen = artifacts_dir / f"{name}-first-screen.png"
            page.screenshot(path=first_screen)
            findings.screenshots.append(first_screen)
        full_page = artifacts_dir / f"{name}-{width}.png"
        page.screenshot(path=full_page, full_page=True)
        findings.screenshots.append(full_page)
        page.close()

    # Both widths load the same page: keep each problem once, in the order seen.
    findings.broken_images = list(dict.fromkeys(findings.broken_images))
    findings.bad_alt_texts = list(dict.fromkeys(findings.bad_alt_texts))
    findings.console_errors = list(dict.fromkeys(console_errors))
    findings.outside_requests = list(dict.fromkeys(outside_requests))
    return findings


def is_words(alt: str | None) -> bool:
    """Whether an alt text says something: present, with a letter in it, and not a file name."""
    return alt is not None and re.search(r"[^\W\d_]", alt) is not None and not FILE_NAME.search(alt.strip())
