"""``python -m helpers book``: a static HTML book of the executed notebooks, for readers
without a kernel.

Sphinx with MyST-NB (the engine of Jupyter Book 1) renders the notebooks in ``build/executed/``
as they ran: prose, code, printed numbers and figures, in sphinx-book-theme (the theme of
Jupyter Book: a wide reading column, code that wraps instead of being cut). A quiz needs its
kernel to check answers, so each quiz output is replaced by a self-contained JavaScript checker
built from the same questions (the YAML bank plus the run's live questions, carried in the output
under ``quiz.QUIZ_MIME``), with the explanation of every option.

The cell papermill injects (``injected-parameters``) is left out: each page opens with a note
naming its notebook, the parameters the run was made with, and links to the notebook (in the
repository, or in this checkout when the README's Binder badge still says ``OWNER``) and to
Binder.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import config, quiz
from helpers.tools.classroom import drop_widget_views

THEME = "sphinx_book_theme"
BINDER = "https://mybinder.org"
REPO_NAME = "transfer-learning-workbook"

CONF = '''\
# Written by `python -m helpers book`; the book is rebuilt from the executed notebooks.
project = "Transfer Learning Workbook"
extensions = ["myst_nb"]
nb_execution_mode = "off"          # show the notebooks exactly as they ran
myst_enable_extensions = ["dollarmath"]
html_theme = {theme!r}
html_title = project
html_theme_options = {options!r}
html_context = {{"default_mode": "light"}}   # the quiz colours are chosen for a light page
html_static_path = ["_static"]
html_css_files = ["tlw-book.css"]
exclude_patterns = ["_build"]
suppress_warnings = ["mystnb.unknown_mime_type", "myst.xref_missing", "misc.highlighting_failure"]
'''

# Code never runs past its box: source lines wrap (a learner reads all of it, no scrolling), and
# so do log lines on stderr; other outputs keep their layout (tables, model summaries) and
# scroll inside their own box.
BOOK_CSS = """\
div.cell_input div.highlight pre, div.cell_input pre, div.output.stderr pre {
  white-space: pre-wrap; overflow-wrap: anywhere; word-break: normal; overflow-x: hidden;
}
div.cell_output pre, div.output pre { overflow-x: auto; max-width: 100%; }
div.cell_output img { max-width: 100%; height: auto; }
.tlw-notebook-link { font-size: 0.9em; border-left: 4px solid #4f8cc9; background: #f3f7fb;
  padding: 6px 12px; margin: 0 0 1em 0; }
