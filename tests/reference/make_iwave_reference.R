# Reference values from lavaan for the IWAVE estimator's tests (tests/python/test_iwave*.py).
# Run from the repository root: Rscript tests/reference/make_iwave_reference.R
#  - iwave_hs_firstorder_estimates.csv: HS three-factor model, std.lv, with a mean
#    structure and first-order (outer product of gradients) information, the
#    counterpart of IWAVE's OPG standard errors.
#  - iwave_ordered_partable.csv: lavaan's parameter table for a model with ordered
#    indicators and covariates (rows, free/fixed and start values of thresholds,
#    scaling and intercept rows), which torchfit's partable.build(ordered=) must match.
#  - iwave_hs_ordered_partable.csv and data/iwave_hs_ordered.csv: a full lavaan table
#    with thresholds (as R sends it) and the ordinal data it was built for.
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
# The whole table lavaan gives R's torchfit() for an ordinal CFA, and its data: the
# engine must fit it exactly as it fits the same syntax with ordered=.
fit <- cfa("visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6", data = d,
           ordered = c("x1", "x2", "x3"), std.lv = TRUE, do.fit = FALSE)
write_csv(parTable(fit), "iwave_hs_ordered_partable.csv")
write.csv(d[, c("x1", "x2", "x3", "x4", "x5", "x6")],
          file.path(here, "data", "iwave_hs_ordered.csv"), row.names = FALSE)
cat("lavaan", as.character(packageVersion("lavaan")), "IWAVE references written\n")
