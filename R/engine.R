# The Python engine: finding Python, importing torchfit lazily, calling it.
#
# R never estimates anything: it hands the parameter table and the data to
# `torchfit.bridge.fit_from_r()` and wraps what comes back. Everything here is
# about reaching that function and turning Python failures into R conditions
# a user can act on.

# Package-level cache: the imported bridge module, where its Python came from,
# and a small Python helper that records warnings raised during a call.
.torchfit <- new.env(parent = emptyenv())

# The value kept in the cache under `name`, computed by `compute()` the first
# time it is asked for in a session (a NULL is asked for again).
session_value <- function(name, compute) {
  if (is.null(.torchfit[[name]])) .torchfit[[name]] <- compute()
  .torchfit[[name]]
}

.fix_hint <- paste0(
  "To fix it, run `make demo` in the torchfit repository (it creates .venv ",
  "with the engine), or set the environment variable TORCHFIT_PYTHON to a ",
  "Python in which `pip install torchfit` has been done; ",
  "Sys.setenv(TORCHFIT_PYTHON = ...) takes effect in this R session as long ",
  "as no Python has started in it (torchfit_sitrep() tells)."
)

#' Where torchfit looks for its Python
#'
#' The first candidate that exists wins: the environment variable
#' `TORCHFIT_PYTHON`; the option `torchfit.python`; the path recorded in
#' `file.path(tools::R_user_dir("torchfit", "config"), "python")` (written by
#' `make demo` / `make test`); a `.venv/bin/python` in the working directory or
#' one of its parents. The first two are explicit: when one is set to a path
#' that is not a Python, choose_python() stops rather than using the next.
#'
#' @return A data.frame with columns `source`, `path` and `exists`, one row per
#'   place looked at, in order.
#' @keywords internal
#' @noRd
python_candidates <- function() {
  rows <- list()
  add <- function(source, path) {
    path <- if (is.null(path) || !nzchar(path)) NA_character_ else path.expand(path)
    rows[[length(rows) + 1L]] <<- data.frame(
      source = source, path = path,
      exists = !is.na(path) && file.exists(path) && !dir.exists(path),
      stringsAsFactors = FALSE
    )
  }
  add("environment variable TORCHFIT_PYTHON", Sys.getenv("TORCHFIT_PYTHON", ""))
  opt <- getOption("torchfit.python")
  add("option torchfit.python", if (is.character(opt)) opt[1L] else NULL)
  cfg <- file.path(tools::R_user_dir("torchfit", "config"), "python")
  recorded <- NULL
  if (file.exists(cfg)) {
    recorded <- trimws(readLines(cfg, n = 1L, warn = FALSE))
    if (length(recorded) == 0L) recorded <- NULL
  }
  add(paste0("path recorded in ", cfg), recorded)
  dir <- normalizePath(getwd(), mustWork = FALSE)
  repeat {
    venv <- file.path(dir, ".venv", "bin", "python")
    if (file.exists(venv)) {
      add(paste0(".venv found above the working directory"), venv)
      break
    }
    parent <- dirname(dir)
    if (identical(parent, dir)) {
      add(paste0(".venv/bin/python in ", getwd(), " or its parents"), NULL)
      break
    }
    dir <- parent
  }
  do.call(rbind, rows)
}

describe_candidates <- function(cand) {
  paste0(
    "  - ", cand$source, ": ",
    ifelse(is.na(cand$path), "not set",
           ifelse(cand$exists, cand$path,
                  paste0(cand$path, ifelse(dir.exists(cand$path), " (a directory, not a Python)",
                                           " (does not exist)")))),
    collapse = "\n"
  )
}

# Raise an R error of class "torchfit_error" carrying only `msg`.
torchfit_stop <- function(msg, class = NULL) {
  cond <- structure(
    class = c(class, "torchfit_error", "error", "condition"),
    list(message = msg, call = NULL)
  )
  stop(cond)
}

# Explicit choices (the environment variable, the option) are final: when the
# path they name is not a Python, torchfit stops instead of using another.
.explicit_sources <- c("environment variable TORCHFIT_PYTHON", "option torchfit.python")

