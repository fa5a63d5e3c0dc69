# R-only: which of lavaan's options torchfit() honours and which it refuses.
# Every name of lavaan::lavOptions() (and of lavaanify()'s arguments) is in
# exactly one of these lists, so no option is silently ignored (a test walks
# them). They are lavaan's options, which only R's lavaan object has; the
# engine's own options (their names, estimators and the messages for an unknown
# or misplaced one) come from the engine's table, torchfit.options.OPTIONS
# (engine_option_table(), engine_args() and check_engine_options() in
# R/torchfit.R).

# Honoured with lavaan's meaning: they shape the parameter table (lavaanify()
# and lavaan's dry run read them) or are torchfit()'s own arguments, which the
# engine follows (estimator, missing, information).
.honoured_options <- c(
  "model.type", "meanstructure", "int.ov.free", "int.lv.free", "fixed.x", "orthogonal",
  "orthogonal.x", "orthogonal.y", "std.lv", "effect.coding", "auto.fix.first",
  "auto.fix.single", "auto.var", "auto.cov.lv.x", "auto.cov.y", "auto.th", "auto.delta",
  "auto.efa", "auto", "constraints", "group.equal", "group.partial", "missing",
  "estimator", "information", "warn", "bootstrap", "parameterization", "std.ov"
)

# Honoured only at the value(s) listed, which are lavaan's defaults or what the
# estimator implies (then they change nothing); any other value is refused.
.default_only_options <- list(
  mimic = "lavaan", conditional.x = c("default", FALSE), correlation = FALSE,
  ceq.simple = FALSE,
  sampling.weights.normalization = "total", sample.cov.rescale = c("default", TRUE),
  sample.icov = TRUE, ridge = FALSE, ridge.constant = "default", group.w.free = FALSE,
  likelihood = c("default", "normal"), link = "default", representation = c("default", "LISREL"),
  do.fit = TRUE, bounds = c("none", FALSE),
  se = "default", test = "default",  # or what the estimator computes, see below
  h1.information = "structured", observed.information = "hessian",
  information.meat = c("default", "first.order"),
  h1.information.meat = c("default", "structured"),
  omega.information = "default", omega.h1.information = "default",
  omega.information.meat = "default", omega.h1.information.meat = "default",
  scaled.test = "standard", ug2.old.approach = FALSE, gamma.n.minus.one = FALSE,
  gamma.unbiased = FALSE, optim.method = c("default", "nlminb"), optim.force.converged = FALSE,
  start = "default", check.start = TRUE, check.post = TRUE, check.gradient = TRUE,
  check.vcov = TRUE, check.lv.names = TRUE, h1 = TRUE, baseline = TRUE,
  baseline.conditional.x.free.slopes = TRUE, implied = TRUE,
  loglik = TRUE, store.vcov = "default", verbose = FALSE, debug = FALSE,
  zero.add = "default", zero.keep.margins = "default", zero.cell.warn = FALSE,
  parallel = "no", ncpus = 1L, cl = list(NULL), iseed = list(NULL), orthogonal.efa = FALSE,
  rotation = "geomin", rotation.se = "bordered", group.label = list(NULL),
  level.label = list(NULL)
)

# Refused whatever their value, with what to use instead.
.refused_options <- c(
  control = "iter.max = (the most optimizer iterations); the engine's optimizer has no nlminb controls",
  optim.attempts = "iter.max =",
  optim.gradient = "the default (the engine's gradients are analytic or autograd)",
  optim.init_nelder_mead = "start() in the model syntax for start values",
  optim.var.transform = "the default",
  optim.parscale = "the default",
  optim.partrace = "the default",
  optim.dx.tol = "the default",
  optim.bounds = "inequality constraints in the syntax (v > 0)",
  em.iter.max = "the default (missing = \"ml\" runs the engine's EM)",
  em.fx.tol = "the default", em.dx.tol = "the default", em.zerovar.offset = "the default",
  em.h1.iter.max = "the default", em.h1.tol = "the default", em.h1.warn = "the default",
  optim.gn.iter.max = "iter.max =", optim.gn.stephalf.max = "the default",
  optim.gn.tol.x = "the default",
  integration.ngh = "estimator = \"IWAVE\" for non-normal items",
  rotation.args = "torchfit.efa() in Python for rotations",
  estimator.args = "the estimator's defaults",
  varTable = "data with the model's variables", ngroups = "group =",
  nthresholds = "ordered = (the number of categories comes from the data)"
)

