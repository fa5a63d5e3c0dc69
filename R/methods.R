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
#'   ov.names, lv.names, warnings.
#' @slot options The options the model was fitted with.
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

.int_cols <- c("id", "user", "block", "group", "free", "exo", "level")
.chr_cols <- c("lhs", "op", "rhs", "label", "plabel", "efa")

result_partable <- function(res_pt, partable) {
  if (is.data.frame(res_pt)) res_pt <- as.list(res_pt)
  n <- nrow(partable)
  pt <- partable
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

new_torchfit <- function(res, call, model, partable, ov, lv, options,
                         nobs.total) {
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
    # R did the listwise deletion, so R knows the total
    nobs.total = as.integer(nobs.total),
    npar = as.integer(get("npar", length(coef))),
    neq = as.integer(get("neq", 0L)),
    se = as.character(get("se", "standard")),
    information = as.character(get("information", "expected")),
    h1.information = as.character(get("h1_information", "structured")),
    test = as.character(get("test", "standard")),
    version = as.character(get("version", utils::packageVersion("torchfit"))),
    ov.names = ov, lv.names = lv,
    warnings = unique(c(attr(res, "py_warnings"), as_chr(res$warnings),
                        as_chr(info_in$warnings)))
  )
  for (w in info$warnings) warning(w, call. = FALSE)
  methods::new("TorchFit",
    call = call, model = model, partable = pt, fit = fit, coef = coef,
    vcov = V, implied = moments(res$implied), sample = moments(res$sample),
    info = info, options = options, timing = numeric(0),
    pyfit = res$fit
  )
}

# ---------------------------------------------------------------------------
# printing helpers (lavaan 0.6-14's layout)

fmt_num <- function(x, nd = 3L) sprintf(paste0("%", max(8L, nd + 5L), ".", nd, "f"), x)

# rows of "  label ....... value [value]" with fixed widths
print_rows <- function(c1, c2, c3 = NULL, w1 = 43L, w2 = 8L, w3 = 11L) {
  c2 <- as.character(c2)
  # a value wider than its column eats into the label's padding, so the
  # right edges stay aligned (e.g. "FISHER SCORING")
  w <- nchar(c2)
  c1 <- sprintf("%-*s", w1 - pmax(0L, w - w2), c1)
  c2 <- sprintf("%*s", w2, c2)
  line <- paste0("  ", c1, " ", c2)
  if (!is.null(c3)) line <- paste0(line, " ", format(c3, width = w3, justify = "right"))
  cat(line, sep = "\n")
}

fmt_df <- function(df) {
  if (is.na(df)) return("NA")
  if (df %% 1 == 0) format(df) else fmt_num(df)
}

print_header <- function(object) {
  info <- object@info
  it <- info$iterations
  iters <- if (!is.na(it) && it == 1L) "1 iteration" else paste(it, "iterations")
  if (info$converged) {
    cat("torchfit ", info$version, " ended normally after ", iters, "\n", sep = "")
  } else {
    cat("torchfit ", info$version, " did NOT converge after ", iters, "\n",
        "** WARNING ** Estimates below are most likely unreliable\n", sep = "")
  }
  cat("\n")
  c1 <- c("Estimator", "Optimization method", "Number of model parameters")
  c2 <- c(toupper(info$estimator), toupper(info$optimizer), info$npar)
  if (info$neq > 0L) {
    c1 <- c(c1, "Number of equality constraints")
    c2 <- c(c2, info$neq)
  }
  print_rows(c1, c2, w1 = 40L, w2 = 11L)
  cat("\n")
  if (!is.na(info$nobs.total) && info$nobs.total != info$nobs) {
    print_rows(c("", "Number of observations"), c("Used", info$nobs),
               c("Total", info$nobs.total))
  } else {
    print_rows("Number of observations", info$nobs)
  }
  fm <- object@fit
  if ("chisq" %in% names(fm)) {
    cat("\nModel Test User Model:\n")
    df <- fm[["df"]]
    c1 <- c("", "Test statistic", "Degrees of freedom")
    c2 <- c("", fmt_num(fm[["chisq"]]), fmt_df(df))
    if (!is.na(df) && df > 0) {
      c1 <- c(c1, "P-value (Chi-square)")
      c2 <- c(c2, fmt_num(fm[["pvalue"]]))
    }
    print_rows(c1, c2)
  }
}

