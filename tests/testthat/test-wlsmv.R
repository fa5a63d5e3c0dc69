# Ordered items fitted by the engine's WLS family (WLSMV by default, as
# lavaan): the R fit is a lavaan object whose estimates, standardized
# solution, fit measures, model comparison and modification indices agree
# with lavaan's own fit of the same model and data (compared live).

hs_quartiles <- function() {
  hs <- lavaan::HolzingerSwineford1939
  items <- paste0("x", 1:9)
  for (v in items) {
    cuts <- stats::quantile(hs[[v]], c(0, 0.25, 0.5, 0.75, 1))
    hs[[v]] <- as.integer(cut(hs[[v]], unique(cuts), include.lowest = TRUE))
  }
  hs
}

ITEMS <- paste0("x", 1:9)
SCALED <- c("chisq", "df", "chisq.scaled", "df.scaled", "pvalue.scaled", "cfi.scaled",
            "tli.scaled", "rmsea.scaled", "cfi.robust", "tli.robust", "rmsea.robust", "srmr")

# the largest relative difference (absolute below 1, where values are near 0)
rel_diff <- function(a, b) max(abs(a - b) / pmax(abs(b), 1), na.rm = TRUE)

expect_as_lavaan <- function(fit, ref, tol = 1e-4) {
  pe <- lavaan::parameterEstimates(as(fit, "lavaan"))
  pe_ref <- lavaan::parameterEstimates(ref)
  expect_equal(pe[, c("lhs", "op", "rhs")], pe_ref[, c("lhs", "op", "rhs")])
  expect_lt(rel_diff(pe$est, pe_ref$est), tol)
  expect_lt(rel_diff(pe$se, pe_ref$se), tol)
  ss <- lavaan::standardizedSolution(as(fit, "lavaan"))
  ss_ref <- lavaan::standardizedSolution(ref)
  expect_lt(rel_diff(ss$est.std, ss_ref$est.std), tol)
  expect_lt(rel_diff(ss$se, ss_ref$se), tol)
  fm <- lavaan::fitMeasures(fit, SCALED)
  fm_ref <- lavaan::fitMeasures(ref, SCALED)
  # lavaan has no robust measures of a multiple-group categorical fit (NA)
  expect_identical(is.na(fm), is.na(fm_ref))
  expect_lt(max(abs(fm - fm_ref) / abs(fm_ref), na.rm = TRUE), tol)
}

test_that("ordered = items gives lavaan's WLSMV fit on HS cut at quartiles", {
  skip_if_no_engine()
  hs <- hs_quartiles()
  fit <- suppressWarnings(torchfit(HS_MODEL, hs, ordered = ITEMS))  # an empty cell (x4 x x6)
  ref <- lavaan::cfa(HS_MODEL, hs, ordered = ITEMS)
  expect_s4_class(fit, "lavaan")
  expect_identical(lavaan::lavInspect(fit, "options")$estimator, "DWLS")
  expect_identical(lavaan::lavInspect(fit, "options")$test, "scaled.shifted")
  expect_as_lavaan(fit, ref)
  expect_true(all(is.finite(lavaan::fitMeasures(fit, SCALED))))
  # lavaan's own test at the engine's estimates is lavaan's scaled-shifted statistic
  test <- fit@test[["scaled.shifted"]]
  expect_equal(test$stat, ref@test[["scaled.shifted"]]$stat, tolerance = 1e-6)
  expect_equal(test$shift.parameter, ref@test[["scaled.shifted"]]$shift.parameter,
               tolerance = 1e-6)
  out <- utils::capture.output(summary(fit, fit.measures = TRUE, standardized = TRUE))
  expect_true(any(grepl("Scaled", out)))
  expect_true(any(grepl("Thresholds:", out)))
  mi <- lavaan::modindices(fit, sort. = TRUE)
  mi_ref <- lavaan::modindices(ref, sort. = TRUE)
  expect_equal(mi[1:5, c("lhs", "op", "rhs")], mi_ref[1:5, c("lhs", "op", "rhs")],
               ignore_attr = TRUE)
  expect_lt(rel_diff(mi$mi[1:5], mi_ref$mi[1:5]), 1e-3)
})

