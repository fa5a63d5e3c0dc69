# The fit as a lavaan object: lavaan's own constructors build every slot from
# the same parameter table and data (a "dry run", do.fit = FALSE), and the
# engine's estimates and their covariance matrix are placed in it. What lavaan
# derives from estimates (implied moments, log-likelihood, the test statistics
# with their scaling quantities, the Fit slot) is then computed by lavaan's own
# functions at the engine's estimates, so every lavaan function that reads the
# object finds what it would find after lavaan::cfa().

lav_internal <- function(name) utils::getFromNamespace(name, "lavaan")


# The dry-run lavaan object: Options, ParTable, Data, SampleStats, Model,
# Cache and h1, as lavaan builds them for `partable` and `data`. `data` is
# NULL for fits lavaan has no likelihood for (IWAVE): then only the table and
# the model matrices are built. `start`, lavaan's start values as the engine
# computed them (one per row), spares lavaan computing them again: lavaan
# starts from a table's `est` column (unless a value is missing or a free
# variance is 0, when it computes its own). A model fitted before in the
# session reuses that dry run's Options, ParTable and Model (see
# dry_run_key()); the data's slots are always built anew.
lavaan_skeleton <- function(partable, data, model.type, lav_args, start = NULL) {
  pt <- partable[, intersect(names(partable), .lavaan_table_columns), drop = FALSE]
  if (length(start) == nrow(pt)) pt$est <- start
  key <- dry_run_key(pt, data, model.type, lav_args)
  seen <- if (!is.null(key)) recalled_dry_run(key)
  if (!is.null(seen)) return(dry_rerun(seen, data, lav_args, start))
  args <- c(list(model = pt, data = data, do.fit = FALSE, warn = FALSE), lav_args)
  # cfa(), sem() and growth() set the Options they would set for the user; they
  # read their own name from the call, so they are called by name.
  constructor <- if (model.type %in% c("cfa", "growth")) model.type else "sem"
  skel <- suppressWarnings(do.call(constructor, args, envir = asNamespace("lavaan")))
  # (what the table does not show: ordered columns make the model categorical)
  if (!is.null(key) && identical(skel@Options$bounds, "none") &&
      !skel@Model@categorical && !skel@Model@conditional.x) {
    remember_dry_run(key, skel)
  }
  skel
}

# What lavaan's model-only slots (Options, ParTable, Model) are built from, or
# NULL where they depend on more than it holds. lavaan builds them from the
# table, its arguments and, for the Options, the kinds of the data's columns
# (ordered factors make a model categorical); the Model holds the fixed
# parameters' values too, which come from the data for fixed covariates. A
# fit from complete or incomplete rows qualifies when the engine gave the
# start values (ML; lavaan's other start values are its own to compute, as
# are any where a free variance would start at 0) and the model has neither
# thresholds nor levels (their slots read the data).
dry_run_key <- function(pt, data, model.type, lav_args) {
  variance <- pt$free > 0L & pt$op == "~~" & pt$lhs == pt$rhs
  if (!is.data.frame(data) || is.null(pt$est) || anyNA(pt$est) || any(pt$est[variance] == 0) ||
      any(pt$op %in% c("|", "~*~")) || length(unique(pt$level)) > 1L) {
    return(NULL)
  }
  list(model.type = model.type, table = pt[setdiff(names(pt), "est")],
       fixed = pt$est[pt$free == 0L], args = lav_args,
       columns = vapply(data, function(col) class(col)[1L], ""))
}

# The slots remembered for `key`, or NULL. The last few models are kept:
# refitting one (a simulation study, a bootstrap by hand, a benchmark) then
# skips lavaan's option, table and model constructors, about a fifth of a small
# fit's time (bench/hs_ml.R); a first fit is unchanged.
recalled_dry_run <- function(key) {
  for (seen in .torchfit$dry_runs) if (identical(seen$key, key)) return(seen)
  NULL
}

# Forget the remembered dry runs (the next fit of every model builds all of
# lavaan's slots, as a first fit does): bench/hs_ml.R times first fits so.
forget_dry_runs <- function() {
  .torchfit$dry_runs <- NULL
  invisible(NULL)
}

remember_dry_run <- function(key, skel) {
  seen <- list(key = key, Options = skel@Options, ParTable = skel@ParTable, Model = skel@Model)
  .torchfit$dry_runs <- c(list(seen), utils::head(.torchfit$dry_runs, 7L))
}

