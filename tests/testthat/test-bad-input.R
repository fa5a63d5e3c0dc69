# Bad input: each error names the problem and the fix; nothing is modified.

test_that("a model variable missing from the data is named, with close names", {
  skip_if_no_engine()  # the engine owns this check (the same message as from Python)
  model <- "visual =~ x1 + x2 + x10"
  err <- tryCatch(torchfit(model, data = HolzingerSwineford1939), error = identity)
  expect_s3_class(err, "torchfit_dataerror")
  msg <- conditionMessage(err)
  expect_match(msg, "the model uses variable(s) missing from the data: 'x10' (did you mean 'x1'",
               fixed = TRUE)
  # the close names come from every column of the data frame, not only the model's
  expect_match(msg, "The data have columns: id, sex, ageyr,", fixed = TRUE)
  expect_match(msg, "Fix the model syntax or rename the column", fixed = TRUE)
  expect_clean_message(msg)
  # another case of the same name is the first suggestion
  expect_error(torchfit("visual =~ x1 + x2 + X3", data = HolzingerSwineford1939),
               "'X3' (did you mean 'x3'?)", fixed = TRUE, class = "torchfit_dataerror")
  # a variable absent and another of the wrong type: R's type check comes first
  d <- transform(HolzingerSwineford1939, x2 = as.character(x2))
  expect_error(torchfit(model, data = d), 'column "x2" used in the model is not numeric',
               fixed = TRUE, class = "torchfit_dataerror")
})

test_that("infinite values are named by column, with the fix, as from Python", {
  skip_if_no_engine()
  d <- HolzingerSwineford1939
  d$x2[3] <- Inf
  d$x5[4] <- -Inf
  msg <- paste0("columns 'x2', 'x5' have infinite values; replace them with finite values, ",
                "or mark them missing (NA in R, NaN in Python) and drop those rows with ",
                "missing = 'listwise'")
  expect_error(torchfit(HS_MODEL, data = d), msg, fixed = TRUE, class = "torchfit_dataerror")
  # every estimator reaches the same check: FIML, IWAVE and the ordinal (WLSMV) path
  expect_error(torchfit(HS_MODEL, data = d, missing = "ml"), msg, fixed = TRUE,
               class = "torchfit_dataerror")
  expect_error(torchfit(HS_MODEL, data = d, estimator = "IWAVE", max.iterations = 5),
               "column 'x2' has infinite values", fixed = TRUE, class = "torchfit_dataerror")
  cut3 <- transform(HolzingerSwineford1939, x1 = as.numeric(x1 > 5), x2 = as.numeric(x2 > 6),
                    x3 = as.numeric(x3 > 2))
  cut3$x2[3] <- Inf
  expect_error(torchfit("f =~ x1 + x2 + x3", data = cut3, ordered = c("x1", "x2", "x3")),
               "column 'x2' has infinite values", fixed = TRUE, class = "torchfit_dataerror")
  # the same text from Python's fit() on the same data
  hs <- reticulate::r_to_py(d[paste0("x", 1:9)])
  py_msg <- error_message(torchfit:::engine_call(
    reticulate::import("torchfit")$cfa, HS_MODEL, hs))
  expect_identical(py_msg, msg)
})

test_that("a bad fit (an engine data error) is followed by a good fit", {
  skip_if_no_engine()
  d <- HolzingerSwineford1939
  d$x1[1] <- Inf
  expect_error(torchfit(HS_MODEL, data = d), class = "torchfit_dataerror")
  expect_error(torchfit(sub("x9", "x99", HS_MODEL), data = HolzingerSwineford1939),
               class = "torchfit_dataerror")
  fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939)
  expect_true(fit@info$converged)
  expect_equal(fitMeasures(fit)[["chisq"]],
               lavaan::fitMeasures(lavaan::cfa(HS_MODEL, data = HolzingerSwineford1939),
                                   "chisq")[[1L]], tolerance = 1e-6)
})

