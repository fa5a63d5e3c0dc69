# Error messages are a product feature: their whole text is held in
# _snaps/error-messages.md, so a change of wording is a reviewed change of
# that file (testthat::snapshot_accept() after an intended change).

test_that("bad calls give the messages of the snapshot", {
  skip_if_no_engine()
  hs <- HolzingerSwineford1939
  expect_snapshot(error = TRUE, torchfit("visual =~ x1 + x2 + x3\ntextual =~ x4 + 2 x5", data = hs))
  expect_snapshot(error = TRUE, torchfit(sub("x9", "x99", HS_MODEL), data = hs))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = as.matrix(hs)))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = transform(hs, x5 = as.character(x5))))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = transform(hs, x2 = replace(x2, 3, NA))))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = transform(hs, x2 = replace(x2, 3, Inf))))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = transform(hs, visual = 1)))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = hs, group = "sex2"))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = hs, cluster = "shool"))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = transform(hs, g = "a"), group = "g"))
  expect_snapshot(error = TRUE, torchfit("f =~ x1 + x2 + school", data = hs, group = "school"))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = hs, estimator = "PML"))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = hs, control = list(iter.max = 5)))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = hs, likelihood = "wishart"))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = hs, se = "robust.sem"))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = hs, no.such.option = 1))
  # the engine's option table, in R's spelling: a misplaced option, a mistyped one
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = hs, iw.samples = 5))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = hs, estimator = "IWAVE",
                                         iw.sample = 5))
  iwave <- torchfit(HS_MODEL, data = hs, estimator = "IWAVE", seed = 1, quiet = TRUE,
                    max.iterations = 200, warn = FALSE)
  expect_snapshot(error = TRUE, modindices(iwave))
  S <- cov(hs[paste0("x", 1:9)])
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, sample.cov = S))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, data = hs, sample.cov = S, sample.nobs = 301))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, sample.cov = S, sample.nobs = 301,
                                         estimator = "MLR"))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, sample.cov = S, sample.nobs = 301,
                                         group = "school"))
  # the engine's checks of the moments, with a Python caller's text
  expect_snapshot(error = TRUE, torchfit(HS_MODEL))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, sample.nobs = 301))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, sample.cov = unname(S), sample.nobs = 301))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, sample.cov = list(a = S, b = S),
                                         sample.nobs = 301))
  expect_snapshot(error = TRUE, torchfit(HS_MODEL, sample.cov = S[1:8, 1:8], sample.nobs = 301))
})
