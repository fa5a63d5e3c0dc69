# The TorchFit class and its methods (lavaan's generics and names).

#' The TorchFit class: a model fitted by torchfit
#'
#' Everything the engine returned is stored as ordinary R values, so the
#' object works after [saveRDS()]/[readRDS()] and in an R session without
#' Python; only [predict()][predict.TorchFit] needs the Python fit object.
#'
#' @slot call The matched call.
#' @slot model The model syntax.
#' @slot partable The parameter table with estimates (lavaan's columns).
#' @slot fit Named numeric vector of fit measures (lavaan's names).
#' @slot coef Named numeric vector of free parameters.
#' @slot vcov Covariance matrix of the free parameters.
#' @slot implied Model-implied moments (list with `cov`, maybe `mean`).
#' @slot sample Sample moments (list with `cov`, maybe `mean`, and `nobs`).
#' @slot info List: estimator, optimizer, iterations, converged, nobs,
#'   nobs.total, npar, neq, se, information, h1.information, test, version,
#'   ov.names, lv.names, loss.history (stochastic fits: the mean loss per
#'   window, see [plot_loss()]), warnings.
#' @slot options The options the model was fitted with.
#' @slot summary The summary text in pieces (header, fit, estimates,
#'   estimates_std), as the engine wrote it.
#' @slot timing Seconds spent (prepare, engine, total).
#' @slot pyfit The Python `Fit` object, or `NULL`.
#' @exportClass TorchFit
setClass("TorchFit", representation(
  call = "call",
  model = "character",
  partable = "data.frame",
  fit = "numeric",
  coef = "numeric",
  vcov = "matrix",
  implied = "list",
  sample = "list",
  info = "list",
  options = "list",
  summary = "list",
  timing = "numeric",
  pyfit = "ANY"
))

# ---------------------------------------------------------------------------
# turning the engine's answer into R values

as_num <- function(x) {
  if (is.null(x)) return(numeric(0))
  if (is.list(x)) {
    return(vapply(x, function(v) {
      if (is.null(v) || length(v) == 0L) NA_real_ else as.numeric(v)[1L]
    }, numeric(1)))
  }
  as.numeric(as.vector(x))
}

as_chr <- function(x) {
  if (is.null(x)) return(character(0))
  if (is.list(x)) {
    return(vapply(x, function(v) {
      if (is.null(v) || length(v) == 0L) NA_character_ else as.character(v)[1L]
    }, character(1)))
  }
  as.character(as.vector(x))
}

as_mat <- function(x, names = NULL) {
  if (is.null(x)) return(matrix(numeric(0), 0L, 0L))
  if (is.list(x)) x <- do.call(rbind, lapply(x, as_num))
  m <- matrix(as.numeric(x), nrow = NROW(x), ncol = NCOL(x))
  if (!is.null(names) && length(names) == nrow(m) && nrow(m) == ncol(m)) {
    dimnames(m) <- list(names, names)
  }
  m
}

moments <- function(x) {
  if (is.null(x)) return(list())
  nm <- as_chr(x$names)
  out <- list(cov = as_mat(x$cov, nm))
  if (!is.null(x$mean)) out$mean <- stats::setNames(as_num(x$mean), nm)
  if (!is.null(x$nobs)) out$nobs <- as.integer(x$nobs)
  out$names <- nm
  out
}

# One list of moments per group, named by the group labels (as lavInspect()
# gives them); a single group's moments directly.
group_moments <- function(x) {
  groups <- lapply(x, moments)
  if (length(groups) == 1L) return(groups[[1L]])
  stats::setNames(groups, vapply(x, function(g) as.character(g$group), ""))
}

.int_cols <- c("id", "user", "block", "group", "free", "exo", "level")
.chr_cols <- c("lhs", "op", "rhs", "label", "plabel", "efa")

