#' A torchrun launch of a torchfit call, for more processes or machines
#'
#' R is not the process launcher of a data-parallel fit: `torchrun` starts
#' one Python process per rank, each running the same script. This writes that
#' script for a fit (the model, a data path every rank can read, the options)
#' and returns the `torchrun` command that runs it; rank 0 writes the
#' parameter estimates to `output` (a CSV file), which
#' `read.csv(output)` reads back. See README.md, "More than one
#' machine".
#'
#' @param model lavaan model syntax (a character string).
#' @param data Path of the data every rank can read: a Parquet file or
#'   directory (read by row group, each rank its own), or a `.npy` file.
#' @param file Where the Python script is written.
#' @param output The CSV file rank 0 writes the parameter estimates to.
#' @param estimator,model.type As in [torchfit()].
#' @param nproc_per_node,nnodes Processes per machine and machines.
#' @param rdzv_endpoint For several machines: `"host:port"` of the rendezvous.
#' @param ... Engine options, written with `.` or `_` (`std.lv = TRUE`,
#'   `ordered = TRUE`, `batch_size = 256`, ...); numbers, strings, logicals
#'   and character vectors.
#' @return The `torchrun` command (a character string), invisibly printed.
#' @examples
#' script <- tempfile(fileext = ".py")
#' torchrun_command("f =~ x1 + x2 + x3", "hs.parquet", file = script,
#'                  std.lv = TRUE, nproc_per_node = 2)
#' @export
torchrun_command <- function(model, data, file = "torchfit_fit.py",
                             output = "torchfit_estimates.csv", estimator = "ML",
                             model.type = "sem", nproc_per_node = 2L, nnodes = 1L,
                             rdzv_endpoint = NULL, ...) {
  if (!is.character(model) || length(model) != 1L || is.na(model))
    torchfit_stop("`model` must be one string of lavaan model syntax.")
  if (!is.character(data) || length(data) != 1L || is.na(data))
    torchfit_stop(paste0("`data` must be the path of a Parquet file or directory (or a .npy ",
                         "file) that every rank can read; write a data frame with ",
                         "arrow::write_parquet()."))
  if (nnodes > 1L && is.null(rdzv_endpoint))
    torchfit_stop(paste0("several machines (nnodes > 1) need `rdzv_endpoint = ",
                         "\"host:port\"` of the rendezvous host."))
  opts <- list(...)
  names(opts) <- gsub(".", "_", names(opts), fixed = TRUE)
  args <- c(sprintf("estimator=%s", py_literal(estimator)),
            sprintf("model_type=%s", py_literal(model.type)),
            if (length(opts)) sprintf("%s=%s", names(opts), vapply(opts, py_literal, "")),
            "distributed=True")
  script <- c("# written by torchfit::torchrun_command(); run it with the torchrun command",
              "import torchfit", "",
              sprintf("fit = torchfit.fit(%s, %s,", py_literal(model), py_literal(data)),
              sprintf("                   %s)", paste(args, collapse = ", ")),
              "if fit is not None:  # rank 0",
              sprintf("    fit.parameter_estimates().to_csv(%s, index=False)",
                      py_literal(output)))
  writeLines(script, file)
  launch <- if (nnodes > 1L) {
    sprintf("--nnodes=%d --nproc-per-node=%d --rdzv-backend=c10d --rdzv-endpoint=%s",
            as.integer(nnodes), as.integer(nproc_per_node), rdzv_endpoint)
  } else {
    sprintf("--standalone --nproc-per-node=%d", as.integer(nproc_per_node))
  }
  cmd <- sprintf("torchrun %s %s", launch, shQuote(file))
  message(cmd)
  invisible(cmd)
}

# An R value as a Python literal: strings quoted (escapes kept), logicals as
# True/False, numbers as they print, vectors of length > 1 as lists.
py_literal <- function(x) {
  one <- function(v) {
    if (is.logical(v)) return(if (isTRUE(v)) "True" else "False")
    if (is.character(v)) return(paste0("\"", gsub("([\"\\\\])", "\\\\\\1", v), "\""))
    if (is.numeric(v)) return(format(v, scientific = FALSE, trim = TRUE))
    torchfit_stop(paste0("option values must be numbers, strings or logicals, not ",
                         class(v)[1], "."))
  }
  if (length(x) == 1L && is.null(names(x))) return(gsub("\n", "\\\\n", one(x)))
  paste0("[", paste(vapply(x, one, ""), collapse = ", "), "]")
}
