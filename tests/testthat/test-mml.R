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
  expect_equal(as.numeric(lavInspect(fit, "th")), engine_th, tolerance = 1e-12)
  expect_equal(lavaan:::computeTH(fit@Model)[[1L]], engine_th, tolerance = 1e-12)
  expect_equal(as.numeric(fitted(fit)$res.th), engine_th, tolerance = 1e-12)
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
