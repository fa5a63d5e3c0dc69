# A torchfit fit is a lavaan object: lavaan's functions and the packages built
# on lavaan objects give, on a torchfit fit, the numbers they give on lavaan's
# own fit of the same model (lavaan called live).

# Numeric columns of two results, compared at a relative tolerance (absolute
# below 1, where relative differences of tiny values mean nothing).
expect_numbers <- function(ours, theirs, tol = 1e-4, what = "") {
  # the numbers of a result: its numeric leaves, in order (labels left out)
  num <- function(x) {
    if (is.list(x)) return(unlist(lapply(unname(x), num)))
    if (is.numeric(x)) as.numeric(x) else numeric(0)
  }
  a <- num(ours)
  b <- num(theirs)
  expect_identical(length(a), length(b), label = paste(what, "length"))
  expect_identical(is.na(a), is.na(b), label = paste(what, "NA pattern"))
  d <- abs(a - b) / pmax(1, abs(b))
  worst <- if (any(!is.na(d))) max(d, na.rm = TRUE) else 0
  expect_true(worst <= tol, label = paste0(what, ": worst relative difference ", signif(worst, 3)))
}

# lavaan's optimizer, by default (nlminb's rel.tol = 1e-10), stops where the
# PoliticalDemocracy estimates are still 8.5e-5 (relative) from the optimum
# (F_ML 2.7e-10 above torchfit's). The reference fits run nlminb further
# (rel.tol = 1e-11; nlminb then reports "false convergence" at the limit of
# double precision, which optim.force.converged accepts), so that the
# comparison measures torchfit, not lavaan's stopping rule.
REF_CONTROL <- list(rel.tol = 1e-11)
# A standardized residual divides by the square root of a variance that is a
# difference of nearly equal terms: PoliticalDemocracy's y1-y2 residual
# (-0.00064, SE 0.0012) moves by 1.4e-3 (relative) between lavaan's default
# stop and its optimum.
STD_RESIDUAL_TOL <- 2e-3
reference_fit <- function(fun, ...) {
  suppressWarnings(do.call(fun, list(..., control = REF_CONTROL, optim.force.converged = TRUE),
                           envir = asNamespace("lavaan")))
}

# The fits of the acceptance list, each beside lavaan's.
fit_pairs <- local({
  pairs <- NULL
  function() {
    if (!is.null(pairs)) return(pairs)
    hs <- HolzingerSwineford1939
    set.seed(11)
    hs_na <- hs
    for (v in paste0("x", 1:9)) hs_na[[v]][runif(nrow(hs_na)) < 0.1] <- NA
    make <- function(fun, model, data, ...) {
      list(ours = torchfit(model, data = data, model.type = fun, ...),
           ref = reference_fit(fun, model, data = data, ...))
    }
    pairs <<- list(
      hs = make("cfa", HS_MODEL, hs),
      configural = make("cfa", HS_MODEL, hs, group = "school"),
      metric = make("cfa", HS_MODEL, hs, group = "school", group.equal = "loadings"),
      poldem = make("sem", PD_MODEL, PoliticalDemocracy),
      mlr = make("cfa", HS_MODEL, hs, estimator = "MLR"),
      fiml = make("cfa", HS_MODEL, hs_na, missing = "ml")
    )
    pairs
  }
})

test_that("a torchfit fit is a lavaan object", {
  skip_if_no_engine()
  fit <- fit_pairs()$hs$ours
  expect_true(is(fit, "lavaan"))
  expect_true(inherits(fit, "lavaan"))
  expect_s4_class(fit, "TorchFit")
  expect_true(lavInspect(fit, "converged"))
})

