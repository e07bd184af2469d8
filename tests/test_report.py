"""Tests of the report documents: escaped HTML, files of a run folder that agree with the result and each other.

The run folder mechanics (atomic replacement, manifest, refusals, recovery) are tested in test_runfolder.py.
"""

import base64
import hashlib
import io
import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from markupsafe import Markup
from PIL import Image

from nnprobe.report import Report, Section, Table, write
from nnprobe.report import coin as report_coin
from nnprobe.report import memorize as report_memorize
from nnprobe.report.document import Figure, Formula, anchor, render_html, with_powers
from nnprobe.report.figures import compact_png, new_figure, plain_tick_labels, plt
from nnprobe.report.runfolder import MANIFEST, figure_png
from nnprobe.studies import Claim, coin, memorize
from nnprobe.studies.registry import run_study


def test_html_escapes_user_strings(tmp_path):
    evil = '<script>alert("x")</script>'
    report = Report(
        command="memorize", title=f"run on {evil}", terminal=[Table("t", [evil], [[evil]])],
        sections=[Section(evil, [evil], [Claim(evil, "seed", evil, True, evil)], [Table(evil, ["c"], [[evil]])])],
        figures={}, metrics=pd.DataFrame({"metric": ["m"], "value": [1.0]}),
        claims=[Claim(evil, "seed", evil, False, evil)],
    )
    html_path = write(tmp_path / "r", report, config={"data": evil, "seed": 0}, result={"x": 1.0}, seconds=1.0,
                      device="cpu")
    html = html_path.read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    result = run_study(memorize.MemorizeConfig.small(n_features=(4, 30), epochs=30, device="cpu"))
    out = tmp_path_factory.mktemp("run")
    write(out, report_memorize.build(result), config=result.config, result=result, seconds=result.seconds,
          device=result.device)
    return result, out