test_that("ordered factors in data and ordered = TRUE take the same fit; IWAVE stays", {
  skip_if_no_engine()
  hs <- hs_quartiles()
  hsf <- hs
  for (v in ITEMS) hsf[[v]] <- factor(hsf[[v]], ordered = TRUE)
  ref <- suppressWarnings(torchfit(HS_MODEL, hs, ordered = ITEMS))
  by_factor <- suppressWarnings(torchfit(HS_MODEL, hsf))
  by_true <- suppressWarnings(torchfit(HS_MODEL, hs, ordered = TRUE))
  for (fit in list(by_factor, by_true)) {
    expect_equal(lavaan::coef(fit), lavaan::coef(ref), tolerance = 1e-8)
    expect_equal(lavaan::fitMeasures(fit, "chisq.scaled"),
                 lavaan::fitMeasures(ref, "chisq.scaled"), tolerance = 1e-8)
  }
  wlsm <- suppressWarnings(torchfit(HS_MODEL, hs, ordered = ITEMS, estimator = "WLSM"))
  wlsm_ref <- lavaan::cfa(HS_MODEL, hs, ordered = ITEMS, estimator = "WLSM")
  expect_as_lavaan(wlsm, wlsm_ref)
  ulsmv <- suppressWarnings(torchfit(HS_MODEL, hs, ordered = ITEMS, estimator = "ULSMV"))
  expect_as_lavaan(ulsmv, lavaan::cfa(HS_MODEL, hs, ordered = ITEMS, estimator = "ULSMV"))
  theta <- suppressWarnings(torchfit(HS_MODEL, hs, ordered = ITEMS, parameterization = "theta"))
  expect_as_lavaan(theta, lavaan::cfa(HS_MODEL, hs, ordered = ITEMS, parameterization = "theta"))
})

test_that("lavTestLRT between nested WLSMV fits is lavaan's", {
  skip_if_no_engine()
  hs <- hs_quartiles()
  one <- "g =~ x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9"
  fits <- suppressWarnings(list(torchfit(HS_MODEL, hs, ordered = ITEMS),
                                torchfit(one, hs, ordered = ITEMS)))
  refs <- list(lavaan::cfa(HS_MODEL, hs, ordered = ITEMS), lavaan::cfa(one, hs, ordered = ITEMS))
  lrt <- lavTestLRT(fits[[1]], fits[[2]])
  lrt_ref <- lavaan::lavTestLRT(refs[[1]], refs[[2]])
  expect_equal(lrt[["Df"]], lrt_ref[["Df"]])
  expect_lt(rel_diff(lrt[["Chisq diff"]], lrt_ref[["Chisq diff"]]), 1e-4)
  expect_lt(rel_diff(lrt[["Pr(>Chisq)"]], lrt_ref[["Pr(>Chisq)"]]), 1e-4)
})

test_that("a multiple-group WLSMV fit with equal thresholds and loadings is lavaan's", {
  skip_if_no_engine()
  hs <- hs_quartiles()
  eq <- c("thresholds", "loadings")
  fit <- suppressWarnings(torchfit(HS_MODEL, hs, ordered = ITEMS, group = "school",
                                   group.equal = eq))
  ref <- lavaan::cfa(HS_MODEL, hs, ordered = ITEMS, group = "school", group.equal = eq)
  expect_as_lavaan(fit, ref)
})

test_that("two groups in the theta parameterization are lavaan's", {
  skip_if_no_engine()
  hs <- hs_quartiles()
  eq <- c("thresholds", "loadings")
  fit <- suppressWarnings(torchfit(HS_MODEL, hs, ordered = ITEMS, group = "school",
                                   group.equal = eq, parameterization = "theta"))
  ref <- lavaan::cfa(HS_MODEL, hs, ordered = ITEMS, group = "school", group.equal = eq,
                     parameterization = "theta")
  expect_identical(lavaan::lavInspect(fit, "options")$parameterization, "theta")
  expect_as_lavaan(fit, ref)
})

test_that("ordered and continuous indicators together (polyserial) are lavaan's", {
  skip_if_no_engine()
  hs <- hs_quartiles()
  for (v in ITEMS[7:9]) hs[[v]] <- lavaan::HolzingerSwineford1939[[v]]
  for (param in c("delta", "theta")) {
    fit <- suppressWarnings(torchfit(HS_MODEL, hs, ordered = ITEMS[1:6],
                                     parameterization = param))
    ref <- lavaan::cfa(HS_MODEL, hs, ordered = ITEMS[1:6], parameterization = param)
    expect_as_lavaan(fit, ref)
    # factor scores: lavaan's lavPredict (EBM) on the lavaan object
    expect_lt(max(abs(predict(fit) - lavaan::lavPredict(ref))), 1e-4)
  }
  # two groups: lavaan equates the continuous variables' intercepts with the thresholds
  eq <- c("thresholds", "loadings")
  group <- suppressWarnings(torchfit(HS_MODEL, hs, ordered = ITEMS[1:6], group = "school",
                                     group.equal = eq))
  expect_as_lavaan(group, lavaan::cfa(HS_MODEL, hs, ordered = ITEMS[1:6], group = "school",
                                      group.equal = eq))
  # the continuous variables' intercepts and residual variances are free parameters
  pe <- lavaan::parameterEstimates(fit)
  expect_true(all(pe$se[pe$op == "~1" & pe$lhs %in% ITEMS[7:9]] > 0))
  mi <- lavaan::modindices(fit, sort. = TRUE)
  mi_ref <- lavaan::modindices(ref, sort. = TRUE)
  expect_lt(rel_diff(mi$mi[1:5], mi_ref$mi[1:5]), 1e-3)
})

