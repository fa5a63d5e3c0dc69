# Fits from sample moments: lavaan's sample.cov, sample.mean and sample.nobs,
# sent to the engine (torchfit.bridge.fit_from_r's `moments`) and given to
# lavaan's dry run as they came. The engine owns their checks (a matrix without
# names, groups that do not match, data and sample.cov both, ...): R only turns
# R's types into what the engine reads.

# lavaan's arguments for a fit without data.
.moment_options <- c("sample.cov", "sample.mean", "sample.nobs")

# An R matrix as the engine takes it: its values and its row and column names
# (NULL when absent: the engine says what is missing).
engine_matrix <- function(S) {
  S <- as.matrix(S)
  list(values = unname(S), rows = as.list(rownames(S)), cols = as.list(colnames(S)))
}

# The moments in `dots` as the engine takes them (fit()'s sample_cov,
# sample_mean and sample_nobs), or NULL when none is given. As lavaan, a list
# of matrices is one per group (a named list: labelled by its names), and the
# means and counts go by position: R drops their names.
given_moments <- function(dots) {
  given <- dots[intersect(.moment_options, names(dots))]
  if (!length(given)) return(NULL)
  cov <- given$sample.cov
  several <- is.list(cov) && !is.data.frame(cov)
  per_group <- function(x) {
    if (is.null(x)) return(NULL)
    if (several || is.list(x)) unname(lapply(as.list(x), as.numeric)) else as.numeric(x)
  }
  list(sample_cov = if (several) lapply(cov, engine_matrix) else if (!is.null(cov))
         engine_matrix(cov),
       sample_mean = per_group(given$sample.mean), sample_nobs = per_group(given$sample.nobs))
}

# The number of groups of a fit from `sample.cov` (lavaanify needs it): one per
# matrix of a list.
moment_groups <- function(cov) {
  if (is.list(cov) && !is.data.frame(cov)) length(cov) else 1L
}

# The file or directory `data` names (Parquet, CSV or .npy), or NULL when
# `data` is not a path.
data_path <- function(data) {
  if (!is.character(data) || !is.null(dim(data))) return(NULL)  # a matrix is no path
  if (length(data) != 1L || is.na(data) || !file.exists(data)) {
    torchfit_stop(paste0("`data` is a character string but not the path of a file or ",
                         "directory that exists (", data[1L], "); give a data frame, or ",
                         "the path of a Parquet, CSV or .npy file."), "torchfit_dataerror")
  }
  normalizePath(data)
}

# From a path torchfit() fits ML from the moments the engine reads (lavaan's
# dry run takes them as sample.cov); what needs the rows in R is refused.
check_path_fit <- function(path, estimator, missing, group, ordered, dots) {
  needs_rows <- c(
    if (!estimator %in% c("ML", "DEFAULT")) paste0('estimator = "', estimator, '"'),
    if (!missing %in% c("default", "listwise")) paste0('missing = "', missing, '"'),
    if (!is.null(group)) "group",
    if (!is.null(ordered) && !isFALSE(ordered)) "ordered",
    intersect(c("cluster", "sampling.weights", "se", "test", "bootstrap", "std.ov"), names(dots)))
  if (length(needs_rows)) {
    torchfit_stop(paste0("with `data` a path, torchfit() fits ML from the moments the ",
                         "engine reads from the file; ", paste(needs_rows, collapse = ", "),
                         " need", if (length(needs_rows) == 1L) "s", " the rows: read them ",
                         "into a data frame (e.g. arrow::read_parquet() or read.csv()), or ",
                         "fit from Python with the path (torchfit.cfa(model, \"", path,
                         "\", ...))."), "torchfit_dataerror")
  }
}

# The moments of the model's variables `ov` in the file at `path`, read by the
# engine: for the engine (as given_moments() returns them) and for lavaan's dry
# run (sample.cov, sample.nobs and, with a mean structure, sample.mean).
path_moments <- function(path, ov, missing, means) {
  m <- engine_call(engine()$moments_from_path, path, as.list(ov), missing)
  S <- matrix(as_num(m$cov), length(ov), dimnames = list(ov, ov))
  mu <- stats::setNames(as_num(m$mean), ov)
  lavaan <- c(list(sample.cov = S, sample.nobs = as.integer(m$nobs)),
              if (means) list(sample.mean = mu))
  list(engine = given_moments(lavaan), lavaan = lavaan)
}
