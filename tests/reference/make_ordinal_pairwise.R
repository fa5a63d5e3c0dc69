# lavaan's missing = "pairwise" with ordered and continuous variables together
# (issue 13, beside make_ordinal_more.R): x1-x6 of hs_mixed.csv ordered, x7-x9
# continuous, about 10 % of the values of every variable removed at random.
# Run from the repository root after make_ordinal_more.R:
#   Rscript tests/reference/make_ordinal_pairwise.R
# Writes to tests/reference/ordinal/: hs_mixed_missing.csv (the data, read
# back before fitting so that the fit sees what the tests read) and, for the
# case hs_mixed_pairwise, <case>_estimates.csv, <case>_fitmeasures.csv, its
# WLS.obs (<case>_wls_obs.csv), NACOV (<case>_gamma.csv) and lavPredict
# scores (<case>_scores.csv).
#
# What lavaan 0.6.14 does there (lav_samplestats_step1/step2, muthen1984):
# every threshold, mean and variance (divided by the variable's own count)
# from the rows observing the variable; every polychoric, polyserial and
# Pearson correlation from the rows observing both, by two-step maximum
# likelihood with the univariate statistics held (for a Pearson pair with
# missing values this is not cov(use = "pairwise")); the case scores of a
# missing value are NA, and lav_matrix_crossprod sums with na.rm, so they count
# as zeros in A11, A21, A22 and in B^-1 (sum s_i s_i') B^-T; NACOV = that
# times nobs, the number of rows with an observed value (empty rows are
# dropped with a warning).  The checks below confirm the univariate parts.
suppressPackageStartupMessages(library(lavaan))
source(file.path("tests", "reference", "ordinal_write.R"))
items <- paste0("x", 1:9)
hs_mixed <- read.csv(file.path(here, "hs_mixed.csv"))
set.seed(13)
for (v in items) hs_mixed[[v]][runif(nrow(hs_mixed)) < 0.1] <- NA
write_csv(hs_mixed, "hs_mixed_missing.csv")
d <- read.csv(file.path(here, "hs_mixed_missing.csv"))
stopifnot(identical(is.na(d), is.na(hs_mixed)), all(rowSums(!is.na(d[items])) > 0))

fit <- cfa(readLines(file.path(here, "hs.lav")), d, ordered = paste0("x", 1:6),
           missing = "pairwise")
write_fit(fit, "hs_mixed_pairwise")
obs <- lavInspect(fit, "wls.obs")
write_csv(data.frame(name = names(obs), value = as.numeric(obs)), "hs_mixed_pairwise_wls_obs.csv")
write_csv(as.data.frame(unclass(lavInspect(fit, "gamma"))), "hs_mixed_pairwise_gamma.csv")
# factor scores (EBM): each row from its observed values
write_csv(as.data.frame(lavPredict(fit)), "hs_mixed_pairwise_scores.csv")

# the continuous variables' means and variances: their own observed values,
# divided by their own count; the covariance of x7 and x8 is neither
# cov(use = "pairwise") nor its (n - 1) / n multiple
stopifnot(lavInspect(fit, "nobs") == nrow(d))
for (v in paste0("x", 7:9)) {
  y <- d[[v]][!is.na(d[[v]])]
  stopifnot(abs(obs[[paste0(v, "~1")]] + mean(y)) < 1e-8,
            abs(obs[[paste0(v, "~~", v)]] - mean((y - mean(y))^2)) < 1e-8)
}
stopifnot(abs(obs[["x7~~x8"]] - cov(d$x7, d$x8, use = "pairwise")) > 1e-3)