.tlw-notebook-link code { white-space: normal; }
"""

INDEX = '''\
# Transfer Learning Workbook

A course on transfer learning with TensorFlow/Keras: freezing layers, feature extraction and
fine-tuning, with every claim measured. This book shows the notebooks as they ran on
{when}{mode}; every number and figure comes from that run. The quizzes work in your browser.
To change a parameter or run a cell, open the notebooks in JupyterLab (see the README).

```{{toctree}}
:maxdepth: 1

{pages}
```
'''

# One small checker for every quiz on a page: it reads the JSON next to it and grades by the rules
# of helpers.quiz_bank.grade (single, true/false, multiple choice with per-option feedback,
# numeric within its tolerance; no answer is never graded), in the words the JSON carries
# (quiz.FEEDBACK and each question's answer_text), so its verdicts are the widget's word for word.
# tests/test_book_checker.py answers every kind of question in Chromium and compares.
CHECKER_JS = r"""
(function () {
  if (window.tlwRenderQuizzes) { window.tlwRenderQuizzes(); return; }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in (attrs || {})) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function grade(q, box, say) {
    var out = [], ok;
    if (q.type === "numeric") {
      var raw = box.querySelector("input").value.trim();
      var v = raw === "" ? NaN : Number(raw);
      if (isNaN(v)) return {ok: false, lines: [say.not_a_number]};
      ok = Math.abs(v - q.answer) <= q.tolerance + 1e-12;
      var msg = ok ? say.right_number : say.wrong_number.replace("{answer}", q.answer_text);
      return {ok: ok, lines: [msg + (q.why ? " " + q.why : "")]};
    }
    var chosen = [];
    box.querySelectorAll("input").forEach(function (inp, i) { if (inp.checked) chosen.push(i); });
    if (!chosen.length) return {ok: false, lines: [say.pick]};
    if (q.type === "multiple") {
      ok = true;
      q.options.forEach(function (o, i) {
        var picked = chosen.indexOf(i) >= 0;
        if (picked !== o.correct) ok = false;
        if (picked || o.correct) {
          out.push((picked === o.correct ? say.right_mark : say.wrong_mark) + o.text + " (" +
                   (picked ? say.ticked : say.left_out) + "): " + o.why);
        }
      });
      return {ok: ok, lines: out};
    }
    var o = q.options[chosen[0]];
    return {ok: o.correct, lines: [(o.correct ? say.right_mark : say.wrong_mark) + o.why]};
  }
  function render(root) {
    var data = JSON.parse(root.querySelector("script.tlw-quiz-data").textContent);
    root.appendChild(el("h4", {}, data.title));
    data.questions.forEach(function (q, n) {
      var box = el("div", {"class": "tlw-q", "data-qid": q.id});
      box.appendChild(el("p", {"class": "tlw-q-text"}, (n + 1) + ". " + q.text +
        (q.type === "multiple" ? " (select all that apply)" : q.type === "numeric" ? " (enter a number)" : "")));
      if (q.type === "numeric") {
        box.appendChild(el("input", {type: "number", step: "any"}));
      } else {
        q.options.forEach(function (o, i) {
          var label = el("label", {"class": "tlw-opt"});
          label.appendChild(el("input", {type: q.type === "multiple" ? "checkbox" : "radio",
                                         name: root.id + "-" + q.id, value: String(i)}));
          label.appendChild(document.createTextNode(" " + o.text));
          box.appendChild(label);
        });
      }
      var button = el("button", {type: "button", "class": "tlw-check"}, "Check");
      var feedback = el("div", {"class": "tlw-feedback", role: "status"});
      button.addEventListener("click", function () {
        var r = grade(q, box, data.feedback);
        feedback.innerHTML = "";
        feedback.className = "tlw-feedback " + (r.ok ? "tlw-right" : "tlw-wrong");
        feedback.appendChild(el("b", {}, r.ok ? "Right! " : "Not yet. "));
        r.lines.forEach(function (line) { feedback.appendChild(el("div", {}, line)); });
      });
      box.appendChild(button);
      box.appendChild(feedback);
      root.appendChild(box);
    });
    root.setAttribute("data-ready", "1");
  }
  window.tlwRenderQuizzes = function () {
    document.querySelectorAll(".tlw-book-quiz:not([data-ready])").forEach(render);
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", window.tlwRenderQuizzes);
  } else { window.tlwRenderQuizzes(); }
})();
"""

CHECKER_CSS = (
    "<style>.tlw-book-quiz{border:1px solid #ccc;border-radius:6px;padding:8px 14px;margin:8px 0}"
    ".tlw-q{margin:10px 0}.tlw-opt{display:flex;gap:6px;align-items:flex-start;margin:3px 0}"
    ".tlw-opt input{margin-top:4px}.tlw-feedback{margin-top:4px}.tlw-right{color:#1a7f37}"
    ".tlw-wrong{color:#b35900}</style>")


def quiz_html(data: dict, block_id: str) -> str:
    """A quiz that checks answers in the browser: the data as JSON, the checker script, and the
    question text for readers with JavaScript off."""
    questions = quiz.questions_from_data(data)
    # made again from the questions: a quiz run before its data carried the checker's words
    # (``feedback``, ``answer_text``) gets them, always the words of this version's grade
    data = quiz.quiz_data(questions, data.get("notebook", ""), data.get("title", "Quiz"))
    payload = json.dumps(data).replace("</", "<\\/")
    fallback = quiz.render_html(questions, data["title"])
    return (f"{CHECKER_CSS}<div class='tlw-book-quiz' id='{html.escape(block_id)}'>"
            f"<script type='application/json' class='tlw-quiz-data'>{payload}</script>"
            f"<noscript>{fallback}</noscript></div><script>{CHECKER_JS}</script>")


def repository_from_readme(readme: str | None = None) -> dict | None:
    """The GitHub repository the README's Binder badge points at (``owner``, ``repo``,
    ``branch``), or None while the badge still holds the placeholder ``OWNER``."""
    if readme is None:
        path = config.ROOT / "README.md"
        readme = path.read_text() if path.is_file() else ""
    found = re.search(r"https://mybinder\.org/v2/gh/([^/\s)]+)/([^/\s)]+)/([^?\s)]+)", readme)
    if not found or found.group(1) == "OWNER":
        return None
    owner, repo, branch = found.groups()
    return {"owner": owner, "repo": repo, "branch": branch}


def theme_options(repo: dict | None) -> dict:
    """sphinx-book-theme's options: a download button always; with a repository, its button, a
    link to each page's source notebook and a Binder launch button (JupyterLab)."""
    options = {"use_download_button": True, "home_page_in_toc": True, "show_toc_level": 2}
    if repo:
        options.update({
            "repository_url": f"https://github.com/{repo['owner']}/{repo['repo']}",
            "repository_branch": repo["branch"], "path_to_docs": "notebooks",
            "use_repository_button": True, "use_source_button": True,
            "launch_buttons": {"binderhub_url": BINDER, "notebook_interface": "jupyterlab"}})
    return options


