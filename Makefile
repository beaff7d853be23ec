# Transfer Learning Workbook: `make lab` (the course) and `make test` (the checks).
# Every target sets itself up first; re-running skips what is already done.

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PY      := $(BIN)/python
DEPHASH := $(shell cat pyproject.toml | sha256sum | cut -c1-16)
# Three installs, each a stamp named after pyproject.toml's hash (a changed pyproject.toml
# installs again): the course (`make lab`: what the notebooks import, and JupyterLab), the
# teaching tools on top (extra `teach`: headless runs, sweeps, nbgrader, the book) and
# everything (extra `all` = teach + test: `make test`, `make lint`).
STAMP       := $(VENV)/.installed-$(DEPHASH)-course
TEACH_STAMP := $(VENV)/.installed-$(DEPHASH)-teach
ALL_STAMP   := $(VENV)/.installed-$(DEPHASH)-all
EXTRAS_course := .
EXTRAS_teach  := .[teach]
EXTRAS_all    := .[all]
IMPLIES_course := course
IMPLIES_teach  := course teach
IMPLIES_all    := course teach all
DATA_STAMP := datasets/cache/.data-ready
BROWSER_STAMP := $(VENV)/.browser-ready
PORT    ?= 8888
UV_PIN  := uv==0.13.9
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
APT_PACKAGES_DATA := dataset-fashion-mnist
APT_PACKAGES_BROWSER := chromium chromium-driver
# the fonts the broad source's glyphs are rendered from (helpers/glyphs.py FONT_PACKAGES)
APT_PACKAGES_FONTS := fonts-dejavu-core fonts-liberation fonts-noto-core fonts-noto-mono \
  fonts-freefont-ttf fonts-urw-base35 fonts-roboto fonts-open-sans fonts-crosextra-carlito \
  fonts-crosextra-caladea fonts-lato
FONTS_STAMP := $(VENV)/.fonts-ready


.PHONY: lab test setup setup-teach setup-all data doctor lint pretrain course course-full bench report student html \
        book nbgrader teacher clean help
help:
	@echo "make lab          set up, then open the course in JupyterLab"
	@echo "make test         set up, then run every test (lint, helpers, notebooks, browser)"
	@echo "make setup        create .venv, install the course's pinned packages, verify the data"
	@echo "make data         find/verify Fashion-MNIST again (installs the Debian package if needed)"
	@echo "make doctor       check the environment, data and source model"
	@echo "make pretrain     re-train the source model from its recipe (installs the fonts)"
	@echo "make lint         ruff over the package and the tests"
	@echo "make course       run every notebook headless in quick mode and write the report"
	@echo "make course-full  every notebook at its default settings (what Run All gives)"
	@echo "make report       gather recorded results into build/executed/report.{md,html}"
	@echo "make bench        measure the course's costs (build/bench/)"
	@echo "make book         a static HTML book of the executed notebooks (build/book/html/)"
	@echo "make nbgrader     an nbgrader course folder (build/nbgrader/)"
	@echo "make student      student notebooks, exercises blank (build/student/)"
	@echo "make teacher      the notebooks with the worked solutions filled in (build/teacher/)"
	@echo "make html         executed notebooks as HTML (build/html/)"
	@echo "make clean        remove build/ and caches"

setup: $(STAMP) $(DATA_STAMP)
setup-teach: $(TEACH_STAMP) setup
setup-all: $(ALL_STAMP) setup

$(VENV)/.installed-$(DEPHASH)-%: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# uv (from PyPI) installs the same pins several times faster than pip (see README, "Install");
	@# where uv cannot be had or fails, pip does the install.
	$(PY) -m pip install -q $(UV_PIN) && $(BIN)/uv pip install -q --python $(PY) -e "$(EXTRAS_$*)" \
	  || { $(PY) -m pip install -q --upgrade pip && $(PY) -m pip install -q -e "$(EXTRAS_$*)"; }
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	cp jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	@# nbgrader (extra `teach`) is for teachers' command line; its JupyterLab menus stay off for
	@# learners (a teacher turns them on with scripts/nbgrader-ui.sh enable)
	@if [ -x $(BIN)/nbgrader ]; then scripts/nbgrader-ui.sh disable $(BIN); fi
	@find $(VENV) -maxdepth 1 -name '.installed-*' ! -name '.installed-$(DEPHASH)-*' -delete
	@touch $(foreach level,$(IMPLIES_$*),$(VENV)/.installed-$(DEPHASH)-$(level))

$(DATA_STAMP): datasets/manifest.json | $(STAMP)
	@[ -d /usr/share/datasets/fashion-mnist ] || scripts/apt-install.sh $(APT_PACKAGES_DATA)
	$(PY) -m helpers data
	@touch $@

data: $(STAMP)
	@rm -f $(DATA_STAMP)
	@$(MAKE) --no-print-directory $(DATA_STAMP)