test_that("tables: parameterEstimates (all arguments), standardizedSolution, parTable, coef", {
  skip_if_no_engine()
  for (name in names(fit_pairs())) {
    p <- fit_pairs()[[name]]
    expect_numbers(parameterEstimates(p$ours), lavaan::parameterEstimates(p$ref),
                   what = paste(name, "parameterEstimates"))
    args <- list(level = 0.9, rsquare = TRUE, standardized = TRUE, remove.nonfree = TRUE)
    expect_numbers(do.call(parameterEstimates, c(list(p$ours), args)),
                   do.call(lavaan::parameterEstimates, c(list(p$ref), args)),
                   what = paste(name, "parameterEstimates(level, rsquare, ...)"))
    expect_numbers(parameterEstimates(p$ours, ci = FALSE), lavaan::parameterEstimates(p$ref, ci = FALSE),
                   what = paste(name, "ci = FALSE"))
    expect_numbers(standardizedSolution(p$ours), lavaan::standardizedSolution(p$ref),
                   what = paste(name, "standardizedSolution"))
    expect_numbers(coef(p$ours, type = "user"), lavaan::coef(p$ref, type = "user"),
                   what = paste(name, "coef(type = 'user')"))
    expect_identical(names(coef(p$ours, type = "user")), names(lavaan::coef(p$ref, type = "user")))
    expect_identical(parTable(p$ours)[c("lhs", "op", "rhs", "free")],
                     parTable(p$ref)[c("lhs", "op", "rhs", "free")])
    # (the engine's start values, which the dry run takes instead of lavaan's)
    expect_numbers(parTable(p$ours)$start, parTable(p$ref)$start, tol = 1e-9,
                   what = paste(name, "start values"))
    expect_identical(lavNames(p$ours, "ov"), lavNames(p$ref, "ov"))
  }
  p <- fit_pairs()$hs
  text <- capture.output(print(parameterEstimates(p$ours, output = "text")))
  expect_true("Latent Variables:" %in% text)
})

test_that("summary(rsquare = TRUE, ci = TRUE) prints lavaan's layout", {
  skip_if_no_engine()
  p <- fit_pairs()$mlr
  drop <- function(x) x[-c(1L, grep("Optimization method", x))]
  ours <- capture.output(summary(p$ours, rsquare = TRUE, ci = TRUE, fit.measures = TRUE,
                                 standardized = TRUE))
  expect_identical(drop(ours),
                   drop(capture.output(summary(p$ref, rsquare = TRUE, ci = TRUE,
                                               fit.measures = TRUE, standardized = TRUE))))
  expect_match(ours[1], "^torchfit [0-9.]+ ended normally after [0-9]+ iterations$")
  expect_true("R-Square:" %in% ours)
})

test_that("modification indices, score, Wald and likelihood-ratio tests", {
  skip_if_no_engine()
  for (name in names(fit_pairs())) {
    p <- fit_pairs()[[name]]
    mi <- modindices(p$ours, sort. = TRUE, minimum.value = 3)
    ref <- lavaan::modindices(p$ref, sort. = TRUE, minimum.value = 3)
    expect_identical(paste(mi$lhs, mi$op, mi$rhs), paste(ref$lhs, ref$op, ref$rhs))
    expect_numbers(mi, ref, tol = 1e-3, what = paste(name, "modindices"))
    add <- if (name == "poldem") "y1 ~~ y3" else "x1 ~~ x9"
    expect_numbers(suppressWarnings(lavTestScore(p$ours, add = add))$test,
                   suppressWarnings(lavTestScore(p$ref, add = add))$test,
                   tol = 1e-3, what = paste(name, "lavTestScore"))
  }
  p <- fit_pairs()$hs
  expect_numbers(lavTestWald(p$ours, ".p2. == .p3."), lavTestWald(p$ref, ".p2. == .p3."),
                 what = "lavTestWald")
  for (name in c("hs", "mlr")) {
    p <- fit_pairs()[[name]]
    estimator <- if (name == "mlr") "MLR" else "ML"
    bigger <- paste(HS_MODEL, "\nx7 ~~ x8")
    ours2 <- torchfit(bigger, data = HolzingerSwineford1939, estimator = estimator)
    ref2 <- reference_fit("cfa", bigger, data = HolzingerSwineford1939, estimator = estimator)
    expect_numbers(lavTestLRT(p$ours, ours2), lavTestLRT(p$ref, ref2),
                   what = paste(name, "lavTestLRT"))
    expect_numbers(anova(p$ours, ours2), anova(p$ref, ref2), what = paste(name, "anova"))
  }
  p <- fit_pairs()
  expect_numbers(lavTestLRT(p$configural$ours, p$metric$ours),
                 lavTestLRT(p$configural$ref, p$metric$ref), what = "invariance LRT")
})

