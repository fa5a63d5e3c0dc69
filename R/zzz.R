# Claiming the engine's Python when the package loads.
#
# reticulate binds an R session to the first Python it starts, for good. If
# anything else starts Python first (a ```{python}``` chunk of an R Markdown
# report, reticulate::import() in a script, another package), reticulate's own
# search picks that Python (often a system Python without torch) and torchfit
# can never reach its engine in that session. So, like greta, torchfit chooses
# its Python as soon as it is loaded, without starting it: it points
# RETICULATE_PYTHON (the first place reticulate 1.28 looks, before project
# files and use_python()) at the engine's Python, unless the user has set
# RETICULATE_PYTHON already. Python itself starts only when the engine is first
# needed (engine() in R/engine.R), and then everything that uses reticulate in
# the session, python chunks included, runs in the engine's Python.

.onLoad <- function(libname, pkgname) {
  claim_python()
  invisible()
}

.onUnload <- function(libpath) {
  # Give RETICULATE_PYTHON back if Python has not started on torchfit's claim.
  claimed <- .torchfit$load$claimed
  if (!is.null(claimed) && identical(Sys.getenv("RETICULATE_PYTHON"), claimed) &&
      !python_started()) {
    Sys.unsetenv("RETICULATE_PYTHON")
  }
  invisible()
}

# Has reticulate started Python in this R session? (Never starts it.)
python_started <- function() {
  isNamespaceLoaded("reticulate") && reticulate::py_available(initialize = FALSE)
}

#' Point reticulate at the engine's Python, without starting it
#'
#' Records in `.torchfit$load` what it found: `started` (Python was already
#' running, as `python`), `claimed` (the path torchfit put in
#' RETICULATE_PYTHON, or NULL), `user_reticulate_python` (a RETICULATE_PYTHON
#' the user had set, left alone), `candidate` and `source` (torchfit's choice).
#' @return The record, invisibly.
#' @keywords internal
#' @noRd
claim_python <- function() {
  rec <- list(started = FALSE, python = NULL, claimed = NULL,
              user_reticulate_python = NULL, candidate = NULL, source = NULL)
  if (python_started()) {
    rec$started <- TRUE
    rec$python <- tryCatch(reticulate::py_config()$python, error = function(e) NULL)
    .torchfit$load <- rec
    return(invisible(rec))
  }
  chosen <- tryCatch(choose_python(), torchfit_error = function(e) NULL)
  if (!is.null(chosen)) {
    rec$candidate <- chosen$path
    rec$source <- chosen$source
    user <- Sys.getenv("RETICULATE_PYTHON", "")
    if (nzchar(user)) {
      rec$user_reticulate_python <- user
    } else {
      Sys.setenv(RETICULATE_PYTHON = chosen$path)
      rec$claimed <- chosen$path
    }
  }
  .torchfit$load <- rec
  invisible(rec)
}
