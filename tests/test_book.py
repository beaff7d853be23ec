"""The static book: built from the executed course, quizzes answered in real headless Chromium;
sphinx-book-theme, no injected-parameters cell, a link to each page's notebook, no code cut off."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from pages import CHROMIUM, page_from_disk

from helpers import quiz
from helpers.tools import book

ARTIFACTS = Path(__file__).resolve().parent.parent / "build" / "test-artifacts"

NOTEBOOK_PATHS = sorted(book.config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def test_quiz_html_carries_answers_and_a_static_form():
    qs = quiz.load_bank("03_feature_extraction")
    page = book.quiz_html(quiz.quiz_data(qs, "03_feature_extraction", "Quiz"), "b1")
    payload = re.search(r"<script type='application/json' class='tlw-quiz-data'>(.*?)</script>",
                        page, re.S).group(1)
    data = json.loads(payload.replace("<\\/", "</"))
    assert [q["id"] for q in data["questions"]] == [q.id for q in qs]
    assert quiz.questions_from_data(data) == qs
    assert "tlw-quiz-static" in page and "tlwRenderQuizzes" in page


def test_injected_parameters_cell_gives_way_to_a_note_with_the_run_and_links():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 04 · Fine-tuning"),
        nbformat.v4.new_code_cell("QUICK = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("# Parameters\nQUICK = True\n",
                                  metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_code_cell("print(1)")])
    links = book.notebook_links("04_fine_tuning.ipynb", None, book.config.ROOT / "build" / "book" / "html")
    assert links == [("the notebook in this checkout", "../../../notebooks/04_fine_tuning.ipynb")]
    note = book.notebook_note("04_fine_tuning.ipynb", {"QUICK": True}, links)
    assert book.book_notebook(nb, "04_fine_tuning", note) == 0
    assert [c.metadata.get("tags", []) for c in nb.cells if c.cell_type == "code"] == [["parameters"], []]
    assert nb.cells[1].cell_type == "markdown" and "tlw-notebook-link" in nb.cells[1].source
    assert "QUICK=True" in note and "href='../../../notebooks/04_fine_tuning.ipynb'" in note


def test_repository_and_binder_links_only_for_a_real_owner():
    badge = ("[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/{}/"
             "transfer-learning-workbook/main?urlpath=lab/tree/notebooks/00_welcome.ipynb)")
    assert book.repository_from_readme(badge.format("OWNER")) is None
    repo = book.repository_from_readme(badge.format("ada"))
    assert repo == {"owner": "ada", "repo": "transfer-learning-workbook", "branch": "main"}
    options = book.theme_options(repo)
    assert options["repository_url"] == "https://github.com/ada/transfer-learning-workbook"
    assert options["path_to_docs"] == "notebooks" and options["use_source_button"]
    assert options["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert "repository_url" not in book.theme_options(None)
    assert dict(book.notebook_links("03_feature_extraction.ipynb", repo, Path("/x"))) == {
        "the notebook on GitHub": "https://github.com/ada/transfer-learning-workbook/blob/main/"
                                  "notebooks/03_feature_extraction.ipynb",
        "run it on Binder": "https://mybinder.org/v2/gh/ada/transfer-learning-workbook/main"
                            "?urlpath=lab/tree/notebooks/03_feature_extraction.ipynb"}


def test_the_book_theme_is_a_pinned_dependency():
    import tomllib

    project = tomllib.loads((book.config.ROOT / "pyproject.toml").read_text())["project"]
    assert any(d.startswith("sphinx-book-theme==") for d in project["optional-dependencies"]["teach"])
    assert book.THEME in book.CONF.format(theme=book.THEME, options={})


def test_missing_executed_notebooks_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="helpers run"):
        book.build_book(tmp_path / "nothing", tmp_path / "book")


@pytest.fixture(scope="module")
def built(course_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    return book.build_book(course_run["out"], out)


def _prepared(folder: Path, names=None, **parameters) -> Path:
    """Copies of the notebooks with the cell papermill injects, not executed (no kernel)."""
    import papermill as pm

    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(book.config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        if names is None or path.stem[:2] in names:
            pm.execute_notebook(str(path), str(folder / path.name), parameters=parameters or
                                {"QUICK": True}, prepare_only=True, progress_bar=False)
    return folder


@pytest.fixture(scope="module")
def prepared_book(tmp_path_factory):
    """The book of every notebook as papermill prepares it: code and prose, no outputs. Seconds."""
    tmp = tmp_path_factory.mktemp("prepared-book")
    return book.build_book(_prepared(tmp / "executed"), tmp / "book")


def test_book_pages_use_the_theme_and_name_their_notebook(prepared_book):
    assert len(prepared_book["pages"]) == len(NOTEBOOK_PATHS)
    conf = (prepared_book["index"].parent.parent / "src" / "conf.py").read_text()
    assert "html_theme = 'sphinx_book_theme'" in conf
    for page in prepared_book["pages"]:
        text = page.read_text()
        assert "sphinx-book-theme.css" in text and "tlw-book.css" in text
        assert "tag_injected-parameters" not in text and "tlw-notebook-link" in text
        link = re.search(r"class=.tlw-nb-link. href=.([^'\"]+)", text).group(1)
        assert (page.parent / link).resolve() == book.config.NOTEBOOKS_DIR / f"{page.stem}.ipynb"


def test_binder_launch_button_when_the_readme_names_an_owner(tmp_path, monkeypatch):
    repo = {"owner": "ada", "repo": "transfer-learning-workbook", "branch": "main"}
    monkeypatch.setattr(book, "repository_from_readme", lambda: repo)
    made = book.build_book(_prepared(tmp_path / "executed", names={"02"}), tmp_path / "book")
    text = made["pages"][0].read_text()
    binder = ("https://mybinder.org/v2/gh/ada/transfer-learning-workbook/main"
              "?urlpath=lab/tree/notebooks/02_freezing_layers.ipynb")
    assert text.count(binder) >= 2  # the theme's launch button and the page's own note
    assert "https://github.com/ada/transfer-learning-workbook/blob/main/notebooks/02_freezing_layers.ipynb" in text


# Every <pre> on a page: source code must fit its box (it wraps); an output may be wider than
# its box only if that box scrolls (tables keep their layout); none may stick out of the page's
# article. Returns the offenders.
OVERFLOW_JS = """() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  const right = article.getBoundingClientRect().right + 1;
  return [...document.querySelectorAll('pre')].filter(p => p.offsetParent !== null).map(p => {
    const style = getComputedStyle(p), box = p.getBoundingClientRect();
    const source = !!p.closest('.cell_input');
    const scrolls = ['auto', 'scroll'].includes(style.overflowX);
    const fits = p.scrollWidth <= p.clientWidth + 1;
    const ok = box.right <= right && (fits || (!source && scrolls));
    return ok ? null : {source, scrollWidth: p.scrollWidth, clientWidth: p.clientWidth,
                        right: box.right, articleRight: right, text: p.innerText.slice(0, 80)};
  }).filter(Boolean);
}"""


def check_pages_in_chromium(pages, screenshot: str) -> None:
    """Open each page in headless Chromium: the theme is in use, no injected-parameters cell,
    the note links to the notebook, no code overflows; a screenshot of the first page."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs the Debian package chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for width in (1280, 800):
                page = browser.new_page(viewport={"width": width, "height": 900})
                for n, path in enumerate(pages):
                    page.goto(path.as_uri())
                    page.wait_for_load_state("load")
                    sheets = page.evaluate("[...document.styleSheets].map(s => s.href || '')")
                    assert any("sphinx-book-theme.css" in h for h in sheets), (path.name, sheets)
                    assert page.locator(".bd-sidebar-primary").count() == 1  # the theme's layout
                    assert page.locator(".tag_injected-parameters").count() == 0
                    sources = page.locator(".cell_input pre").all_inner_texts()
                    assert sources and not any(t.startswith("# Parameters\n") for t in sources)
                    assert page.locator(".tlw-notebook-link a.tlw-nb-link").count() >= 1
                    offenders = page.evaluate(OVERFLOW_JS)
                    assert not offenders, (path.name, width, offenders[:3])
                    if n == 0 and width == 1280:
                        ARTIFACTS.mkdir(parents=True, exist_ok=True)
                        page.screenshot(path=str(ARTIFACTS / screenshot))
                page.close()
        finally:
            browser.close()


