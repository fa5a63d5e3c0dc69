# torchfit's ML fit must reproduce lavaan's, with lavaan called live.

test_that("HS 3-factor CFA agrees with lavaan::cfa()", {
  skip_if_no_engine()
  fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939)
  ref <- lavaan::cfa(HS_MODEL, data = HolzingerSwineford1939)
  expect_s4_class(fit, "TorchFit")
  expect_true(fit@info$converged)
  expect_same_as_lavaan(fit, ref)
})

test_that("HS 3-factor CFA with std.lv = TRUE agrees with lavaan", {
  skip_if_no_engine()
  fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939, std.lv = TRUE)
  ref <- lavaan::cfa(HS_MODEL, data = HolzingerSwineford1939, std.lv = TRUE)
  expect_same_as_lavaan(fit, ref)
  pe <- parameterEstimates(fit)
  lv_var <- pe$op == "~~" & pe$lhs == pe$rhs & pe$lhs %in% c("visual", "textual", "speed")
  expect_equal(pe$est[lv_var], c(1, 1, 1))
})

test_that("model.type = 'cfa' and orthogonal = TRUE are passed to lavaanify", {
  skip_if_no_engine()
  fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939, model.type = "cfa",
                  orthogonal = TRUE)
  ref <- lavaan::cfa(HS_MODEL, data = HolzingerSwineford1939, orthogonal = TRUE)
  expect_same_as_lavaan(fit, ref)
})

test_that("PoliticalDemocracy SEM with labels and residual covariances agrees with lavaan::sem()", {
  skip_if_no_engine()
  fit <- torchfit(PD_MODEL, data = PoliticalDemocracy)
  ref <- lavaan::sem(PD_MODEL, data = PoliticalDemocracy)
  expect_same_as_lavaan(fit, ref)
  expect_identical(fit@info$neq, 3L)
  expect_output(print(summary(fit)), "Number of equality constraints                     3",
                fixed = TRUE)
  expect_output(print(summary(fit)), "    y2         (a)", fixed = TRUE)
  expect_output(print(summary(fit)), " .y1 ~~", fixed = TRUE)
})

test_that("the parameter table handed to the engine is lavaan's", {
  pt <- torchfit:::build_partable(HS_MODEL, "sem", torchfit:::.lavaanify_defaults)
  ref <- lavaan::parTable(lavaan::cfa(HS_MODEL, data = HolzingerSwineford1939,
                                      do.fit = FALSE))
  cols <- c("lhs", "op", "rhs", "user", "free", "exo", "label")
  expect_identical(as.list(pt)[cols], as.list(ref)[cols])
  opts <- torchfit:::lavaan_options(list(std.lv = TRUE))
  pt <- torchfit:::build_partable(HS_MODEL, "sem", opts)
  ref <- lavaan::parTable(lavaan::cfa(HS_MODEL, data = HolzingerSwineford1939,
                                      std.lv = TRUE, do.fit = FALSE))
  expect_identical(as.list(pt)[cols], as.list(ref)[cols])
})

test_that("mean structures and growth models agree with lavaan", {
  skip_if_no_engine()
  model <- "i =~ 1*t1 + 1*t2 + 1*t3 + 1*t4
            s =~ 0*t1 + 1*t2 + 2*t3 + 3*t4
            i ~ x1 + x2
            s ~ x1 + x2"
  ours <- torchfit(model, data = Demo.growth, model.type = "growth")
  ref <- lavaan::growth(model, data = Demo.growth)
  expect_same_as_lavaan(ours, ref)
  hs <- "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; x1 ~ 1; visual ~ 0*1"
  expect_same_as_lavaan(torchfit(hs, data = HolzingerSwineford1939),
               lavaan::cfa(hs, data = HolzingerSwineford1939))
})

test_that("multiple groups with equality constraints agree with lavaan", {
  skip_if_no_engine()
  model <- "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
  for (equal in list("", "loadings", c("loadings", "intercepts"))) {
    ours <- torchfit(model, data = HolzingerSwineford1939, group = "school",
                     group.equal = equal)
    ref <- lavaan::cfa(model, data = HolzingerSwineford1939, group = "school",
                       group.equal = equal)
    expect_same_as_lavaan(ours, ref)
  }
  expect_output(print(summary(ours)), "Group 2 [Grant-White]:", fixed = TRUE)
  scores <- predict(ours, HolzingerSwineford1939)
  expect_identical(names(scores), c("Pasteur", "Grant-White"))
  expect_identical(dim(scores[["Pasteur"]]), c(156L, 3L))
  expect_error(torchfit(model, data = HolzingerSwineford1939, group = "sex2"),
               "the grouping column 'sex2' is not in the data (did you mean 'sex'",
               fixed = TRUE, class = "torchfit_dataerror")
})

