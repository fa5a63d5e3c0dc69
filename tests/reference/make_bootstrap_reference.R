# Regenerates tests/reference/lavaan/bootstrap_*.csv: lavaan's bootstrap
# standard errors and intervals (se = "bootstrap", bootstrap = 1000; percentile
# and bca.simple intervals) of the Holzinger-Swineford CFA and of a latent
# mediation model with its indirect effect (:=), and the Bollen-Stine p-value
# of the HS CFA (test = "bootstrap").  tests/python/test_bootstrap.py compares
# torchfit's bootstrap (other draws) within Monte-Carlo error.
# Run from the repository root: Rscript tests/reference/make_bootstrap_reference.R
suppressPackageStartupMessages(library(lavaan))
out <- file.path("tests", "reference", "lavaan")
cases <- list(
  hs = list(model = paste(readLines(file.path("tests", "reference", "models", "hs_cfa.lav")),
                          collapse = "\n"), data = HolzingerSwineford1939),
  mediation = list(model = "ind60 =~ x1 + x2 + x3
                            dem60 =~ y1 + y2 + y3 + y4
                            dem65 =~ y5 + y6 + y7 + y8
                            dem60 ~ a*ind60
                            dem65 ~ b*dem60 + c*ind60
                            ab := a*b", data = PoliticalDemocracy))
for (name in names(cases)) {
  set.seed(20261130)
  fit <- sem(cases[[name]]$model, data = cases[[name]]$data, se = "bootstrap",
             bootstrap = 1000L)
  perc <- parameterEstimates(fit, boot.ci.type = "perc")
  bca <- parameterEstimates(fit, boot.ci.type = "bca.simple")
  pe <- data.frame(perc[, c("lhs", "op", "rhs", "est", "se", "ci.lower", "ci.upper")],
                   bca.lower = bca$ci.lower, bca.upper = bca$ci.upper,
                   draws = nrow(lavInspect(fit, "boot")),
                   lavaan_version = as.character(packageVersion("lavaan")))
  write.csv(pe, file.path(out, paste0("bootstrap_", name, ".csv")), row.names = FALSE)
}
set.seed(20261130)
fit <- sem(cases$hs$model, data = HolzingerSwineford1939, test = "bootstrap",
           bootstrap = 1000L)
bs <- fit@test[["bollen.stine"]]
write.csv(data.frame(chisq = bs$stat, df = bs$df, pvalue = bs$pvalue,
                     boot_mean = mean(bs$boot.T), boot_sd = sd(bs$boot.T),
                     draws = bs$boot.length,
                     lavaan_version = as.character(packageVersion("lavaan"))),
          file.path(out, "bootstrap_bollen_stine.csv"), row.names = FALSE)

# Two hard cases (heavy-tailed bootstrap distributions), issue 12 review:
# (1) 60 rows of HS, one factor of six indicators: some resamples put the
# marker loading near zero, so the other loadings run off to infinity, or
# flip sign; lavaan fails such replicates (its one nlminb attempt from the
# estimates does not converge) and its draws keep the rest.
# (2) the HS CFA with group = "school": a few replicates of the Pasteur
# group have loadings 10 times the median.
# bootstrap_hard_<case>.csv: for each free parameter lavaan's bootstrap SE
# (bootstrap = 1000) with the draws' kurtosis (m4 / m2^2, for the Monte-Carlo
# error of an SE: var(SE^2) ~ SE^4 (kurtosis - 1) / draws) and quantiles.
# bootstrap_hard_small_draws.csv: 100 resamples of case (1) as lavaan's
# bootstrapLavaan(keep.idx = TRUE) draws them, each row the resampled row
# numbers (r1..r60, 1-based) and lavaan's estimates (NA: a failed replicate),
# so a test can fit the very same resamples.
hard <- list(
  small = list(model = "f =~ x1 + x2 + x3 + x4 + x5 + x6",
               data = HolzingerSwineford1939[1:60, ], group = NULL),
  two_groups = list(model = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6
                             speed =~ x7 + x8 + x9",
                    data = HolzingerSwineford1939, group = "school"))
for (name in names(hard)) {
  case <- hard[[name]]
  set.seed(20261130)
  fit <- cfa(case$model, data = case$data, group = case$group, se = "bootstrap",
             bootstrap = 1000L)
  boot <- lavInspect(fit, "boot")
  ok <- boot[stats::complete.cases(boot), , drop = FALSE]
  pt <- parTable(fit)
  pt <- pt[pt$free > 0, ]
  m2 <- colMeans(sweep(ok, 2, colMeans(ok))^2)
  m4 <- colMeans(sweep(ok, 2, colMeans(ok))^4)
  qs <- t(apply(ok, 2, stats::quantile, probs = c(0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)))
  colnames(qs) <- c("q01", "q05", "q25", "q50", "q75", "q95", "q99")
  se <- sqrt(diag(lavInspect(fit, "vcov")))
  write.csv(data.frame(lhs = pt$lhs, op = pt$op, rhs = pt$rhs, group = pt$group,
                       est = pt$est, se = unname(se), kurtosis = unname(m4 / m2^2), qs,
                       draws = nrow(ok), requested = nrow(boot),
                       lavaan_version = as.character(packageVersion("lavaan"))),
            file.path(out, paste0("bootstrap_hard_", name, ".csv")), row.names = FALSE)
}
set.seed(20261130)
fit <- cfa(hard$small$model, data = hard$small$data)
boot <- suppressWarnings(bootstrapLavaan(fit, R = 100L, keep.idx = TRUE))
rows <- attr(boot, "boot.idx")[[1]]
colnames(rows) <- paste0("r", seq_len(ncol(rows)))
colnames(boot) <- names(coef(fit))
write.csv(data.frame(rows, boot, check.names = FALSE, lavaan_version = as.character(packageVersion("lavaan"))),
          file.path(out, "bootstrap_hard_small_draws.csv"), row.names = FALSE)
