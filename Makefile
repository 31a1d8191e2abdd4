# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck pytest docs wheel-check clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: $(BIN)/python pyproject.toml requirements-test.txt
	$(BIN)/pip install --quiet -e '.[test,docs]' -r requirements-test.txt
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/python -m imagesets.demo

lint: $(VENV)/.test-installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy --strict src/imagesets

pytest: $(VENV)/.test-installed
	$(BIN)/python -m pytest

# The documentation site (mkdocs.yml), built strictly into a temporary folder: a broken link, a
# missing reference or a generated page that fails (docs/gen_pages.py) fails the build.
# `$(BIN)/mkdocs serve` previews it on 127.0.0.1:8000.
docs: $(VENV)/.test-installed
	@set -eu; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; start=$$(date +%s); \
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir "$$tmp/site"; \
	echo "docs: $$(find "$$tmp/site" -name index.html | wc -l) pages, built in $$(( $$(date +%s) - start )) s"

# Build the sdist and wheel, `twine check` them, install the wheel (not editable) into a fresh
# venv and run it from an empty folder: the catalog, samples, class lists and gallery files must
# have been packaged. The version printed by `imagesets --version` is imagesets.__version__.
wheel-check: $(VENV)/.test-installed
	@set -eu; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; start=$$(date +%s); \
	$(BIN)/python -m build --outdir "$$tmp/dist" . > "$$tmp/build.log" 2>&1 \
	  || { cat "$$tmp/build.log"; exit 1; }; \
	$(BIN)/twine check --strict "$$tmp"/dist/*; \
	$(BIN)/python -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet "$$tmp"/dist/*.whl; \
	mkdir "$$tmp/run"; cd "$$tmp/run"; export IMAGESETS_HOME="$$tmp/cache" IMAGESETS_OFFLINE=1; \
	v=$$("$$tmp/venv/bin/python" -c 'import imagesets; print(imagesets.__version__)'); \
	test "$$("$$tmp/venv/bin/imagesets" --version)" = "imagesets $$v"; \
	ls "$$tmp"/dist/imagesets-$$v-py3-none-any.whl "$$tmp"/dist/imagesets-$$v.tar.gz > /dev/null; \
	"$$tmp/venv/bin/imagesets" list > /dev/null; \
	"$$tmp/venv/bin/python" -m imagesets.demo out > /dev/null; ls out/*.png > /dev/null; \
	"$$tmp/venv/bin/python" -c 'import imagesets, importlib.resources as r, sys; \
	  assert "site-packages" in imagesets.__file__, imagesets.__file__; \
	  (x, y), (xt, yt) = imagesets.load_data("mnist", sample=True); \
	  assert x.shape == (1000, 28, 28) and xt.shape == (1000, 28, 28), (x.shape, xt.shape); \
	  d = r.files("imagesets"); \
	  need = ["data/imagenet_class_index.json", "data/samples/LICENSES.md", "py.typed", \
	          "gallery/static/index.html", "gallery/static/app.js", "gallery/static/style.css"]; \
	  missing = [n for n in need if not (d / n).is_file()]; assert not missing, missing; \
	  assert len(imagesets.list_datasets()) == len(list((d / "data/catalog").iterdir())); \
	  assert imagesets.info("imagenet").num_classes == 1000'; \
	echo "wheel-check: $$(du -k "$$tmp"/dist/*.whl | cut -f1) KiB wheel, $$(unzip -l "$$tmp"/dist/*.whl | tail -1 | awk '{print $$2}') files, ok in $$(( $$(date +%s) - start )) s"

test: lint typecheck pytest docs wheel-check

clean-venv:
	rm -rf $(VENV)
