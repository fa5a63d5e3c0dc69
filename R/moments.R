# Fits from sample moments: lavaan's sample.cov, sample.mean and sample.nobs,
# sent to the engine (torchfit.bridge.fit_from_r's `moments`) and given to
# lavaan's dry run as they came.

# lavaan's arguments for a fit without data.
.moment_options <- c("sample.cov", "sample.mean", "sample.nobs")

# The moments of `dots` as the engine takes them (one entry per group: the
# matrix, its variables, N and the means; the group labels for several), or
# NULL without sample.cov. As lavaan: a list of matrices is one per group,
# labelled by its names (else "Group 1", "Group 2", ...), and the means go by
# the matrix's order.
given_moments <- function(dots, data) {
  cov <- dots$sample.cov
  if (is.null(cov)) {
    given <- intersect(names(dots), c("sample.mean", "sample.nobs"))
    if (length(given)) {
      torchfit_stop(paste0(paste0("`", given, "`", collapse = " and "), " go",
                           if (length(given) == 1L) "es", " with `sample.cov` (a fit from ",
                           "sample moments); give `sample.cov` too, or leave ",
                           if (length(given) == 1L) "it" else "them", " out."),
                    "torchfit_dataerror")
    }
    return(NULL)
  }
  if (!is.null(data)) {
    torchfit_stop("give `data` or `sample.cov`, not both: a fit is made from one of them.",
                  "torchfit_dataerror")
  }
  if (is.null(dots$sample.nobs)) {
    torchfit_stop(paste0("`sample.cov` needs `sample.nobs`, the number of observations the ",
                         "covariance matrix was computed from (a list, one per group, for ",
                         "several)."), "torchfit_dataerror")
  }
  several <- is.list(cov) && !is.data.frame(cov)
  covs <- unname(lapply(if (several) cov else list(cov), as.matrix))
  labels <- if (several) {
    if (is.null(names(cov))) paste("Group", seq_along(covs)) else names(cov)
  }
  per_group <- function(x, what) {
    x <- if (several) as.list(x) else list(x)
    if (length(x) != length(covs)) {
      torchfit_stop(paste0("`", what, "` must give one entry per group of `sample.cov` (",
                           length(covs), ")."), "torchfit_dataerror")
    }
    unname(lapply(x, as.numeric))  # a list, not a dict, for the engine
  }
  vars <- lapply(covs, function(S) {
    if (is.null(rownames(S)) || is.null(colnames(S))) {
      torchfit_stop(paste0("`sample.cov` needs row and column names (the observed ",
                           "variables), as lavaan."), "torchfit_dataerror")
    }
    as.list(colnames(S))
  })
  list(cov = lapply(covs, unname), names = vars, nobs = per_group(dots$sample.nobs, "sample.nobs"),
       mean = if (!is.null(dots$sample.mean)) per_group(dots$sample.mean, "sample.mean"),
       labels = as.list(labels))
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
  nobs <- as.integer(m$nobs)
  list(engine = list(cov = list(unname(S)), names = list(as.list(ov)), nobs = list(nobs),
                     mean = if (means) list(unname(mu)), labels = list()),
       lavaan = c(list(sample.cov = S, sample.nobs = nobs), if (means) list(sample.mean = mu)))
}