print_fit_measures <- function(x) {
  has <- function(n) n %in% names(x) && !is.na(x[[n]])
  v <- function(n) fmt_num(x[[n]])
  if (has("baseline.chisq")) {
    cat("\nModel Test Baseline Model:\n\n")
    print_rows(c("Test statistic", "Degrees of freedom", "P-value"),
               c(v("baseline.chisq"), fmt_df(x[["baseline.df"]]),
                 v("baseline.pvalue")), w1 = 35L, w2 = 16L)
  }
  if (has("cfi") || has("tli")) {
    cat("\nUser Model versus Baseline Model:\n\n")
    c1 <- c2 <- character(0)
    if (has("cfi")) { c1 <- c(c1, "Comparative Fit Index (CFI)"); c2 <- c(c2, v("cfi")) }
    if (has("tli")) { c1 <- c(c1, "Tucker-Lewis Index (TLI)"); c2 <- c(c2, v("tli")) }
    print_rows(c1, c2)
  }
  if (has("logl")) {
    cat("\nLoglikelihood and Information Criteria:\n\n")
    c1 <- "Loglikelihood user model (H0)"
    c2 <- v("logl")
    if (has("unrestricted.logl")) {
      c1 <- c(c1, "Loglikelihood unrestricted model (H1)")
      c2 <- c(c2, v("unrestricted.logl"))
    }
    c1 <- c(c1, "", "Akaike (AIC)", "Bayesian (BIC)")
    c2 <- c(c2, "", v("aic"), v("bic"))
    if (has("bic2")) {
      c1 <- c(c1, "Sample-size adjusted Bayesian (SABIC)")
      c2 <- c(c2, v("bic2"))
    }
    print_rows(c1, c2, w1 = 39L, w2 = 12L)
  }
  if (has("rmsea")) {
    cat("\nRoot Mean Square Error of Approximation:\n\n")
    c1 <- "RMSEA"
    c2 <- v("rmsea")
    level <- if (has("rmsea.ci.level")) x[["rmsea.ci.level"]] else 0.9
    if (has("rmsea.ci.lower")) {
      pct <- sprintf("%2d", round(level * 100))
      c1 <- c(c1, paste(pct, "Percent confidence interval - lower"),
              paste(pct, "Percent confidence interval - upper"))
      c2 <- c(c2, v("rmsea.ci.lower"), v("rmsea.ci.upper"))
    }
    if ("rmsea.pvalue" %in% names(x)) {
      h0 <- if (has("rmsea.close.h0")) x[["rmsea.close.h0"]] else 0.05
      c1 <- c(c1, paste0("P-value H_0: RMSEA <= ", sprintf("%4.3f", h0)))
      c2 <- c(c2, v("rmsea.pvalue"))
    }
    if ("rmsea.notclose.pvalue" %in% names(x)) {
      h0 <- if (has("rmsea.notclose.h0")) x[["rmsea.notclose.h0"]] else 0.08
      c1 <- c(c1, paste0("P-value H_0: RMSEA >= ", sprintf("%4.3f", h0)))
      c2 <- c(c2, v("rmsea.notclose.pvalue"))
    }
    print_rows(c1, c2)
  }
  if (has("srmr")) {
    cat("\nStandardized Root Mean Square Residual:\n\n")
    print_rows("SRMR", v("srmr"))
  }
}

cap <- function(s) paste0(toupper(substring(s, 1, 1)), substring(s, 2))

# lavaan's name column: 3-character prefix, 14-character name (+ "(label)")
name_cells <- function(names, labels, prefix = rep("", length(names))) {
  W <- 14L
  if (any(nzchar(labels))) {
    labels <- abbreviate(labels, 4)
    labels[nzchar(labels)] <- paste0(" (", labels[nzchar(labels)], ")")
    wl <- max(nchar(labels))
    names <- abbreviate(names, minlength = W - wl, strict = TRUE)
    names <- sprintf(paste0("%-", W - wl, "s%", wl, "s"), names, labels)
  } else {
    names <- abbreviate(names, minlength = W, strict = TRUE)
  }
  sprintf(paste0("%3s%-", W, "s"), prefix, names)
}

