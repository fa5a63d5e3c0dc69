# Reference values from lavaan for the IWAVE estimator's tests (tests/python/test_iwave*.py).
# Run from the repository root: Rscript tests/reference/make_iwave_reference.R
#  - iwave_hs_firstorder_estimates.csv: HS three-factor model, std.lv, with a mean
#    structure and first-order (outer product of gradients) information, the
#    counterpart of IWAVE's OPG standard errors.
#  - iwave_ordered_partable.csv: lavaan's parameter table for a model with ordered
#    indicators and covariates (rows, free/fixed and start values of thresholds,
#    scaling and intercept rows), which torchfit's partable.build(ordered=) must match.
suppressPackageStartupMessages(library(lavaan))
here <- file.path("tests", "reference")
out <- file.path(here, "lavaan")
write_csv <- function(x, file) write.csv(x, file.path(out, file), row.names = FALSE)

hs_model <- paste(readLines(file.path(here, "models", "hs_cfa.lav")), collapse = "\n")
fit <- cfa(hs_model, data = HolzingerSwineford1939, std.lv = TRUE, meanstructure = TRUE,
           information = "first.order")
write_csv(parameterEstimates(fit), "iwave_hs_firstorder_estimates.csv")

d <- HolzingerSwineford1939
for (v in c("x1", "x2", "x3")) d[[v]] <- cut(d[[v]], 3, labels = FALSE)
ord_model <- "f =~ x1 + x2 + x3 + x4\n g =~ x5 + x6\n f ~ ageyr + grade\n x2 | t1"
fit <- sem(ord_model, data = d, ordered = c("x1", "x2", "x3"), do.fit = FALSE)
write_csv(parTable(fit)[, c("lhs", "op", "rhs", "user", "free", "ustart", "exo")],
          "iwave_ordered_partable.csv")
cat("lavaan", as.character(packageVersion("lavaan")), "IWAVE references written\n")