result_partable <- function(res_pt, partable) {
  if (is.data.frame(res_pt)) res_pt <- as.list(res_pt)
  pt <- append_engine_rows(partable, res_pt)
  n <- nrow(pt)
  for (nm in setdiff(names(res_pt), names(partable))) {
    col <- res_pt[[nm]]
    col <- if (nm %in% .chr_cols) as_chr(col) else as_num(col)
    if (length(col) != n) {
      torchfit_stop(paste0("engine returned column ", nm, " with ",
                           length(col), " rows, expected ", n, "."))
    }
    pt[[nm]] <- col
  }
  for (nm in intersect(names(pt), .int_cols)) pt[[nm]] <- as.integer(pt[[nm]])
  # lavaan's conventions for fixed parameters: se 0, no z/p, CI = estimate
  if (!is.null(pt$est) && !is.null(pt$se)) {
    fixed <- pt$free == 0L & pt$op %in% c("=~", "~", "~~", "~1", "|", "~*~") &
      is.finite(pt$est)
    pt$se[fixed & is.na(pt$se)] <- 0
    zero <- fixed & pt$se == 0
    if (!is.null(pt$z)) pt$z[zero] <- NA_real_
    if (!is.null(pt$pvalue)) pt$pvalue[zero] <- NA_real_
    if (!is.null(pt$ci.lower)) pt$ci.lower[zero] <- pt$est[zero]
    if (!is.null(pt$ci.upper)) pt$ci.upper[zero] <- pt$est[zero]
  }
  pt
}

# Rows the engine added after lavaan's (the category scores of nominal
# items), with lavaan's columns taken from the engine's table.
append_engine_rows <- function(partable, res_pt) {
  n <- nrow(partable)
  extra <- seq_len(max(0L, length(res_pt$lhs) - n)) + n
  if (!length(extra)) return(partable)
  rows <- as.data.frame(lapply(stats::setNames(names(partable), names(partable)), function(nm) {
    col <- res_pt[[nm]]
    if (is.null(col)) return(rep(NA, length(extra)))
    col <- col[extra]
    if (nm %in% .chr_cols) as_chr(col) else as_num(col)
  }), stringsAsFactors = FALSE)
  rbind(partable, rows)
}

new_torchfit <- function(res, call, model, partable, ov, lv, options) {
  info_in <- if (is.null(res$info)) list() else res$info
  pt <- result_partable(res$partable, partable)
  fm <- res$fit_measures
  fit <- stats::setNames(as_num(fm), names(fm))
  coef_names <- as_chr(res$coef_names)
  coef <- stats::setNames(as_num(res$coef), coef_names)
  V <- as_mat(res$vcov)
  if (length(coef_names) == nrow(V) && nrow(V) == ncol(V)) {
    dimnames(V) <- list(coef_names, coef_names)
  }
  get <- function(name, default) {
    v <- info_in[[name]]
    if (is.null(v) || length(v) == 0L) default else v
  }
  nobs <- as.integer(get("nobs", NA_integer_))
  info <- list(
    estimator = as.character(get("estimator", options$estimator)),
    optimizer = as.character(get("optimizer", NA_character_)),
    iterations = as.integer(get("iterations", NA_integer_)),
    converged = isTRUE(as.logical(get("converged", FALSE))),
    nobs = nobs,
    nobs.total = as.integer(get("nobs_total", nobs)),
    group = if (is.null(info_in$group)) NULL else as.character(info_in$group),
    group.labels = as_chr(info_in$group_labels),
    npar = as.integer(get("npar", length(coef))),
    neq = as.integer(get("neq", 0L)),
    se = as.character(get("se", "standard")),
    information = as.character(get("information", "expected")),
    h1.information = as.character(get("h1_information", "structured")),
    test = as.character(get("test", "standard")),
    version = as.character(get("version", utils::packageVersion("torchfit"))),
    ov.names = ov, lv.names = lv,
    loss.history = as_num(res$loss_history),
    warnings = unique(c(attr(res, "py_warnings"), as_chr(res$warnings),
                        as_chr(info_in$warnings)))
  )
  for (w in info$warnings) warning(w, call. = FALSE)
  methods::new("TorchFit",
    call = call, model = model, partable = pt, fit = fit, coef = coef,
    vcov = V, implied = group_moments(res$implied), sample = group_moments(res$sample),
    info = info, options = options,
    summary = lapply(res$summary, as_chr), timing = numeric(0),
    pyfit = res$fit
  )
}

