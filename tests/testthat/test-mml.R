# estimator = "MML" from R: the exact marginal ML of the independent reference
# script (tests/reference/exact_irt.py), and a lavaan object built like IWAVE's.

irt_reference <- function() {
  dir <- file.path("..", "reference", "irt")
  if (!dir.exists(dir)) dir <- test_path("..", "reference", "irt")
  skip_if_not(dir.exists(dir), "the exact-ML reference is in the source tree only")
  dir
}

test_that("MML from R equals exact marginal ML (graded and gpcm, 1 and 2 factors)", {
  skip_if_no_engine()
  dir <- irt_reference()
  meta <- utils::read.csv(file.path(dir, "exact_irt_logl.csv"), row.names = 1)
  for (case in c("graded_1f", "gpcm_2f")) {
    d <- utils::read.csv(file.path(dir, paste0(case, ".csv")))
    ref <- utils::read.csv(file.path(dir, paste0(case, "_exact.csv")))
    loads <- ref[ref$op == "=~", ]
    model <- paste(paste(sort(unique(loads$lhs)), "=~",
                         tapply(loads$rhs, loads$lhs, paste, collapse = " + ")), collapse = "\n")
    args <- list(model, data = d, estimator = "MML", std.lv = TRUE)
    if (meta[case, "item_type"] == "graded") {
      args$ordered <- names(d)
    } else {
      args$item.types <- stats::setNames(as.list(rep("gpcm", ncol(d))), names(d))
    }
    fit <- do.call(torchfit, args)
    expect_true(is(fit, "lavaan"))
    pe <- merge(ref, parameterEstimates(fit), by = c("lhs", "op", "rhs"))
    expect_identical(nrow(pe), nrow(ref))
    expect_lt(max(abs(pe$est.x - pe$est.y)), 1e-4)
    expect_lt(max(abs(pe$se.x - pe$se.y)), 1e-4)
    expect_equal(as.numeric(logLik(fit)), meta[case, "logl"], tolerance = 1e-8)
    expect_equal(fitMeasures(fit, "logl")[[1]], meta[case, "logl"], tolerance = 1e-8)
  }
  out <- paste(utils::capture.output(summary(fit)), collapse = "\n")
  expect_match(out, "MML")
  expect_match(out, "Gauss-Hermite points per factor")
  expect_identical(dim(predict(fit)), c(1000L, 2L))
  expect_error(modindices(fit), "ML-family fits", class = "torchfit_error")
})

test_that("MML from R fits a latent regression on observed covariates exactly", {
  skip_if_no_engine()
  dir <- irt_reference()
  meta <- utils::read.csv(file.path(dir, "exact_irt_logl.csv"), row.names = 1)
  d <- utils::read.csv(file.path(dir, "graded_1f_cov.csv"))
  ref <- utils::read.csv(file.path(dir, "graded_1f_cov_exact.csv"))
  items <- grep("^y", names(d), value = TRUE)
  model <- paste0("f1 =~ ", paste(items, collapse = " + "), "\nf1 ~ x1 + x2")
  # lavaan's object for ordered items with covariates is conditional.x's: built
  # otherwise, computeTH() recycled the thresholds with a warning (issue 17)
  expect_no_warning(
    fit <- torchfit(model, data = d, estimator = "MML", std.lv = TRUE, ordered = items))
  expect_true(is(fit, "lavaan"))
  engine_th <- fit@ParTable$est[fit@ParTable$op == "|"]
  expect_length(engine_th, 18L)
  # the implied thresholds, lavaan's for a categorical model: in units of the sd
  # of the latent response given x (residual factor variance 1, logistic pi^2/3)
  loads <- fit@ParTable$est[fit@ParTable$op == "=~"]
  sd_y <- rep(sqrt(loads^2 + pi^2 / 3), each = 3)
  # lavaan's own (theta parameterization: its delta scales the thresholds)
  expect_equal(lavaan:::computeTH(fit@Model)[[1L]], engine_th / sd_y, tolerance = 1e-12)
  expect_equal(as.numeric(lavInspect(fit, "th")), engine_th / sd_y, tolerance = 1e-12)
  expect_equal(as.numeric(fitted(fit)$res.th), engine_th / sd_y, tolerance = 1e-12)
  x <- as.matrix(d[c("x1", "x2")])
  expect_equal(unname(unclass(fitted(fit)$cov.x)), unname(stats::cov(x) * 999 / 1000))
  expect_equal(unname(unclass(fitted(fit)$mean.x)), unname(colMeans(x)))
  pe <- merge(ref, parameterEstimates(fit), by = c("lhs", "op", "rhs"))
  expect_identical(nrow(pe), nrow(ref))
  expect_setequal(pe$rhs[pe$op == "~"], c("x1", "x2"))
  expect_lt(max(abs(pe$est.x - pe$est.y)), 1e-5)
  expect_lt(max(abs(pe$se.x - pe$se.y)), 1e-4)
  expect_equal(as.numeric(logLik(fit)), meta["graded_1f_cov", "logl"], tolerance = 1e-8)
  expect_identical(dim(predict(fit)), c(1000L, 1L))
  # lavaan's conditional.x = FALSE would model the covariates: refused by name
  expect_error(torchfit(model, data = d, estimator = "MML", std.lv = TRUE, ordered = items,
                        conditional.x = FALSE), "conditional.x = FALSE",
               class = "torchfit_option_error")
})

