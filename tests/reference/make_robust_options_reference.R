# Regenerates tests/reference/robust/: lavaan's robust fits that need the raw rows
# beyond MLM/MLR on complete data: MLR with missing = "ml" (FIML), the single-level
# cluster option (cluster-robust SEs and test) and sampling weights, for
# tests/python/test_robust_options.py. The clustered and weighted data are the HS
# data with a simulated classroom (cluster) and weight column, written to
# tests/reference/data/hs_cluster.csv by this script. For three of the fits also
# modindices() and lavTestLRT() against the model with visual ~~ 0*speed.
# Run from the repository root: Rscript tests/reference/make_robust_options_reference.R
suppressPackageStartupMessages(library(lavaan))
here <- file.path("tests", "reference")
out <- file.path(here, "robust")
dir.create(out, showWarnings = FALSE)
model <- paste(readLines(file.path(here, "models", "hs_cfa.lav")), collapse = "\n")
set.seed(20261130)
hs <- HolzingerSwineford1939[, c("id", "school", paste0("x", 1:9))]
hs$classroom <- sample(sprintf("c%02d", 1:40), nrow(hs), replace = TRUE)
hs$weight <- round(runif(nrow(hs), 0.2, 3), 4)
write.csv(hs, file.path(here, "data", "hs_cluster.csv"), row.names = FALSE)
mcar <- read.csv(file.path(here, "data", "hs_mcar.csv"))
# the incomplete rows in the same classrooms (by id)
mcar_cluster <- mcar
mcar_cluster$classroom <- hs$classroom[match(mcar$id, hs$id)]
fits <- list(
  fiml_mlr = cfa(model, mcar, missing = "ml", estimator = "MLR"),
  fiml_mlr_groups = cfa(model, mcar, missing = "ml", estimator = "MLR", group = "school"),
  fiml_mlr_expected = cfa(model, mcar, missing = "ml", estimator = "MLR",
                          information = "expected"),
  fiml_expected = cfa(model, mcar, missing = "ml", information = "expected"),
  cluster_fiml = cfa(model, mcar_cluster, missing = "ml", cluster = "classroom"),
  cluster_fiml_mlr = cfa(model, mcar_cluster, missing = "ml", cluster = "classroom",
                         estimator = "MLR"),
  cluster = cfa(model, hs, cluster = "classroom"),
  cluster_mlr = cfa(model, hs, cluster = "classroom", estimator = "MLR"),
  cluster_groups = cfa(model, hs, cluster = "classroom", group = "school"),
  weights = cfa(model, hs, sampling.weights = "weight"),
  weights_mlr = cfa(model, hs, sampling.weights = "weight", estimator = "MLR"),
  weights_groups = cfa(model, hs, sampling.weights = "weight", group = "school"),
  weights_cluster = cfa(model, hs, sampling.weights = "weight", cluster = "classroom")
)
for (name in names(fits)) {
  fit <- fits[[name]]
  pe <- parameterEstimates(fit)
  keep <- intersect(c("lhs", "op", "rhs", "group", "est", "se"), names(pe))
  write.csv(pe[, keep], file.path(out, paste0(name, "_estimates.csv")), row.names = FALSE)
  fm <- fitMeasures(fit)
  write.csv(data.frame(measure = names(fm), value = as.numeric(fm)),
            file.path(out, paste0(name, "_fitmeasures.csv")), row.names = FALSE)
  opt <- lavInspect(fit, "options")
  write.csv(data.frame(estimator = opt$estimator, se = opt$se,
                       test = paste(opt$test, collapse = ";"),
                       information = opt$information[1],
                       meanstructure = opt$meanstructure,
                       lavaan_version = as.character(packageVersion("lavaan"))),
            file.path(out, paste0(name, "_options.csv")), row.names = FALSE)
}
# after the fit: modification indices and the scaled likelihood-ratio test
restricted <- paste(model, "visual ~~ 0*speed", sep = "\n")
post <- list(cluster = list(data = hs, cluster = "classroom"),
             weights = list(data = hs, sampling.weights = "weight"),
             fiml_mlr = list(data = mcar, missing = "ml", estimator = "MLR"))
for (name in names(post)) {
  mi <- modindices(fits[[name]], sort. = FALSE)
  write.csv(mi[, c("lhs", "op", "rhs", "mi", "epc", "sepc.all")],
            file.path(out, paste0(name, "_modindices.csv")), row.names = FALSE)
  smaller <- do.call("cfa", c(list(restricted), post[[name]]))
  lrt <- as.data.frame(lavTestLRT(fits[[name]], smaller))
  write.csv(data.frame(Df = lrt$Df, Chisq = lrt$Chisq, chisq_diff = lrt[["Chisq diff"]],
                       df_diff = lrt[["Df diff"]], p = lrt[["Pr(>Chisq)"]]),
            file.path(out, paste0(name, "_lrt.csv")), row.names = FALSE)
}
