# The tests that fit models need the Python engine: R finds it through
# TORCHFIT_PYTHON (set by `make test`), the torchfit.python option, the path
# recorded by the Makefile, or a .venv above the working directory. Without
# it they are skipped, unless TORCHFIT_PYTHON is set (then they fail).
library(testthat)
library(torchfit)

test_check("torchfit")