test_that("lavInspect, fitted, residuals, lavResiduals, lavPredict and predict", {
  skip_if_no_engine()
  what <- c("est", "std", "std.lv", "cov.lv", "cor.lv", "rsquare", "implied", "sampstat",
            "vcov", "nobs", "free", "fit", "converged", "npar", "coef", "se", "mean.lv",
            "start")
  for (name in names(fit_pairs())) {
    p <- fit_pairs()[[name]]
    for (w in what) {
      expect_numbers(lavInspect(p$ours, w), lavInspect(p$ref, w),
                     what = paste(name, "lavInspect", w))
    }
    expect_numbers(inspect(p$ours, "cov.lv"), inspect(p$ref, "cov.lv"), what = "inspect")
    expect_numbers(fitted(p$ours), fitted(p$ref), what = paste(name, "fitted"))
    for (type in c("raw", "cor", "standardized")) {
      expect_numbers(residuals(p$ours, type = type), residuals(p$ref, type = type),
                     tol = if (type == "standardized") STD_RESIDUAL_TOL else 1e-4,
                     what = paste(name, "residuals", type))
    }
    expect_numbers(lavResiduals(p$ours), lavResiduals(p$ref), tol = STD_RESIDUAL_TOL,
                   what = paste(name, "lavResiduals"))
    expect_numbers(predict(p$ours), lavaan::predict(p$ref), what = paste(name, "predict"))
    for (method in c("EBM", "Bartlett")) {
      expect_numbers(predict(p$ours, method = method),
                     lavPredict(p$ref, method = method), what = paste(name, "predict", method))
    }
    expect_numbers(lavPredict(p$ours, type = "ov"), lavPredict(p$ref, type = "ov"),
                   what = paste(name, "lavPredict ov"))
  }
})

test_that("a refit reuses lavaan's model slots and builds the object a first fit builds", {
  skip_if_no_engine()
  remembered <- function() length(get(".torchfit", asNamespace("torchfit"))$dry_runs)
  forget <- get("forget_dry_runs", asNamespace("torchfit"))
  # every lavaan slot, except the call and the timing; lavaan's closures
  # (Model@ceq.function) keep the table they were made from, start values
  # included, which they do not read: their environments are not compared
  expect_same_object <- function(a, b, what) {
    for (name in setdiff(methods::slotNames("lavaan"), c("call", "timing"))) {
      same <- all.equal(methods::slot(a, name), methods::slot(b, name), tolerance = 0,
                        check.environment = FALSE)
      expect_true(isTRUE(same), label = paste0(what, ": slot ", name, " ",
                                               paste(utils::head(same, 2L), collapse = "; ")))
    }
  }
  hs <- HolzingerSwineford1939
  set.seed(3)
  weighted <- transform(hs, w = runif(nrow(hs), 0.5, 2))
  cases <- list(
    hs = list(HS_MODEL, list()),
    metric = list(HS_MODEL, list(group = "school", group.equal = "loadings")),
    poldem = list(PD_MODEL, list(), PoliticalDemocracy),
    mlr = list(HS_MODEL, list(estimator = "MLR", std.lv = TRUE)),
    cluster = list(HS_MODEL, list(cluster = "school")),
    weights = list(HS_MODEL, list(sampling.weights = "w"), weighted)
  )
  for (name in names(cases)) {
    case <- cases[[name]]
    data <- if (length(case) > 2L) case[[3L]] else hs
    fit_to <- function(rows) do.call(torchfit, c(list(case[[1L]], data = data[rows, ]), case[[2L]]))
    forget()
    fit_to(-(1:5))
    expect_identical(remembered(), 1L)
    refit <- fit_to(-(6:10))  # the same model, other rows
    expect_identical(remembered(), 1L, label = paste(name, "reused"))
    forget()
    first <- fit_to(-(6:10))
    expect_same_object(refit, first, name)
  }
  # a fixed covariate's variance is the data's: other rows build another model
  forget()
  model <- "visual =~ x1 + x2 + x3\nvisual ~ ageyr"
  torchfit(model, data = hs[-(1:20), ])
  torchfit(model, data = hs[-(21:40), ])
  expect_identical(remembered(), 2L)
  # FIML's start values are lavaan's to compute: nothing is remembered
  forget()
  hs_na <- hs
  hs_na$x1[1:10] <- NA
  torchfit(HS_MODEL, data = hs_na, missing = "ml")
  expect_identical(remembered(), 0L)
})