# lavaan's own standardization of the fit's values: the same model with every
# parameter fixed at the engine's estimate, in lavaan's theta parameterization
# with the logistic residual variance pi^2/3 of each latent response (lavaan's
# std.all of a threshold is tau / sd(y*), whatever the link).
lavaan_at_estimates <- function(fit, data, items) {
  pt <- fit@ParTable
  at <- function(op, rows = pt$op == op) {
    if (!any(rows)) return(character(0))
    paste0(pt$lhs[rows], " ", op, " ", sprintf("%.15f", pt$est[rows]), "*", pt$rhs[rows])
  }
  lv <- unique(pt$lhs[pt$op == "=~"])
  syntax <- c(at("=~"), at("~"), at("|"), at("~~", pt$op == "~~" & pt$lhs %in% lv),
              paste0(items, " ~~ ", sprintf("%.15f", pi^2 / 3), "*", items))
  lf <- lavaan::sem(paste(syntax, collapse = "\n"), data = data, ordered = items,
                    parameterization = "theta", do.fit = FALSE)
  if (lf@Model@conditional.x) {
    # lavaan's categorical sample statistics keep cov.x with N - 1 in the
    # denominator; the fit's fixed covariate moments have N (as for ML)
    cov_x <- unclass(fitted(fit)$cov.x)
    lf@implied$cov.x <- list(unname(cov_x))
    lf@Model@GLIST$cov.x <- unname(cov_x)
    x <- lf@ParTable$op == "~~" & lf@ParTable$lhs %in% colnames(cov_x)
    lf@ParTable$est[x] <- cov_x[cbind(lf@ParTable$lhs[x], lf@ParTable$rhs[x])]
  }
  lf
}