# lavaan's dry run with remembered model slots, as lavaan's own refits pass
# them (slotOptions, slotParTable, slotModel): the data's slots are built
# from `data`, the table and the model take this fit's start values, and the
# object is the one the full dry run builds (test-lavaan-object compares them
# slot by slot).
dry_rerun <- function(seen, data, lav_args, start) {
  pt <- seen$ParTable
  pt$start <- pt$est <- start
  # (one value per free parameter: rows held equal by ceq.simple share one)
  x <- start[match(seq_len(max(0L, pt$free)), pt$free)]
  model <- lav_internal("lav_model_set_parameters")(seen$Model, x = x)
  # (lavaan() arguments, not options: the options are in slotOptions)
  args <- lav_args[intersect(names(lav_args), setdiff(names(formals(lavaan::lavaan)), "..."))]
  skel <- suppressWarnings(do.call(lavaan::lavaan, c(
    list(data = data, slotOptions = seen$Options, slotParTable = pt, slotModel = model), args)))
  # lavaan renames a given Options' `categorical` while it builds the object
  skel@Options <- seen$Options
  skel
}

# The table as lavaan builds it for a categorical model with fixed exogenous
# covariates: lavaan takes conditional.x = TRUE there (its default), and
# lavaanify(conditional.x = TRUE) marks the regressions on the covariates exo.
# Unmarked, the dry run turns the covariates into dummy latent variables
# (LAMBDA with rows for them) while th.idx covers the items alone, so
# computeTH() recycles the thresholds ("longer object length") and
# lavInspect(fit, "th") returns extra values. Marked, the covariates enter as
# lavaan's own gamma, cov.x and mean.x, as after lavaan::sem(..., ordered =).
with_conditional_x <- function(pt, lav_args) {
  if (!any(pt$op == "|") || isFALSE(lav_args$conditional.x) || isFALSE(lav_args$fixed.x)) {
    return(pt)
  }
  ov_x <- lavaan::lavNames(pt, "ov.x")
  pt$exo[pt$op %in% c("~", "<~") & pt$rhs %in% ov_x & !(pt$lhs %in% ov_x)] <- 1L
  pt
}

# The columns of a parameter table that describe the model (not results).
.lavaan_table_columns <- c("id", "lhs", "op", "rhs", "user", "block", "group", "level",
                           "free", "ustart", "exo", "label", "plabel", "efa")

# The Options lavaan would hold after fitting: the dry run sets se and test to
# "none"; the engine says which it computed (lavaan's names), and lavaan's own
# defaults follow from them.
fitted_options <- function(options, info, user) {
  options$do.fit <- TRUE
  options$se <- info$se
  options$test <- info$test
  if (identical(info$test.information, "h1")) {
    # lavaan's ML with clusters reports the standard test too, and then takes the
    # h1 information for every scaled test
    options$test <- c("standard", info$test)
    if (is.null(user$observed.information)) options$observed.information[2L] <- "h1"
  }
  if (is.null(user$information)) options$information <- rep(info$information, 2L)
  if (is.null(user$omega.information)) options$omega.information <- options$information[2L]
  if (is.null(user$observed.information) &&
      any(info$test %in% c("satorra.bentler", "yuan.bentler", "mean.var.adjusted",
                           "scaled.shifted"))) {
    options$observed.information[2L] <- "h1"
  }
  options
}

# lavaan's optim slot for the engine's solution.
optim_slot <- function(x, fx, info) {
  fx_value <- fx
  attributes(fx_value) <- NULL
  list(x = x, dx = numeric(0L), npar = length(x), iterations = info$iterations,
       converged = info$converged, warn.txt = "", parscale = rep(1, length(x)),
       fx = fx_value, fx.group = attr(fx, "fx.group"), logl.group = NA_real_,
       logl = NA_real_, control = list())
}

