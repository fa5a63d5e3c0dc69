# Printing, extractors, and the object outliving Python.

test_that("summary() prints lavaan's layout", {
  skip_if_no_engine()
  fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939)
  res <- summary(fit, fit.measures = TRUE, standardized = TRUE)
  expect_s3_class(res, "lavaan.summary")  # as lavaan's: printed, and its parts readable
  out <- capture.output(print(res))
  expect_match(out[1], "^torchfit 0\\.1\\.0 ended normally after [0-9]+ iterations$")
  for (line in c("  Estimator                                         ML",
                 "  Number of model parameters                        21",
                 "  Number of observations                           301",
                 "Model Test User Model:",
                 "  Test statistic                                85.306",
                 "  Degrees of freedom                                24",
                 "Model Test Baseline Model:",
                 "  Comparative Fit Index (CFI)                    0.931",
                 "  Tucker-Lewis Index (TLI)                       0.896",
                 "  Akaike (AIC)                                7517.490",
                 "  RMSEA                                          0.092",
                 "  P-value H_0: RMSEA <= 0.050                    0.001",
                 "  SRMR                                           0.065",
                 "  Information saturated (h1) model          Structured",
                 "Latent Variables:",
                 "                   Estimate  Std.Err  z-value  P(>|z|)   Std.lv  Std.all",
                 "    x1                1.000                               0.900    0.772",
                 "    x2                0.554    0.100    5.554    0.000    0.498    0.424",
                 "Covariances:",
                 "    textual           0.408    0.074    5.552    0.000    0.459    0.459",
                 "Variances:",
                 "   .x1                0.549    0.114    4.833    0.000    0.549    0.404",
                 "    speed             0.384    0.086    4.451    0.000    1.000    1.000")) {
    expect_true(line %in% out, label = paste0("summary line `", line, "`"))
  }
  # without the options: no fit block, no standardized columns
  out <- capture.output(summary(fit))
  expect_false("Model Test Baseline Model:" %in% out)
  expect_true("                   Estimate  Std.Err  z-value  P(>|z|)" %in% out)
})

test_that("summary() layout equals lavaan's below the first line", {
  skip_if_no_engine()
  fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939)
  ref <- lavaan::cfa(HS_MODEL, data = HolzingerSwineford1939)
  ours <- capture.output(summary(fit, fit.measures = TRUE, standardized = TRUE))
  theirs <- capture.output(summary(ref, fit.measures = TRUE, standardized = TRUE))
  # the header line and the optimizer name differ by design
  drop <- function(x) x[-c(1L, grep("Optimization method", x))]
  expect_identical(drop(ours), drop(theirs))
})

test_that("show() prints the header and the model test", {
  skip_if_no_engine()
  fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939)
  expect_output(show(fit), "torchfit 0.1.0 ended normally", fixed = TRUE)
  expect_output(print(fit), "Test statistic                                85.306", fixed = TRUE)
})

test_that("parameterEstimates() keeps working on lavaan objects", {
  ref <- lavaan::cfa(HS_MODEL, data = HolzingerSwineford1939)
  expect_identical(parameterEstimates(ref), lavaan::parameterEstimates(ref))
})

test_that("parameterEstimates() and fitMeasures() have lavaan's columns and names", {
  skip_if_no_engine()
  fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939)
  pe <- parameterEstimates(fit)
  expect_identical(names(pe), c("lhs", "op", "rhs", "est", "se", "z", "pvalue",
                                "ci.lower", "ci.upper"))
  expect_identical(names(parameterEstimates(fit, standardized = TRUE))[10:11],
                   c("std.lv", "std.all"))
  fm <- fitMeasures(fit)
  expect_s3_class(fm, "lavaan.vector")
  expect_true(all(c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea",
                    "rmsea.ci.lower", "rmsea.ci.upper", "srmr") %in% names(fm)))
  sub <- fitMeasures(fit, c("cfi", "rmsea"))
  expect_identical(names(sub), c("cfi", "rmsea"))
  expect_identical(unclass(fitmeasures(fit, "chisq")), unclass(fm["chisq"]))
  expect_error(fitMeasures(fit, "gfi_typo"), "not available")
})

test_that("equality constraints are reported like lavaan", {
  skip_if_no_engine()
  model <- "visual  =~ x1 + a*x2 + b*x3
            textual =~ x4 + x5 + x6
            visual ~ textual
            a == b"
  fit <- torchfit(model, data = HolzingerSwineford1939)
  ref <- lavaan::sem(model, data = HolzingerSwineford1939)
  expect_same_as_lavaan(fit, ref)
  expect_false(any(parameterEstimates(fit)$op == "=="))
  expect_identical(fit@info$neq, 1L)
  drop <- function(x) x[-c(1L, grep("Optimization method", x))]
  expect_identical(drop(capture.output(summary(fit, standardized = TRUE))),
                   drop(capture.output(summary(ref, standardized = TRUE))))
})