$(BROWSER_STAMP): | $(STAMP)
	@[ -x /usr/bin/chromium ] || scripts/apt-install.sh $(APT_PACKAGES_BROWSER)
	@touch $@

$(FONTS_STAMP): | $(STAMP)
	@[ -d /usr/share/fonts/truetype/noto ] || scripts/apt-install.sh $(APT_PACKAGES_FONTS)
	@touch $@

# Re-train the source model (clothing + 1,000 glyphs) and write its card: 11 to 27 minutes of
# training on 2 cores, then the assessment (helpers/tools/pretrain.py). The teaching tools hold
# the confusables table that keeps digit look-alikes out of the glyphs.
pretrain: setup-teach $(FONTS_STAMP)
	$(PY) -m helpers pretrain

lab: setup
	$(PY) -m helpers doctor || true
	$(BIN)/jupyter lab --notebook-dir=notebooks --port=$(PORT) $(ALLOW_ROOT)

doctor: setup
	$(PY) -m helpers doctor

lint: $(ALL_STAMP)
	$(BIN)/ruff check helpers tests conftest.py

# papermill injects quick-mode parameters into copies of the notebooks, and every exercise is run
# twice in them (blank, then with the worked solution from solutions/); then two pytest sessions,
# each on TEST_JOBS workers (pytest-xdist): nbval executes each copy once, two notebooks at a time
# in their own kernels (a kernel keeps a core only partly busy; the last notebooks go first, the
# long ones are there), and conftest.py keeps the executed notebooks with a marker for this run;
# then the helpers' tests, tests/test_notebooks.py reading those notebooks, and the browser tests
# (the longest test files first: conftest.py's LONGEST_FIRST).
# Both sessions always run; the target fails if either does. Everything runs without network
# where the machine allows it (scripts/offline.sh).
TEST_NOTEBOOKS := build/test-run/notebooks
TEST_JOBS ?= 2
# TEST_JOBS processes share the cores, so each one's math library (NumPy, SciPy, scikit-learn)
# gets its share of threads, unless you set them: OpenBLAS threads that outnumber the cores spin
# against each other, and the course's small probes and projections then run several times
# slower (measured: 40 probe fits 4.3 s with the default threads, 0.7 s with one, on 2 busy
# cores). TensorFlow keeps its own threads (it links no OpenMP).
TEST_THREADS := $(or $(shell expr $$(nproc) / '$(TEST_JOBS)' 2>/dev/null | grep -v '^0$$'),1)
TEST_ENV := OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-$(TEST_THREADS)} \
  OMP_NUM_THREADS=$${OMP_NUM_THREADS:-$(TEST_THREADS)} MKL_NUM_THREADS=$${MKL_NUM_THREADS:-$(TEST_THREADS)}
test: setup-all $(BROWSER_STAMP) $(FONTS_STAMP) lint
	@rm -rf build/test-run && mkdir -p $(TEST_NOTEBOOKS)
	@# one Python process for all of them (a papermill command per notebook costs seconds each);
	@# each exercise runs blank (its check must say "not done") and then with its solution
	@$(PY) -c 'import sys; from helpers.tools import classroom; classroom.prepare_test_copies(sys.argv[1], sys.argv[2:], {"QUICK": True})' \
	  $(TEST_NOTEBOOKS) notebooks/[0-9][0-9]_*.ipynb
	@run=$$(date +%s%N); status=0; \
	echo "== notebooks (nbval, $(TEST_JOBS) at a time)"; \
	$(TEST_ENV) TLW_TEST_RUN=$$run TLW_QUICK=1 scripts/offline.sh $(BIN)/python -m pytest \
	  $$(ls -r $(TEST_NOTEBOOKS)/*.ipynb) --nbval-lax --nbval-current-env --nbval-cell-timeout=900 \
	  -n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS) || status=1; \
	echo "== helpers, notebook results, browser"; \
	$(TEST_ENV) TLW_TEST_RUN=$$run TLW_QUICK=1 scripts/offline.sh $(BIN)/python -m pytest tests \
	  -n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS) || status=1; \
	exit $$status

course: setup-teach
	$(PY) -m helpers run --quick
	$(PY) -m helpers report

course-full: setup-teach
	$(PY) -m helpers run
	$(PY) -m helpers report

bench: setup-teach
	$(PY) -m helpers bench

book: setup-teach
	@ls build/executed/[0-9][0-9]_*.ipynb >/dev/null 2>&1 || $(PY) -m helpers run --quick
	$(PY) -m helpers book

nbgrader: setup-teach
	$(PY) -m helpers nbgrader --out build/nbgrader

report: setup-teach
	$(PY) -m helpers report

student: setup-teach
	$(PY) -m helpers student --out build/student

teacher: setup-teach
	$(PY) -m helpers teacher --out build/teacher

html: setup-teach
	$(PY) -m helpers html

clean:
	rm -rf build .pytest_cache
