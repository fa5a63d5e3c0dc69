# The optimiser corpus: hard ML models that lavaan fits, for
# tests/python/test_optimizer.py.
# Run from the repository root: Rscript tests/reference/make_optimizer_corpus.R
#
# Models and data are generated here with a fixed seed (small samples, weak
# and cross loadings, two-indicator factors, near-Heywood indicators,
# structural paths with observed covariates, misspecified models), written as
# CSV (data/<case>.csv, rounded to 6 decimals so that R and Python read the
# very same numbers), and fitted with lavaan::sem().  Beside them:
# - semopy_article: the example model of the semopy paper (Igolkina &
#   Meshcheryakov 2020) on its data (data/semopy_article.csv, from semopy
#   2.3.11's examples, MIT licence), where lavaan reaches a Heywood optimum
#   of a model whose standard errors cannot be computed;
# - hs_scaled_*: the Holzinger-Swineford CFA with badly scaled variables.
# Written: cases.csv (one row per case: its model, lavaan's convergence,
# iterations, chi-square, whether it computed standard errors and its
# post-estimation check) and partables.csv (start values, estimates and
# standard errors of every case's free parameters).
suppressPackageStartupMessages(library(lavaan))
here <- file.path("tests", "reference", "optimizer")
dir.create(file.path(here, "data"), recursive = TRUE, showWarnings = FALSE)
set.seed(20240516)

# -- generators: a true model, the data drawn from it, the model to fit ----------------

# n rows of N(0, Sigma)
rmvn <- function(n, sigma) {
  matrix(rnorm(n * nrow(sigma)), n) %*% chol(sigma)
}

# a random factor correlation matrix with correlations in [lo, hi]
factor_cor <- function(nf, lo = 0.1, hi = 0.6) {
  repeat {
    phi <- diag(nf)
    phi[lower.tri(phi)] <- runif(nf * (nf - 1) / 2, lo, hi)
    phi[upper.tri(phi)] <- t(phi)[upper.tri(phi)]
    if (min(eigen(phi, only.values = TRUE)$values) > 0.05) return(phi)
  }
}

# lavaan syntax "f1 =~ y1 + y2; ..." from a pattern of loadings to fit
measurement <- function(pattern) {
  lines <- vapply(seq_len(ncol(pattern)), function(k) {
    paste0("f", k, " =~ ", paste0("y", which(pattern[, k]), collapse = " + "))
  }, "")
  paste(lines, collapse = "; ")
}

# Correlated factors with nind indicators each; loadings in [lo, hi] (a few
# negative), true cross-loadings that the fitted model includes or omits,
# observed variables on different scales.  "heywood" puts one indicator at a
# standardized loading of 0.95-0.99, where small samples give negative
# residual variances.
factor_case <- function(nind, lo = 0.3, hi = 0.9, heywood = FALSE) {
  nf <- length(nind)
  p <- sum(nind)
  owner <- rep(seq_len(nf), nind)
  lambda <- matrix(0, p, nf)
  lambda[cbind(seq_len(p), owner)] <- runif(p, lo, hi) * sample(c(1, 1, 1, 1, -1), p, TRUE)
  pattern <- lambda != 0
  ncross <- sample(0:2, 1)
  for (k in seq_len(ncross)) {
    j <- sample(p, 1)
    f <- sample(setdiff(seq_len(nf), owner[j]), 1)
    lambda[j, f] <- runif(1, 0.2, 0.45)
    if (runif(1) < 0.5) pattern[j, f] <- TRUE
  }
  if (heywood) {
    j <- sample(p, 1)
    lambda[j, ] <- 0
    lambda[j, owner[j]] <- runif(1, 0.95, 0.99)
  }
  phi <- factor_cor(nf)
  common <- diag(lambda %*% phi %*% t(lambda))
  theta <- pmax(1 - common, 0.02)
  sd <- exp(runif(p, log(0.5), log(3)))
  sigma <- diag(sd) %*% (lambda %*% phi %*% t(lambda) + diag(theta)) %*% diag(sd)
  list(sigma = sigma, names = paste0("y", seq_len(p)), model = measurement(pattern))
}