print_estimates <- function(pt, info, standardized = FALSE) {
  cat("\nParameter Estimates:\n\n")
  print_rows(c("Standard errors", "Information",
               "Information saturated (h1) model"),
             c(cap(info$se), cap(info$information), cap(info$h1.information)),
             w1 = 38L, w2 = 13L)
  cols <- c("est", "se", "z", "pvalue")
  heads <- c("Estimate", "Std.Err", "z-value", "P(>|z|)")
  if (standardized && all(c("std.lv", "std.all") %in% names(pt))) {
    cols <- c(cols, "std.lv", "std.all")
    heads <- c(heads, "Std.lv", "Std.all")
  }
  cells <- vapply(cols, function(cl) {
    x <- pt[[cl]]
    if (is.null(x)) rep(fmt_num(NA_real_), nrow(pt)) else fmt_num(x)
  }, character(nrow(pt)))
  cells <- matrix(cells, nrow = nrow(pt))
  se0 <- !is.na(pt$se) & pt$se == 0
  cells[se0, 2:4] <- ""
  cells[is.na(pt$se), 3:4] <- ""
  label <- if (is.null(pt$label)) rep("", nrow(pt)) else pt$label
  exo <- if (is.null(pt$exo)) rep(0L, nrow(pt)) else pt$exo
  ov <- lavaan::lavNames(pt, "ov")
  y_names <- unique(c(lavaan::lavNames(pt, "eqs.y"), lavaan::lavNames(pt, "ov.ind"),
                      lavaan::lavNames(pt, "lv.ind")))
  dot <- function(v) ifelse(v %in% y_names, "  .", "")

  # like format.data.frame: a column is as wide as its widest cell
  widths <- pmax(8L, apply(nchar(cells), 2L, max))
  emit <- function(title, first, rest, header = heads, w = widths) {
    width <- max(nchar(c(first, "")))
    cat("\n", title, ":\n", sep = "")
    cat(" ", formatC("", width = -width), " ",
        paste(sprintf("%*s", w, header), collapse = " "), "\n", sep = "")
    for (i in seq_along(first)) {
      cat(" ", formatC(first[i], width = -width), " ",
          paste(sprintf("%*s", w, rest[i, ]), collapse = " "), "\n", sep = "")
    }
  }
  # two-level sections: "lhs op" line, then one line per rhs
  grouped <- function(title, idx, lhs_prefix, rhs_prefix) {
    if (!length(idx)) return(invisible())
    lhs <- paste(pt$lhs[idx], pt$op[idx])
    first <- character(0)
    rest <- matrix("", 0L, ncol(cells))
    prev <- ""
    rhs_cells <- name_cells(pt$rhs[idx], label[idx], rhs_prefix)
    for (k in seq_along(idx)) {
      if (lhs[k] != prev) {
        first <- c(first, sprintf("%1s%-15s", lhs_prefix[k], lhs[k]))
        rest <- rbind(rest, rep("", ncol(cells)))
      }
      prev <- lhs[k]
      first <- c(first, rhs_cells[k])
      rest <- rbind(rest, cells[idx[k], ])
    }
    emit(title, first, rest)
  }
  flat <- function(title, idx, names, prefix) {
    if (!length(idx)) return(invisible())
    emit(title, name_cells(names, label[idx], prefix), cells[idx, , drop = FALSE])
  }

  i <- which(pt$op == "=~" & !pt$lhs %in% ov)
  grouped("Latent Variables", i, rep("", length(i)), rep("", length(i)))
  i <- which(pt$op == "~")
  grouped("Regressions", i, rep("", length(i)), rep("", length(i)))
  i <- which(pt$op == "~~" & pt$lhs != pt$rhs & !exo)
  grouped("Covariances", i, ifelse(pt$lhs[i] %in% y_names, ".", ""), dot(pt$rhs[i]))
  i <- which(pt$op == "~1" & !exo)
  flat("Intercepts", i, pt$lhs[i], dot(pt$lhs[i]))
  i <- which(pt$op == "~~" & pt$lhs == pt$rhs & !exo)
  flat("Variances", i, pt$rhs[i], dot(pt$rhs[i]))
  i <- which(pt$op == ":=")
  if (length(i)) {
    emit("Defined Parameters", name_cells(pt$lhs[i], rep("", length(i))),
         cells[i, , drop = FALSE])
  }
  # constraints written by the user (lavaan hides the ones its labels imply)
  user <- if (is.null(pt$user)) rep(1L, nrow(pt)) else pt$user
  i <- which(pt$op %in% c("==", "<", ">") & user != 2L)
  if (length(i)) {
    con <- ifelse(pt$op[i] %in% c(">", "=="),
                  ifelse(pt$rhs[i] == "0", paste0(pt$lhs[i], " - 0"),
                         paste0(pt$lhs[i], " - (", pt$rhs[i], ")")),
                  ifelse(pt$rhs[i] == "0", paste0(pt$rhs[i], " - (", pt$lhs[i], ")"),
                         paste0(pt$rhs[i], " - (", pt$lhs[i], ")")))
    con <- sprintf("   %-41s", abbreviate(con, 41, strict = TRUE))
    emit("Constraints", con, matrix(fmt_num(abs(pt$est[i])), ncol = 1L),
         header = "|Slack|", w = 8L)
  }
  cat("\n")
}

# ---------------------------------------------------------------------------
# methods

#' @describeIn TorchFit-class Short lavaan-like description: header, number
#'   of observations and the model test.
#' @param object A [TorchFit-class] object.
#' @export
setMethod("show", "TorchFit", function(object) {
  print_header(object)
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
  print_header(object)
  if (isTRUE(fit.measures)) print_fit_measures(object@fit)
  print_estimates(object@partable, object@info, standardized = isTRUE(standardized))
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
#' @return A numeric matrix with one column per latent variable.
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
  prep <- prepare_data(newdata, object@info$ov.names, missing = "default")
  scores <- engine_call(py$predict, as.data.frame(prep$data))
  if (is.data.frame(scores)) {
    m <- as.matrix(scores)
  } else if (is.list(scores) && !is.null(scores$values)) {
    m <- as_mat(scores$values)
    colnames(m) <- as_chr(scores$columns)
  } else {
    m <- as_mat(scores)
    if (ncol(m) == length(object@info$lv.names)) colnames(m) <- object@info$lv.names
  }
  rownames(m) <- NULL
  storage.mode(m) <- "double"
  m
}