def test_run_folder_files_agree_with_the_result(small_run):
    result, out = small_run
    results = json.loads((out / "results.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert config["schema"] == "nnprobe.config/1"  # tells later readers (and nnprobe) which layout this is
    assert config["options"]["n_features"] == [4, 30] and config["seed"] == 0
    assert config["versions"]["torch"] and config["versions"]["numpy"]
    got = [s["train_accuracy_mean"] for s in results["result"]["summaries"]]
    assert got == pytest.approx([s.train_accuracy_mean for s in result.summaries])
    assert [c["holds"] for c in results["claims"]] == [c.holds for c in result.claims]

    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics.columns) == ["study", "series", "step", "metric", "value"]  # the one schema of every study
    assert set(metrics.study) == {"memorize"}
    F, S, T = result.train_accuracy.shape
    assert len(metrics) == 3 * F * S * T  # three metrics per (feature count, seed, epoch)
    rows = metrics[(metrics.metric == "train_accuracy") & (metrics.series == "n_features=30 | seed_index=1")]
    np.testing.assert_allclose(rows.sort_values("step").value, result.train_accuracy[1, 1])
    np.testing.assert_array_equal(rows.sort_values("step").step, result.epochs)


def test_report_html_embeds_every_figure(small_run):
    _, out = small_run
    html = (out / "report.html").read_text()
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(pngs) == 3
    assert html.count('src="data:image/png;base64,') == len(pngs)
    for png in pngs:
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_manifest_vouches_for_every_file_of_the_run(small_run):
    _, out = small_run
    manifest = json.loads((out / MANIFEST).read_text())
    assert sorted(manifest["files"]) == sorted(p.name for p in out.iterdir() if p.name != MANIFEST)
    for name, listed in manifest["files"].items():
        assert listed["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest(), name


# --- report.html as a web page: figures, tables, contents, status marks, formulas --------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Node:
    """An element of a parsed page: its tag, attributes, parent and children (elements and text)."""

    def __init__(self, tag: str, attrs: dict, parent):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag: str):
        for child in self.children:
            if isinstance(child, _Node):
                if child.tag == tag:
                    yield child
                yield from child.find_all(tag)

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


class _Page(HTMLParser):
    """The element tree of a page, as html.parser reads it (a browser would see the same structure here)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.root = self.node = _Node("#document", {}, None)
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = _Node(tag, dict(attrs), self.node)
        self.node.children.append(node)
        if tag not in _VOID:
            self.node = node

    def handle_startendtag(self, tag, attrs):
        self.node.children.append(_Node(tag, dict(attrs), self.node))

    def handle_endtag(self, tag):
        node = self.node
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None, f"</{tag}> closes no open element"  # a page whose tags do not nest fails here
        self.node = node.parent

    def handle_data(self, data):
        self.node.children.append(data)


def _png_size(src: str) -> tuple[int, int]:
    """The pixel size of a data: URL's image."""
    data = base64.b64decode(src.split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def _line_chart(**kwargs) -> bytes:
    fig, ax = new_figure(**kwargs)
    ax.plot(np.arange(50), np.sin(np.arange(50) / 5), label="a line")
    ax.legend()
    return figure_png(fig)


def _page(report: Report, *, created="2025-01-01T00:00:00+00:00", seconds=1.0) -> str:
    return render_html(report, config={"seed": 0}, seconds=seconds, created=created)


def _report(sections, *, figures=None, claims=(), headline="") -> Report:
    return Report(command="memorize", title="a test report", terminal=[], sections=sections, figures=figures or {},
                  metrics=pd.DataFrame({"metric": ["m"], "value": [1.0]}), claims=list(claims), headline=headline)


def test_every_figure_has_alt_text_and_a_caption_in_a_figure(small_run):
    _, out = small_run
    page = _Page((out / "report.html").read_text())
    images = list(page.root.find_all("img"))
    assert len(images) == 3
    names = {p.name for p in out.glob("*.png")}
    for img in images:
        alt = img.attrs.get("alt") or ""
        assert re.search(r"[^\W\d_]{3}", alt), alt  # words, for a screen reader
        assert not re.search(r"\.(png|gif)\b", alt) and alt not in names, alt  # not the file name
        figure = next(a for a in img.ancestors() if a.tag == "figure")  # StopIteration: an image outside a figure
        captions = [c for c in figure.children if isinstance(c, _Node) and c.tag == "figcaption"]
        assert len(captions) == 1 and captions[0].text().strip()


def test_alt_texts_carry_the_numbers_of_the_result(small_run):
    result, out = small_run
    page = _Page((out / "report.html").read_text())
    alts = [img.attrs["alt"] for img in page.root.find_all("img")]
    # The curve of the train accuracy is described by its final values, as read from the result.
    final = [f"{s.train_accuracy_mean:.2f} with {s.n_features} features" for s in result.summaries]
    assert all(text in alts[0] for text in final), alts[0]


def test_figures_are_drawn_at_twice_the_size_they_are_shown(small_run):
    _, out = small_run
    page = _Page((out / "report.html").read_text())
    for img in page.root.find_all("img"):
        width, height = _png_size(img.attrs["src"])
        assert int(img.attrs["width"]) * 2 == width and int(img.attrs["height"]) * 2 == height
        assert width > 1200  # 220 dpi: a 7-inch figure is about 1500 pixels wide, at 110 dpi only 770


def test_every_table_scrolls_in_a_box_of_its_own(small_run):
    _, out = small_run
    page = _Page((out / "report.html").read_text())
    tables = list(page.root.find_all("table"))
    assert tables
    for table in tables:
        assert "table-scroll" in table.parent.classes()  # the box that scrolls sideways on a phone
    style = next(page.root.find_all("style")).text()
    assert re.search(r"\.table-scroll\s*\{[^}]*overflow-x:\s*auto", style)
    assert re.search(r"figure img\s*\{[^}]*max-width:\s*100%[^}]*height:\s*auto", style)


def test_a_wide_figure_keeps_a_legible_size_in_a_box_that_scrolls():
    wide, narrow = _line_chart(figsize=(14, 3)), _line_chart(figsize=(6, 3))
    section = Section("figures", figures=[Figure("wide.png", "A wide one.", "A sine wave, drawn wide."),
                                          Figure("narrow.png", "A narrow one.", "A sine wave, drawn narrow.")])
    page = _Page(_page(_report([section], figures={"wide.png": wide, "narrow.png": narrow})))
    wide_img, narrow_img = page.root.find_all("img")
    assert "figure-scroll" in wide_img.parent.classes()
    min_width = int(re.fullmatch(r"min-width: (\d+)px", wide_img.attrs["style"])[1])
    assert 0.5 * int(wide_img.attrs["width"]) <= min_width < int(wide_img.attrs["width"])
    assert min_width > 390  # wider than a phone: its box scrolls instead of shrinking the text out of reach
    assert "style" not in narrow_img.attrs  # a single panel just scales with the page


def test_user_strings_stay_escaped_in_headings_contents_and_figures():
    evil = '<script>alert("x")</script>'
    chart = _line_chart()
    section = Section(evil, [evil], tables=[Table(evil, [evil], [[evil]])],
                      figures=[Figure(f"{evil}.png", f"caption {evil}", f"alt {evil}")])
    html = _page(_report([section], figures={f"{evil}.png": chart}, headline=evil))
    assert "<script" not in html
    page = _Page(html)
    heading = next(h for h in page.root.find_all("h2") if h.text() == evil)
    toc = next(page.root.find_all("nav"))
    link = next(a for a in toc.find_all("a") if a.text() == evil)
    assert link.attrs["href"] == "#" + heading.parent.attrs["id"] == "#script-alert-x-script"
    img = next(page.root.find_all("img"))
    assert img.attrs["alt"] == f"alt {evil}"  # parsed back from the escaped attribute: the text, not markup


def test_contents_link_every_heading_and_nest_level_3():
    sections = [Section("Study one"), Section("Part", level=3), Section("Part", level=3), Section("Study two"),
                Section("Part", level=3)]
    page = _Page(_page(_report(sections)))
    ids = [section.attrs["id"] for section in page.root.find_all("section")]
    assert len(ids) == len(set(ids))  # anchors are unique even where titles repeat
    assert [h.parent.attrs["id"] for h in page.root.find_all("h3")] == ["part", "part-2", "part-3"]
    toc = next(page.root.find_all("nav"))
    top = [li for li in next(toc.find_all("ol")).children if isinstance(li, _Node)]
    assert [next(li.find_all("a")).text() for li in top] == ["Study one", "Study two", "Configuration"]
    nested = [[a.attrs["href"] for a in ol.find_all("a")] for li in top for ol in li.find_all("ol")]
    assert nested == [["#part", "#part-2"], ["#part-3"]]
    assert {a.attrs["href"][1:] for a in toc.find_all("a")} <= set(ids) | {"configuration"}


def test_anchors_are_stable_and_plain():
    taken = set()
    assert anchor("Part 1 — learning y = 4x", taken) == "part-1-learning-y-4x"
    assert anchor("Part 1 — learning y = 4x", taken) == "part-1-learning-y-4x-2"
    assert anchor("<script>", taken) == "script" and anchor("——", taken) == "section"


def test_status_words_carry_a_class_and_a_mark_that_needs_no_colour():
    words = ["pass", "WARN", "FAIL", "holds", "does not hold", "untested", "LEARNED", "MEMORISED", "SHORTCUT",
             "NO SIGNAL"]
    marks = {"pass": "✓", "WARN": "⚠", "FAIL": "✗", "holds": "✓", "does not hold": "✗", "untested": "?",
             "LEARNED": "✓", "MEMORISED": "⚠", "SHORTCUT": "✗", "NO SIGNAL": "✗"}
    table = Table("statuses", ["check", "status", "note"], [[f"check {i}", w, "passes the check"]
                                                              for i, w in enumerate(words)])
    claims = [Claim(id=f"t.{i}", source="seed", statement="s", holds=holds, evidence="e")
              for i, holds in enumerate([True, False, None])]
    page = _Page(_page(_report([Section("statuses", claims=claims, tables=[table])])))
    body = next(page.root.find_all("tbody"))
    rows = [[c for c in tr.children if isinstance(c, _Node)] for tr in body.find_all("tr")]
    colour = {"✓": "good", "⚠": "warn", "✗": "bad", "?": "unknown"}
    for word, (_, status, note) in zip(words, rows, strict=True):
        assert status.text() == f"{marks[word]} {word}"  # the mark is text: it shows without colour
        assert {"status", colour[marks[word]]} <= status.classes()
        assert "status" not in note.classes()  # only a cell whose whole text is a status word
    verdicts = [span for span in page.root.find_all("span") if "verdict" in span.classes()]
    assert [v.text() for v in verdicts] == ["✓ Holds", "✗ Does not hold", "? Not tested"]
    assert [{"good", "bad", "unknown"} & v.classes() for v in verdicts] == [{"good"}, {"bad"}, {"unknown"}]


def test_numbers_are_right_aligned_and_findings_left():
    table = Table("t", ["name", "count", "share", "finding"],
                  [["a", "1,234", "12%", "A finding long enough to wrap on a phone, in a column kept readable."],
                   ["b", 5, None, "short"]])
    page = _Page(_page(_report([Section("s", tables=[table])])))
    header, *rows = page.root.find_all("tr")
    heads = [c for c in header.children if isinstance(c, _Node)]
    assert ["num" in h.classes() for h in heads] == [False, True, True, False]
    for row in rows:
        cells = [c for c in row.children if isinstance(c, _Node)]
        assert ["num" in c.classes() for c in cells] == [False, True, True, False]
    assert "text" in [c for c in rows[0].children if isinstance(c, _Node)][3].classes()
    style = next(page.root.find_all("style")).text()
    assert re.search(r"\.num\s*\{[^}]*text-align:\s*right", style)
    assert re.search(r"th, td\s*\{[^}]*text-align:\s*left", style)


def test_claims_get_an_anchor_from_their_id():
    claims = [Claim(id="memorize.heldout_chance", source="nnprobe", statement="s", holds=True, evidence="e"),
              Claim(id="cluster.slow_start:2-features", source="seed", statement="t", holds=False, evidence="e")]
    page = _Page(_page(_report([Section("claims", claims=claims)])))
    items = [li for li in page.root.find_all("li") if "claim" in li.classes()]
    assert [li.attrs.get("id") for li in items] == ["claim-memorize.heldout_chance",
                                                    "claim-cluster.slow_start:2-features"]


def test_formulas_render_as_markup_and_user_text_never_does():
    assert with_powers("after 10^6 flips, (4 - w)^2 and p^k") == Markup(
        "after 10<sup>6</sup> flips, (4 - w)<sup>2</sup> and p<sup>k</sup>")
    assert with_powers("<b>x^2</b> run^2.csv") == Markup("&lt;b&gt;x<sup>2</sup>&lt;/b&gt; run^2.csv")
    with pytest.raises(TypeError):
        Formula("x²", "x<sup>2</sup>")  # a plain str is never taken as markup
    formula = Formula("x²", Markup("x<sup>2</sup>"))
    table = Table("t", ["node", "value"], [[formula, 1.0], ["<i>x</i>^2", 2.0]])
    html = _page(_report([Section("s", [formula], tables=[table])]))
    assert '<div class="formula">x<sup>2</sup></div>' in html
    assert ">x<sup>2</sup></td>" in html  # a Formula in a cell: its HTML
    assert "&lt;i&gt;x&lt;/i&gt;^2</td>" in html  # escaped user text: no power after an escaped tag


def test_coin_report_shows_its_formulas_as_mathml_not_latex():
    html = _page(report_coin.build(run_study(coin.CoinConfig.small())))
    assert html.count('<math display="block">') == 2
    visible = re.sub(r"<style>.*?</style>|<math.*?</math>|<[^>]+>", " ", html, flags=re.S)
    for notation in ("_{", "^", "\\", "$"):
        assert notation not in visible, notation  # raw TeX or caret notation left in the text
    assert "10<sup>6</sup> flips" in html  # a claim's evidence, "after 10^6 flips", as the study writes it


def test_log_axis_labels_are_plain_text():
    fig, ax = new_figure()
    ax.plot([1, 1e8], [0, 1])
    ax.set_xscale("log")
    fig.canvas.draw()
    assert any("$" in t.get_text() for t in ax.get_xticklabels())  # matplotlib's own: mathtext, shown raw here
    plain_tick_labels(fig)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "10⁸" in labels and not any("$" in label for label in labels)
    plt.close(fig)


def test_figure_pngs_are_even_sized_and_palette_only_where_it_shows_no_change():
    fig, ax = new_figure(figsize=(3.01, 2.01))
    ax.plot(np.arange(30), np.arange(30) ** 0.5)
    png = figure_png(fig)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size[0] % 2 == 0 and image.size[1] % 2 == 0
        assert image.mode == "P"  # a line chart: 256 colours
        assert round(image.info["dpi"][0]) == 220
    # A smooth gradient would band in 256 colours: it stays in full colour, pixel for pixel.
    fig, ax = new_figure(figsize=(3, 2))
    ax.imshow(np.linspace(0, 1, 600).reshape(20, 30), cmap="viridis", aspect="auto")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=220)
    plt.close(fig)
    raw = buf.getvalue()
    with Image.open(io.BytesIO(compact_png(raw))) as small, Image.open(io.BytesIO(raw)) as big:
        assert small.mode == "RGB"
        assert np.array_equal(np.asarray(small)[: big.height, : big.width], np.asarray(big.convert("RGB")))


def test_line_chart_palette_is_smaller_and_looks_the_same():
    fig, ax = new_figure()
    for k in range(5):
        ax.plot(np.arange(100), np.sin(np.arange(100) / (k + 3)), label=f"line {k}")
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=220, bbox_inches="tight")
    plt.close(fig)
    raw = buf.getvalue()
    small = compact_png(raw)
    assert len(small) < 0.6 * len(raw)
    with Image.open(io.BytesIO(small)) as a, Image.open(io.BytesIO(raw)) as b:
        before = np.asarray(b.convert("RGB"), dtype=int)
        after = np.asarray(a.convert("RGB"), dtype=int)[: b.height, : b.width]
    assert np.abs(after - before).mean() < 0.5  # a few edge pixels move a little; nothing else