test_that("data must be a data frame", {
  expect_error(torchfit(HS_MODEL, data = as.matrix(HolzingerSwineford1939[7:15])),
               "must be a data.frame", class = "torchfit_error")
})

test_that("a non-numeric column is named with its class and a fix", {
  d <- HolzingerSwineford1939
  d$x2 <- factor(d$x2 > 6, labels = c("low", "high"))
  msg <- error_message(torchfit(HS_MODEL, data = d))
  expect_match(msg, 'column "x2"', fixed = TRUE)
  expect_match(msg, "factor", fixed = TRUE)
  expect_match(msg, "as.numeric(data$x2)", fixed = TRUE)
  d <- HolzingerSwineford1939
  d$x5 <- as.character(d$x5)
  expect_error(torchfit(HS_MODEL, data = d), 'column "x5".*character')
})

test_that("missing values stop with the row count and offer missing = 'listwise'", {
  skip_if_no_engine()
  d <- HolzingerSwineford1939
  d$x1[1:5] <- NA
  d$x4[3:7] <- NA
  msg <- error_message(torchfit(HS_MODEL, data = d))
  expect_match(msg, "7 of 301 rows", fixed = TRUE)
  expect_match(msg, "missing = 'listwise'", fixed = TRUE)
  expect_identical(nobs(torchfit(HS_MODEL, data = d, missing = "listwise")), 294L)
  # NA in a column the model does not use is fine
  d2 <- HolzingerSwineford1939
  d2$ageyr[1:3] <- NA
  expect_identical(nobs(torchfit(HS_MODEL, data = d2)), 301L)
})

test_that("missing = 'listwise' drops incomplete rows and reports Used/Total", {
  skip_if_no_engine()
  d <- HolzingerSwineford1939
  d$x1[1:5] <- NA
  fit <- torchfit(HS_MODEL, data = d, missing = "listwise")
  ref <- lavaan::cfa(HS_MODEL, data = d, missing = "listwise")
  expect_identical(nobs(fit), 296L)
  expect_identical(fit@info$nobs.total, 301L)
  expect_same_as_lavaan(fit, ref)
  out <- capture.output(summary(fit))
  expect_true("                                                  Used       Total" %in% out)
  expect_true("  Number of observations                           296         301" %in% out)
})

test_that("the caller's data frame is not modified", {
  skip_if_no_engine()
  d <- HolzingerSwineford1939
  d$x1[1:5] <- NA
  before <- d
  fit <- torchfit(HS_MODEL, data = d, missing = "listwise")
  expect_identical(d, before)
  d <- HolzingerSwineford1939
  fit <- torchfit(HS_MODEL, data = d)
  expect_identical(d, HolzingerSwineford1939)
})

