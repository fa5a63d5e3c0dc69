# An R session never breaks: whole sessions, each in a fresh R process, since
# reticulate binds a session to the first Python it starts.

# Run fun(...) in a fresh Rscript (the same library paths, working directory
# `wd`) and return its value; fails with the session's output if it dies.
in_fresh_r <- function(fun, args = list(), wd = tempdir()) {
  dir <- tempfile("torchfit-session-")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  environment(fun) <- globalenv()
  input <- file.path(dir, "job.rds")
  output <- file.path(dir, "result.rds")
  saveRDS(list(fun = fun, args = args, libs = .libPaths()), input)
  script <- file.path(dir, "job.R")
  writeLines(c(
    sprintf("job <- readRDS(%s)", deparse(input)),
    ".libPaths(job$libs)",
    sprintf("setwd(%s)", deparse(wd)),
    "res <- do.call(job$fun, job$args)",
    sprintf("saveRDS(res, %s)", deparse(output))
  ), script)
  log <- file.path(dir, "log.txt")
  status <- system2(file.path(R.home("bin"), "Rscript"),
                    c("--vanilla", shQuote(script)), stdout = log, stderr = log)
  if (!file.exists(output)) {
    stop("the fresh R session failed (exit status ", status, "):\n",
         paste(readLines(log), collapse = "\n"), call. = FALSE)
  }
  readRDS(output)
}

# The engine's Python, as the test run was given it (make test sets it).
engine_python <- function() {
  skip_if_no_engine()
  torchfit:::.torchfit$python
}

HS_CHISQ <- lavaan::fitMeasures(
  lavaan::cfa(HS_MODEL, data = lavaan::HolzingerSwineford1939), "chisq"
)[[1L]]

test_that("a syntax error first starts no Python; engine data errors, then a good fit, follow", {
  python <- engine_python()
  res <- in_fresh_r(function(python, model) {
    Sys.unsetenv("RETICULATE_PYTHON")
    Sys.setenv(TORCHFIT_PYTHON = python)
    suppressPackageStartupMessages(library(torchfit))
    bad <- "visual  =~ x1 + x2 + x3\n            textual =~ x4 + (x5 + x6"
    err <- tryCatch(torchfit(bad, data = HolzingerSwineford1939), error = identity)
    started <- reticulate::py_available(initialize = FALSE)
    # the engine's first call fails (a variable absent from the data), then another
    d <- HolzingerSwineford1939
    d$x3[2] <- Inf
    absent <- tryCatch(torchfit(sub("x9", "x99", model), data = d), error = identity)
    infinite <- tryCatch(torchfit(model, data = d), error = identity)
    fit <- torchfit(model, data = HolzingerSwineford1939)
    list(class = class(err), message = conditionMessage(err), line = err$line,
         column = err$column, started_after_error = started,
         absent = class(absent), infinite = class(infinite),
         infinite_message = conditionMessage(infinite),
         chisq = fitMeasures(fit)[["chisq"]],
         python = reticulate::py_config()$python)
  }, list(python = python, model = HS_MODEL))
  expect_true("torchfit_dataerror" %in% res$absent)
  expect_true("torchfit_dataerror" %in% res$infinite)
  expect_match(res$infinite_message, "column 'x3' has infinite values", fixed = TRUE)
  expect_true("torchfit_modelsyntaxerror" %in% res$class)
  expect_identical(c(res$line, res$column), c(2L, 29L))
  expect_match(res$message, "line 2, column 29: expected a variable name but found '('",
               fixed = TRUE)
  expect_match(res$message, "textual =~ x4 + (x5 + x6\n", fixed = TRUE)
  expect_false(res$started_after_error)
  expect_equal(res$chisq, HS_CHISQ, tolerance = 1e-6)
  expect_true(torchfit:::same_python(res$python, python))
})