test_that("update() adds parameters and changes options through torchfit", {
  skip_if_no_engine()
  fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939)
  ref <- reference_fit("cfa", paste(HS_MODEL, "\nx7 ~~ x8"), data = HolzingerSwineford1939)
  ours <- update(fit, add = "x7 ~~ x8")
  expect_s4_class(ours, "TorchFit")
  expect_numbers(fitMeasures(ours, c("chisq", "df")),
                 lavaan::fitMeasures(ref, c("chisq", "df")),
                 what = "update(add)")
  mlr <- update(fit, estimator = "MLR")
  expect_identical(mlr@info$se, "robust.huber.white")
  expect_numbers(parameterEstimates(mlr), lavaan::parameterEstimates(fit_pairs()$mlr$ref),
                 what = "update(estimator)")
})

test_that("semTools, semPlot and broom work on torchfit fits", {
  skip_if_no_engine()
  p <- fit_pairs()$hs
  quiet <- function(x) suppressMessages(suppressWarnings(x))
  expect_numbers(quiet(semTools::compRelSEM(p$ours)), quiet(semTools::compRelSEM(p$ref)),
                 what = "compRelSEM")
  expect_numbers(quiet(semTools::AVE(p$ours)), quiet(semTools::AVE(p$ref)), what = "AVE")
  expect_numbers(quiet(semTools::reliability(p$ours)), quiet(semTools::reliability(p$ref)),
                 what = "reliability")
  # measurement invariance: syntax from semTools, fitted by torchfit
  syntax <- quiet(semTools::measEq.syntax(HS_MODEL, data = HolzingerSwineford1939,
                                          group = "school", group.equal = "loadings"))
  metric <- torchfit(as.character(syntax), data = HolzingerSwineford1939, group = "school")
  expect_numbers(fitMeasures(metric, c("chisq", "df")),
                 lavaan::fitMeasures(fit_pairs()$metric$ref, c("chisq", "df")),
                 what = "measEq.syntax")
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  paths <- semPlot::semPaths(p$ours, "std", DoNotPlot = TRUE)
  ref_paths <- semPlot::semPaths(p$ref, "std", DoNotPlot = TRUE)
  expect_identical(paths$Edgelist[c("from", "to")], ref_paths$Edgelist[c("from", "to")])
  expect_numbers(paths$Edgelist$weight, ref_paths$Edgelist$weight, what = "semPaths")
  expect_numbers(broom::tidy(p$ours), broom::tidy(p$ref), what = "tidy")
  expect_numbers(broom::glance(p$ours), broom::glance(p$ref), what = "glance")
})

