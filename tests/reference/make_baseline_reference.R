# Regenerates tests/reference/baseline/: lavaan's baseline (independence) model when
# observed exogenous covariates are not fixed (fixed.x = FALSE), for
# tests/python/test_baseline.py. lavaan then keeps the covariates' covariances free in
# the baseline (baseline.fixed.x.free.cov = TRUE), so its df and chi-square differ from
# those of a baseline with every covariance at zero. Cases: ML, MLM and MLR on complete
# data, FIML (ML and MLR) with a covariate missing (its block then has its own FIML
# estimates), and two groups.
# Run from the repository root: Rscript tests/reference/make_baseline_reference.R
suppressPackageStartupMessages(library(lavaan))
here <- file.path("tests", "reference")
out <- file.path(here, "baseline")
dir.create(out, showWarnings = FALSE)
mimic <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nvisual ~ ageyr + grade\ntextual ~ ageyr"
# grade is missing in one row: the complete-data cases drop it (lavaan's listwise)
hs <- HolzingerSwineford1939
hs_mcar_x <- read.csv(file.path(here, "data", "hs_mcar_x.csv"))
fits <- list(
  free_x_ml = sem(mimic, data = hs, fixed.x = FALSE),
  free_x_mlm = sem(mimic, data = hs, fixed.x = FALSE, estimator = "MLM"),
  free_x_mlr = sem(mimic, data = hs, fixed.x = FALSE, estimator = "MLR"),
  free_x_means = sem(mimic, data = hs, fixed.x = FALSE, meanstructure = TRUE),
  free_x_groups = sem(mimic, data = hs, fixed.x = FALSE, group = "school"),
  free_x_fiml = sem(mimic, data = hs_mcar_x, fixed.x = FALSE, missing = "ml"),
  free_x_fiml_mlr = sem(mimic, data = hs_mcar_x, fixed.x = FALSE, missing = "ml",
                        estimator = "MLR")
)
for (name in names(fits)) {
  fm <- fitMeasures(fits[[name]])
  write.csv(data.frame(name = names(fm), value = as.numeric(fm)),
            file.path(out, paste0(name, "_fitmeasures.csv")), row.names = FALSE)
}
