# The Python engine: finding Python, importing torchfit lazily, calling it.
#
# R never estimates anything: it hands the parameter table and the data to
# `torchfit.bridge.fit_from_r()` and wraps what comes back. Everything here is
# about reaching that function and turning Python failures into R conditions
# a user can act on.

# Package-level cache: the imported bridge module, where its Python came from,
# and a small Python helper that records warnings raised during a call.
.torchfit <- new.env(parent = emptyenv())

.fix_hint <- paste0(
  "To fix it, run `make demo` in the torchfit repository (it creates .venv ",
  "with the engine), or set the environment variable TORCHFIT_PYTHON to a ",
  "Python in which `pip install torchfit` has been done, then restart R."
)

#' Where torchfit looks for its Python
#'
#' The first candidate that exists wins: the environment variable
#' `TORCHFIT_PYTHON`; the option `torchfit.python`; the path recorded in
#' `file.path(tools::R_user_dir("torchfit", "config"), "python")` (written by
#' `make demo` / `make test`); a `.venv/bin/python` in the working directory or
#' one of its parents.
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
           ifelse(cand$exists, cand$path, paste0(cand$path, " (does not exist)"))),
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

# Start Python and import the bridge; NULL-free: returns the module or stops.
engine_start <- function() {
  cand <- python_candidates()
  chosen <- cand[cand$exists, , drop = FALSE]
  initialised <- reticulate::py_available(initialize = FALSE)
  if (initialised) {
    # reticulate is bound to one Python per R session; try to use it.
    python <- reticulate::py_config()$python
    source <- "the Python reticulate had already started in this R session"
  } else {
    if (nrow(chosen) == 0L) {
      torchfit_stop(paste0(
        "torchfit needs its Python engine, but no Python was found. Tried:\n",
        describe_candidates(cand), "\n", .fix_hint
      ), "torchfit_no_python")
    }
    python <- chosen$path[1L]
    source <- chosen$source[1L]
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
      torchfit_stop(paste0(
        "torchfit found Python ", python, " (", source, ") but ",
        "`import torchfit.bridge` failed there: ", why,
        if (initialised) paste0(
          "\nreticulate had already started that Python before torchfit was ",
          "used, so torchfit could not choose its own; restart R and load ",
          "torchfit first."
        ) else "",
        "\nTried:\n", describe_candidates(cand), "\n", .fix_hint
      ), "torchfit_no_python")
    }
  )
  helper <- reticulate::py_run_string(paste(
    "def call_capturing(fn, *args, **kwargs):",
    "    import warnings",
    "    def plain(out):",
    "        if type(out).__name__ == 'DataFrame' and hasattr(out, 'to_numpy'):",
    "            return {'columns': [str(c) for c in out.columns],",
    "                    'values': out.to_numpy(dtype=float)}",
    "        if isinstance(out, dict) and any(type(v).__name__ == 'DataFrame' for v in out.values()):",
    "            return {k: plain(v) for k, v in out.items()}",
    "        return out",
    "    with warnings.catch_warnings(record=True) as caught:",
    "        warnings.simplefilter('always')",
    "        out = plain(fn(*args, **kwargs))",
    "    return [out, [str(w.message) for w in caught]]",
    sep = "\n"
  ), local = TRUE, convert = TRUE)
  .torchfit$bridge <- bridge
  .torchfit$call_capturing <- helper$call_capturing
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
  tryCatch(engine_start(), torchfit_error = function(e) {
    if (reticulate::py_available(initialize = FALSE)) .torchfit$failure <- e
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
    .torchfit$call_capturing(fun, ...),
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

#' Is the torchfit engine ready?
#'
#' Reports, in one call, which Python torchfit uses and why, the versions of
#' Python, torch, numpy and the torchfit engine, and whether everything is
#' ready; when it is not, the reason and what to do. Calling it starts Python
#' (like `greta_sitrep()`).
#'
#' @return Invisibly, a list with elements `ready` (logical), `reason`
#'   (character or `NULL`), `python`, `source` and `versions` (named character).
#' @examples
#' \dontrun{
#' torchfit_sitrep()
#' }
#' @export
torchfit_sitrep <- function() {
  out <- list(ready = FALSE, reason = NULL, python = NA_character_,
              source = NA_character_,
              versions = c(python = NA_character_, torch = NA_character_,
                           numpy = NA_character_, torchfit = NA_character_))
  cand <- python_candidates()
  cat("torchfit ", as.character(utils::packageVersion("torchfit")),
      " (R package)\n\nPython candidates, in order:\n",
      describe_candidates(cand), "\n\n", sep = "")
  ok <- tryCatch({
    engine()
    TRUE
  }, error = function(e) conditionMessage(e))
  if (reticulate::py_available(initialize = FALSE)) {
    cfg <- reticulate::py_config()
    out$python <- cfg$python
    out$versions["python"] <- as.character(cfg$version)
    for (mod in c("torch", "numpy", "torchfit")) {
      v <- tryCatch(
        as.character(reticulate::import(mod)$`__version__`),
        error = function(e) NA_character_
      )
      out$versions[mod] <- v
    }
  }
  out$source <- if (!is.null(.torchfit$source)) .torchfit$source else NA_character_
  if (isTRUE(ok)) {
    out$ready <- TRUE
  } else {
    out$reason <- ok
  }
  cat("Python:   ", ifelse(is.na(out$python), "(not started)", out$python), "\n",
      "Found by: ", ifelse(is.na(out$source), "-", out$source), "\n", sep = "")
  for (mod in names(out$versions)) {
    cat(sprintf("%-10s%s\n", paste0(mod, ":"),
                ifelse(is.na(out$versions[[mod]]), "not available",
                       out$versions[[mod]])))
  }
  if (out$ready) {
    cat("\ntorchfit is ready.\n")
  } else {
    cat("\ntorchfit is NOT ready:\n", out$reason, "\n", sep = "")
  }
  invisible(out)
}