# lavaan's baseline slot from the engine's fit measures: the independence
# model's test statistics (standard, and scaled where there is one).
baseline_slot <- function(measures, test_names) {
  get <- function(name) if (name %in% names(measures)) measures[[name]] else NA_real_
  if (is.na(get("baseline.chisq"))) return(list())
  tests <- list(standard = list(test = "standard", stat = get("baseline.chisq"),
                                stat.group = get("baseline.chisq"),
                                df = get("baseline.df"), refdistr = "chisq",
                                pvalue = get("baseline.pvalue")))
  scaled <- setdiff(test_names, "standard")
  if (length(scaled) && !is.na(get("baseline.chisq.scaled"))) {
    tests[[scaled[1L]]] <- list(test = scaled[1L], stat = get("baseline.chisq.scaled"),
                                stat.group = get("baseline.chisq.scaled"),
                                df = get("baseline.df.scaled"), refdistr = "chisq",
                                pvalue = get("baseline.pvalue.scaled"),
                                scaling.factor = get("baseline.chisq.scaling.factor"))
  }
  list(test = tests)
}

# The sample moments of the observed variables (ordinal items by their codes)
# in lavaan's SampleStats slot, for a fit lavaan computes no statistics for
# (IWAVE): lavInspect(fit, "sampstat") and semPlot read them.
with_sample_moments <- function(skel, data, group) {
  ov <- lavaan::lavNames(skel@ParTable, "ov")
  X <- vapply(data[ov], function(col) as.numeric(if (is.factor(col)) as.integer(col) else col),
              numeric(nrow(data)))
  X <- matrix(X, nrow(data), dimnames = list(NULL, ov))
  rows <- if (is.null(group)) list(seq_len(nrow(X))) else
    unname(split(seq_len(nrow(X)), factor(data[[group]], levels = unique(data[[group]]))))
  pt <- skel@ParTable
  moments <- lapply(seq_along(rows), function(b) {
    i <- rows[[b]]
    S <- stats::cov(X[i, , drop = FALSE], use = "pairwise.complete.obs")
    n <- length(i)
    # lavaan's sample thresholds: normal quantiles of the cumulative proportions
    th <- which(pt$op == "|" & grepl("^t[0-9]+$", pt$rhs) & pt$block == b)
    codes <- X[i, pt$lhs[th], drop = FALSE]
    codes <- sweep(codes, 2L, apply(codes, 2L, min, na.rm = TRUE) - 1)
    k <- as.integer(sub("^t", "", pt$rhs[th]))
    list(cov = S * (n - 1) / n, mean = colMeans(X[i, , drop = FALSE], na.rm = TRUE), n = n,
         th = stats::qnorm(colMeans(sweep(codes, 2L, k, `<=`), na.rm = TRUE)))
  })
  ss <- skel@SampleStats
  ss@th <- lapply(moments, `[[`, "th")
  ss@cov <- lapply(moments, `[[`, "cov")
  ss@var <- lapply(ss@cov, diag)
  ss@mean <- lapply(moments, `[[`, "mean")
  ss@nobs <- lapply(moments, `[[`, "n")
  ss@ntotal <- sum(vapply(moments, `[[`, 1L, "n"))
  skel@SampleStats <- ss
  if (skel@Model@conditional.x) {
    skel <- with_covariate_moments(skel, moments, lavaan::lavNames(pt, "ov.x"))
    skel@SampleStats <- with_residual_moments(skel@SampleStats, X, rows,
                                              lavaan::lavNames(pt, "ov.nox"),
                                              lavaan::lavNames(pt, "ov.x"))
  }
  skel
}

# lavaan's conditional.x statistics (lavInspect(fit, "sampstat") reads them):
# the least-squares regression of the codes on the covariates (complete rows),
# its intercepts, slopes and residual covariance (N in the denominator);
# res.th keeps the marginal thresholds above, not lavaan's probit intercepts.
with_residual_moments <- function(ss, X, rows, ov_y, ov_x) {
  fits <- lapply(rows, function(i) {
    ok <- i[stats::complete.cases(X[i, , drop = FALSE])]
    design <- cbind(1, X[ok, ov_x, drop = FALSE])
    coefs <- qr.coef(qr(design), X[ok, ov_y, drop = FALSE])
    res <- X[ok, ov_y, drop = FALSE] - design %*% coefs
    list(int = unname(coefs[1L, ]), slopes = unname(t(coefs[-1L, , drop = FALSE])),
         cov = unname(crossprod(res) / length(ok)))
  })
  ss@res.int <- lapply(fits, `[[`, "int")
  ss@res.slopes <- lapply(fits, `[[`, "slopes")
  ss@res.cov <- lapply(fits, `[[`, "cov")
  ss@res.var <- lapply(ss@res.cov, diag)
  ss@res.th <- ss@th
  ss
}

