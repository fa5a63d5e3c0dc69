#' Is the torchfit engine ready?
#'
#' Reports, in one call, which Python torchfit uses and why, what torchfit
#' found when it was loaded (whether Python was already running, whether it
#' pointed RETICULATE_PYTHON at the engine's Python), the versions of Python,
#' torch, numpy and the torchfit engine, and whether everything is ready; when
#' it is not, the reason and what to do. Calling it starts Python (like
#' `greta_sitrep()`).
#'
#' @return Invisibly, a list with elements `ready` (logical), `reason`
#'   (character or `NULL`), `python`, `source`, `at_load` (character: what
#'   torchfit did about Python when it was loaded) and `versions` (named
#'   character).
#' @examples
#' \dontrun{
#' torchfit_sitrep()
#' }
#' @export
torchfit_sitrep <- function() {
  out <- list(ready = FALSE, reason = NULL, python = NA_character_,
              source = NA_character_, at_load = describe_load(),
              versions = c(python = NA_character_, torch = NA_character_,
                           numpy = NA_character_, torchfit = NA_character_))
  cand <- python_candidates()
  cat("torchfit ", as.character(utils::packageVersion("torchfit")),
      " (R package)\n\nPython candidates, in order:\n",
      describe_candidates(cand), "\n\nWhen torchfit was loaded: ", out$at_load,
      "\n\n", sep = "")
  ok <- tryCatch({
    engine()
    TRUE
  }, error = function(e) conditionMessage(e))
  if (python_started()) {
    cfg <- reticulate::py_config()
    out$python <- cfg$python
    out$versions["python"] <- as.character(cfg$version)
    # the bridge says; without it (the engine did not import), ask Python
    # itself which of the engine's needs are there
    found <- if (isTRUE(ok)) tryCatch(engine()$versions(), error = function(e) list()) else list()
    for (mod in c("torch", "numpy", "torchfit")) {
      out$versions[mod] <- if (!is.null(found[[mod]])) as.character(found[[mod]]) else
        tryCatch(as.character(reticulate::import(mod)$`__version__`),
                 error = function(e) NA_character_)
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

# One sentence on what .onLoad found and did (see claim_python()).
describe_load <- function() {
  load <- .torchfit$load
  if (is.null(load)) return("nothing recorded")
  if (isTRUE(load$started)) {
    return(paste0("Python ", if (is.null(load$python)) "" else paste0(load$python, " "),
                  "was already running, so torchfit could not choose its own."))
  }
  if (!is.null(load$claimed)) {
    return(paste0("it pointed RETICULATE_PYTHON at ", load$claimed, " (",
                  load$source, "), so everything using reticulate in this ",
                  "session, python chunks included, runs in the engine's Python."))
  }
  if (!is.null(load$user_reticulate_python)) {
    return(paste0("RETICULATE_PYTHON was already set to ",
                  load$user_reticulate_python, "; torchfit left it as it was."))
  }
  "no Python was found for the engine, so reticulate's choice was left alone."
}
