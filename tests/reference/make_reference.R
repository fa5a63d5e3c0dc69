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
write_csv <- function(x, file) write.csv(x, file.path(out, file), row.names = FALSE)
for (i in seq_len(nrow(cases))) {
  case <- cases[i, ]
  model <- paste(readLines(file.path(here, "models", case$model_file)), collapse = "\n")
  data <- get(case$dataset, envir = asNamespace("lavaan"))
  fun <- match.fun(case$fun)
  fit <- fun(model, data = data, std.lv = case$std_lv, orthogonal = case$orthogonal,
             missing = case$missing)
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
  scores <- lavPredict(fit)
  if (ncol(scores) > 0) write_csv(as.data.frame(scores), paste0(case$name, "_scores.csv"))
}
cat("lavaan", as.character(packageVersion("lavaan")), "reference written for",
    nrow(cases), "cases\n")