# With conditional.x, lavaan's model holds the covariates' sample moments (N in
# the denominator) as its cov.x and mean.x matrices, which fitted() and
# lavInspect(fit, "implied") read; the dry run without data left I and 0.
with_covariate_moments <- function(skel, moments, ov_x) {
  model <- skel@Model
  ends <- cumsum(model@nmat)
  cov_x <- lapply(moments, function(m) unname(m$cov[ov_x, ov_x, drop = FALSE]))
  mean_x <- lapply(moments, function(m) matrix(unname(m$mean[ov_x]), ncol = 1L))
  for (b in seq_along(moments)) {
    block <- seq_len(model@nmat[b]) + ends[b] - model@nmat[b]
    model@GLIST[[block[names(model@GLIST)[block] == "cov.x"]]] <- cov_x[[b]]
    model@GLIST[[block[names(model@GLIST)[block] == "mean.x"]]] <- mean_x[[b]]
  }
  skel@SampleStats@cov.x <- cov_x
  skel@SampleStats@mean.x <- lapply(mean_x, as.vector)
  skel@Model <- model
  skel@implied <- lav_internal("lav_model_implied")(model)
  skel
}

# lavaan's loglik slot for a fit without lavaan's likelihood (IWAVE): the
# engine's importance-sampled log-likelihood and information criteria.
engine_loglik <- function(measures, info) {
  get <- function(name) if (name %in% names(measures)) measures[[name]] else NA_real_
  list(loglik = get("logl"), loglik.group = get("logl"), npar = as.integer(get("npar")),
       ntotal = info$nobs, AIC = get("aic"), BIC = get("bic"), BIC2 = get("bic2"),
       estimator = info$estimator, conditional.x = FALSE, fixed.x = FALSE)
}

# Place the engine's solution (free parameters `x` in lavaan's order, their
# covariance matrix `V`) in the dry-run object and let lavaan derive the rest.
lavaan_fill <- function(skel, x, V, info, measures, user, boot = NULL) {
  options <- fitted_options(skel@Options, info, user)
  if (!is.null(boot)) {
    # lavaan's bootstrap: the draws in @boot$coef (read by parameterEstimates'
    # boot.ci.type and lavInspect(fit, "boot")) and on the vcov, where
    # lav_model_test() finds the Bollen-Stine statistics
    options$bootstrap <- nrow(boot$coef)
    attr(V, "BOOT.COEF") <- boot$coef
    if (length(boot$chisq)) {
      attr(V, "BOOT.TEST") <- boot$chisq[setdiff(seq_along(boot$chisq), boot$failed)]
    }
  }
  if (!is_irt_estimator(info$estimator) && skel@Model@categorical &&
      !sum(lengths(skel@SampleStats@NACOV)) &&
      any(info$test %in% c("satorra.bentler", "scaled.shifted", "mean.var.adjusted"))) {
    # the dry run of ULSMV/ULSM skips the NACOV that lavaan's robust tests need
    skel@SampleStats <- lav_internal("lav_samplestats_from_data")(lavdata = skel@Data,
                                                                   lavoptions = options)
  }
  model <- lav_internal("lav_model_set_parameters")(skel@Model, x = x)
  pt <- skel@ParTable
  pt$est <- lav_internal("lav_model_get_parameters")(model, type = "user", extra = TRUE)
  likelihood <- !is_irt_estimator(info$estimator)  # lavaan has this likelihood
  implied <- lav_internal("lav_model_implied")(model)
  fx <- if (likelihood) {
    lav_internal("lav_model_objective")(lavmodel = model, lavsamplestats = skel@SampleStats,
                                        lavdata = skel@Data, lavcache = skel@Cache)
  } else structure(NA_real_, fx.group = NA_real_)
  loglik <- if (likelihood) {
    lav_internal("lav_model_loglik")(lavdata = skel@Data, lavsamplestats = skel@SampleStats,
                                     lavimplied = implied, lavmodel = model,
                                     lavoptions = options)
  } else engine_loglik(measures, info)
  if (likelihood && "npar" %in% names(measures)) {
    # the engine counts the parameters as lavaan does after fitting (active
    # inequality constraints included), which the dry run cannot know
    loglik[c("npar", "AIC", "BIC", "BIC2")] <- as.list(measures[c("npar", "aic", "bic", "bic2")])
  }
  pt$se <- lav_internal("lav_model_vcov_se")(
    lavmodel = model, lavpartable = pt, VCOV = V,
    BOOT = if (identical(info$se, "bootstrap")) boot$coef[!is.na(boot$coef[, 1L]), , drop = FALSE])
  xa <- structure(x, fx = fx, converged = info$converged, iterations = info$iterations,
                  control = list(), dx = numeric(0L), warn.txt = "")
  test <- if (likelihood && info$converged) {
    lav_internal("lav_model_test")(lavmodel = model, lavpartable = pt, lavpta = skel@pta,
                                   lavsamplestats = skel@SampleStats, lavimplied = implied,
                                   lavh1 = skel@h1, lavoptions = options, x = xa, VCOV = V,
                                   lavdata = skel@Data, lavcache = skel@Cache,
                                   lavloglik = loglik)
  } else {
    list(list(test = "none", stat = NA, stat.group = rep(NA, skel@Data@ngroups), df = NA,
              refdistr = "unknown", pvalue = NA))
  }
  if (!likelihood) options$estimator <- info$estimator
  skel@Options <- options
  skel@ParTable <- pt
  skel@Model <- model
  skel@optim <- optim_slot(x, fx, info)
  skel@implied <- implied
  skel@loglik <- loglik
  skel@vcov <- list(se = options$se, information = options$information, vcov = V)
  skel@test <- test
  skel@Fit <- lav_internal("lav_model_fit")(lavpartable = pt, lavmodel = model,
                                            lavimplied = implied, x = xa, VCOV = V,
                                            TEST = test)
  skel@baseline <- baseline_slot(measures, names(test))
  if (!is.null(boot)) skel@boot <- list(coef = boot$coef)
  skel
}