test_that("IRT fits' standardized solution is lavaan's, for the logistic latent response", {
  skip_if_no_engine()
  for (case in c("graded_2f", "graded_2f_cov")) {
    d <- utils::read.csv(file.path(irt_reference(), paste0(case, ".csv")))
    items <- grep("^y", names(d), value = TRUE)
    model <- paste0("f1 =~ ", paste(items[seq_len(length(items) / 2)], collapse = " + "),
                    "\nf2 =~ ", paste(items[-seq_len(length(items) / 2)], collapse = " + "),
                    if (case == "graded_2f_cov") "\nf1 ~ x1 + x2\nf2 ~ x1 + x2")
    fit <- torchfit(model, data = d, estimator = "MML", std.lv = TRUE, ordered = items)
    lf <- lavaan_at_estimates(fit, d, items)
    ours <- standardizedSolution(fit)
    ref <- lavaan::standardizedSolution(lf, se = FALSE, zstat = FALSE, pvalue = FALSE,
                                        ci = FALSE)
    m <- merge(ours, ref, by = c("lhs", "op", "rhs"))
    rows <- m$op %in% c("=~", "~", "|", "~~", "~*~")
    expect_identical(sum(rows), sum(ref$op %in% c("=~", "~", "|", "~~", "~*~")))
    expect_false(anyNA(m$est.std.x[rows]), label = case)
    expect_lt(max(abs(m$est.std.x[rows] - m$est.std.y[rows])), 1e-8)
    expect_true(all(m$est.std.x[m$op == "~*~"] == 1))
    pe <- parameterEstimates(fit, standardized = TRUE, rsquare = TRUE)
    both <- merge(pe, ours, by = c("lhs", "op", "rhs"))
    expect_equal(both$std.all, both$est.std, tolerance = 1e-12)
    expect_false(anyNA(pe$std.all[pe$op == "|"]))
    r2 <- lavaan::lavInspect(lf, "rsquare")
    expect_equal(lavInspect(fit, "rsquare")[names(r2)], r2, tolerance = 1e-8,
                 ignore_attr = TRUE)
    # lavaan's own functions on the object (as semTools calls them, past
    # torchfit's methods) read the logistic model too
    expect_equal(lavaan::lavInspect(fit, "rsquare")[names(r2)], r2, tolerance = 1e-8,
                 ignore_attr = TRUE)
    own <- merge(lavaan::standardizedSolution(as(fit, "lavaan"), se = FALSE, zstat = FALSE,
                                              pvalue = FALSE, ci = FALSE),
                 ref, by = c("lhs", "op", "rhs"))
    own <- own[own$op %in% c("=~", "~", "|", "~~"), ]
    expect_lt(max(abs(own$est.std.x - own$est.std.y)), 1e-8)
    resid <- fit@ParTable$op == "~~" & fit@ParTable$lhs %in% items &
      fit@ParTable$lhs == fit@ParTable$rhs
    expect_equal(fit@ParTable$est[resid], rep(pi^2 / 3, sum(resid)))
    expect_equal(stats::setNames(pe$est[pe$op == "r2"], pe$lhs[pe$op == "r2"])[names(r2)],
                 unclass(r2), tolerance = 1e-8, ignore_attr = TRUE)
    out <- utils::capture.output(summary(fit, standardized = TRUE))
    th <- grep("y1\\|t1", out, value = TRUE)
    expect_match(th, sprintf("%.3f$", m$est.std.y[m$lhs == "y1" & m$op == "|" & m$rhs == "t1"]))
  }
})

test_that("IRT fits' implied moments are those of the logistic latent responses", {
  skip_if_no_engine()
  d <- utils::read.csv(file.path(irt_reference(), "graded_2f_cov.csv"))
  items <- grep("^y", names(d), value = TRUE)
  fit <- torchfit("f1 =~ y1 + y2 + y3\nf2 =~ y4 + y5 + y6\nf1 ~ x1 + x2\nf2 ~ x1 + x2",
                  data = d, estimator = "MML", std.lv = TRUE, ordered = items)
  pt <- fit@ParTable
  # by hand, given the covariates: y* = Lambda eta + e, var(eta | x) = Psi (unit
  # variances), var(e) = pi^2/3; lavaan's fitted() of a categorical model gives
  # the correlations of y* and the thresholds in its sd units (theta parameterization)
  lambda <- matrix(0, 6, 2)
  lambda[cbind(1:6, rep(1:2, each = 3))] <- pt$est[pt$op == "=~"]
  r <- pt$est[pt$op == "~~" & pt$lhs == "f1" & pt$rhs == "f2"]
  sigma <- lambda %*% matrix(c(1, r, r, 1), 2) %*% t(lambda) + diag(pi^2 / 3, 6)
  sd_y <- sqrt(diag(sigma))
  implied <- fitted(fit)
  expect_equal(unname(unclass(implied$res.cov)), stats::cov2cor(sigma), tolerance = 1e-10)
  tau <- pt$est[pt$op == "|"]
  expect_equal(as.numeric(implied$res.th), tau / rep(sd_y, each = 3), tolerance = 1e-10)
  gamma <- matrix(pt$est[pt$op == "~"], 2, byrow = TRUE)
  expect_equal(unname(unclass(implied$res.slopes)), (lambda %*% gamma) / sd_y,
               tolerance = 1e-10)
  expect_equal(lavInspect(fit, "cor.ov"), lavaan::lavInspect(fit, "cov.ov"))
  expect_equal(as.numeric(lavInspect(fit, "th")), as.numeric(implied$res.th))
  # what lavaan would derive from its probit model is refused by name
  for (what in c("std", "std.all", "vy", "cor.all", "resid")) {
    expect_error(lavInspect(fit, what), "standardizedSolution", class = "torchfit_option_error")
  }
  expect_error(residuals(fit), "ML-family fits", class = "torchfit_error")
  expect_identical(lavInspect(fit, "est")$lambda[1, 1], pt$est[1])
})