test_that("defined parameters (:=) are reported like lavaan once the engine has them", {
  skip_if_no_engine()
  model <- "visual  =~ x1 + a*x2 + b*x3
            textual =~ x4 + x5 + x6
            visual ~ textual
            ab := a*b"
  fit <- tryCatch(torchfit(model, data = HolzingerSwineford1939),
                  torchfit_error = function(e) skip(conditionMessage(e)))
  ref <- lavaan::sem(model, data = HolzingerSwineford1939)
  expect_same_as_lavaan(fit, ref)
  expect_output(print(summary(fit)), "Defined Parameters:", fixed = TRUE)
})

test_that("saveRDS()/readRDS() keeps summary() and predict() working without the engine", {
  skip_if_no_engine()
  fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939)
  file <- tempfile(fileext = ".rds")
  on.exit(unlink(file))
  saveRDS(fit, file)
  back <- readRDS(file)
  expect_identical(capture.output(summary(back, fit.measures = TRUE)),
                   capture.output(summary(fit, fit.measures = TRUE)))
  expect_identical(coef(back), coef(fit))
  expect_identical(fitMeasures(back), fitMeasures(fit))
  # ML factor scores are lavaan's, from the data the object stores
  expect_identical(predict(back), predict(fit))
  expect_identical(predict(back, newdata = HolzingerSwineford1939[1:5, ]),
                   lavaan::lavPredict(as(fit, "lavaan"), newdata = HolzingerSwineford1939[1:5, ]))
})

test_that("predict() returns factor scores with the latent variable names", {
  skip_if_no_engine()
  fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939)
  fs <- predict(fit, HolzingerSwineford1939)
  expect_true(is.matrix(fs))
  expect_identical(dim(fs), c(301L, 3L))
  expect_identical(colnames(fs), c("visual", "textual", "speed"))
  ref <- lavaan::lavPredict(lavaan::cfa(HS_MODEL, data = HolzingerSwineford1939))
  expect_true(all(diag(stats::cor(fs, ref)) > 0.999))
})

test_that("coef(), vcov(), nobs(), logLik() are consistent", {
  skip_if_no_engine()
  fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939)
  expect_length(coef(fit), 21L)
  expect_identical(dim(vcov(fit)), c(21L, 21L))
  expect_identical(rownames(vcov(fit)), names(coef(fit)))
  expect_identical(nobs(fit), 301L)
  ll <- logLik(fit)
  expect_s3_class(ll, "logLik")
  expect_identical(attr(ll, "nobs"), 301L)
  expect_equal(AIC(fit), -2 * as.numeric(ll) + 2 * 21)
})

test_that("IWAVE fits ordinal items from R and summary() prints its header", {
  skip_if_no_engine()
  skip_if_not_installed("psych")
  data(bfi, package = "psych")
  items <- c("A1", "A2", "A3", "C1", "C2", "C3")
  d <- bfi[1:600, items]
  for (v in items) d[[v]] <- factor(d[[v]], ordered = TRUE)
  expect_warning(  # 300 iterations are too few to converge: said so
    fit <- torchfit("A =~ A1 + A2 + A3\nC =~ C1 + C2 + C3", data = d, estimator = "IWAVE",
                    ordered = TRUE, std.lv = TRUE, seed = 1, quiet = TRUE, se = "none",
                    max.iterations = 300),
    "before the loss stopped improving")
  expect_output(print(summary(fit)), "Importance-weighted samples", fixed = TRUE)
  expect_output(print(summary(fit)), "Thresholds:", fixed = TRUE)
  pe <- parameterEstimates(fit)
  expect_identical(sum(pe$op == "|"), 6L * 5L)
  expect_true(all(c("logl", "aic", "bic") %in% names(fitMeasures(fit))))
  # without IWAVE the items are lavaan's (WLSMV), whose missing values the engine refuses
  expect_error(torchfit("A =~ A1 + A2 + A3", data = d, ordered = "A1"),
               "missing values on the ordered items")
})

