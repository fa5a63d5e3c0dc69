# Regenerates tests/reference/post/: what lavaan computes after a fit, for
# tests/python/test_post_estimation.py (modification indices, residuals,
# R-square with a 90 % interval, likelihood-ratio, score and Wald tests).
# The fits are rows of cases.csv, made as make_reference.R makes them.
# Run from the repository root: Rscript tests/reference/make_post_reference.R
suppressPackageStartupMessages(library(lavaan))
here <- file.path("tests", "reference")
out <- file.path(here, "post")
dir.create(out, showWarnings = FALSE)
cases <- read.csv(file.path(here, "cases.csv"), stringsAsFactors = FALSE)
rownames(cases) <- cases$name
load_data <- function(name) {
  if (exists(name, envir = asNamespace("lavaan"))) return(get(name, envir = asNamespace("lavaan")))
  read.csv(file.path(here, "data", paste0(name, ".csv")))
}
model_of <- function(file) paste(readLines(file.path(here, "models", file)), collapse = "\n")
split <- function(x) if (is.na(x) || x == "") "" else strsplit(x, ";")[[1]]
fit_case <- function(name, estimator = NULL) {
  case <- cases[name, ]
  group <- if (is.na(case$group) || case$group == "") NULL else case$group
  fun <- match.fun(case$fun)  # called as make_reference.R calls it
  fun(model_of(case$model_file), data = load_data(case$dataset),
      std.lv = case$std_lv, orthogonal = case$orthogonal,
      missing = case$missing, meanstructure = case$meanstructure,
      estimator = if (is.null(estimator)) case$estimator else estimator,
      group = group, group.equal = split(case$group_equal),
      group.partial = split(case$group_partial))
}
write_csv <- function(x, file) write.csv(x, file.path(out, file), row.names = FALSE)
# residuals as long tables: group, what (cov or mean), row, col, value
long_residuals <- function(res, labels) {
  if (!is.null(res$cov)) res <- list(res)
  do.call(rbind, lapply(seq_along(res), function(g) {
    r <- res[[g]]
    cv <- r$cov
    rows <- data.frame(group = labels[g], what = "cov",
                       row = rep(rownames(cv), times = ncol(cv)),
                       col = rep(colnames(cv), each = nrow(cv)), value = as.vector(cv))
    if (!is.null(r$mean)) {
      rows <- rbind(rows, data.frame(group = labels[g], what = "mean", row = names(r$mean),
                                     col = "", value = as.numeric(r$mean)))
    }
    rows
  }))
}
post_cases <- c("hs_marker", "hs_orthogonal", "hs_configural", "hs_metric", "poldem",
                "hs_mimic", "hs_mlr", "hs_means_mlr", "hs_mlm", "poldem_mlr", "hs_mimic_mlr",
                "hs_fiml", "hs_fiml_groups", "growth_covariates", "hs_linear_constraint",
                "hs_active_bound", "constraints_tutorial")
for (name in post_cases) {
  fit <- fit_case(name)
  write_csv(modindices(fit), paste0(name, "_modindices.csv"))
  labels <- lavInspect(fit, "group.label")
  if (length(labels) == 0) labels <- ""
  types <- c("raw", "cor", "standardized")
  for (type in types) {
    res <- tryCatch(residuals(fit, type = type), error = function(e) NULL)
    if (!is.null(res)) write_csv(long_residuals(res, labels),
                                 paste0(name, "_residuals_", type, ".csv"))
  }
  write_csv(parameterEstimates(fit, rsquare = TRUE, level = 0.9, standardized = TRUE),
            paste0(name, "_estimates_r2.csv"))
}
# likelihood-ratio tests: the configural, metric and scalar HS models by
# school (ML, MLM and MLR), and two single-group pairs
lrt <- function(fits, file) {
  res <- do.call(lavTestLRT, unname(fits))
  res <- cbind(model = names(fits)[order(sapply(fits, function(f) fitMeasures(f, "df")))],
               as.data.frame(res))
  write_csv(res, file)
}
for (estimator in c("ML", "MLM", "MLR")) {
  lrt(list(hs_configural = fit_case("hs_configural", estimator),
           hs_metric = fit_case("hs_metric", estimator),
           hs_scalar = fit_case("hs_scalar", estimator)),
      paste0("lrt_groups_", tolower(estimator), ".csv"))
}
lrt(list(hs_marker = fit_case("hs_marker"), hs_orthogonal = fit_case("hs_orthogonal")),
    "lrt_orthogonal_ml.csv")
lrt(list(hs_mlr = fit_case("hs_mlr"), hs_orthogonal = fit_case("hs_orthogonal", "MLR")),
    "lrt_orthogonal_mlr.csv")
lrt(list(hs_mlm = fit_case("hs_mlm"), hs_orthogonal = fit_case("hs_orthogonal", "MLM")),
    "lrt_orthogonal_mlm.csv")
# score tests: parameters added to the HS model, and the equality constraints
# of the metric model released
hs <- fit_case("hs_marker")
score <- lavTestScore(hs, add = "visual =~ x9\nx7 ~~ x8", epc = TRUE)
write_csv(score$test, "score_add_test.csv")
write_csv(score$uni, "score_add_uni.csv")
score <- lavTestScore(fit_case("hs_metric"))
write_csv(score$test, "score_release_test.csv")
write_csv(score$uni, "score_release_uni.csv")
# Wald tests of constraints on labelled parameters (ML and MLR)
labelled <- model_of("hs_labelled.lav")
wald <- do.call(rbind, lapply(c("ML", "MLR"), function(estimator) {
  fit <- cfa(labelled, data = HolzingerSwineford1939, estimator = estimator)
  do.call(rbind, lapply(c("v2 == v3", "v2 == v3\nt5 == t6", "s8 - 2*s9 == 0"), function(con) {
    w <- lavTestWald(fit, constraints = con)
    data.frame(estimator = estimator, constraints = con, stat = w$stat, df = w$df,
               p.value = w$p.value)
  }))
}))
write_csv(wald, "wald.csv")
cat("lavaan", as.character(packageVersion("lavaan")), "post-estimation reference written\n")