#' The Python torchfit's engine should run in
#'
#' @return `list(path, source)` for the first candidate that exists; stops
#'   (class `torchfit_no_python`) when `TORCHFIT_PYTHON` or the option
#'   `torchfit.python` names a path that is not a Python, or when no
#'   candidate exists.
#' @keywords internal
#' @noRd
choose_python <- function(cand = python_candidates()) {
  for (k in seq_len(nrow(cand))) {
    if (cand$exists[k]) return(list(path = cand$path[k], source = cand$source[k]))
    if (cand$source[k] %in% .explicit_sources && !is.na(cand$path[k])) {
      what <- if (cand$source[k] == .explicit_sources[1L]) {
        paste0("the environment variable TORCHFIT_PYTHON is set to \"", cand$path[k], "\"")
      } else {
        paste0("the option torchfit.python is set to \"", cand$path[k], "\"")
      }
      why <- if (dir.exists(cand$path[k])) {
        paste0(", a directory, not a Python executable; point it at the ",
               "Python inside, e.g. \"", file.path(cand$path[k], "bin", "python"), "\"")
      } else {
        paste0(", which does not exist; correct it or unset it (torchfit ",
               "does not fall back to another Python when told which one to use)")
      }
      torchfit_stop(paste0(
        "torchfit needs its Python engine, but no Python was found: ",
        what, why, ".\nWhere torchfit looks:\n", describe_candidates(cand), "\n",
        .fix_hint
      ), c("torchfit_bad_python_path", "torchfit_no_python"))
    }
  }
  torchfit_stop(paste0(
    "torchfit needs its Python engine, but no Python was found. Tried:\n",
    describe_candidates(cand), "\n", .fix_hint
  ), "torchfit_no_python")
}

# Are two Python paths the same Python environment? The same interpreter
# binary in the same bin directory (a virtual environment's python is a link
# to its base interpreter, which is another environment).
same_python <- function(a, b) {
  if (is.null(a) || is.null(b) || is.na(a) || is.na(b)) return(FALSE)
  norm <- function(p) normalizePath(p, winslash = "/", mustWork = FALSE)
  identical(norm(dirname(a)), norm(dirname(b))) && identical(norm(a), norm(b))
}

# Why Python is not the engine's: what happened, and how to get out of it.
explain_started_python <- function(running, wanted, source) {
  load <- .torchfit$load
  head <- paste0(
    "This R session already runs Python ", running, ", not torchfit's engine ",
    "Python ", wanted, " (", source, "), and reticulate cannot switch Python ",
    "once it has started. "
  )
  how <- if (is.null(load) || isTRUE(load$started)) {
    paste0(
      "That Python was started before torchfit was loaded (by a ```{python}``` ",
      "chunk of an R Markdown report, reticulate::import() or another package ",
      "using reticulate), so torchfit could not choose its own.\nTo fix it, ",
      "restart R and load torchfit before anything uses Python: ",
      "library(torchfit) first in a script, or in the setup chunk of an R ",
      "Markdown report, before its first ```{python}``` chunk."
    )
  } else if (!is.null(load$user_reticulate_python)) {
    paste0(
      "When torchfit was loaded, RETICULATE_PYTHON was already set to \"",
      load$user_reticulate_python, "\", so torchfit left reticulate's choice ",
      "to it.\nTo fix it, restart R with RETICULATE_PYTHON unset or set to \"",
      wanted, "\", or set TORCHFIT_PYTHON to that Python if torchfit is ",
      "installed there."
    )
  } else {
    paste0(
      "torchfit had pointed RETICULATE_PYTHON at its Python when it was loaded, ",
      "but Python was then started with another one (RETICULATE_PYTHON changed, ",
      "or a chunk's engine.path, or use_python() with another path).\nTo fix ",
      "it, restart R, load torchfit and leave the choice of Python to it."
    )
  }
  paste0(head, how)
}

