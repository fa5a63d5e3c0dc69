# Regenerates the lavaan reference results that tests/python compares with.
# Run from the repository root: Rscript tests/reference/make_reference.R
# Each case of cases.csv is fitted with lavaan; estimates (with the
# standardized solution), fit measures, coef() and factor scores (lavPredict)
# are written as CSV files
# with full precision into tests/reference/lavaan/.
suppressPackageStartupMessages(library(lavaan))
here <- file.path("tests", "reference")
out <- file.path(here, "lavaan")
dir.create(out, showWarnings = FALSE)
cases <- read.csv(file.path(here, "cases.csv"), stringsAsFactors = FALSE)
# Data sets that lavaan does not ship are simulated here (seeded) and saved,
# so Python fits the very same numbers.
set.seed(1234)
X <- rnorm(100); M <- 0.5 * X + rnorm(100); Y <- 0.7 * M + rnorm(100)
dir.create(file.path(here, "data"), showWarnings = FALSE)
write.csv(data.frame(X = X, Y = Y, M = M), file.path(here, "data", "mediation.csv"),
          row.names = FALSE)
# Holzinger-Swineford with values missing completely at random (12 % of each
# of x1-x9) and two rows missing on all of them, for missing = "ml" (FIML).
set.seed(4321)
hs_mcar <- HolzingerSwineford1939
for (v in paste0("x", 1:9)) hs_mcar[[v]][runif(nrow(hs_mcar)) < 0.12] <- NA
hs_mcar[c(7, 150), paste0("x", 1:9)] <- NA
write.csv(hs_mcar, file.path(here, "data", "hs_mcar.csv"), row.names = FALSE)
# The lavaan tutorial's data for constraints
set.seed(1234)
write.csv(data.frame(y = rnorm(100), x1 = rnorm(100), x2 = rnorm(100), x3 = rnorm(100)),
          file.path(here, "data", "constraints.csv"), row.names = FALSE)
load_data <- function(name) {
  if (exists(name, envir = asNamespace("lavaan"))) return(get(name, envir = asNamespace("lavaan")))
  read.csv(file.path(here, "data", paste0(name, ".csv")))
}
# estimator (ML, MLM, MLR) and information ("default" leaves lavaan's own
# choice for the estimator); blank cells of older rows mean ML and default.
estimator_of <- function(case) {
  e <- case$estimator
  if (is.null(e) || is.na(e) || e == "") "ML" else e
}
information_of <- function(case) {
  i <- case$information
  if (is.null(i) || is.na(i) || i == "" || i == "default") "default" else i
}
write_csv <- function(x, file) write.csv(x, file.path(out, file), row.names = FALSE)
for (i in seq_len(nrow(cases))) {
  case <- cases[i, ]
  model <- paste(readLines(file.path(here, "models", case$model_file)), collapse = "\n")
  data <- load_data(case$dataset)
  fun <- match.fun(case$fun)
  split <- function(x) if (is.na(x) || x == "") "" else strsplit(x, ";")[[1]]
  group <- if (is.na(case$group) || case$group == "") NULL else case$group
  fit <- fun(model, data = data, std.lv = case$std_lv, orthogonal = case$orthogonal,
             missing = case$missing, meanstructure = case$meanstructure,
             estimator = estimator_of(case), information = information_of(case),
             group = group, group.equal = split(case$group_equal),
             group.partial = split(case$group_partial))
  est <- parameterEstimates(fit, standardized = TRUE, remove.system.eq = FALSE,
                            remove.eq = FALSE, remove.ineq = FALSE, remove.def = FALSE,
                            remove.nonfree = FALSE)
  write_csv(est, paste0(case$name, "_estimates.csv"))
  fm <- fitMeasures(fit)
  write_csv(data.frame(name = names(fm), value = as.numeric(fm)),
            paste0(case$name, "_fitmeasures.csv"))
  cf <- coef(fit)
  write_csv(data.frame(name = names(cf), value = as.numeric(cf)),
            paste0(case$name, "_coef.csv"))
  write_csv(parTable(fit), paste0(case$name, "_partable.csv"))
  if (estimator_of(case) != "ML" || information_of(case) != "default" || case$missing == "ml") {
    # the printout of robust / observed-information / FIML fits, for the summary() layout
    writeLines(capture.output(summary(fit, fit.measures = TRUE)),
               file.path(out, paste0(case$name, "_summary.txt")))
  }
  scores <- lavPredict(fit)
  if (is.list(scores)) {  # several groups: one matrix each, stacked with the group
    scores <- do.call(rbind, lapply(seq_along(scores), function(g)
      data.frame(group = lavInspect(fit, "group.label")[g], scores[[g]], check.names = FALSE)))
  }
  if (ncol(scores) > 0) write_csv(as.data.frame(scores), paste0(case$name, "_scores.csv"))
}
cat("lavaan", as.character(packageVersion("lavaan")), "reference written for",
    nrow(cases), "cases\n")