def notebook_links(name: str, repo: dict | None, page_dir: Path) -> list[tuple[str, str]]:
    """(label, URL) for a page's notebook: on GitHub and on Binder when the repository is known,
    else the file in this checkout (relative to the page, so the book can move with the checkout)."""
    if repo:
        base = f"{repo['owner']}/{repo['repo']}"
        return [("the notebook on GitHub",
                 f"https://github.com/{base}/blob/{repo['branch']}/notebooks/{name}"),
                ("run it on Binder",
                 f"{BINDER}/v2/gh/{base}/{repo['branch']}?urlpath=lab/tree/notebooks/{name}")]
    target = os.path.relpath(config.NOTEBOOKS_DIR / name, page_dir)
    return [("the notebook in this checkout", Path(target).as_posix())]


def notebook_note(name: str, parameters: dict, links: list[tuple[str, str]]) -> str:
    """The note that opens a page: which notebook, run with which parameters, where to open it."""
    shown = ", ".join(f"{k}={v!r}" for k, v in parameters.items()) or "its defaults"
    anchors = " · ".join(f"<a class='tlw-nb-link' href='{html.escape(url)}'>{html.escape(label)}</a>"
                         for label, url in links)
    return (f"<div class='tlw-notebook-link'>This page is <code>notebooks/{html.escape(name)}</code> "
            f"as it ran, with {html.escape(shown)}. Open {anchors}; to change a parameter or run a "
            "cell, open it in JupyterLab (<code>make lab</code>).</div>")


def book_notebook(nb, stem: str, note: str | None = None) -> int:
    """Prepare one executed notebook for the book, in place; returns how many quizzes it has.

    Quiz outputs become browser checkers; widget views (which need a kernel) give way to their
    static form; the cell papermill injected is dropped (``note``, if given, opens the page
    after its title cell instead, naming the parameters of the run).
    """
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    if note:
        import nbformat

        first_md = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
        nb.cells.insert(first_md + 1, nbformat.v4.new_markdown_cell(note))
    quizzes = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            payload = data.get(quiz.QUIZ_MIME)
            if payload is None and "tlw-quiz-static" in str(data.get("text/html", "")):
                # run before quizzes carried their data: the bank alone (no live questions)
                payload = quiz.quiz_data(quiz.load_bank(stem), stem, f"Quiz: {stem}")
            if payload is not None:
                quizzes += 1
                out["data"] = {"text/html": quiz_html(payload, f"{stem}-quiz-{quizzes}"),
                               "text/plain": data.get("text/plain", "")}
                out.get("metadata", {}).pop(quiz.QUIZ_MIME, None)
    drop_widget_views(nb)
    nb.metadata.pop("widgets", None)
    return quizzes


def build_book(executed_dir: Path, out_dir: Path) -> dict:
    """Executed notebooks → ``out_dir/html/index.html`` and one page per notebook.

    Raises FileNotFoundError (with the command to run) when no executed notebook is found. The
    new book is built next to the old one and swapped in only when Sphinx succeeded.
    """
    import nbformat

    executed_dir, out_dir = Path(executed_dir), Path(out_dir)
    paths = sorted(p for p in executed_dir.glob("[0-9][0-9]_*.ipynb") if ".FAILED" not in p.name)
    if not paths:
        raise FileNotFoundError(f"no executed notebooks in {executed_dir}: run `python -m helpers "
                                "run --quick` (or `make course`) first, or pass --executed DIR")
    src, staging = out_dir / "src", out_dir / "html.partial"
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)
    src.mkdir(parents=True)
    final = out_dir / "html"
    repo = repository_from_readme()
    quizzes, quick, when = {}, False, ""
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        run = nb.metadata.get("papermill", {})
        when = when or str(run.get("end_time") or run.get("start_time") or "")[:10]
        parameters = run.get("parameters", {})
        note = notebook_note(path.name, parameters, notebook_links(path.name, repo, final))
        quizzes[path.stem] = book_notebook(nb, path.stem, note)
        quick = quick or bool(parameters.get("QUICK"))
        nbformat.write(nb, src / path.name)
    mode = " in quick mode" if quick else ""
    (src / "conf.py").write_text(CONF.format(theme=THEME, options=theme_options(repo)))
    (src / "_static").mkdir()
    (src / "_static" / "tlw-book.css").write_text(BOOK_CSS)
    (src / "index.md").write_text(INDEX.format(when=when or "this machine", mode=mode,
                                               pages="\n".join(p.stem for p in paths)))
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(staging)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"Sphinx failed (the previous book, if any, is untouched):\n{proc.stderr[-3000:]}")
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return {"index": final / "index.html", "pages": [final / f"{p.stem}.html" for p in paths],
            "quizzes": quizzes, "warnings": proc.stderr.strip()}