@pytest.mark.browser
def test_book_pages_read_well_in_chromium(prepared_book):
    check_pages_in_chromium(prepared_book["pages"], "book_page_prepared.png")


@pytest.mark.slow
@pytest.mark.browser
def test_executed_book_pages_read_well_in_chromium(built):
    """The real book, outputs included: model summaries, logs, tables and figures."""
    pages = [built["index"].parent / f"{name}.html"
             for name in ("04_fine_tuning", "01_pretrained_model", "06_choosing_a_strategy")]
    check_pages_in_chromium(pages, "book_page.png")


@pytest.mark.slow
def test_book_has_every_notebook_figures_and_live_quizzes(built, course_run):
    assert built["index"].is_file() and len(built["pages"]) == len(NOTEBOOK_PATHS)
    index = built["index"].read_text()
    for page in built["pages"]:
        assert page.is_file() and page.name in index
        assert "tlw-book-quiz" in page.read_text()
    assert all(n == 1 for n in built["quizzes"].values())
    assert len(list((built["index"].parent / "_images").glob("*.png"))) >= 10
    # the live question of 05 (measured in this run) is in the book, with its measured answer
    ran = nbformat.read(Path(course_run["out"]) / "05_fine_tuning_in_practice.ipynb", 4)
    live = [o["data"][quiz.QUIZ_MIME] for c in ran.cells for o in c.get("outputs", [])
            if quiz.QUIZ_MIME in o.get("data", {})]
    assert any(q["id"] == "live-moved-most" for q in live[0]["questions"])
    assert "live-moved-most" in (built["index"].parent / "05_fine_tuning_in_practice.html").read_text()


@pytest.mark.slow
@pytest.mark.browser
def test_reader_answers_a_quiz_in_chromium(built):
    """Open a page from disk (no server, no kernel), answer wrong, then right."""
    page_path = built["index"].parent / "03_feature_extraction.html"
    with page_from_disk(page_path) as (page, errors):
        root = page.locator(".tlw-book-quiz").first
        root.wait_for()
        data = json.loads(root.locator("script.tlw-quiz-data").text_content())
        q_index, q = next((i, q) for i, q in enumerate(data["questions"]) if q["type"] == "single")
        box = root.locator(".tlw-q").nth(q_index)
        wrong = next(i for i, o in enumerate(q["options"]) if not o["correct"])
        right = next(i for i, o in enumerate(q["options"]) if o["correct"])
        box.locator("input").nth(wrong).check()
        box.locator("button.tlw-check").click()
        feedback = box.locator(".tlw-feedback")
        assert "Not yet" in feedback.inner_text()
        assert q["options"][wrong]["why"][:40] in feedback.inner_text()
        box.locator("input").nth(right).check()
        box.locator("button.tlw-check").click()
        assert "Right!" in feedback.inner_text()
        assert q["options"][right]["why"][:40] in feedback.inner_text()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        box.screenshot(path=str(ARTIFACTS / "book_quiz.png"))
        assert not errors, errors
