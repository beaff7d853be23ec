"""``python -m helpers book``: a static HTML book of the executed notebooks, for readers
without a kernel.

Sphinx with MyST-NB (the engine of Jupyter Book 1) renders the notebooks in ``build/executed/``
as they ran: prose, code, printed numbers and figures. A quiz needs its kernel to check answers,
so each quiz output is replaced by a self-contained JavaScript checker built from the same
questions (the YAML bank plus the run's live questions, carried in the output under
``quiz.QUIZ_MIME``), with the explanation of every option.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import quiz
from helpers.tools.classroom import drop_widget_views

CONF = '''\
# Written by `python -m helpers book`; the book is rebuilt from the executed notebooks.
project = "Transfer Learning Workbook"
extensions = ["myst_nb"]
nb_execution_mode = "off"          # show the notebooks exactly as they ran
myst_enable_extensions = ["dollarmath"]
html_theme = "alabaster"
html_title = project
html_theme_options = {"page_width": "1100px", "sidebar_width": "230px"}
exclude_patterns = ["_build"]
suppress_warnings = ["mystnb.unknown_mime_type", "myst.xref_missing", "misc.highlighting_failure"]
'''

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

# One small checker for every quiz on a page: it reads the JSON next to it and grades like
# helpers.quiz.grade (single, true/false, multiple choice with per-option feedback, numeric).
CHECKER_JS = r"""
(function () {
  if (window.tlwRenderQuizzes) { window.tlwRenderQuizzes(); return; }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in (attrs || {})) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function grade(q, box) {
    var out = [], ok;
    if (q.type === "numeric") {
      var v = parseFloat(box.querySelector("input").value);
      if (isNaN(v)) return {ok: false, lines: ["Please enter a number."]};
      ok = Math.abs(v - q.answer) <= q.tolerance + 1e-12;
      return {ok: ok, lines: [(ok ? "Right." : "Not quite: the measured value is " + q.answer + ".")
                               + (q.why ? " " + q.why : "")]};
    }
    var inputs = box.querySelectorAll("input");
    var chosen = [];
    inputs.forEach(function (inp, i) { if (inp.checked) chosen.push(i); });
    if (!chosen.length) return {ok: false, lines: ["Pick an answer first."]};
    if (q.type === "multiple") {
      ok = true;
      q.options.forEach(function (o, i) {
        var picked = chosen.indexOf(i) >= 0;
        if (picked !== o.correct) ok = false;
        if (picked || o.correct) {
          out.push((picked === o.correct ? "\u2714 " : "\u2718 ") + o.text +
                   (picked ? " (you ticked it): " : " (you left it out): ") + o.why);
        }
      });
      return {ok: ok, lines: out};
    }
    var o = q.options[chosen[0]];
    return {ok: o.correct, lines: [(o.correct ? "\u2714 " : "\u2718 ") + o.why]};
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
        var r = grade(q, box);
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
    payload = json.dumps(data).replace("</", "<\\/")
    fallback = quiz.render_html(quiz.questions_from_data(data), data.get("title", "Quiz"))
    return (f"{CHECKER_CSS}<div class='tlw-book-quiz' id='{html.escape(block_id)}'>"
            f"<script type='application/json' class='tlw-quiz-data'>{payload}</script>"
            f"<noscript>{fallback}</noscript></div><script>{CHECKER_JS}</script>")


def book_notebook(nb, stem: str) -> int:
    """Prepare one executed notebook for the book, in place; returns how many quizzes it has.

    Quiz outputs become browser checkers; widget views (which need a kernel) give way to their
    static form; the papermill-injected parameters are kept, as they say how the run was made.
    """
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
    quizzes, quick, when = {}, False, ""
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        run = nb.metadata.get("papermill", {})
        when = when or str(run.get("end_time") or run.get("start_time") or "")[:10]
        quizzes[path.stem] = book_notebook(nb, path.stem)
        quick = quick or bool(nb.metadata.get("papermill", {}).get("parameters", {}).get("QUICK"))
        nbformat.write(nb, src / path.name)
    mode = " in quick mode" if quick else ""
    (src / "conf.py").write_text(CONF)
    (src / "index.md").write_text(INDEX.format(when=when or "this machine", mode=mode,
                                               pages="\n".join(p.stem for p in paths)))
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(staging)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"Sphinx failed (the previous book, if any, is untouched):\n{proc.stderr[-3000:]}")
    final = out_dir / "html"
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return {"index": final / "index.html", "pages": [final / f"{p.stem}.html" for p in paths],
            "quizzes": quizzes, "warnings": proc.stderr.strip()}