# A structural model: f1 -> f2 -> f3 with observed covariates x1, x2 (and,
# sometimes, x2 correlated with f1 as in the semopy example, a direct path
# f1 -> f3, or an observed outcome y0 of f3), simulated from the equations.
sem_case <- function(n) {
  nind <- sample(2:4, 3, replace = TRUE)
  b21 <- runif(1, 0.2, 0.7); b32 <- runif(1, 0.2, 0.7); b31 <- runif(1, -0.3, 0.3)
  g1 <- runif(1, -0.5, 0.5); g2 <- runif(1, -0.5, 0.5)
  x_f1 <- runif(1) < 0.4
  direct <- runif(1) < 0.5
  outcome <- runif(1) < 0.4
  f1 <- rnorm(n)
  x1 <- rnorm(n)
  x2 <- if (x_f1) 0.4 * f1 + rnorm(n, sd = 0.9) else rnorm(n)
  f2 <- b21 * f1 + g1 * x1 + rnorm(n, sd = 0.8)
  f3 <- b32 * f2 + b31 * f1 + g2 * x2 + rnorm(n, sd = 0.8)
  eta <- cbind(f1, f2, f3)
  cols <- list()
  lines <- character(0)
  k <- 0
  for (f in 1:3) {
    ind <- character(0)
    for (i in seq_len(nind[f])) {
      k <- k + 1
      lam <- runif(1, 0.3, 0.9)
      cols[[paste0("y", k)]] <- lam * eta[, f] + rnorm(n, sd = sqrt(1 - lam^2))
      ind <- c(ind, paste0("y", k))
    }
    lines <- c(lines, paste0("f", f, " =~ ", paste(ind, collapse = " + ")))
  }
  lines <- c(lines, "f2 ~ f1 + x1", paste0("f3 ~ f2 + x2", if (direct) " + f1" else ""))
  if (x_f1) lines <- c(lines, "x2 ~~ f1")
  if (outcome) {
    cols$y0 <- 0.5 * f3 + rnorm(n)
    lines <- c(lines, "y0 ~ f3")
  }
  data <- as.data.frame(c(cols, list(x1 = x1, x2 = x2)))
  list(data = data, model = paste(lines, collapse = "; "))
}

families <- c("cfa", "cfa_weak", "two_indicator", "heywood", "sem", "cfa_std_lv")
make_case <- function(i) {
  family <- families[(i - 1) %% length(families) + 1]
  n <- sample(80:300, 1)
  std_lv <- family == "cfa_std_lv"
  if (family == "sem") {
    case <- sem_case(n)
    return(list(family = family, data = case$data, model = case$model, std_lv = FALSE))
  }
  nf <- sample(2:4, 1)
  case <- switch(family,
    cfa = , cfa_std_lv = factor_case(sample(2:4, nf, replace = TRUE)),
    cfa_weak = factor_case(sample(3:4, nf, replace = TRUE), lo = 0.2, hi = 0.5),
    two_indicator = factor_case(rep(2, nf), lo = 0.4, hi = 0.8),
    heywood = factor_case(sample(3:4, nf, replace = TRUE), heywood = TRUE))
  data <- as.data.frame(rmvn(n, case$sigma))
  names(data) <- case$names
  list(family = family, data = data, model = case$model, std_lv = std_lv)
}

# -- fitting and recording ------------------------------------------------------------

