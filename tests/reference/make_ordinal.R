# Regenerates the lavaan references for ordered items (issue 13): WLSMV and
# the other limited-information estimators on polychoric correlations.
# Run from the repository root: Rscript tests/reference/make_ordinal.R
# Writes tests/reference/ordinal/: the data (HS x1-x9 cut at their quartiles,
# a simulated 2-factor 12-item five-category set, the same with missing
# values), and per case <case>_estimates.csv (parameterEstimates with the
# standardized solution), <case>_fitmeasures.csv (every fit measure),
# <case>_polychoric.csv (lavCor) and <case>_gamma.csv (lavaan's NACOV).
suppressPackageStartupMessages(library(lavaan))
source(file.path("tests", "reference", "ordinal_write.R"))
dir.create(here, showWarnings = FALSE)

# HS x1-x9 cut at their quartiles: categories 1..4 (ties can merge a boundary,
# findInterval keeps what is left as consecutive codes)
hs <- HolzingerSwineford1939
hs_cut <- data.frame(school = hs$school)
for (v in paste0("x", 1:9)) {
  q <- quantile(hs[[v]], c(0.25, 0.5, 0.75))
  hs_cut[[v]] <- findInterval(hs[[v]], unique(q), left.open = TRUE) + 1L
}
write_csv(hs_cut, "hs_quartiles.csv")

# Simulated: 2 correlated factors, 6 items each, 5 categories, N = 3000
set.seed(20261130)
n <- 3000
phi <- matrix(c(1, 0.4, 0.4, 1), 2)
eta <- matrix(rnorm(n * 2), n) %*% chol(phi)
lambda <- c(0.8, 0.7, 0.6, 0.75, 0.65, 0.55, 0.7, 0.8, 0.6, 0.5, 0.75, 0.65)
sim <- data.frame(row.names = seq_len(n))
cuts <- rbind(c(-1.5, -0.5, 0.4, 1.3), c(-1.2, -0.2, 0.6, 1.6), c(-2, -1, 0, 1))
for (j in 1:12) {
  f <- if (j <= 6) 1 else 2
  ystar <- lambda[j] * eta[, f] + sqrt(1 - lambda[j]^2) * rnorm(n)
  sim[[paste0("y", j)]] <- findInterval(ystar, cuts[(j - 1) %% 3 + 1, ]) + 1L
}
write_csv(sim, "sim12.csv")
# the simulated set with 10 % of each item missing completely at random
set.seed(77)
sim_na <- sim
for (v in names(sim_na)) sim_na[[v]][runif(n) < 0.10] <- NA
write_csv(sim_na, "sim12_missing.csv")

hs_model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
sim_model <- "f1 =~ y1 + y2 + y3 + y4 + y5 + y6
f2 =~ y7 + y8 + y9 + y10 + y11 + y12"
writeLines(hs_model, file.path(here, "hs.lav"))
writeLines(sim_model, file.path(here, "sim12.lav"))

cases <- list(
  hs_wlsmv = list(model = hs_model, data = "hs_quartiles", estimator = "WLSMV"),
  hs_wlsm = list(model = hs_model, data = "hs_quartiles", estimator = "WLSM"),
  hs_ulsmv = list(model = hs_model, data = "hs_quartiles", estimator = "ULSMV"),
  hs_wls = list(model = hs_model, data = "hs_quartiles", estimator = "WLS"),
  hs_dwls = list(model = hs_model, data = "hs_quartiles", estimator = "DWLS"),
  hs_uls = list(model = hs_model, data = "hs_quartiles", estimator = "ULS"),
  hs_theta = list(model = hs_model, data = "hs_quartiles", estimator = "WLSMV",
                  parameterization = "theta"),
  sim12_wlsmv = list(model = sim_model, data = "sim12", estimator = "WLSMV"),
  hs_group = list(model = hs_model, data = "hs_quartiles", estimator = "WLSMV",
                  group = "school", group.equal = c("thresholds", "loadings")),
  sim12_pairwise = list(model = sim_model, data = "sim12_missing", estimator = "WLSMV",
                        missing = "pairwise"))
data_sets <- list(hs_quartiles = hs_cut, sim12 = sim, sim12_missing = sim_na)
summary_rows <- list()
for (name in names(cases)) {
  case <- cases[[name]]
  data <- data_sets[[case$data]]
  items <- setdiff(names(data), "school")
  args <- list(model = case$model, data = data, ordered = items,
               estimator = case$estimator,
               parameterization = if (is.null(case$parameterization)) "delta"
                                  else case$parameterization,
               missing = if (is.null(case$missing)) "listwise" else case$missing)
  if (!is.null(case$group)) {
    args$group <- case$group
    args$group.equal <- case$group.equal
  }
  fit <- do.call("cfa", args)
  write_fit(fit, name)
  # the NACOV depends on the data only: written once per data set (WLSMV)
  gam <- if (case$estimator == "WLSMV" && is.null(case$parameterization))
    lavInspect(fit, "gamma") else list()
  if (!is.list(gam)) gam <- list(gam)
  for (g in seq_along(gam)) {
    suffix <- if (length(gam) > 1) paste0("_g", g) else ""
    write_csv(as.data.frame(unclass(gam[[g]])), paste0(name, "_gamma", suffix, ".csv"))
  }
  summary_rows[[name]] <- data.frame(case = name, data = case$data,
                                     estimator = case$estimator,
                                     lavaan_version = as.character(packageVersion("lavaan")))
}
write_csv(do.call(rbind, summary_rows), "cases.csv")

# polychoric correlations and thresholds as lavCor() gives them
for (d in c("hs_quartiles", "sim12")) {
  data <- data_sets[[d]]
  items <- setdiff(names(data), "school")
  pc <- lavCor(data[items], ordered = items, output = "fit")
  write_csv(as.data.frame(unclass(lavInspect(pc, "sampstat")$cov)),
            paste0(d, "_polychoric.csv"))
  th <- lavInspect(pc, "sampstat")$th
  write_csv(data.frame(name = names(th), value = as.numeric(th)), paste0(d, "_thresholds.csv"))
}

# a 2 x 2 table with one empty cell (zero_cell.csv, written once by numpy):
# lavaan adds 0.5 to the empty cell, keeping the margins
zc <- read.csv(file.path(here, "zero_cell.csv"))
write_csv(data.frame(rho = lavCor(zc, ordered = c("a", "b"))[1, 2]), "zero_cell_polychoric.csv")
