# Fit time from R: torchfit() vs lavaan's sem() in the same session, median and
# 10th percentile of `reps` fits each (alternated), on the Holzinger-Swineford CFA and the PoliticalDemocracy SEM.
# Each model twice: refitted (torchfit reuses lavaan's model slots of the
# model's earlier dry run, as every fit after a session's first of a model
# does) and as a first fit (the remembered dry runs forgotten before each fit).
#   Rscript bench/hs_ml.R [reps]
suppressPackageStartupMessages(library(torchfit))
args <- commandArgs(trailingOnly = TRUE)
reps <- if (length(args)) as.integer(args[1]) else 20L
models <- file.path("tests", "reference", "models")
cases <- list(
  "HS CFA" = list(file = "hs_cfa.lav", data = HolzingerSwineford1939),
  "PolDem SEM" = list(file = "poldem_sem.lav", data = PoliticalDemocracy)
)
# Times of two calls, alternated fit by fit so that a change in the machine's
# load reaches both alike: the medians and the 10th percentiles (this machine's
# times are bimodal, a fit taking either its quiet time or about 1.5 times that,
# so the medians depend on the mix and the 10th percentile is the quiet time).
quantile_times <- function(f, g) {
  f(); g()  # warm-up: Python start-up and imports are not part of a fit
  times <- sapply(seq_len(reps), function(i) {
    c(system.time(f())[["elapsed"]], system.time(g())[["elapsed"]])
  })
  apply(times, 1, stats::quantile, c(0.5, 0.1))
}
cat(sprintf("ML fit time from R, %d fits each, lavaan %s, torchfit %s\n\n", reps,
            packageVersion("lavaan"), packageVersion("torchfit")))
cat("| model | torchfit() median | lavaan sem() median | ratio lavaan/torchfit |",
    "torchfit() 10th pct | lavaan 10th pct | ratio |\n|---|---|---|---|---|---|---|\n")
forget <- utils::getFromNamespace("forget_dry_runs", "torchfit")
for (name in names(cases)) {
  case <- cases[[name]]
  model <- paste(readLines(file.path(models, case$file)), collapse = "\n")
  for (first in c(FALSE, TRUE)) {
    times <- 1e3 * quantile_times(function() {
      if (first) forget()
      torchfit(model, data = case$data)
    }, function() sem(model, data = case$data))
    cat(sprintf("| %s, %s | %.1f ms | %.1f ms | %.2f | %.1f ms | %.1f ms | %.2f |\n", name,
                if (first) "first fit" else "refit",
                times[1, 1], times[1, 2], times[1, 2] / times[1, 1],
                times[2, 1], times[2, 2], times[2, 2] / times[2, 1]))
  }
}