# A report: its chunks (each a character vector of lines) as .Rmd, rendered
# to Markdown in a fresh R session; returns the Markdown or the error.
render_report <- function(chunks, python) {
  dir <- tempfile("torchfit-rmd-")
  dir.create(dir)
  rmd <- file.path(dir, "report.Rmd")
  writeLines(c("---", "title: torchfit and python chunks", "---", "",
               unlist(lapply(chunks, function(ch) c(ch, "")))), rmd)
  in_fresh_r(function(rmd, python) {
    Sys.unsetenv("RETICULATE_PYTHON")
    Sys.setenv(TORCHFIT_PYTHON = python)
    out <- tryCatch(
      rmarkdown::render(rmd, output_format = rmarkdown::md_document(),
                        quiet = TRUE, envir = new.env(parent = globalenv())),
      error = identity
    )
    if (inherits(out, "error")) {
      return(list(error = conditionMessage(out), md = NULL))
    }
    list(error = NULL, md = readLines(out))
  }, list(rmd = rmd, python = python), wd = dir)
}

test_that("a report's python chunk before the first fit runs in the engine's Python", {
  skip_if_not_installed("rmarkdown")
  skip_if_not(rmarkdown::pandoc_available(), "pandoc is not installed")
  python <- engine_python()
  res <- render_report(list(
    c("```{r setup}", "library(torchfit)", "```"),
    c("```{python}", "import sys", "print('EXECUTABLE' + '=' + sys.executable)", "```"),
    c("```{r}", sprintf("fit <- torchfit(%s, data = HolzingerSwineford1939)",
                        deparse(HS_MODEL, width.cutoff = 500L)),
      "cat('CHISQ', '=', sprintf('%.10f', fitMeasures(fit)[['chisq']]), '\\n', sep = '')", "```"),
    c("```{python}", "import torchfit", "print('ENGINE' + '=' + torchfit.__file__)", "```")
  ), python)
  expect_null(res$error)
  exe <- sub("^.*EXECUTABLE=", "", grep("EXECUTABLE=", res$md, value = TRUE))
  expect_length(exe, 1L)
  expect_true(torchfit:::same_python(exe, python),
              label = paste("the python chunk ran in", exe, "not", python))
  chisq <- as.numeric(sub("^.*CHISQ=", "", grep("CHISQ=", res$md, value = TRUE)))
  expect_equal(chisq, HS_CHISQ, tolerance = 1e-6)
  # the same interpreter holds the engine: a later python chunk imports it
  expect_length(grep("ENGINE=.*torchfit", res$md), 1L)
})

test_that("a python chunk before library(torchfit) gives an error that says what happened", {
  skip_if_not_installed("rmarkdown")
  skip_if_not(rmarkdown::pandoc_available(), "pandoc is not installed")
  python <- engine_python()
  # another Python for the first chunk: the engine's base interpreter (the
  # engine is a virtual environment), as a system Python would be
  other <- system2(python, c("-c", shQuote("import sys; print(sys._base_executable)")),
                   stdout = TRUE)
  skip_if(torchfit:::same_python(other, python),
          "the engine's Python is not a virtual environment: no second Python to start")
  res <- render_report(list(
    c(sprintf("```{python, engine.path = %s}", deparse(other)),
      "import sys", "print('EXECUTABLE' + '=' + sys.executable)", "```"),
    c("```{r}", "library(torchfit)",
      sprintf("fit <- torchfit(%s, data = HolzingerSwineford1939)",
              deparse(HS_MODEL, width.cutoff = 500L)), "```")
  ), python)
  expect_null(res$md)
  expect_match(res$error, paste0("already runs Python ", other), fixed = TRUE)
  expect_match(res$error, paste0("not torchfit's engine Python ", python), fixed = TRUE)
  expect_match(res$error, "started before torchfit was loaded", fixed = TRUE)
  expect_match(res$error, "```{python}", fixed = TRUE)
  expect_match(res$error, "restart R and load torchfit before anything uses Python",
               fixed = TRUE)
  expect_match(res$error, "in the setup chunk", fixed = TRUE)
})

