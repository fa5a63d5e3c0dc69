# Shared set-up for the torchfit tests.

HS_MODEL <- "visual  =~ x1 + x2 + x3
             textual =~ x4 + x5 + x6
             speed   =~ x7 + x8 + x9"

PD_MODEL <- "
  # measurement model
    ind60 =~ x1 + x2 + x3
    dem60 =~ y1 + a*y2 + b*y3 + c*y4
    dem65 =~ y5 + a*y6 + b*y7 + c*y8
  # regressions
    dem60 ~ ind60
    dem65 ~ ind60 + dem60
  # residual correlations
    y1 ~~ y5
    y2 ~~ y4 + y6
    y3 ~~ y7
    y4 ~~ y8
    y6 ~~ y8
"

# Is the Python engine reachable? TRUE or the reason it is not.
engine_status <- local({
  status <- NULL
  function() {
    if (is.null(status)) {
      status <<- tryCatch({
        torchfit:::engine()
        TRUE
      }, error = function(e) conditionMessage(e))
    }
    status
  }
})

# Skip a test that needs the engine when there is none, unless the caller
# asked for it explicitly with TORCHFIT_PYTHON (then a missing engine fails).
skip_if_no_engine <- function() {
  status <- engine_status()
  if (isTRUE(status)) return(invisible(TRUE))
  if (nzchar(Sys.getenv("TORCHFIT_PYTHON"))) {
    stop("TORCHFIT_PYTHON is set but the engine is not usable: ", status)
  }
  testthat::skip(paste("torchfit's Python engine is not available:", torchfit:::first_line(status)))
}

# The error message of `expr`, or NA when it does not fail.
error_message <- function(expr) {
  tryCatch({
    force(expr)
    NA_character_
  }, error = function(e) conditionMessage(e))
}

# An engine error must read as the Python message only.
expect_clean_message <- function(msg) {
  expect_false(is.na(msg))
  expect_false(grepl("py_call_impl|Traceback|reticulate|File \"", msg))
}

# Relative difference with an absolute floor for values near zero.
rel_diff <- function(a, b, floor = 1e-8) {
  d <- abs(a - b)
  ifelse(abs(b) < floor, d, d / abs(b))
}

# Compare a torchfit fit with a lavaan fit of the same model and data, at the
# tolerances of the issue: estimates within 1e-3 of an SE, SEs within 0.1 %,
# fit measures within 0.01 % (absolute 1e-8 near zero).
expect_same_as_lavaan <- function(tf, lf) {
  pl <- lavaan::parameterEstimates(lf, standardized = TRUE)
  pt <- parameterEstimates(tf, standardized = TRUE)
  expect_identical(nrow(pt), nrow(pl))
  expect_identical(paste(pt$lhs, pt$op, pt$rhs), paste(pl$lhs, pl$op, pl$rhs))
  expect_identical(names(pt), names(pl))
  free <- pl$se > 0
  expect_true(all(abs(pt$est - pl$est)[free] <= 1e-3 * pl$se[free]),
              label = "estimates within 1e-3 SE of lavaan")
  # se == 0: fixed, or determined by constraints (to lavaan's precision)
  expect_true(all(abs(pt$est - pl$est)[!free] <= 1e-6, na.rm = TRUE),
              label = "fixed and fully constrained values equal lavaan's")
  expect_true(all(rel_diff(pt$se[free], pl$se[free]) <= 1e-3),
              label = "standard errors within 0.1% of lavaan")
  expect_true(all(pt$se[!free] == 0))
  # standardized values inherit the estimates' tolerance (lavaan's own
  # optimum is only that precise)
  tol <- pmax(1e-4, 1e-3 * pl$se)
  expect_true(all(abs(pt$std.lv - pl$std.lv) <= tol, na.rm = TRUE),
              label = "std.lv agrees with lavaan")
  expect_true(all(abs(pt$std.all - pl$std.all) <= tol, na.rm = TRUE),
              label = "std.all agrees with lavaan")
  expect_identical(is.na(pt$std.all), is.na(pl$std.all))
  expect_true(all(abs(pt$z - pl$z) <= 1e-3 * abs(pl$z) + 1e-3, na.rm = TRUE))

  fm_t <- fitMeasures(tf)
  fm_l <- lavaan::fitMeasures(lf)
  common <- intersect(names(fm_t), names(fm_l))
  expect_true(all(c("chisq", "df", "pvalue", "cfi", "tli", "logl", "aic", "bic",
                    "rmsea", "srmr") %in% common))
  d <- rel_diff(unclass(fm_t)[common], unclass(fm_l)[common])
  expect_true(all(d <= 1e-4),
              label = paste("fit measures within 0.01% of lavaan; worst:",
                            names(which.max(d)), signif(max(d), 3)))

  # lavaan's methods are S4: call them through lavaan's generics
  expect_identical(names(coef(tf)), names(lavaan::coef(lf)))
  expect_true(all(rel_diff(sqrt(diag(vcov(tf))), sqrt(diag(lavaan::vcov(lf)))) <= 1e-3))
  expect_equal(nobs(tf), as.integer(lavaan::nobs(lf)))
  expect_equal(as.numeric(logLik(tf)), as.numeric(lavaan::logLik(lf)), tolerance = 1e-6)
  expect_equal(attr(logLik(tf), "df"), attr(lavaan::logLik(lf), "df"))
  expect_equal(AIC(tf), fm_l[["aic"]], tolerance = 1e-6)
  expect_equal(BIC(tf), fm_l[["bic"]], tolerance = 1e-6)
}