def test_sections_refuse_figures_without_words():
    with pytest.raises(TypeError):
        Section("s", figures=["chart.png"])  # a bare file name: no caption, no alt text
    with pytest.raises(ValueError):
        Figure("chart.png", "A caption.", "chart.png")
    with pytest.raises(ValueError):
        Section("s", level=4)


def test_the_page_is_self_contained_and_differs_between_runs_only_in_time_and_duration(small_run):
    result, _ = small_run
    report = report_memorize.build(result)
    first = _page(report, created="2025-01-01T00:00:00+00:00", seconds=1.0)
    second = _page(report_memorize.build(result), created="2025-06-30T12:34:56+02:00", seconds=73.4)
    assert first != second

    def strip(html: str) -> str:
        return re.sub(r'<time[^>]*>.*?</time>|<span class="duration">.*?</span>', "", html)

    assert strip(first) == strip(second)  # figures drawn twice are byte for byte the same
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in first
    assert not re.search(r"<script|<link|@import|url\(|(src|href)=\"(https?:)?//", first)


def test_the_combined_report_stays_under_5_mb_and_keeps_the_rules(quick_report):
    html = (quick_report / "report.html").read_text()
    assert len(html.encode()) < 5_000_000  # every study's figures, base64 included
    page = _Page(html)
    images = list(page.root.find_all("img"))
    assert len(images) >= 20
    for img in images:
        assert any(a.tag == "figure" for a in img.ancestors()) and re.search(r"[^\W\d_]{3}", img.attrs["alt"])
        width, _ = _png_size(img.attrs["src"])
        assert int(img.attrs["width"]) * (2 if img.attrs["src"].startswith("data:image/png") else 1) == width
    assert all("table-scroll" in t.parent.classes() for t in page.root.find_all("table"))
    assert len(list(page.root.find_all("h3"))) > 5  # each study's sections nest under its heading
