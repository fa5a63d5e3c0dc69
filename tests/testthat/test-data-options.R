# lavaan's data options from R: fits from sample moments (sample.cov,
# sample.mean, sample.nobs), std.ov = TRUE and missing = "ml.x" (and "ml" with
# fixed covariates missing) give lavaan objects with lavaan's numbers (lavaan
# called live).

compare_with_lavaan <- function(ours, ref, what) {
  a <- parameterEstimates(ours)
  b <- lavaan::parameterEstimates(ref)
  expect_identical(paste(a$lhs, a$op, a$rhs), paste(b$lhs, b$op, b$rhs), label = what)
  expect_equal(a$est, b$est, tolerance = 1e-4, label = paste(what, "est"))
  expect_equal(a$se, b$se, tolerance = 1e-3, label = paste(what, "se"))
  keys <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "logl", "bic")
  expect_equal(unname(fitMeasures(ours, keys)), unname(lavaan::fitMeasures(ref, keys)),
               tolerance = 1e-4, label = paste(what, "fitMeasures"))
}

hs_moments <- function() {
  hs <- HolzingerSwineford1939
  xs <- paste0("x", 1:9)
  by_school <- split(hs[xs], hs$school)
  list(cov = cov(hs[xs]), mean = colMeans(hs[xs]),
       covs = lapply(by_school, cov), means = lapply(by_school, colMeans),
       nobs = lapply(by_school, nrow))
}

test_that("a fit from sample.cov (one group, with means, several groups) is lavaan's", {
  skip_if_no_engine()
  m <- hs_moments()
  ours <- torchfit(HS_MODEL, sample.cov = m$cov, sample.nobs = 301)
  expect_true(inherits(ours, "lavaan"))
  compare_with_lavaan(ours, lavaan::cfa(HS_MODEL, sample.cov = m$cov, sample.nobs = 301),
                      "sample.cov")
  compare_with_lavaan(
    torchfit(HS_MODEL, sample.cov = m$cov, sample.mean = m$mean, sample.nobs = 301),
    lavaan::cfa(HS_MODEL, sample.cov = m$cov, sample.mean = m$mean, sample.nobs = 301),
    "sample.mean")
  ours <- torchfit(HS_MODEL, sample.cov = m$covs, sample.mean = m$means, sample.nobs = m$nobs,
                   group.equal = "loadings")
  ref <- lavaan::cfa(HS_MODEL, sample.cov = m$covs, sample.mean = m$means,
                     sample.nobs = m$nobs, group.equal = "loadings")
  compare_with_lavaan(ours, ref, "sample.cov by group")
  expect_identical(lavInspect(ours, "group.label"), lavInspect(ref, "group.label"))
})

test_that("std.ov = TRUE and missing = 'ml.x' are lavaan's", {
  skip_if_no_engine()
  hs <- HolzingerSwineford1939
  compare_with_lavaan(torchfit(HS_MODEL, hs, std.ov = TRUE),
                      lavaan::cfa(HS_MODEL, hs, std.ov = TRUE), "std.ov")
  set.seed(3)
  for (v in c("x1", "x5", "ageyr")) hs[[v]][runif(nrow(hs)) < 0.1] <- NA
  mimic <- paste(HS_MODEL, "visual ~ ageyr + grade", sep = "\n")
  for (missing in c("ml.x", "ml")) {
    ours <- suppressWarnings(torchfit(mimic, hs, missing = missing))
    ref <- suppressWarnings(lavaan::sem(mimic, hs, missing = missing))
    compare_with_lavaan(ours, ref, paste("missing =", missing))
    expect_identical(lavInspect(ours, "nobs"), lavInspect(ref, "nobs"))
    # lavaan's own modification indices, on the lavaan object
    expect_equal(modindices(ours)$mi, lavaan::modindices(ref)$mi, tolerance = 1e-3)
  }
})

test_that("what a fit from sample.cov cannot do is refused by name", {
  skip_if_no_engine()
  m <- hs_moments()
  expect_error(torchfit(HS_MODEL, sample.cov = m$cov), "sample.nobs")
  expect_error(torchfit(HS_MODEL, HolzingerSwineford1939, sample.cov = m$cov,
                        sample.nobs = 301), "not both")
  expect_error(torchfit(HS_MODEL, sample.nobs = 301), "goes with sample.cov")
  expect_error(torchfit(HS_MODEL), "no data")
  expect_error(torchfit(HS_MODEL, sample.cov = m$cov, sample.nobs = 301, estimator = "MLR"),
               "raw data")
  expect_error(torchfit(HS_MODEL, sample.cov = unname(m$cov), sample.nobs = 301), "names")
  expect_error(torchfit(HS_MODEL, sample.cov = m$cov, sample.nobs = 301, missing = "ml"),
               "raw data")
})

test_that("data = a Parquet or CSV path fits ML from the moments the engine reads", {
  skip_if_no_engine()
  hs <- HolzingerSwineford1939
  dir <- tempfile("paths")
  dir.create(dir)
  csv <- file.path(dir, "hs.csv")
  utils::write.csv(hs, csv, row.names = FALSE)
  parquet <- file.path(dir, "hs.parquet")
  pd <- reticulate::import("pandas", convert = FALSE)
  pd$read_csv(csv)$to_parquet(parquet, row_group_size = 100L)
  ref <- lavaan::cfa(HS_MODEL, data = hs)
  for (path in c(csv, parquet)) {
    ours <- torchfit(HS_MODEL, data = path, model.type = "cfa")
    expect_true(inherits(ours, "lavaan"))
    compare_with_lavaan(ours, ref, basename(path))
  }
  means <- torchfit(HS_MODEL, data = parquet, model.type = "cfa", meanstructure = TRUE)
  compare_with_lavaan(means, lavaan::cfa(HS_MODEL, data = hs, meanstructure = TRUE), "means")
  expect_error(torchfit(HS_MODEL, data = parquet, estimator = "MLR"),
               'estimator = "MLR" needs the rows.*arrow::read_parquet', class = "torchfit_dataerror")
  expect_error(torchfit(HS_MODEL, data = parquet, group = "school"),
               "group needs the rows", class = "torchfit_dataerror")
  expect_error(torchfit(HS_MODEL, data = file.path(dir, "absent.parquet")),
               "not the path of a file or directory that exists", class = "torchfit_dataerror")
  # and a good fit right after the refusals
  expect_true(lavaan::lavInspect(torchfit(HS_MODEL, data = csv), "converged"))
})