# Start Python and import the bridge; NULL-free: returns the module or stops.
engine_start <- function() {
  cand <- python_candidates()
  initialised <- python_started()
  if (initialised) {
    # reticulate is bound to one Python per R session; use it if it has the
    # engine, and say so when it is not the one torchfit would have chosen.
    python <- reticulate::py_config()$python
    source <- "the Python reticulate had already started in this R session"
    chosen <- tryCatch(choose_python(cand), torchfit_no_python = function(e) e)
    if (inherits(chosen, "error")) {
      # an explicit choice that is not a Python stays an error; with no
      # candidate at all, the running Python may have the engine
      if (any(cand$source %in% .explicit_sources & !is.na(cand$path))) stop(chosen)
      chosen <- NULL
    }
    mismatch <- if (!is.null(chosen) && !same_python(python, chosen$path)) {
      explain_started_python(python, chosen$path, chosen$source)
    }
  } else {
    chosen <- choose_python(cand)
    python <- chosen$path
    source <- chosen$source
    mismatch <- NULL
    # reticulate consults RETICULATE_PYTHON and project files (a Poetry
    # pyproject.toml, a Pipfile) before use_python(); pin the choice while
    # Python starts so that torchfit's Python is the one that starts.
    old <- Sys.getenv("RETICULATE_PYTHON", unset = NA)
    Sys.setenv(RETICULATE_PYTHON = python)
    on.exit(if (is.na(old)) Sys.unsetenv("RETICULATE_PYTHON") else
      Sys.setenv(RETICULATE_PYTHON = old), add = TRUE)
    ok <- tryCatch({
      reticulate::use_python(python, required = TRUE)
      TRUE
    }, error = function(e) conditionMessage(e))
    if (!isTRUE(ok)) {
      torchfit_stop(paste0(
        "torchfit could not start Python ", python, " (from ", source, "): ",
        ok, "\nTried:\n", describe_candidates(cand), "\n", .fix_hint
      ), "torchfit_no_python")
    }
  }
  bridge <- tryCatch(
    reticulate::import("torchfit.bridge", convert = TRUE),
    error = function(e) {
      err <- tryCatch(reticulate::py_last_error(), error = function(e2) NULL)
      why <- if (!is.null(err) && !is.null(err$value)) {
        paste0(err$type, ": ", err$value)
      } else {
        first_line(conditionMessage(e))
      }
      if (!is.null(mismatch)) {
        torchfit_stop(paste0(
          mismatch, "\n(`import torchfit.bridge` failed in ", python, ": ", why, ")"
        ), "torchfit_no_python")
      }
      torchfit_stop(paste0(
        "torchfit found Python ", python, " (", source, ") but ",
        "`import torchfit.bridge` failed there: ", why,
        if (initialised) paste0(
          "\nreticulate had already started that Python before torchfit's ",
          "engine was needed, and no other Python was found for it; restart ",
          "R, load torchfit first, and set TORCHFIT_PYTHON to a Python with ",
          "the engine."
        ) else "",
        "\nTried:\n", describe_candidates(cand), "\n", .fix_hint
      ), "torchfit_no_python")
    }
  )
  if (!is.null(mismatch)) {
    warning(paste0(
      "torchfit uses Python ", python, ", which was already running and has ",
      "the engine, instead of ", chosen$path, " (", chosen$source, ")."
    ), call. = FALSE)
  }
  .torchfit$bridge <- bridge
  .torchfit$python <- python
  .torchfit$source <- source
  bridge
}

#' The torchfit engine module (imported on first use)
#' @keywords internal
#' @noRd
engine <- function() {
  if (!is.null(.torchfit$bridge)) return(.torchfit$bridge)
  # Once Python has started, reticulate cannot switch to another one: a
  # failure then is final for this R session, so report the first reason.
  if (!is.null(.torchfit$failure)) stop(.torchfit$failure)
  # (A TORCHFIT_PYTHON naming no Python can still be corrected in the session.)
  tryCatch(engine_start(), torchfit_error = function(e) {
    if (python_started() && !inherits(e, "torchfit_bad_python_path")) {
      .torchfit$failure <- e
    }
    stop(e)
  })
}

first_line <- function(x) {
  x <- sub("^\\s+", "", x)
  strsplit(x, "\n", fixed = TRUE)[[1L]][1L]
}

# Exception classes whose message is written for the user.
.user_errors <- c("TorchfitError", "ModelSyntaxError", "DataError", "ModelError")

# Turn an error raised while calling Python into a clean R error.
rethrow_python <- function(e) {
  if (inherits(e, "torchfit_error")) stop(e)
  err <- tryCatch(reticulate::py_last_error(), error = function(e2) NULL)
  msg <- conditionMessage(e)
  if (!is.null(err) && !is.null(err$value) &&
      grepl(first_line(err$value), msg, fixed = TRUE)) {
    type <- sub("^.*\\.", "", err$type)
    if (type %in% .user_errors) {
      torchfit_stop(err$value, paste0("torchfit_", tolower(type)))
    }
    torchfit_stop(paste0("torchfit engine error (", type, "): ", err$value))
  }
  # Not a Python exception we can read: strip reticulate's decorations.
  msg <- sub("\\n*Run `reticulate::py_last_error\\(\\)` for details\\.?\\s*$", "", msg)
  torchfit_stop(paste0("torchfit engine error: ", msg))
}

#' Call an engine function: its exceptions become clean R errors, and the
#' Python warnings it raised become R warnings (or, with `warn = FALSE`, are
#' returned in the attribute "py_warnings" for the caller to merge).
#' @keywords internal
#' @noRd
engine_call <- function(fun, ..., warn = TRUE) {
  engine()
  res <- tryCatch(
    .torchfit$bridge$call_capturing(fun, ...),
    error = rethrow_python
  )
  msgs <- unique(as.character(unlist(res[[2L]])))
  out <- res[[1L]]
  if (warn) {
    for (w in msgs) warning(w, call. = FALSE)
  } else if (length(msgs)) {
    attr(out, "py_warnings") <- msgs
  }
  out
}
