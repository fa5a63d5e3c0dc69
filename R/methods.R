# The TorchFit class and its methods (lavaan's generics and names).

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

as_mat <- function(x) {
  if (is.null(x)) return(matrix(numeric(0), 0L, 0L))
  if (is.list(x)) x <- do.call(rbind, lapply(x, as_num))
  matrix(as.numeric(x), nrow = NROW(x), ncol = NCOL(x))
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

# The engine's report on the fit, as R values.
engine_info <- function(res, estimator, coef, ov, lv) {
  info_in <- if (is.null(res$info)) list() else res$info
  get <- function(name, default) {
    v <- info_in[[name]]
    if (is.null(v) || length(v) == 0L) default else v
  }
  nobs <- as.integer(get("nobs", NA_integer_))
  list(
    estimator = as.character(get("estimator", estimator)),
    optimizer = as.character(get("optimizer", NA_character_)),
    iterations = as.integer(get("iterations", 0L)),
    converged = isTRUE(as.logical(get("converged", FALSE))),
    admissible = !isFALSE(as.logical(get("admissible", TRUE))),
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
    test.information = as.character(get("test_information", "hessian")),
    version = as.character(get("version", utils::packageVersion("torchfit"))),
    ov.names = ov, lv.names = lv,
    loss.history = as_num(res$loss_history),
    warnings = unique(c(attr(res, "py_warnings"), as_chr(res$warnings),
                        as_chr(info_in$warnings)))
  )
}

# The TorchFit object: lavaan's dry run of the same table and data, filled
# with the engine's solution, plus the engine's own report.
new_torchfit <- function(res, call, model, partable, data, model.type, lav_args, ov, lv) {
  # (an ML-family fit's table is lavaan's: the engine sends only an IRT fit's)
  pt <- if (length(res$partable)) result_partable(res$partable, partable) else partable
  fm <- res$fit_measures
  measures <- stats::setNames(as_num(fm), names(fm))
  coef <- as_num(res$coef)
  V <- as_mat(res$vcov)
  # se = "none": no covariance matrix, as lavaan (its standard errors are NA, and
  # a matrix of NaN would reach lavaan's model checks)
  if (all(is.na(V))) V <- NULL
  info <- engine_info(res, lav_args$estimator, coef, ov, lv)
  if (!isFALSE(lav_args$warn)) for (w in info$warnings) warning(w, call. = FALSE)
  for (note in as_chr(res$notes)) message("torchfit: ", note)
  iwave <- is_irt_estimator(info$estimator)
  if (iwave) {
    pt <- with_conditional_x(pt, lav_args)
    # lavaan's theta parameterization reads the table's fixed residual variances of
    # the latent responses (a logistic item's pi^2/3): lavaan's own standardization
    # of the object (standardizedSolution(), lavInspect(fit, "rsquare"), as
    # semTools calls them) is then the logistic model's
    if (any(pt$op == "|")) lav_args$parameterization <- "theta"
    # the engine's fixed (co)variances are those its model holds (a logistic
    # item's pi^2/3 where lavaanify() put lavaan's 1)
    fixed <- pt$op == "~~" & pt$free == 0L & is.finite(pt$est)
    pt$ustart[fixed] <- pt$est[fixed]
  }
  # lavaan has no rows for nominal category scores ("y | s1"): its model holds
  # the rest, and its table becomes the engine's
  lavaan_rows <- !(pt$op == "|" & !grepl("^t[0-9]+$", pt$rhs))
  mine <- pt$free[lavaan_rows]
  keep <- sort(mine[mine > 0L])
  skel <- lavaan_skeleton(pt[lavaan_rows, , drop = FALSE], if (iwave) NULL else data,
                          model.type, lav_args, start = as_num(res$start))
  fit <- lavaan_fill(skel, coef[keep], if (length(V)) V[keep, keep, drop = FALSE] else NULL,
                     info, measures, lav_args, boot_draws(res$boot, keep))
  if (iwave) {
    fit@ParTable <- as.list(pt)  # the engine's estimates of a model lavaan lacks
    fit <- with_sample_moments(fit, data, lav_args$group)
    if (fit@Model@categorical) fit@implied <- latent_response_implied(fit@Model, fit@ParTable)
  }
  fit <- as_torchfit(fit, list(model.syntax = model, info = info, measures = measures,
                               report = lapply(res$summary, as_chr), pyfit = res$fit))
  fit@call <- call
  fit
}

# lavaan's object as a TorchFit with the engine's extras. new("TorchFit", fit)
# would validate again every slot that lavaan's own constructor has just
# built (a twentieth of an HS fit's time); the extra slots are set unchecked
# because their types are fixed here.
as_torchfit <- function(fit, extras) {
  class(fit) <- methods::getClass("TorchFit")@className
  for (name in names(extras)) methods::slot(fit, name, check = FALSE) <- extras[[name]]
  fit
}

#' @describeIn TorchFit-class Short lavaan-like description: header, number
#'   of observations and the model test.
#' @param object A [TorchFit-class] object.
#' @export
setMethod("show", "TorchFit", function(object) {
  if (!is_ml_family(object)) {
    cat(object@report$header, sep = "\n")
  } else {
    print(torchfit_summary(lav_internal("lav_object_summary")(
      as_lavaan(object), fit.measures = FALSE, estimates = FALSE, modindices = FALSE), object))
  }
  invisible(object)
})

#' Summary of a torchfit model, in lavaan's layout
#'
#' For ML, MLM, MLR and FIML fits this is lavaan's own `summary()` (every
#' argument of it works: `fit.measures`, `standardized`, `rsquare`, `ci`,
#' `modindices`, ...), headed by torchfit's version and optimizer. For IWAVE
#' fits it is the engine's report (`fit.measures` and `standardized`).
#'
#' @param object A [TorchFit-class] object.
#' @param ... Arguments of lavaan's `summary()` method.
#' @return A `lavaan.summary` object, as lavaan's (printed when not
#'   assigned); for IWAVE fits the engine's report (printed the same way).
#' @export
setMethod("summary", "TorchFit", function(object, ...) {
  if (!is_ml_family(object)) return(summary_iwave(object, ...))
  # on the plain lavaan object: lavaan's tables leave out the standard errors
  # of classes that extend its own
  torchfit_summary(lavaan::summary(as_lavaan(object), ...), object)
})

# lavaan's summary object, headed by torchfit's version and optimizer.
torchfit_summary <- function(res, object) {
  attr(res, "torchfit") <- object@info[c("version", "optimizer")]
  class(res) <- c("torchfit.summary", class(res))
  res
}

#' @export
print.torchfit.summary <- function(x, ...) {
  tf <- attr(x, "torchfit")
  lines <- utils::capture.output(NextMethod())
  lines <- sub("^lavaan [0-9.-]+ ", paste0("torchfit ", tf$version, " "), lines)
  # the engine's optimizer in lavaan's column (lavaan's layout is kept)
  at <- grep("^  Optimization method +[A-Z0-9]+$", lines)
  name <- toupper(tf$optimizer)
  lines[at] <- paste0(substr(lines[at], 1L, nchar(lines[at]) - nchar(name)), name)
  cat(lines, sep = "\n")
  invisible(x)
}

summary_iwave <- function(object, fit.measures = FALSE, standardized = FALSE, ...) {
  refuse_arguments(list(...), "summary() of an IWAVE fit",
                   "fit.measures and standardized")
  parts <- object@report
  structure(c(parts$header, if (isTRUE(fit.measures)) parts$fit,
              if (isTRUE(standardized)) parts$estimates_std else parts$estimates),
            class = "torchfit.report")
}

#' @export
print.torchfit.report <- function(x, ...) {
  cat(unclass(x), sep = "\n")
  invisible(x)
}

# Arguments a method cannot honour are an error naming them, never ignored.
refuse_arguments <- function(args, where, supported) {
  if (length(args)) {
    torchfit_stop(paste0("argument", if (length(args) > 1L) "s", " ",
                         paste0("`", names(args), "`", collapse = ", "), " not available in ",
                         where, "; it takes ", supported, "."), "torchfit_option_error")
  }
}

#' Fit measures of a torchfit model
#'
#' Methods for lavaan's `fitMeasures()`/`fitmeasures()` generics: the
#' engine's fit measures, with lavaan's names and values. With `fm.args`,
#' `baseline.model` or `output = "text"`, lavaan's own `fitMeasures()`
#' computes them from the object.
#'
#' @param object A [TorchFit-class] object.
#' @param fit.measures `"all"` or a character vector of lavaan names
#'   (`"chisq"`, `"cfi"`, `"rmsea"`, ...).
#' @param baseline.model,fm.args,output As in lavaan (ML-family fits).
#' @param ... Passed to lavaan.
#' @return A named numeric vector of class `lavaan.vector`.
#' @name fitMeasures-TorchFit
#' @aliases fitMeasures,TorchFit-method fitmeasures,TorchFit-method
#' @importMethodsFrom lavaan fitMeasures fitmeasures
#' @exportMethod fitMeasures fitmeasures
NULL

fit_measures_torchfit <- function(object, fit.measures = "all",
                                  baseline.model = NULL, fm.args = list(),
                                  output = "vector", ...) {
  if (!is.null(baseline.model) || length(fm.args) || !identical(output, "vector")) {
    if (!is_ml_family(object)) {
      torchfit_stop("baseline.model, fm.args and output are for ML-family fits; an IWAVE fit has the engine's measures only.")
    }
    return(lavaan::fitMeasures(as_lavaan(object), fit.measures = fit.measures,
                               baseline.model = baseline.model, fm.args = fm.args,
                               output = output, ...))
  }
  x <- object@measures
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

# The plain lavaan object inside a TorchFit (for lavaan's own methods).
as_lavaan <- function(object) methods::as(object, "lavaan", strict = TRUE)

#' Factor scores from a torchfit model
#'
#' For ML-family fits this is lavaan's [lavaan::lavPredict()] (every argument
#' works: `method = "Bartlett"`, `type = "ov"`, `se`, ...), on the data the
#' model was fitted on or on `newdata`. For IWAVE fits the engine computes
#' importance-weighted posterior means; that needs the Python fit object, so
#' it does not work on an object restored with [readRDS()] (refit the model).
#'
#' @param object A [TorchFit-class] object.
#' @param newdata Optional data frame with the model's observed variables (and
#'   the grouping column of a multiple-group model).
#' @param ... Arguments of [lavaan::lavPredict()] (ML-family fits).
#' @return As lavaan's `lavPredict()`: a matrix with one column per latent
#'   variable, or a list of them, one per group.
#' @export
setMethod("predict", "TorchFit", function(object, newdata = NULL, ...) {
  if (is_ml_family(object)) {
    return(lavaan::lavPredict(object, newdata = newdata, ...))
  }
  refuse_arguments(list(...), "predict() of an IWAVE fit", "newdata only")
  py <- engine_fit(object, "predict() cannot compute IWAVE factor scores")
  group <- object@info$group
  scores <- if (is.null(newdata)) engine_call(engine()$predict, py) else {
    prep <- prepare_data(newdata, object@info$ov.names)
    frame <- as.data.frame(prep$data)
    if (!is.null(group)) frame[[group]] <- group_values(newdata, group)
    engine_call(engine()$predict, py, frame)
  }
  if (!is.null(group)) return(lapply(scores, score_matrix))
  score_matrix(scores)
})

# The Python fit of `object`, or an error saying that `what` needs it.
engine_fit <- function(object, what) {
  py <- object@pyfit
  if (is.null(py) || !inherits(py, "python.builtin.object") ||
      reticulate::py_is_null_xptr(py)) {
    torchfit_stop(paste0(
      "the engine's fit object is gone (the model was saved and restored, or ",
      "fitted in another R session), so ", what, ". Refit the model with ",
      "torchfit() in this session."
    ))
  }
  py
}

#' The log-likelihood of a large IWAVE fit
#'
#' An IWAVE fit's log-likelihood (and so AIC and BIC) is estimated by importance
#' sampling, `logl_samples` draws per row (1000 by default). When that costs more
#' than twice the training's draws (large data), `torchfit()` leaves it `NA` and
#' says so; this computes it and returns the fit with `fitMeasures()`, `logLik()`,
#' `AIC()`, `BIC()` and `summary(fit.measures = TRUE)` filled in.
#'
#' @param object An IWAVE [TorchFit-class] fit from this R session.
#' @return The fit, with its log-likelihood.
#' @examples
#' \dontrun{
#' fit <- torchfit("f =~ y1 + y2 + y3 + y4", data = big, estimator = "IWAVE",
#'                 ordered = TRUE)
#' fit <- torchfit_loglik(fit)
#' fitMeasures(fit, c("logl", "aic", "bic"))
#' }
#' @export
torchfit_loglik <- function(object) {
  if (!methods::is(object, "TorchFit") || !identical(object@info$estimator, "IWAVE")) {
    torchfit_stop("torchfit_loglik() is for IWAVE fits (other fits have their log-likelihood already).")
  }
  py <- engine_fit(object, "torchfit_loglik() cannot compute the log-likelihood")
  res <- engine_call(engine()$log_likelihood, py)
  fm <- res$fit_measures
  object@measures <- stats::setNames(as_num(fm), names(fm))
  object@loglik <- engine_loglik(object@measures, object@info)
  object@report$fit <- as_chr(res$fit)
  object
}

# The engine's factor scores (columns and values) as a numeric matrix.
score_matrix <- function(scores) {
  m <- as_mat(scores$values)
  colnames(m) <- as_chr(scores$columns)
  storage.mode(m) <- "double"
  m
}

#' Parameter estimates and standardized solution, as lavaan's
#'
#' Generics whose default is lavaan's function, so they keep working on
#' lavaan fits. lavaan's own `parameterEstimates()` and
#' `standardizedSolution()` leave out standard errors for classes that extend
#' lavaan's (they take them for Bayesian fits, as blavaan's); the methods for
#' [TorchFit-class] objects call them on the fit as a plain lavaan object, so
#' every argument (`level`, `rsquare`, `standardized`, `ci`, `remove.nonfree`,
#' `output = "text"`, ...) works and the numbers are lavaan's. The same is
#' `lavaan::parameterEstimates(as(fit, "lavaan"))`. For IWAVE and MML fits
#' with categorical (logistic) or count items, `standardizedSolution()` and the
#' standardized columns and R^2 rows of `parameterEstimates()` are the
#' engine's: lavaan's definitions applied to the logistic latent response
#' y* = lambda' eta + e, var(e) = pi^2/3 (a threshold's standardized value is
#' tau / sd(y*)), without standard errors.
#'
#' @param object A fitted model.
#' @param type The standardization, as in [lavaan::standardizedSolution()].
#' @param ... Arguments of [lavaan::parameterEstimates()] or
#'   [lavaan::standardizedSolution()].
#' @return As lavaan's.
#' @name lavaan-tables
#' @aliases parameterEstimates standardizedSolution
#' @export
setGeneric("parameterEstimates", function(object, ...) {
  standardGeneric("parameterEstimates")
})

#' @rdname lavaan-tables
#' @export
setMethod("parameterEstimates", "ANY", function(object, ...) {
  lavaan::parameterEstimates(object, ...)
})

#' @rdname lavaan-tables
#' @export
setMethod("parameterEstimates", "TorchFit", function(object, ...) {
  out <- lavaan::parameterEstimates(as_lavaan(object), ...)
  if (is_ml_family(object) || !has_item_models(object)) return(out)
  # lavaan's standardized columns and R^2 rows of an IRT fit are those of its
  # probit delta model: the engine's (see standardizedSolution) replace them
  for (col in intersect(c("std.lv", "std.all", "std.nox"), names(out))) {
    out[[col]] <- engine_std(object, out, col)
  }
  r2 <- which(out$op == "r2")
  if (length(r2)) out$est[r2] <- engine_rsquare(object, out$lhs[r2], out$group[r2])
  out
})

# The engine's standardized column `col` ("std.lv", "std.all", "std.nox") for
# the rows of lavaan's table `rows`.
engine_std <- function(object, rows, col) {
  pt <- object@ParTable
  if (is.null(pt[[col]])) return(rep(NA_real_, length(rows$lhs)))  # the engine had none
  key <- function(x) paste(x$lhs, x$op, x$rhs, if (is.null(x$group)) 1L else x$group)
  pt[[col]][match(key(rows), key(pt))]
}

# R^2 of variables `lhs` (in groups `group`) from the engine's standardized
# solution: 1 - the std.all of their residual variance (for a categorical item,
# the explained share of its latent response's variance).
engine_rsquare <- function(object, lhs, group = NULL) {
  rows <- list(lhs = lhs, op = rep("~~", length(lhs)), rhs = lhs, group = group)
  1 - engine_std(object, rows, "std.all")
}

#' @rdname lavaan-tables
#' @export
setGeneric("standardizedSolution", function(object, ...) {
  standardGeneric("standardizedSolution")
})

#' @rdname lavaan-tables
#' @export
setMethod("standardizedSolution", "ANY", function(object, ...) {
  lavaan::standardizedSolution(object, ...)
})

#' @rdname lavaan-tables
#' @export
setMethod("standardizedSolution", "TorchFit", function(object, type = "std.all", ...) {
  out <- lavaan::standardizedSolution(as_lavaan(object), type = type, ...)
  if (is_ml_family(object) || !has_item_models(object)) return(out)
  # Categorical IRT items are logistic: lavaan would scale their latent
  # responses to variance 1 (probit). The engine's standardized values use
  # the logistic variance pi^2/3 (a threshold's is tau / sd(y*), a ~*~ row's
  # 1, as lavaan's); they have no delta-method standard errors.
  out$est.std <- engine_std(object, out, if (type %in% c("std.lv", "std.nox")) type else "std.all")
  out[intersect(c("se", "z", "pvalue", "ci.lower", "ci.upper"), names(out))] <- NA_real_
  out
})

# broom's tidy() and glance() for lavaan fits, on the fit as a plain lavaan
# object (registered with broom's generics when broom is loaded).

#' @exportS3Method broom::tidy
tidy.TorchFit <- function(x, ...) {
  utils::getS3method("tidy", "lavaan", envir = asNamespace("broom"))(as_lavaan(x), ...)
}

#' @exportS3Method broom::glance
glance.TorchFit <- function(x, ...) {
  utils::getS3method("glance", "lavaan", envir = asNamespace("broom"))(as_lavaan(x), ...)
}

# lavaan's functions that need its likelihood of the data: on IWAVE fits they
# stop with a message instead of failing inside lavaan.
require_ml_family <- function(object, what) {
  if (!is_ml_family(object)) {
    torchfit_stop(paste0(
      what, " is for ML-family fits (ML, MLM, MLR, FIML): it needs lavaan's likelihood ",
      "of the data, which an IWAVE fit does not have. parameterEstimates(), ",
      "standardizedSolution(), coef(), vcov(), lavTestWald() and predict() work on it."))
  }
}

# A generic masking lavaan's function `name`: lavaan's function for every
# object, after the check for a TorchFit.
ml_only_generic <- function(name) {
  fun <- getExportedValue("lavaan", name)
  generic <- eval(substitute(function(object, ...) standardGeneric(NAME), list(NAME = name)))
  methods::setGeneric(name, generic, where = topenv(parent.frame()))
  methods::setMethod(name, "ANY", function(object, ...) fun(object, ...),
                     where = topenv(parent.frame()))
  methods::setMethod(name, "TorchFit", function(object, ...) {
    require_ml_family(object, paste0(name, "()"))
    fun(object, ...)
  }, where = topenv(parent.frame()))
}

#' lavaan's tests and diagnostics on torchfit fits
#'
#' The same functions as lavaan's (`modindices()`, `modificationIndices()`,
#' `lavTestLRT()`, `lavTestScore()`, `lavResiduals()`), as generics: on ML,
#' MLM, MLR and FIML fits they are lavaan's; on IWAVE and MML fits, which
#' lavaan has no likelihood for, they stop with a message saying so.
#' `lavInspect()` and `inspect()` are lavaan's too; on IWAVE and MML fits
#' `"rsquare"` is the engine's (the explained share of each latent response's
#' variance, a logistic item's residual variance being pi^2/3), the
#' standardized matrices (`"std"`, `"std.all"`, ...), `"vy"`, `"cov.all"`,
#' `"cor.all"` and the residuals stop with a message, and the implied moments
#' (`"implied"`, `"cov.ov"`, `"cor.ov"`, `"th"`, also `fitted()`) are the
#' correlations of the items' latent responses and their thresholds in units
#' of the latent responses' standard deviations, as lavaan's for a
#' categorical model.
#'
#' @param object A fitted model.
#' @param what What `lavInspect()` returns, as in [lavaan::lavInspect()].
#' @param ... Arguments of lavaan's function.
#' @return As lavaan's.
#' @name lavaan-tests
#' @aliases modindices modificationIndices lavTestLRT lavTestScore lavResiduals
#'   lavInspect inspect
#' @export modindices modificationIndices lavTestLRT lavTestScore lavResiduals
NULL
for (name in c("modindices", "modificationIndices", "lavTestLRT", "lavTestScore",
               "lavResiduals")) {
  ml_only_generic(name)
}

#' @rdname lavaan-tests
#' @export
setGeneric("lavInspect", function(object, what = "free", ...) standardGeneric("lavInspect"))

#' @rdname lavaan-tests
#' @export
setMethod("lavInspect", "ANY", function(object, what = "free", ...) {
  lavaan::lavInspect(object, what = what, ...)
})

#' @rdname lavaan-tests
#' @export
setMethod("lavInspect", "TorchFit", function(object, what = "free", ...) {
  inspect_torchfit(object, what, lavaan::lavInspect, ...)
})

#' @rdname lavaan-tests
#' @export
setGeneric("inspect", function(object, what = "free", ...) standardGeneric("inspect"))

#' @rdname lavaan-tests
#' @export
setMethod("inspect", "ANY", function(object, what = "free", ...) {
  lavaan::inspect(object, what = what, ...)
})

#' @rdname lavaan-tests
#' @export
setMethod("inspect", "TorchFit", function(object, what = "free", ...) {
  inspect_torchfit(object, what, lavaan::inspect, ...)
})

# Has an IRT fit items whose model is not lavaan's linear one: logistic
# (categorical) items, or count items (whose residual variance has no
# standardized value in the engine's solution).
has_item_models <- function(object) {
  pt <- object@ParTable
  resid <- pt$op == "~~" & pt$lhs == pt$rhs & pt$lhs %in% lavaan::lavNames(pt, "ov.nox")
  object@Model@categorical || anyNA(pt$std.all[resid])
}

# lavaan's values of an IRT fit that come from its standardization of the
# model matrices (which reads the logistic estimates as a probit delta
# model's) or from sample statistics it has none of: R^2 is the engine's,
# the rest refused by name. The implied moments (implied, cov.ov, cor.ov, th)
# are lavaan's own reading of the fit's latent-response moments.
inspect_torchfit <- function(object, what, fun, ...) {
  w <- tolower(what)
  if (is_ml_family(object) || length(w) != 1L || !has_item_models(object)) {
    return(fun(object, what = what, ...))
  }
  if (w %in% c("rsquare", "r-square", "r2")) {
    out <- fun(object, what = what, ...)
    if (!is.list(out)) return(replace(out, TRUE, engine_rsquare(object, names(out))))
    return(structure(lapply(seq_along(out), function(g) {
      replace(out[[g]], TRUE, engine_rsquare(object, names(out[[g]]), rep(g, length(out[[g]]))))
    }), names = names(out)))
  }
  if (grepl(paste0("^((vcov\\.)?(def\\.)?(joint\\.)?std(\\.(all|lv|nox))?|(vcov\\.)?(def\\.)?(joint\\.)?",
                   "standardized|se\\.std|std\\.se|est\\.std|std\\.est|vy|cov\\.all|",
                   "cor\\.all|res|resid|residual|residuals)$"), w)) {
    torchfit_stop(paste0(
      "lavInspect(fit, \"", what, "\") is not available for an ", object@info$estimator,
      " fit: lavaan would compute it from its probit model of the items (or from sample ",
      "statistics), not the fitted logistic one. Use standardizedSolution(fit) or ",
      "parameterEstimates(fit, standardized = TRUE) for the standardized solution, ",
      "lavInspect(fit, \"rsquare\") for R^2 and lavInspect(fit, \"implied\") for the implied ",
      "moments of the latent responses."), "torchfit_option_error")
  }
  fun(object, what = what, ...)
}

#' @rdname lavaan-tests
#' @export
setMethod("residuals", "TorchFit", function(object, ...) {
  require_ml_family(object, "residuals()")
  methods::callNextMethod()
})

#' @rdname lavaan-tests
#' @export
setMethod("resid", "TorchFit", function(object, ...) {
  require_ml_family(object, "resid()")
  methods::callNextMethod()
})

#' @rdname lavaan-tests
#' @export
setMethod("anova", "TorchFit", function(object, ...) {
  require_ml_family(object, "anova()")
  methods::callNextMethod()
})

#' @rdname lavaan-tests
#' @export
setMethod("fitted", "TorchFit", function(object, ...) {
  # lavaan's method, defined for the class itself: semTools looks it up with
  # getMethod(), which does not follow inheritance
  methods::callNextMethod()
})

#' @rdname lavaan-tests
#' @export
setMethod("nobs", "TorchFit", function(object, ...) object@info$nobs)

#' @rdname lavaan-tests
#' @export
setMethod("logLik", "TorchFit", function(object, ...) {
  if (is_ml_family(object)) return(methods::callNextMethod())
  # the engine's importance-sampled log-likelihood (lavaan warns for any
  # estimator but ML)
  structure(object@loglik$loglik, df = object@loglik$npar, nobs = object@info$nobs,
            class = "logLik")
})