test_that("a TORCHFIT_PYTHON that does not exist is an error naming it, and no other Python starts", {
  python <- engine_python()
  missing_python <- file.path(tempdir(), "no-such-env", "bin", "python")
  # the tests' directory: a .venv above it and the recorded path would have
  # been used silently before
  res <- in_fresh_r(function(missing_python, python, model) {
    Sys.unsetenv("RETICULATE_PYTHON")
    Sys.setenv(TORCHFIT_PYTHON = missing_python)
    suppressPackageStartupMessages(library(torchfit))
    claimed <- Sys.getenv("RETICULATE_PYTHON", NA)
    err <- tryCatch(torchfit(model, data = HolzingerSwineford1939), error = identity)
    started <- reticulate::py_available(initialize = FALSE)
    # the session is not broken: pointing TORCHFIT_PYTHON at the engine fixes it
    Sys.setenv(TORCHFIT_PYTHON = python)
    fit <- torchfit(model, data = HolzingerSwineford1939)
    list(claimed = claimed, class = class(err), message = conditionMessage(err),
         started = started, chisq = fitMeasures(fit)[["chisq"]])
  }, list(missing_python = missing_python, python = python, model = HS_MODEL),
  wd = getwd())
  expect_true(is.na(res$claimed))
  expect_true("torchfit_no_python" %in% res$class)
  expect_match(res$message, paste0("TORCHFIT_PYTHON is set to \"", missing_python,
                                   "\", which does not exist"), fixed = TRUE)
  expect_match(res$message, "correct it or unset it", fixed = TRUE)
  expect_false(res$started)
  expect_equal(res$chisq, HS_CHISQ, tolerance = 1e-6)
})

test_that("torchfit leaves a RETICULATE_PYTHON the user set alone, and claims it otherwise", {
  python <- engine_python()
  res <- in_fresh_r(function(python) {
    Sys.setenv(RETICULATE_PYTHON = "/opt/some/other/python", TORCHFIT_PYTHON = python)
    suppressPackageStartupMessages(library(torchfit))
    user <- Sys.getenv("RETICULATE_PYTHON")
    sitrep_line <- torchfit:::describe_load()
    unloadNamespace("torchfit")
    Sys.unsetenv("RETICULATE_PYTHON")
    loadNamespace("torchfit")
    claimed <- Sys.getenv("RETICULATE_PYTHON")
    unloadNamespace("torchfit")  # gives it back: Python never started
    list(user = user, sitrep_line = sitrep_line, claimed = claimed,
         after_unload = Sys.getenv("RETICULATE_PYTHON", NA),
         started = reticulate::py_available(initialize = FALSE))
  }, list(python = python))
  expect_identical(res$user, "/opt/some/other/python")
  expect_match(res$sitrep_line, "already set to /opt/some/other/python", fixed = TRUE)
  expect_identical(res$claimed, python)
  expect_true(is.na(res$after_unload))
  expect_false(res$started)
})

test_that("choose_python: explicit choices are final, implicit ones fall through", {
  cand <- function(source, path, exists) {
    data.frame(source = source, path = path, exists = exists, stringsAsFactors = FALSE)
  }
  srcs <- c("environment variable TORCHFIT_PYTHON", "option torchfit.python",
            "path recorded in cfg", ".venv found above the working directory")
  venv <- "/x/.venv/bin/python"
  # TORCHFIT_PYTHON missing: an error naming it, although a .venv exists
  err <- tryCatch(torchfit:::choose_python(
    cand(srcs, c("/nope/python", NA, NA, venv), c(FALSE, FALSE, FALSE, TRUE))
  ), error = identity)
  expect_s3_class(err, "torchfit_no_python")
  expect_match(conditionMessage(err), 'TORCHFIT_PYTHON is set to "/nope/python"', fixed = TRUE)
  # the option, set to a directory: named, with the executable to point at
  d <- tempfile("env")
  dir.create(d)
  err <- tryCatch(torchfit:::choose_python(
    cand(srcs, c(NA, d, NA, venv), c(FALSE, FALSE, FALSE, TRUE))
  ), error = identity)
  expect_s3_class(err, "torchfit_no_python")
  expect_match(conditionMessage(err), paste0('torchfit.python is set to "', d, '"'), fixed = TRUE)
  expect_match(conditionMessage(err), file.path(d, "bin", "python"), fixed = TRUE)
  # a stale recorded path falls through to the .venv
  expect_identical(torchfit:::choose_python(
    cand(srcs, c(NA, NA, "/old/python", venv), c(FALSE, FALSE, FALSE, TRUE))
  ), list(path = venv, source = srcs[4]))
  # nothing at all
  expect_error(torchfit:::choose_python(
    cand(srcs, c(NA, NA, NA, NA), c(FALSE, FALSE, FALSE, FALSE))
  ), "no Python was found", class = "torchfit_no_python")
})