# lavaan's fit with the warnings it gave (as text), or the error
fit_case <- function(model, data, std_lv) {
  warned <- character(0)
  fit <- withCallingHandlers(
    tryCatch(sem(model, data = data, std.lv = std_lv), error = function(e) e),
    warning = function(w) {
      warned <<- c(warned, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  list(fit = fit, warnings = gsub("\\s+", " ", warned))
}

summarise <- function(name, family, model, std_lv, data, result) {
  fit <- result$fit
  warned <- paste(result$warnings, collapse = " | ")
  row <- data.frame(name = name, family = family, model = model, std_lv = std_lv,
                    nobs = nrow(data), converged = FALSE, iterations = NA, chisq = NA,
                    df = NA, fmin = NA, se_ok = FALSE, admissible = NA,
                    ov_negative = FALSE, lv_negative = FALSE, cov_lv_npd = FALSE,
                    theta_npd = FALSE, warnings = warned, stringsAsFactors = FALSE)
  if (inherits(fit, "error")) {
    row$warnings <- paste("error:", conditionMessage(fit))
    return(list(row = row, table = NULL))
  }
  row$converged <- lavInspect(fit, "converged")
  row$iterations <- lavInspect(fit, "iterations")
  if (row$converged) {
    fm <- fitMeasures(fit, c("chisq", "df", "fmin"))
    row$chisq <- fm[["chisq"]]
    row$df <- fm[["df"]]
    row$fmin <- fm[["fmin"]]
    row$se_ok <- !grepl("Could not compute standard errors", warned)
    row$admissible <- suppressWarnings(lavInspect(fit, "post.check"))
    row$ov_negative <- grepl("some estimated ov variances are negative", warned)
    row$lv_negative <- grepl("some estimated lv variances are negative", warned)
    row$cov_lv_npd <- grepl("covariance matrix of latent variables is not positive", warned)
    row$theta_npd <- grepl("residuals of the observed variables \\(theta\\) is not", warned)
  }
  pt <- parTable(fit)
  free <- pt$free > 0
  table <- data.frame(case = name, free = pt$free[free], lhs = pt$lhs[free],
                      op = pt$op[free], rhs = pt$rhs[free], start = pt$start[free],
                      est = pt$est[free], se = pt$se[free], stringsAsFactors = FALSE)
  list(row = row, table = table)
}

rows <- list()
tables <- list()
record <- function(name, family, model, std_lv, data) {
  out <- summarise(name, family, model, std_lv, data, fit_case(model, data, std_lv))
  rows[[name]] <<- out$row
  tables[[name]] <<- out$table
}

n_generated <- 120
for (i in seq_len(n_generated)) {
  case <- make_case(i)
  name <- sprintf("case%03d", i)
  data <- round(case$data, 6)
  write.csv(data, file.path(here, "data", paste0(name, ".csv")), row.names = FALSE)
  data <- read.csv(file.path(here, "data", paste0(name, ".csv")))
  record(name, case$family, case$model, case$std_lv, data)
}

semopy <- paste(
  "eta1 =~ y1 + y2 + y3; eta2 =~ y3 + y2; eta3 =~ y4 + y5; eta4 =~ y4 + y6",
  "eta3 ~ x2 + x1; eta4 ~ x3; x3 ~ eta1 + eta2 + x1; x4 ~ eta4 + x6; y7 ~ x4 + x6",
  "y6 ~~ y5; x2 ~~ eta2", sep = "; ")
record("semopy_article", "semopy", semopy, FALSE,
       read.csv(file.path(here, "data", "semopy_article.csv")))

hs_model <- "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
hs <- HolzingerSwineford1939[, paste0("x", 1:9)]
scalings <- list(hs_scaled_none = rep(1, 9), hs_scaled_x789 = c(rep(1, 6), rep(1000, 3)),
                 hs_scaled_all1000 = rep(1000, 9), hs_scaled_all0001 = rep(0.001, 9))
for (name in names(scalings)) {
  data <- as.data.frame(sweep(as.matrix(hs), 2, scalings[[name]], "*"))
  write.csv(data, file.path(here, "data", paste0(name, ".csv")), row.names = FALSE)
  data <- read.csv(file.path(here, "data", paste0(name, ".csv")))
  record(name, "rescaled", hs_model, FALSE, data)
}

cases <- do.call(rbind, rows)
write.csv(cases, file.path(here, "cases.csv"), row.names = FALSE)
write.csv(do.call(rbind, tables), file.path(here, "partables.csv"), row.names = FALSE)
cat("lavaan", as.character(packageVersion("lavaan")), ":", nrow(cases), "cases,",
    sum(cases$converged), "converged,", sum(cases$converged & !cases$admissible, na.rm = TRUE),
    "inadmissible,", sum(cases$converged & !cases$se_ok), "without standard errors\n")
