# Record the engine's Python for R sessions that do not set TORCHFIT_PYTHON
# (run by the Makefile's rpkg rule after installing the R package).
#
# The record is one line, file.path(tools::R_user_dir("torchfit", "config"),
# "python"), read by python_candidates() in R/engine.R. The R package just
# installed belongs with this checkout's engine, so the record follows it; but
# an existing record is never replaced without saying what it was and how to
# put it back.
python <- Sys.getenv("TORCHFIT_PYTHON")
if (!nzchar(python) || !file.exists(python)) {
  stop("TORCHFIT_PYTHON must name the engine's Python (the Makefile sets it); got \"",
       python, "\"", call. = FALSE)
}
record <- file.path(tools::R_user_dir("torchfit", "config"), "python")
old <- if (file.exists(record)) trimws(readLines(record, n = 1L, warn = FALSE)) else ""
if (length(old) == 0L) old <- ""
if (!identical(old, python)) {
  dir.create(dirname(record), recursive = TRUE, showWarnings = FALSE)
  writeLines(python, record)
  if (nzchar(old)) {
    message(
      "torchfit: the engine Python recorded in ", record, " was ", old,
      if (!file.exists(old)) " (which no longer exists)", "; it is now ", python,
      ", the engine of the R package just installed.\n",
      "R sessions without TORCHFIT_PYTHON use the recorded one. To go back, ",
      "write the old path into that file, or set TORCHFIT_PYTHON in ~/.Renviron."
    )
  } else {
    message("torchfit: recorded the engine Python ", python, " in ", record,
            " (used by R sessions without TORCHFIT_PYTHON).")
  }
}