test_that("make says so when it replaces the engine Python recorded before", {
  script <- normalizePath(test_path("..", "..", "tools", "record_python.R"), mustWork = FALSE)
  skip_if_not(file.exists(script), "tools/record_python.R is not in the built package")
  python <- engine_python()
  other <- file.path(dirname(python), "python3")
  skip_if_not(file.exists(other), "no second name for the engine's Python")
  config <- tempfile("config")
  record <- file.path(config, "R", "torchfit", "python")
  run <- function(py) {
    out <- suppressWarnings(system2(
      file.path(R.home("bin"), "Rscript"), shQuote(script), stdout = TRUE, stderr = TRUE,
      env = c(paste0("R_USER_CONFIG_DIR=", config), paste0("TORCHFIT_PYTHON=", py))
    ))
    list(out = paste(out, collapse = "\n"), status = attr(out, "status"))
  }
  first <- run(python)
  expect_match(first$out, paste("recorded the engine Python", python), fixed = TRUE)
  expect_identical(readLines(record), python)
  expect_identical(run(python)$out, "")  # unchanged: nothing to say
  moved <- run(other)
  expect_match(moved$out, paste0("was ", python, "; it is now ", other), fixed = TRUE)
  expect_match(moved$out, "To go back", fixed = TRUE)
  expect_identical(readLines(record), other)
  bad <- run(file.path(config, "nope"))
  expect_identical(bad$status, 1L)
  expect_match(bad$out, "TORCHFIT_PYTHON must name the engine's Python", fixed = TRUE)
  expect_identical(readLines(record), other)
})

test_that("the message about a Python started first says what happened in each case", {
  state <- torchfit:::.torchfit
  old <- state$load
  on.exit(state$load <- old, add = TRUE)
  explain <- function() {
    torchfit:::explain_started_python("/usr/bin/python3", "/e/bin/python",
                                      "environment variable TORCHFIT_PYTHON")
  }
  state$load <- list(started = TRUE, python = "/usr/bin/python3")
  m <- explain()
  expect_match(m, paste("already runs Python /usr/bin/python3, not torchfit's engine",
                        "Python /e/bin/python (environment variable TORCHFIT_PYTHON)"),
               fixed = TRUE)
  expect_match(m, "started before torchfit was loaded", fixed = TRUE)
  expect_match(m, "in the setup chunk", fixed = TRUE)
  state$load <- list(started = FALSE, user_reticulate_python = "/u/python")
  m <- explain()
  expect_match(m, 'RETICULATE_PYTHON was already set to "/u/python"', fixed = TRUE)
  expect_match(m, 'restart R with RETICULATE_PYTHON unset or set to "/e/bin/python"',
               fixed = TRUE)
  state$load <- list(started = FALSE, claimed = "/e/bin/python")
  m <- explain()
  expect_match(m, "torchfit had pointed RETICULATE_PYTHON at its Python", fixed = TRUE)
  expect_match(m, "leave the choice of Python to it", fixed = TRUE)
})

test_that("same_python tells a virtual environment from its base interpreter", {
  python <- engine_python()
  base <- system2(python, c("-c", shQuote("import sys; print(sys._base_executable)")),
                  stdout = TRUE)
  expect_true(torchfit:::same_python(python, python))
  if (file.exists(file.path(dirname(python), "python3"))) {
    expect_true(torchfit:::same_python(python, file.path(dirname(python), "python3")))
  }
  expect_identical(torchfit:::same_python(python, base),
                   identical(normalizePath(dirname(python)), normalizePath(dirname(base))))
  expect_false(torchfit:::same_python(python, NULL))
})
