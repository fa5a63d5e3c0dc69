# torchfit: set-up, demo and tests.  Every target installs what is missing first
# (Debian R packages, the .venv with the CPU torch wheel, the engine and the R
# package) and skips what is already done.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := .make
APT_PACKAGES := r-base-core r-base-dev r-cran-lavaan r-cran-reticulate r-cran-testthat \
	r-cran-knitr r-cran-rmarkdown r-cran-roxygen2 r-cran-psych r-cran-semtools r-cran-semplot \
	r-cran-broom pandoc
R_SOURCES := DESCRIPTION NAMESPACE $(wildcard R/*.R) $(wildcard man/*.Rd)
export TORCHFIT_PYTHON := $(abspath $(PY))
export _R_CHECK_SYSTEM_CLOCK_ := 0
# testthat runs snapshot tests (error messages) only off CRAN
export NOT_CRAN := true

.PHONY: setup demo test test-python test-r check-r vignettes apt reference bench clean

setup: apt $(STAMP)/venv $(STAMP)/rpkg

# Debian packages: a dpkg query per package, apt only for what is missing.
apt:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The engine's Python: the pinned CPU torch wheel first (a bare "torch" would
# pull a CUDA build), NumPy 1.x for Debian's reticulate, the engine editable.
$(STAMP)/venv: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check "numpy<2" "pandas<3" "pytest>=7" "setuptools>=64"
	$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation -e ".[test,plots,parquet]" "numpy<2" "pandas<3"
	@mkdir -p $(STAMP) && touch $@

# The R package into R's site library; R is told where the engine's Python is
# (tools/record_python.R says so when it replaces a path recorded before).
$(STAMP)/rpkg: $(R_SOURCES) $(STAMP)/venv tools/record_python.R
	R CMD INSTALL --no-multiarch --no-test-load . >$(STAMP)/rinstall.log 2>&1 || (cat $(STAMP)/rinstall.log; exit 1)
	Rscript tools/record_python.R
	@touch $@

demo: setup
	Rscript tools/demo.R

test: setup test-python test-r check-r vignettes

# ruff (style, imports, complexity; pyproject.toml), then the tests and the docstring
# examples (--doctest-modules, set in pyproject.toml);
# plots draw off-screen.
test-python: $(STAMP)/venv
	$(PY) -m ruff check python/torchfit tests/python
	cd tests/python && MPLBACKEND=Agg ../../$(PY) -m pytest -q . ../../python/torchfit

test-r: $(STAMP)/rpkg
	Rscript -e 'testthat::test_dir("tests/testthat", package = "torchfit", load_package = "installed", stop_on_failure = TRUE)'

# R CMD build and check: no ERROR and no WARNING allowed.
check-r: $(STAMP)/rpkg
	@rm -rf $(STAMP)/check && mkdir -p $(STAMP)/check
	cd $(STAMP)/check && R CMD build --no-build-vignettes ../.. >build.log 2>&1 || (cat build.log; exit 1)
	cd $(STAMP)/check && R CMD check --no-manual --ignore-vignettes torchfit_*.tar.gz >check.log 2>&1; \
		tail -n 25 check.log; \
		status=$$(grep -E '^Status:' torchfit.Rcheck/00check.log); echo "R CMD check $$status"; \
		! grep -qE 'ERROR|WARNING' <<<"$$status"

# The R Markdown reports, rendered and checked for the numbers they report.
vignettes: $(STAMP)/rpkg
	Rscript tools/check_vignettes.R $(STAMP)/vignettes

# Regenerate the lavaan reference results used by tests/python.
reference:
	Rscript tests/reference/make_reference.R

bench: setup
	$(PY) bench/hs_ml.py
	Rscript bench/hs_ml.R

clean:
	rm -rf $(STAMP) torchfit_*.tar.gz torchfit.Rcheck