test_that("group.partial written with spaces frees the same parameters as lavaan", {
  skip_if_no_engine()
  model <- "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
  partial <- c("x3 ~ 1", "x7 ~ 1")
  ours <- torchfit(model, data = HolzingerSwineford1939, group = "school",
                   group.equal = c("loadings", "intercepts"), group.partial = partial)
  ref <- lavaan::cfa(model, data = HolzingerSwineford1939, group = "school",
                     group.equal = c("loadings", "intercepts"), group.partial = partial)
  expect_equal(fitMeasures(ours, "npar"), lavaan::fitMeasures(ref, "npar"))
  expect_same_as_lavaan(ours, ref)
})

test_that("robust estimators MLM and MLR agree with lavaan", {
  skip_if_no_engine()
  model <- "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
  for (estimator in c("MLM", "MLR")) {
    ours <- torchfit(model, data = HolzingerSwineford1939, estimator = estimator)
    ref <- lavaan::cfa(model, data = HolzingerSwineford1939, estimator = estimator)
    expect_same_as_lavaan(ours, ref)
    expect_output(print(summary(ours, fit.measures = TRUE)), "Robust Comparative Fit Index (CFI)",
                  fixed = TRUE)
  }
})

test_that("MLM and MLR with means, groups (measurement invariance) and fixed covariates agree with lavaan", {
  skip_if_no_engine()
  model <- "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
  hs <- HolzingerSwineford1939
  for (estimator in c("MLM", "MLR")) {
    ours <- torchfit(model, data = hs, estimator = estimator, meanstructure = TRUE)
    ref <- lavaan::cfa(model, data = hs, estimator = estimator, meanstructure = TRUE)
    expect_same_as_lavaan(ours, ref)
    ours <- torchfit(model, data = hs, estimator = estimator, group = "school",
                     group.equal = c("loadings", "intercepts"))
    ref <- lavaan::cfa(model, data = hs, estimator = estimator, group = "school",
                       group.equal = c("loadings", "intercepts"))
    expect_same_as_lavaan(ours, ref)
    expect_output(print(summary(ours)), "Test statistic for each group:", fixed = TRUE)
    mimic <- "visual =~ x1 + x2 + x3; visual ~ ageyr + grade"  # fixed covariates
    ours <- torchfit(mimic, data = hs, estimator = estimator, missing = "listwise")
    ref <- lavaan::sem(mimic, data = hs, estimator = estimator, missing = "listwise")
    expect_same_as_lavaan(ours, ref)
  }
})

test_that("full-information ML with missing values agrees with lavaan", {
  skip_if_no_engine()
  set.seed(11)
  d <- HolzingerSwineford1939
  for (v in paste0("x", 1:9)) d[[v]][runif(nrow(d)) < 0.1] <- NA
  model <- "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
  ours <- torchfit(model, data = d, missing = "ml")
  ref <- lavaan::cfa(model, data = d, missing = "ml")
  expect_same_as_lavaan(ours, ref)
  expect_output(print(summary(ours)), "Number of missing patterns", fixed = TRUE)
})

test_that("general equality and inequality constraints agree with lavaan", {
  skip_if_no_engine()
  set.seed(1234)
  d <- data.frame(y = rnorm(100), x1 = rnorm(100), x2 = rnorm(100), x3 = rnorm(100))
  model <- "y ~ b1*x1 + b2*x2 + b3*x3
            b1 == (b2 + b3)^2
            b1 > exp(b2 + b3)"
  ours <- torchfit(model, data = d)
  ref <- lavaan::sem(model, data = d)
  expect_same_as_lavaan(ours, ref)
  expect_output(print(summary(ours)), "Number of inequality constraints", fixed = TRUE)
  expect_output(print(summary(ours)), "Constraints:", fixed = TRUE)
})

test_that("least squares on continuous data (ULS, GLS, WLS, DWLS) equal lavaan's", {
  skip_if_no_engine()
  for (est in c("ULS", "GLS", "WLS", "DWLS")) {
    ref <- lavaan::cfa(HS_MODEL, data = HolzingerSwineford1939, estimator = est,
                       group = "school")
    fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939, estimator = est, group = "school")
    expect_equal(coef(fit), coef(ref), tolerance = 1e-4)
    expect_equal(sqrt(diag(vcov(fit))), sqrt(diag(vcov(ref))), tolerance = 1e-4)
    fm <- fitMeasures(ref)
    expect_equal(fitMeasures(fit)[names(fm)], fm, tolerance = 1e-4, ignore_attr = TRUE)
    expect_equal(modindices(fit)$mi, modindices(ref)$mi, tolerance = 1e-3)
  }
})