test_that("item.types chooses nominal, gpcm and count items from R", {
  skip_if_no_engine()
  skip_if_not_installed("psych")
  data(bfi, package = "psych")
  d <- stats::na.omit(bfi[1:800, c("A1", "A2", "A3", "A4", "education")])
  d$A1 <- factor(d$A1)  # unordered: a nominal item
  expect_warning(  # 200 iterations are too few to converge
    fit <- torchfit("A =~ A1 + A2 + A3 + A4", data = d, estimator = "IWAVE", std.lv = TRUE,
                    item.types = list(A1 = "nominal", A2 = "gpcm", A3 = "poisson"),
                    ordered = "A4", seed = 1, quiet = TRUE, se = "none",
                    max.iterations = 200),
    "before the loss stopped improving")
  pe <- parameterEstimates(fit)
  scores <- pe[pe$op == "|" & startsWith(pe$rhs, "s"), ]
  expect_identical(scores$lhs, rep("A1", 4L))  # 6 categories: s1 .. s4
  expect_identical(scores$rhs, paste0("s", 1:4))
  expect_identical(sum(pe$op == "|" & pe$lhs == "A2"), 5L)
  expect_identical(sum(pe$op == "|" & pe$lhs == "A3"), 0L)
  expect_output(print(summary(fit)), "Category Scores:", fixed = TRUE)
  d$A2 <- factor(d$A2, levels = 0:6)
  expect_error(torchfit("A =~ A1 + A2 + A3 + A4", data = d, estimator = "IWAVE",
                        item.types = list(A1 = "nominal", A2 = "gpcm")),
               'column "A2" has no responses in level\\(s\\) "0".*droplevels')
  d$A2 <- as.integer(as.character(d$A2))
  expect_error(torchfit("A =~ A1 + A2 + A3 + A4", data = d, item.types = list(A1 = "gpcm")),
               "item.types are for estimator 'IWAVE' or 'MML'")
  expect_error(torchfit("A =~ A1 + A2 + A3 + A4", data = d, estimator = "IWAVE",
                        item.types = c("nominal")),
               "`item.types` must name one item type per column")
})

test_that("a large IWAVE fit defers its log-likelihood to torchfit_loglik()", {
  skip_if_no_engine()
  skip_if_not_installed("psych")
  data(bfi, package = "psych")
  items <- c("A1", "A2", "A3", "C1", "C2", "C3")
  d <- stats::na.omit(bfi[, items])  # 2,700 rows x 1,000 draws: more than 2M draws
  model <- "A =~ A1 + A2 + A3\nC =~ C1 + C2 + C3"
  args <- list(model, data = d, estimator = "IWAVE", ordered = TRUE, std.lv = TRUE,
               seed = 1, quiet = TRUE, se = "none", max.iterations = 50, batch.size = 32,
               warn = FALSE)
  expect_message(fit <- do.call(torchfit, args), "log-likelihood .* is not computed yet")
  expect_true(is.na(fitMeasures(fit, "logl")))
  expect_true(is.na(AIC(fit)))
  expect_output(print(summary(fit, fit.measures = TRUE)),
                "Loglikelihood user model \\(H0\\) +NA")
  fit <- torchfit_loglik(fit)
  ll <- fitMeasures(fit, c("logl", "aic", "bic"))
  expect_true(all(is.finite(ll)) && ll[["logl"]] < 0)
  expect_equal(as.numeric(logLik(fit)), ll[["logl"]])
  expect_equal(AIC(fit), ll[["aic"]])
  expect_output(print(summary(fit, fit.measures = TRUE)), sprintf("%.3f", ll[["logl"]]),
                fixed = TRUE)
  # asked for, it is computed at once: the same draws give the same value
  expect_silent(now <- do.call(torchfit, c(args, logl.samples = 1000)))
  expect_equal(fitMeasures(now, "logl")[[1]], ll[["logl"]], tolerance = 1e-8)
  expect_error(torchfit_loglik(torchfit("f =~ x1 + x2 + x3", HolzingerSwineford1939)),
               "torchfit_loglik\\(\\) is for IWAVE fits")
})

test_that("ordered = TRUE makes integer-coded items ordinal under IWAVE, with or without SEs", {
  skip_if_no_engine()
  skip_if_not_installed("psych")
  data(bfi, package = "psych")
  d <- stats::na.omit(bfi[1:500, c("A1", "A2", "A3")])
  # one factor with a marker loading and se = "none": lavaan's model check once read
  # a matrix of NaN standard errors and stopped
  fit <- torchfit("A =~ A1 + A2 + A3", data = d, estimator = "IWAVE", ordered = TRUE,
                  seed = 1, quiet = TRUE, se = "none", max.iterations = 50, warn = FALSE)
  pe <- parameterEstimates(fit)
  expect_identical(sum(pe$op == "|"), 15L)  # 6 categories each, as lavaan's ordered = TRUE
  expect_false("se" %in% names(pe))  # as lavaan with se = "none"
  named <- torchfit("A =~ A1 + A2 + A3", data = d, estimator = "IWAVE",
                    ordered = c("A1", "A2", "A3"), seed = 1, quiet = TRUE, se = "none",
                    max.iterations = 50, warn = FALSE)
  expect_equal(coef(named), coef(fit))
})