#' @describeIn TorchFit-class Short lavaan-like description: header, number
#'   of observations and the model test.
#' @param object A [TorchFit-class] object.
#' @export
setMethod("show", "TorchFit", function(object) {
  cat(object@summary$header, sep = "\n")
  invisible(object)
})

#' Summary of a torchfit model, in lavaan's layout
#'
#' @param object A [TorchFit-class] object.
#' @param fit.measures Logical; print the fit measures block (baseline model,
#'   CFI/TLI, log-likelihood and information criteria, RMSEA, SRMR).
#' @param standardized Logical; add the `Std.lv` and `Std.all` columns.
#' @param ... Ignored.
#' @return The object, invisibly.
#' @export
setMethod("summary", "TorchFit",
          function(object, fit.measures = FALSE, standardized = FALSE, ...) {
  # The engine wrote the text (one layout for every estimator and both
  # languages); the object keeps it, so no engine is needed here.
  parts <- object@summary
  cat(c(parts$header, if (isTRUE(fit.measures)) parts$fit,
        if (isTRUE(standardized)) parts$estimates_std else parts$estimates), sep = "\n")
  invisible(object)
})

#' Coefficients, covariance matrix, observations and log-likelihood
#'
#' `coef()` returns the free parameters, named as lavaan names them (the label
#' when there is one, otherwise `lhs op rhs`); `vcov()` their covariance
#' matrix; `nobs()` the number of observations used; `logLik()` an object of
#' class `"logLik"` (so [AIC()] and [BIC()] work).
#'
#' @param object A [TorchFit-class] object.
#' @param ... Ignored.
#' @name TorchFit-stats
NULL

#' @rdname TorchFit-stats
#' @method coef TorchFit
#' @export
coef.TorchFit <- function(object, ...) {
  x <- object@coef
  class(x) <- c("lavaan.vector", "numeric")
  x
}

#' @rdname TorchFit-stats
#' @method vcov TorchFit
#' @export
vcov.TorchFit <- function(object, ...) object@vcov

#' @rdname TorchFit-stats
#' @method nobs TorchFit
#' @export
nobs.TorchFit <- function(object, ...) object@info$nobs

#' @rdname TorchFit-stats
#' @method logLik TorchFit
#' @export
logLik.TorchFit <- function(object, ...) {
  ll <- if ("logl" %in% names(object@fit)) object@fit[["logl"]] else NA_real_
  df <- if ("npar" %in% names(object@fit)) object@fit[["npar"]] else length(object@coef)
  structure(ll, df = as.integer(df), nobs = object@info$nobs, class = "logLik")
}

#' Parameter estimates as a data frame
#'
#' A generic whose default is [lavaan::parameterEstimates()], so it keeps
#' working on lavaan fits; the method for [TorchFit-class] objects returns
#' the same columns as lavaan: `lhs op rhs` (`label` when any parameter has
#' one) `est se z pvalue ci.lower ci.upper`, plus `std.lv std.all` when
#' `standardized = TRUE`. Like lavaan, equality constraints (`==` rows) are
#' left out.
#'
#' @param object A fitted model.
#' @param ... Passed to [lavaan::parameterEstimates()] for other objects.
#' @return A data frame (class `lavaan.data.frame`).
#' @export
setGeneric("parameterEstimates", function(object, ...) {
  standardGeneric("parameterEstimates")
})

#' @rdname parameterEstimates
#' @export
setMethod("parameterEstimates", "ANY", function(object, ...) {
  lavaan::parameterEstimates(object, ...)
})