test_that("IWAVE fits: table functions work, likelihood functions say they are for ML fits", {
  skip_if_no_engine()
  fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939, estimator = "IWAVE", seed = 1,
                  quiet = TRUE, std.lv = TRUE)
  expect_true(is(fit, "lavaan"))
  pe <- parameterEstimates(fit)
  expect_equal(pe$est, fit@ParTable$est[fit@ParTable$op != "=="])
  expect_true(all(pe$se[pe$op == "=~"] > 0))
  free <- fit@ParTable$free > 0
  expect_equal(as.numeric(coef(fit)), fit@ParTable$est[free][order(fit@ParTable$free[free])])
  expect_identical(dim(vcov(fit)), rep(length(coef(fit)), 2L))
  std <- standardizedSolution(fit)
  expect_true(all(abs(std$est.std[std$op == "=~"]) <= 1))
  expect_equal(lavInspect(fit, "est")$lambda[1, 1], pe$est[1])
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  expect_silent(semPlot::semPaths(fit, "std", DoNotPlot = TRUE))
  expect_equal(as.numeric(logLik(fit)), fit@measures[["logl"]])
  expect_identical(nobs(fit), 301L)
  expect_true(lavTestWald(fit, ".p2. == 0")$stat > 0)  # from the OPG covariance matrix
  scores <- predict(fit)  # the engine's posterior means, on the fitted data
  expect_identical(dim(scores), c(301L, 3L))
  expect_equal(predict(fit, HolzingerSwineford1939[1:3, ]), scores[1:3, ], tolerance = 0.05)
  file <- tempfile(fileext = ".rds")
  saveRDS(fit, file)
  expect_error(predict(readRDS(file)), "Refit the model", class = "torchfit_error")
  expect_identical(parameterEstimates(readRDS(file)), parameterEstimates(fit))
  for (fun in list(function(f) modindices(f), function(f) lavTestLRT(f, f),
                   function(f) lavTestScore(f, add = "x1 ~~ x9"), function(f) residuals(f))) {
    expect_error(fun(fit), "ML-family fits", class = "torchfit_error")
  }
})

test_that("IWAVE graded items: standardized values are the engine's (logistic)", {
  skip_if_no_engine()
  skip_if_not_installed("psych")
  data(bfi, package = "psych")
  d <- stats::na.omit(bfi[1:500, c("A1", "A2", "A3", "A4")])
  for (v in names(d)) d[[v]] <- ordered(d[[v]])
  fit <- torchfit("A =~ A1 + A2 + A3 + A4", data = d, estimator = "IWAVE", std.lv = TRUE,
                  ordered = TRUE, seed = 1, quiet = TRUE)
  std <- standardizedSolution(fit)
  load <- std[std$op == "=~", ]
  lambda <- parameterEstimates(fit)$est[1:4]
  expect_equal(load$est.std, lambda / sqrt(lambda^2 + pi^2 / 3), tolerance = 1e-6)
  expect_true(all(is.na(load$se)))
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  expect_silent(semPlot::semPaths(fit, "std", DoNotPlot = TRUE))
  expect_identical(names(lavInspect(fit, "sampstat")), c("cov", "mean", "th"))
})

test_that("a Heywood case is a warning and a flag, as lavaan's post-check says", {
  skip_if_no_engine()
  # the semopy paper's example (tests/reference/optimizer): lavaan reaches this
  # optimum with a negative observed and latent variance
  corpus <- file.path("..", "reference", "optimizer")
  if (!dir.exists(corpus)) corpus <- test_path("..", "reference", "optimizer")
  skip_if_not(dir.exists(corpus), "the optimizer corpus is in the source tree only")
  cases <- utils::read.csv(file.path(corpus, "cases.csv"), stringsAsFactors = FALSE)
  model <- cases$model[cases$name == "semopy_article"]
  d <- utils::read.csv(file.path(corpus, "data", "semopy_article.csv"))
  warned <- character(0)
  fit <- withCallingHandlers(torchfit(model, data = d), warning = function(w) {
    warned <<- c(warned, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  expect_true(any(grepl("ov variances are negative: x3", warned, fixed = TRUE)))
  expect_true(any(grepl("lv variances are negative: eta1", warned, fixed = TRUE)))
  expect_false(fit@info$admissible)
  ref <- suppressWarnings(lavaan::sem(model, data = d))
  expect_false(suppressWarnings(lavInspect(fit, "post.check")))
  expect_identical(suppressWarnings(lavInspect(fit, "post.check")),
                   suppressWarnings(lavInspect(ref, "post.check")))
})
