# More lavaan references for ordered items (issue 13, beside make_ordinal.R):
# a mix of ordered and continuous indicators (polyserial correlations), the
# theta parameterization with two groups, and lavaan's factor scores of a
# categorical fit.  Run from the repository root after make_ordinal.R:
#   Rscript tests/reference/make_ordinal_more.R
# Writes to tests/reference/ordinal/ (also a saturated one-factor model of x1-x3,
# hs3_saturated): hs_mixed.csv (x1-x6 of hs_quartiles.csv,
# x7-x9 of HS as they are), per case <case>_estimates.csv, <case>_fitmeasures.csv,
# and for the mixed case its WLS.obs (<case>_wls_obs.csv) and NACOV
# (<case>_gamma.csv); <case>_scores.csv (lavPredict, its default EBM scores) of
# hs_wlsmv, hs_theta, sim12_pairwise, hs_mixed and hs_group (the groups' rows stacked, Pasteur first;
# see ebm_by_group);
# <case>_summary.txt (summary(fit, standardized = TRUE)) of hs_group and
# hs_mixed_theta.
suppressPackageStartupMessages(library(lavaan))
source(file.path("tests", "reference", "ordinal_write.R"))
hs_cut <- read.csv(file.path(here, "hs_quartiles.csv"))
hs_model <- readLines(file.path(here, "hs.lav"))
items <- paste0("x", 1:9)

hs <- HolzingerSwineford1939
hs_mixed <- hs_cut
for (v in paste0("x", 7:9)) hs_mixed[[v]] <- hs[[v]]
write_csv(hs_mixed, "hs_mixed.csv")

# x1-x6 ordered, x7-x9 continuous (WLSMV, delta and theta)
mixed <- cfa(hs_model, hs_mixed, ordered = paste0("x", 1:6))
write_fit(mixed, "hs_mixed")
obs <- lavInspect(mixed, "wls.obs")
write_csv(data.frame(name = names(obs), value = as.numeric(obs)), "hs_mixed_wls_obs.csv")
write_csv(as.data.frame(unclass(lavInspect(mixed, "gamma"))), "hs_mixed_gamma.csv")
write_csv(as.data.frame(lavPredict(mixed)), "hs_mixed_scores.csv")
# full WLS: the continuous variables' variances are not fitted exactly
write_fit(cfa(hs_model, hs_mixed, ordered = paste0("x", 1:6), estimator = "WLS"), "hs_mixed_wls")
mixed_theta <- cfa(hs_model, hs_mixed, ordered = paste0("x", 1:6), parameterization = "theta")
write_fit(mixed_theta, "hs_mixed_theta")
write_summary <- function(fit, name)
  writeLines(capture.output(summary(fit, standardized = TRUE)),
             file.path(here, paste0(name, "_summary.txt")))
write_summary(mixed_theta, "hs_mixed_theta")

# a saturated model (df = 0): lavaan's saturated values of the measures
write_fit(cfa("f =~ x1 + x2 + x3", hs_cut, ordered = paste0("x", 1:3)), "hs3_saturated")

# two groups, some items continuous (lavaan equates their intercepts with
# the thresholds)
write_fit(cfa(hs_model, hs_mixed, ordered = paste0("x", 1:6), group = "school",
              group.equal = c("thresholds", "loadings")), "hs_mixed_group")

# two groups, theta parameterization, equal thresholds and loadings
write_fit(cfa(hs_model, hs_cut, ordered = items, group = "school",
              group.equal = c("thresholds", "loadings"), parameterization = "theta"),
          "hs_group_theta")

# factor scores (lavPredict's default for a categorical fit) of the hs_wlsmv case
wlsmv <- cfa(hs_model, hs_cut, ordered = items)
write_csv(as.data.frame(lavPredict(wlsmv)), "hs_wlsmv_scores.csv")
# pairwise missing values: each row scored from its observed items
sim_na <- read.csv(file.path(here, "sim12_missing.csv"))
pairwise <- cfa(readLines(file.path(here, "sim12.lav")), sim_na, ordered = names(sim_na),
                missing = "pairwise")
write_csv(as.data.frame(lavPredict(pairwise)), "sim12_pairwise_scores.csv")
theta <- cfa(hs_model, hs_cut, ordered = items, parameterization = "theta")
write_csv(as.data.frame(lavPredict(theta)), "hs_theta_scores.csv")
group <- cfa(hs_model, hs_cut, ordered = items, group = "school",
             group.equal = c("thresholds", "loadings"))
# lavaan 0.6.14's lav_predict_eta_ebm_ml calls lav_predict_fy_eta.i without
# its group, so every group's rows are scored with group 1's Lambda, nu and
# scale factors (later lavaan passes g = g).  The reference is that
# computation with the group passed: lavaan's own functions and optimiser
# settings (BFGS, reltol 1e-8, fnscale 1.1), each group's own matrices.
ebm_by_group <- function(fit) {
  lm <- fit@Model
  TH <- lavaan:::computeTH(lm)
  THETA <- lavaan:::computeTHETA(lm)
  VETA <- lavaan:::computeVETAx(lm)
  X <- fit@Data@X
  EETA <- lavaan:::computeEETAx(lm, lavsamplestats = fit@SampleStats, eXo = fit@Data@eXo,
                                nobs = lapply(X, NROW), remove.dummy.lv = TRUE)
  lapply(seq_along(X), function(g) {
    V.inv <- solve(VETA[[g]])
    theta.sd <- sqrt(diag(THETA[[g]]))
    scores <- t(vapply(seq_len(nrow(X[[g]])), function(i) {
      mu <- EETA[[g]][i, ]
      objective <- function(x) {
        log.fy <- lavaan:::lav_predict_fy_eta.i(
          lavmodel = lm, lavdata = fit@Data, lavsamplestats = fit@SampleStats,
          y.i = X[[g]][i, , drop = FALSE], x.i = NULL, eta.i = matrix(x, nrow = 1L),
          theta.sd = theta.sd, g = g, th = TH[[g]], th.idx = lm@th.idx[[g]], log = TRUE)
        as.numeric(0.5 * (x - mu) %*% V.inv %*% (x - mu)) - sum(log.fy, na.rm = TRUE)
      }
      optim(numeric(ncol(V.inv)), objective, method = "BFGS",
            control = list(reltol = 1e-8, fnscale = 1.1))$par
    }, numeric(ncol(V.inv))))
    colnames(scores) <- lavNames(fit, "lv")
    as.data.frame(scores)
  })
}
scores <- ebm_by_group(group)
# group 1 is lavPredict's own
stopifnot(max(abs(as.matrix(scores[[1]]) - lavPredict(group)[[1]])) < 1e-8)
write_csv(do.call(rbind, scores), "hs_group_scores.csv")
write_summary(group, "hs_group")