test_that("a syntax error is reported with its line and column", {
  model <- "visual  =~ x1 + x2 + x3
            textual =~ x4 + (x5 + x6"
  msg <- error_message(torchfit(model, data = HolzingerSwineford1939))
  expect_false(is.na(msg))
  skip_if_no_engine()
  expect_match(msg, "line 2, column [0-9]+")
  expect_clean_message(msg)
})

test_that("unknown options are named", {
  expect_error(torchfit(HS_MODEL, data = HolzingerSwineford1939, std.lvv = TRUE),
               "std.lvv", class = "torchfit_option_error")
  expect_error(torchfit(HS_MODEL, data = HolzingerSwineford1939, estimatr = "ML"),
               "estimatr", class = "torchfit_option_error")
})

test_that("more free parameters than moments (df < 0) is a clean engine error", {
  skip_if_no_engine()
  model <- "f =~ x1 + x2
            x1 ~~ x2"
  msg <- error_message(torchfit(model, data = HolzingerSwineford1939))
  expect_clean_message(msg)
  expect_match(msg, "degrees of freedom|df|identif|parameters", ignore.case = TRUE)
})

test_that("fewer rows than variables is a clean engine error", {
  skip_if_no_engine()
  msg <- error_message(torchfit(HS_MODEL, data = HolzingerSwineford1939[1:5, ]))
  expect_clean_message(msg)
  expect_match(msg, "5", fixed = TRUE)
  expect_match(msg, "rows|observations", ignore.case = TRUE)
})

test_that("non-convergence is a warning, reported in the summary", {
  skip_if_no_engine()
  expect_warning(
    fit <- torchfit(HS_MODEL, data = HolzingerSwineford1939, iter.max = 1),
    "converge"
  )
  expect_false(fit@info$converged)
  expect_output(print(summary(fit)), "did NOT end normally after 1 iteration", fixed = TRUE)
})

test_that("the engine hint names both fixes", {
  msg <- torchfit:::describe_candidates(torchfit:::python_candidates())
  expect_match(msg, "TORCHFIT_PYTHON", fixed = TRUE)
  expect_match(torchfit:::.fix_hint, "make demo", fixed = TRUE)
  expect_match(torchfit:::.fix_hint, "pip install torchfit", fixed = TRUE)
})

test_that("without a Python engine, torchfit() stops with one message saying how to fix it", {
  home <- tempfile("torchfit-nopython-")
  dir.create(home)
  on.exit(unlink(home, recursive = TRUE))
  script <- file.path(home, "run.R")
  # run where no .venv lies above the working directory
  writeLines(c(
    paste0("setwd(", deparse(home), ")"),
    "suppressMessages(library(torchfit))",
    "msg <- tryCatch({",
    "  torchfit('f =~ x1 + x2 + x3', data = HolzingerSwineford1939)",
    "  'no error'",
    "}, error = function(e) conditionMessage(e))",
    "cat(msg)"
  ), script)
  out <- suppressWarnings(system2(
    file.path(R.home("bin"), "Rscript"), c("--vanilla", shQuote(script)),
    stdout = TRUE, stderr = TRUE,
    env = c(paste0("TORCHFIT_PYTHON=", file.path(home, "no-such-python")),
            paste0("R_USER_CONFIG_DIR=", home),
            paste0("R_LIBS=", paste(.libPaths(), collapse = .Platform$path.sep)))
  ))
  out <- paste(out, collapse = "\n")
  expect_match(out, "no Python was found", fixed = TRUE)
  expect_match(out, "TORCHFIT_PYTHON", fixed = TRUE)
  expect_match(out, "does not exist", fixed = TRUE)
  expect_match(out, "make demo", fixed = TRUE)
  expect_false(grepl("py_call_impl|Traceback", out))
})

test_that("torchfit_sitrep() reports the Python and the versions", {
  skip_if_no_engine()
  out <- capture.output(res <- torchfit_sitrep())
  expect_true(res$ready)
  expect_true(all(!is.na(res$versions)))
  expect_true("torchfit is ready." %in% out)
})

test_that("name clashes, duplicate columns and empty data are errors, and a good fit follows", {
  skip_if_no_engine()
  hs <- HolzingerSwineford1939
  clash <- hs
  clash$visual <- 1
  expect_error(torchfit(HS_MODEL, data = clash),
               "latent variable names collide with observed variable names: visual",
               class = "torchfit_dataerror")
  twice <- cbind(hs, hs["x4"])
  expect_error(torchfit(HS_MODEL, data = twice), "2 columns named 'x4'",
               class = "torchfit_dataerror")
  expect_error(torchfit(HS_MODEL, data = hs[0, ]), "empty", class = "torchfit_error")
  # the session is unharmed: a good fit right after the bad ones
  fit <- torchfit(HS_MODEL, data = hs)
  expect_equal(fitMeasures(fit, "chisq")[[1]],
               lavaan::fitMeasures(lavaan::cfa(HS_MODEL, data = hs), "chisq")[[1]],
               tolerance = 1e-6)
})
