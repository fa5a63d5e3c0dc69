# Regenerates tests/reference/data_options/: lavaan's data options, for
# tests/python/test_data_options.py: fits from sample moments (sample.cov,
# sample.mean, sample.nobs; one group and a list per group), std.ov = TRUE, and
# FIML with exogenous covariates missing (missing = "ml" with fixed.x, which
# drops the rows missing a covariate, and missing = "ml.x", which keeps them).
# Run from the repository root: Rscript tests/reference/make_data_options_reference.R
suppressPackageStartupMessages(library(lavaan))
here <- file.path("tests", "reference")
out <- file.path(here, "data_options")
dir.create(out, showWarnings = FALSE)
model_of <- function(file) paste(readLines(file.path(here, "models", file)), collapse = "\n")
write_csv <- function(x, file) write.csv(x, file.path(out, file), row.names = FALSE)
hs <- HolzingerSwineford1939
xs <- paste0("x", 1:9)
# HS with x1-x9 missing completely at random (as make_reference.R) and the
# covariate ageyr missing in every 13th row, for FIML with covariates
hs_mcar <- read.csv(file.path(here, "data", "hs_mcar.csv"))
hs_mcar$ageyr[seq(5, nrow(hs_mcar), by = 13)] <- NA
write.csv(hs_mcar, file.path(here, "data", "hs_mcar_x.csv"), row.names = FALSE)
mimic <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nvisual ~ ageyr + grade\ntextual ~ ageyr"
by_school <- split(hs, hs$school)[c("Pasteur", "Grant-White")]
# the moments as the user passes them: unbiased covariances (R's cov) and means
fits <- list(
  cov_hs = cfa(model_of("hs_cfa.lav"), sample.cov = cov(hs[xs]), sample.nobs = 301),
  cov_hs_means = cfa(model_of("hs_cfa.lav"), sample.cov = cov(hs[xs]),
                     sample.mean = colMeans(hs[xs]), sample.nobs = 301),
  cov_hs_groups = cfa(model_of("hs_cfa.lav"),
                      sample.cov = lapply(by_school, function(d) cov(d[xs])),
                      sample.mean = lapply(by_school, function(d) colMeans(d[xs])),
                      sample.nobs = lapply(by_school, nrow), group.equal = "loadings"),
  # (grade is missing in one row)
  cov_mimic = sem(mimic, sample.cov = cov(hs[c(xs[1:6], "ageyr", "grade")], use = "complete"),
                  sample.nobs = 300),
  cov_hs_observed = cfa(model_of("hs_cfa.lav"), sample.cov = cov(hs[xs]), sample.nobs = 301,
                        information = "observed"),
  std_ov_hs = cfa(model_of("hs_cfa.lav"), data = hs, std.ov = TRUE),
  std_ov_mlr = cfa(model_of("hs_cfa.lav"), data = hs, std.ov = TRUE, estimator = "MLR"),
  # lavaan's baseline model of std.ov with fixed covariates mixes the covariates'
  # raw variances with their standardized covariance (its chisq is 4725.6, CFI
  # 0.987); the baseline does not depend on the scale, so the unstandardized fit
  # gives the baseline test_data_options.py checks std_ov_mimic's against
  std_ov_mimic = sem(mimic, data = hs, std.ov = TRUE, missing = "listwise"),
  mimic_listwise = sem(mimic, data = hs, missing = "listwise"),
  std_ov_groups = cfa(model_of("hs_cfa.lav"), data = hs, std.ov = TRUE, group = "school"),
  std_ov_fiml = cfa(model_of("hs_cfa.lav"), data = hs_mcar, std.ov = TRUE, missing = "ml"),
  fiml_fixed_x = sem(mimic, data = hs_mcar, missing = "ml"),
  fiml_ml_x = sem(mimic, data = hs_mcar, missing = "ml.x")
)
for (name in names(fits)) {
  fit <- fits[[name]]
  est <- parameterEstimates(fit, standardized = TRUE, remove.nonfree = FALSE)
  if (is.null(est$group)) est$group <- 1L
  est$group_label <- if (length(lavInspect(fit, "group.label"))) {
    lavInspect(fit, "group.label")[est$group]
  } else ""
  write_csv(est, paste0(name, "_estimates.csv"))
  fm <- fitMeasures(fit)
  write_csv(data.frame(name = names(fm), value = as.numeric(fm)),
            paste0(name, "_fitmeasures.csv"))
  write_csv(data.frame(nobs = lavInspect(fit, "nobs"), norig = lavInspect(fit, "norig")),
            paste0(name, "_nobs.csv"))
}
# what a fit from moments gives after the fit: modification indices and
# standardized residuals
for (name in c("cov_hs", "cov_hs_means")) {
  write_csv(modindices(fits[[name]]), paste0(name, "_modindices.csv"))
  res <- residuals(fits[[name]], type = "standardized")
  write.csv(res$cov, file.path(out, paste0(name, "_residuals_standardized.csv")))
}
# raw and cor residuals of the FIML fits with covariates (their score-based
# statistics are refused yet)
for (name in c("fiml_fixed_x", "fiml_ml_x")) {
  for (type in c("raw", "cor")) {
    res <- residuals(fits[[name]], type = type)
    write.csv(res$cov, file.path(out, paste0(name, "_residuals_", type, ".csv")))
  }
}
cat("lavaan", as.character(packageVersion("lavaan")), "data-option reference written\n")