# The engine's bootstrap draws as lavaan keeps them: the free parameters
# (`keep`: lavaan's of the engine's) of each draw, failed draws listed in the
# attribute error.idx (their rows NA); NULL without a bootstrap.
boot_draws <- function(boot, keep) {
  if (!length(boot)) return(NULL)
  coef <- as_mat(boot$coef)[, keep, drop = FALSE]
  failed <- as.integer(as_num(boot$failed))
  attr(coef, "error.idx") <- failed
  list(coef = coef, chisq = as_num(boot$chisq), failed = failed)
}

# The implied moments of an IRT fit's items by lavaan's definitions for a
# categorical model (as lavaan reports them after parameterization = "theta"):
# the correlations of the items' latent responses y* and their thresholds in
# units of y*'s standard deviation (both given the covariates, with
# conditional.x), where a logistic item (graded, binary, gpcm, nominal) has
# y* = lambda' eta + e with var(e) = pi^2 / 3 in place of the probit's 1. The
# dry run's own implied moments read the engine's logistic estimates as those
# of lavaan's probit delta model (res.cov 3.13 off the diagonal of a
# correlation matrix). Items without a latent response (count items: their
# `y ~~ y` row has no standardized value) get NA; normal items keep their
# residual variances (and scale 1).
latent_response_implied <- function(model, pt) {
  ends <- cumsum(model@nmat)
  set_delta <- lav_internal("setDeltaElements.LISREL")
  for (b in seq_len(model@nblocks)) {
    block <- seq_len(model@nmat[b]) + ends[b] - model@nmat[b]
    mlist <- model@GLIST[block]
    ov <- model@dimNames[[block[names(mlist) == "theta"]]][[1L]]
    num <- model@num.idx[[b]]
    logistic <- setdiff(seq_along(ov), num)
    mlist$theta[cbind(logistic, logistic)] <- pi^2 / 3
    in_block <- if (is.null(pt$block)) TRUE else pt$block == b
    resid <- pt$op == "~~" & pt$lhs == pt$rhs & in_block & pt$lhs %in% ov
    none <- match(pt$lhs[resid & is.na(pt$std.all)], ov)
    mlist$theta[cbind(none, none)] <- NA_real_
    mlist <- set_delta(mlist, num.idx = num)
    model@GLIST[block] <- mlist
  }
  lav_internal("lav_model_implied")(model)
}