test_that("bad ordered input is refused by the engine, with its message", {
  skip_if_no_engine()
  hs <- hs_quartiles()
  msg <- error_message(torchfit(HS_MODEL, hs, ordered = ITEMS, estimator = "ML"))
  expect_clean_message(msg)
  expect_match(msg, "treats the items as continuous")
  never <- hs
  never$x1[1:150] <- NA
  never$x2[151:nrow(hs)] <- NA
  msg <- error_message(torchfit(HS_MODEL, never, ordered = ITEMS[-2], missing = "pairwise"))
  expect_clean_message(msg)
  expect_match(msg, "'x1' and 'x2' are observed together in 0 row")
  msg <- error_message(torchfit(HS_MODEL, hs, estimator = "WLSMV"))
  expect_clean_message(msg)
  expect_match(msg, "is for ordered items")
  msg <- error_message(torchfit(HS_MODEL, lavaan::HolzingerSwineford1939,
                                parameterization = "theta"))
  expect_clean_message(msg)
  expect_match(msg, "parameterization are for estimator")
  hs$x1 <- 1L
  msg <- error_message(torchfit(HS_MODEL, hs, ordered = ITEMS))
  expect_clean_message(msg)
  expect_match(msg, "ordered item 'x1'")
})

test_that("missing = 'pairwise' on twelve five-category items is lavaan's", {
  skip_if_no_engine()
  set.seed(12)
  n <- 2000
  f1 <- stats::rnorm(n)
  f2 <- 0.4 * f1 + sqrt(1 - 0.16) * stats::rnorm(n)
  items <- lapply(1:12, function(j) {
    y <- (0.5 + j / 24) * (if (j <= 6) f1 else f2) + stats::rnorm(n)
    y <- as.integer(cut(y, c(-Inf, -1.2, -0.3, 0.5, 1.3, Inf)))
    y[stats::runif(n) < 0.1] <- NA  # 10 % missing completely at random
    y
  })
  d <- stats::setNames(as.data.frame(items), paste0("y", 1:12))
  model <- paste0("f1 =~ ", paste0("y", 1:6, collapse = " + "), "\n",
                  "f2 =~ ", paste0("y", 7:12, collapse = " + "))
  fit <- torchfit(model, d, ordered = names(d), missing = "pairwise")
  ref <- lavaan::cfa(model, d, ordered = names(d), missing = "pairwise")
  expect_identical(lavaan::lavInspect(fit, "options")$missing, "pairwise")
  expect_as_lavaan(fit, ref)
})

test_that("missing = 'pairwise' with ordered and continuous variables is lavaan's", {
  skip_if_no_engine()
  hs <- hs_quartiles()
  for (v in ITEMS[7:9]) hs[[v]] <- lavaan::HolzingerSwineford1939[[v]]
  set.seed(13)
  for (v in ITEMS) hs[[v]][stats::runif(nrow(hs)) < 0.1] <- NA  # on both kinds
  fit <- suppressWarnings(torchfit(HS_MODEL, hs, ordered = ITEMS[1:6], missing = "pairwise"))
  ref <- lavaan::cfa(HS_MODEL, hs, ordered = ITEMS[1:6], missing = "pairwise")
  expect_identical(lavaan::lavInspect(fit, "options")$missing, "pairwise")
  expect_as_lavaan(fit, ref)
  # the thresholds, means, variances and (polychoric, polyserial, Pearson)
  # covariances, each from the rows observing its variables, and their NACOV
  expect_lt(max(abs(lavaan::lavInspect(fit, "wls.obs") - lavaan::lavInspect(ref, "wls.obs"))),
            1e-6)
  gamma <- lavaan::lavInspect(ref, "gamma")
  expect_lt(max(abs(lavaan::lavInspect(fit, "gamma") - gamma)) / max(abs(gamma)), 1e-6)
  # factor scores: each row from its observed values
  expect_lt(max(abs(predict(fit) - lavaan::lavPredict(ref))), 2e-3)
})
