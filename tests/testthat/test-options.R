# Every lavaan option is either honoured (equal to lavaan) or refused by name.

test_that("every lavaan option and lavaanify() argument is honoured or refused", {
  policy <- c(torchfit:::.honoured_options, names(torchfit:::.default_only_options),
              names(torchfit:::.refused_options))
  expect_false(any(duplicated(policy)))
  lavaanify_args <- setdiff(names(formals(lavaan::lavaanify)),
                            c("model", "varTable", "as.data.frame.", "nthresholds", "ngroups"))
  for (name in union(names(lavaan::lavOptions()), lavaanify_args)) {
    expect_true(name %in% policy, label = paste0("lavaan option `", name, "` is classified"))
  }
})

test_that("refused options and unsupported values are errors naming them", {
  hs <- HolzingerSwineford1939
  for (name in names(torchfit:::.refused_options)) {
    args <- c(list(HS_MODEL, data = hs), stats::setNames(list(1), name))
    expect_error(do.call(torchfit, args), paste0("`", name, "`"),
                 class = "torchfit_option_error", fixed = TRUE)
  }
  expect_error(torchfit(HS_MODEL, data = hs, likelihood = "wishart"),
               'option `likelihood = "wishart"` is not supported', fixed = TRUE,
               class = "torchfit_option_error")
  expect_error(torchfit(HS_MODEL, data = hs, se = "robust.sem"),
               'with estimator = "ML", which computes se = "standard"', fixed = TRUE,
               class = "torchfit_option_error")
  expect_error(torchfit(HS_MODEL, data = hs, test = "satorra.bentler"),
               "option `test", class = "torchfit_option_error")
  expect_error(torchfit(HS_MODEL, data = hs, control = list(iter.max = 5)),
               "iter.max =", class = "torchfit_option_error")
})

test_that("options at lavaan's defaults, and se/test the estimator computes, are accepted", {
  skip_if_no_engine()
  hs <- HolzingerSwineford1939
  ref <- lavaan::cfa(HS_MODEL, data = hs, estimator = "MLR")
  fit <- torchfit(HS_MODEL, data = hs, estimator = "MLR", se = "robust.huber.white",
                  test = "yuan.bentler.mplus", mimic = "lavaan", likelihood = "normal",
                  check.post = TRUE, verbose = FALSE, do.fit = TRUE, group.label = NULL)
  expect_same_as_lavaan(fit, ref)
  # warn = FALSE: the engine's warnings are kept on the fit, not raised
  expect_silent(quiet <- torchfit(HS_MODEL, data = hs, iter.max = 1, warn = FALSE))
  expect_false(quiet@info$converged)
  expect_true(length(quiet@info$warnings) > 0L)
})