# R-only: lavaan's se, test and bootstrap, whose lavaan values R translates for
# the ML family (check_lavaan_options(), bootstrap_options()); IWAVE and MML take
# se as their own option, as the engine's table says.
.lavaan_inference <- c("se", "test", "bootstrap")

# R-only: the standard errors and test each estimator computes (lavaan's names).
.estimator_se_test <- list(ML = c("standard", "standard"),
                           MLM = c("robust.sem", "satorra.bentler"),
                           MLR = c("robust.huber.white", "yuan.bentler.mplus"))

# The bootstrap the engine computes (with estimator = "ML"): se = "bootstrap"
# and the Bollen-Stine test, as bootstrap_options() sends them.
.bootstrap_values <- list(se = "bootstrap", test = c("bootstrap", "bollen.stine"))

# The engine's bootstrap options from lavaan's se, test and bootstrap; the
# seed is drawn from R's random numbers, so set.seed() makes a fit reproducible.
bootstrap_options <- function(dots) {
  se <- identical(dots$se, "bootstrap")
  test <- !is.null(dots$test) && dots$test %in% .bootstrap_values$test
  if (!se && !test) return(list())
  list(se = if (se) "bootstrap" else "standard", test = if (test) "bootstrap" else "standard",
       bootstrap = if (is.null(dots$bootstrap)) 1000L else as.integer(dots$bootstrap),
       seed = sample.int(.Machine$integer.max, 1L))
}

# Stop when `dots` holds a lavaan option torchfit cannot honour. Names the
# engine takes as its own options (IWAVE's `se`) are the engine's to check.
check_lavaan_options <- function(dots, estimator, engine_names = character(0)) {
  dots <- dots[setdiff(names(dots), engine_names)]
  implied <- .estimator_se_test[[estimator]]
  if (!is.null(implied)) {
    for (i in 1:2) {
      name <- c("se", "test")[i]
      if (!is.null(dots[[name]]) && !identical(dots[[name]], "default") &&
          !identical(dots[[name]], implied[i]) &&
          !(estimator == "ML" && dots[[name]] %in% .bootstrap_values[[name]])) {
        torchfit_stop(paste0("option `", name, " = \"", dots[[name]], "\"` is not supported with ",
                             "estimator = \"", estimator, "\", which computes ", name, " = \"",
                             implied[i], "\"; choose the estimator that computes it (",
                             "ML, MLM or MLR) or fit this with lavaan."), "torchfit_option_error")
      }
    }
    dots[c("se", "test")] <- NULL
  }
  for (name in intersect(names(dots), names(.refused_options))) {
    torchfit_stop(paste0("option `", name, "` is not supported by torchfit(); use ",
                         .refused_options[[name]], "."), "torchfit_option_error")
  }
  for (name in intersect(names(dots), names(.default_only_options))) {
    allowed <- .default_only_options[[name]]
    value <- dots[[name]]
    ok <- vapply(allowed, function(a) identical(value, a) ||
                   (is.null(value) && is.null(a)) ||
                   (length(value) >= 1L && all(as.character(value) == as.character(a))),
                 logical(1))
    if (!any(ok)) {
      shown <- vapply(allowed, function(a) if (is.null(a)) "NULL" else deparse(a), "")
      torchfit_stop(paste0(
        "option `", name, " = ", paste(deparse(value), collapse = ""), "` is not supported ",
        "by torchfit(); it takes ", paste(shown, collapse = " or "),
        " (lavaan's default or what the estimator implies). Fit this with lavaan ",
        "instead, or leave the option out."), "torchfit_option_error")
    }
  }
  invisible(dots)
}
