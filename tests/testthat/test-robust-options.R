# lavaan's cluster and sampling.weights arguments and MLR with missing = "ml":
# the torchfit fit is a lavaan object whose estimates, standard errors, fit
# measures and options are lavaan's own fit's (lavaan called live).

hs_rows <- function() {
  hs <- HolzingerSwineford1939
  set.seed(7)
  hs$classroom <- sample(sprintf("c%02d", 1:50), nrow(hs), replace = TRUE)
  hs$weight <- runif(nrow(hs), 0.2, 3)
  hs
}

# the two fits beside each other: estimates, SEs, every fit measure, se and test
expect_same_fit <- function(ours, ref, what) {
  a <- parameterEstimates(ours)
  b <- lavaan::parameterEstimates(ref)
  expect_equal(a$est, b$est, tolerance = 1e-4, label = paste(what, "estimates"))
  expect_equal(a$se, b$se, tolerance = 1e-4, label = paste(what, "standard errors"))
  fa <- fitMeasures(ours)
  fb <- lavaan::fitMeasures(ref)
  expect_identical(names(fa), names(fb), label = paste(what, "fit measure names"))
  expect_equal(as.numeric(fa), as.numeric(fb), tolerance = 1e-4,
               label = paste(what, "fit measures"))
  oa <- lavaan::lavInspect(ours, "options")
  ob <- lavaan::lavInspect(ref, "options")
  expect_identical(oa$se, ob$se, label = paste(what, "se"))
  expect_identical(oa$test, ob$test, label = paste(what, "test"))
}

test_that("cluster = gives lavaan's cluster-robust fit, with ML and MLR", {
  skip_if_no_engine()
  hs <- hs_rows()
  ours <- torchfit(HS_MODEL, data = hs, model.type = "cfa", cluster = "classroom")
  ref <- suppressWarnings(lavaan::cfa(HS_MODEL, data = hs, cluster = "classroom"))
  expect_same_fit(ours, ref, "ML, cluster")
  expect_output(print(summary(ours)), "Robust.cluster")
  ours <- torchfit(HS_MODEL, data = hs, model.type = "cfa", cluster = "classroom",
                   estimator = "MLR")
  ref <- lavaan::cfa(HS_MODEL, data = hs, cluster = "classroom", estimator = "MLR")
  expect_same_fit(ours, ref, "MLR, cluster")
  for (v in paste0("x", 1:9)) hs[[v]][runif(nrow(hs)) < 0.1] <- NA
  ours <- torchfit(HS_MODEL, data = hs, model.type = "cfa", cluster = "classroom",
                   missing = "ml")
  ref <- suppressWarnings(lavaan::cfa(HS_MODEL, data = hs, cluster = "classroom",
                                      missing = "ml"))
  expect_same_fit(ours, ref, "ML, cluster, FIML")
})

test_that("sampling.weights = gives lavaan's weighted fit, alone and with clusters", {
  skip_if_no_engine()
  hs <- hs_rows()
  ours <- torchfit(HS_MODEL, data = hs, model.type = "cfa", sampling.weights = "weight")
  ref <- lavaan::cfa(HS_MODEL, data = hs, sampling.weights = "weight")
  expect_same_fit(ours, ref, "weights")
  ours <- torchfit(HS_MODEL, data = hs, model.type = "cfa", sampling.weights = "weight",
                   cluster = "classroom")
  ref <- lavaan::cfa(HS_MODEL, data = hs, sampling.weights = "weight", cluster = "classroom")
  expect_same_fit(ours, ref, "weights and cluster")
})

test_that("MLR with missing = 'ml' gives lavaan's robust FIML fit", {
  skip_if_no_engine()
  hs <- HolzingerSwineford1939
  set.seed(11)
  for (v in paste0("x", 1:9)) hs[[v]][runif(nrow(hs)) < 0.1] <- NA
  ours <- torchfit(HS_MODEL, data = hs, model.type = "cfa", estimator = "MLR", missing = "ml")
  ref <- lavaan::cfa(HS_MODEL, data = hs, estimator = "MLR", missing = "ml")
  expect_same_fit(ours, ref, "MLR, FIML")
})

test_that("a bad cluster or weight column is named", {
  hs <- hs_rows()
  skip_if_no_engine()  # the engine reports a column absent from the data
  expect_error(torchfit(HS_MODEL, data = hs, cluster = "clasroom"),
               "the cluster column 'clasroom' is not in the data (did you mean 'classroom'?)",
               fixed = TRUE, class = "torchfit_dataerror")
  hs$weight[1:2] <- NA
  expect_error(torchfit(HS_MODEL, data = hs, sampling.weights = "weight"),
               'the sampling weight column "weight" is missing in 2 rows')
  expect_error(torchfit(HS_MODEL, data = hs, cluster = c("a", "b")),
               "`cluster` must be the name of one column")
})
