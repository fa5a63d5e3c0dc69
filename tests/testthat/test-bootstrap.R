# se = "bootstrap" and test = "bootstrap" from R: the engine's batched
# bootstrap fills the lavaan object as lavaan's own bootstrap does, so
# parameterEstimates(boot.ci.type =) and lavInspect(fit, "boot") work.

test_that("se = 'bootstrap' gives lavaan's bootstrap slots", {
  skip_if_no_engine()
  model <- "ind60 =~ x1 + x2 + x3; dem60 =~ y1 + y2 + y3 + y4; dem65 =~ y5 + y6 + y7 + y8
            dem60 ~ a*ind60; dem65 ~ b*dem60 + c*ind60; ab := a*b"
  set.seed(3)
  fit <- torchfit(model, data = lavaan::PoliticalDemocracy, se = "bootstrap", bootstrap = 150)
  boot <- lavaan::lavInspect(fit, "boot")
  expect_equal(dim(boot), c(150L, length(coef(fit))))
  expect_identical(fit@Options$se, "bootstrap")
  pe <- parameterEstimates(fit)
  free <- pe$op != ":=" & pe$se > 0
  # lavaan's bootstrap vcov: the draws' covariance with divisor R
  expect_equal(pe$se[free], sqrt(colMeans(sweep(boot, 2, colMeans(boot))^2)),
               tolerance = 1e-8, ignore_attr = TRUE)
  ab <- boot[, "a"] * boot[, "b"]
  expect_equal(pe$se[pe$op == ":="], sd(ab), tolerance = 1e-8)
  expect_equal(unname(unlist(pe[pe$op == ":=", c("ci.lower", "ci.upper")])),
               unname(quantile(ab, c(0.025, 0.975))), tolerance = 0.05)
  # lavaan warns that 150 draws put some bias-corrected ends at extreme order statistics
  bca <- suppressWarnings(parameterEstimates(fit, boot.ci.type = "bca.simple"))
  expect_false(isTRUE(all.equal(bca$ci.lower, pe$ci.lower)))
  set.seed(3)
  again <- torchfit(model, data = lavaan::PoliticalDemocracy, se = "bootstrap", bootstrap = 150)
  expect_equal(lavaan::lavInspect(again, "boot"), boot)
})

test_that("test = 'bootstrap' gives the Bollen-Stine test", {
  skip_if_no_engine()
  set.seed(4)
  fit <- torchfit(HS_MODEL, data = lavaan::HolzingerSwineford1939, test = "bootstrap",
                  bootstrap = 100)
  bs <- fit@test[["bollen.stine"]]
  expect_equal(bs$boot.length, 100L)
  expect_equal(bs$stat, fitMeasures(fit, "chisq")[[1]], ignore_attr = TRUE)
  expect_true(bs$pvalue >= 0 && bs$pvalue < 0.05)  # HS misfits (lavaan: p = 0.000)
  expect_identical(fit@Options$se, "standard")
})

test_that("the bootstrap needs estimator = 'ML'", {
  skip_if_no_engine()
  expect_error(torchfit(HS_MODEL, data = lavaan::HolzingerSwineford1939, estimator = "MLR",
                        se = "bootstrap"), "not supported with estimator = \"MLR\"")
})
