# Regenerates tests/reference/least_squares/: lavaan's least squares on continuous data
# (estimator = "ULS", "GLS", "WLS", "DWLS" without ordered items), for
# tests/python/test_least_squares.py: HS 3-factor by each, two groups (GLS and WLS with
# equal loadings) and the PoliticalDemocracy SEM (regressions, correlated residuals) by GLS
# and ULS. Run from the repository root: Rscript tests/reference/make_least_squares_reference.R
suppressPackageStartupMessages(library(lavaan))
here <- file.path("tests", "reference")
out <- file.path(here, "least_squares")
dir.create(out, showWarnings = FALSE)
model_of <- function(file) paste(readLines(file.path(here, "models", file)), collapse = "\n")
hs <- HolzingerSwineford1939
fits <- list(
  hs_gls = cfa(model_of("hs_cfa.lav"), hs, estimator = "GLS"),
  hs_uls = cfa(model_of("hs_cfa.lav"), hs, estimator = "ULS"),
  hs_wls = cfa(model_of("hs_cfa.lav"), hs, estimator = "WLS"),
  hs_dwls = cfa(model_of("hs_cfa.lav"), hs, estimator = "DWLS"),
  hs_gls_groups = cfa(model_of("hs_cfa.lav"), hs, estimator = "GLS", group = "school",
                      group.equal = "loadings"),
  hs_wls_groups = cfa(model_of("hs_cfa.lav"), hs, estimator = "WLS", group = "school",
                      group.equal = "loadings"),
  poldem_gls = sem(model_of("poldem_sem.lav"), PoliticalDemocracy, estimator = "GLS"),
  poldem_uls = sem(model_of("poldem_sem.lav"), PoliticalDemocracy, estimator = "ULS")
)
for (name in names(fits)) {
  fit <- fits[[name]]
  est <- parameterEstimates(fit, standardized = TRUE, remove.nonfree = FALSE)
  if (is.null(est$group)) est$group <- 1L
  write.csv(est, file.path(out, paste0(name, "_estimates.csv")), row.names = FALSE)
  fm <- fitMeasures(fit)
  write.csv(data.frame(name = names(fm), value = as.numeric(fm)),
            file.path(out, paste0(name, "_fitmeasures.csv")), row.names = FALSE)
}