#' @rdname parameterEstimates
#' @param standardized Logical; add `std.lv` and `std.all`.
#' @param ci Logical; include `ci.lower` and `ci.upper`.
#' @export
setMethod("parameterEstimates", "TorchFit",
          function(object, standardized = FALSE, ci = TRUE, ...) {
  pt <- object@partable
  keep <- !pt$op %in% c("==", "<", ">")
  cols <- c("lhs", "op", "rhs")
  if (length(object@info$group.labels)) cols <- c(cols, "block", "group")
  if (!is.null(pt$label) && any(nzchar(pt$label[keep]))) cols <- c(cols, "label")
  cols <- c(cols, "est", "se", "z", "pvalue")
  if (ci) cols <- c(cols, "ci.lower", "ci.upper")
  if (standardized) cols <- c(cols, "std.lv", "std.all")
  for (cl in setdiff(cols, names(pt))) pt[[cl]] <- NA_real_
  out <- pt[keep, cols, drop = FALSE]
  class(out) <- c("lavaan.data.frame", "data.frame")
  out
})

#' Fit measures of a torchfit model
#'
#' Methods for lavaan's `fitMeasures()`/`fitmeasures()` generics.
#'
#' @param object A [TorchFit-class] object.
#' @param fit.measures `"all"` or a character vector of lavaan names
#'   (`"chisq"`, `"cfi"`, `"rmsea"`, ...).
#' @param baseline.model,fm.args,output Accepted for compatibility with
#'   lavaan's generic and ignored.
#' @param ... Ignored.
#' @return A named numeric vector of class `lavaan.vector`.
#' @name fitMeasures-TorchFit
#' @aliases fitMeasures,TorchFit-method fitmeasures,TorchFit-method
#' @importMethodsFrom lavaan fitMeasures fitmeasures
#' @exportMethod fitMeasures fitmeasures
NULL

fit_measures_torchfit <- function(object, fit.measures = "all",
                                  baseline.model = NULL, fm.args = list(),
                                  output = "vector", ...) {
  x <- object@fit
  fm <- tolower(fit.measures)
  if (!(length(fm) == 1L && fm == "all")) {
    unknown <- setdiff(fm, names(x))
    if (length(unknown)) {
      torchfit_stop(paste0(
        "fit measure", if (length(unknown) > 1L) "s", " not available: ",
        paste(unknown, collapse = ", "), ". Available: ",
        paste(names(x), collapse = ", "), "."
      ))
    }
    x <- x[fm]
  }
  class(x) <- c("lavaan.vector", "numeric")
  x
}

setMethod("fitMeasures", "TorchFit", fit_measures_torchfit)
setMethod("fitmeasures", "TorchFit", fit_measures_torchfit)

#' Factor scores from a torchfit model
#'
#' Calls the engine's `Fit.predict()`; needs the Python fit object, so it
#' does not work on an object restored with [readRDS()] (refit the model).
#'
#' @param object A [TorchFit-class] object.
#' @param newdata A data frame with the model's observed variables; defaults
#'   to the data the model was fitted on (not stored in the object: required).
#' @param ... Ignored.
#' @return A numeric matrix with one column per latent variable; for a
#'   multiple-group model a list of them, one per group (`newdata` must hold
#'   the grouping column).
#' @method predict TorchFit
#' @export
predict.TorchFit <- function(object, newdata, ...) {
  py <- object@pyfit
  if (is.null(py) || !inherits(py, "python.builtin.object") ||
      reticulate::py_is_null_xptr(py)) {
    torchfit_stop(paste0(
      "the engine's fit object is gone (the model was saved and restored, or ",
      "fitted in another R session), so predict() cannot compute factor ",
      "scores. Refit the model with torchfit() in this session."
    ))
  }
  if (missing(newdata)) {
    torchfit_stop("predict() needs `newdata`: a data frame with the model's observed variables.")
  }
  prep <- prepare_data(newdata, object@info$ov.names)
  frame <- as.data.frame(prep$data)
  group <- object@info$group
  if (!is.null(group)) frame[[group]] <- group_values(newdata, group)
  scores <- engine_call(py$predict, frame)
  if (!is.null(group)) return(lapply(scores, score_matrix))
  score_matrix(scores)
}

# The engine's factor scores (columns and values) as a numeric matrix.
score_matrix <- function(scores) {
  m <- as_mat(scores$values)
  colnames(m) <- as_chr(scores$columns)
  storage.mode(m) <- "double"
  m
}
