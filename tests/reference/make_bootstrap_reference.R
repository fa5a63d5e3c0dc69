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
