# Fit time from R: torchfit() vs lavaan's sem() in the same session, median of
# `reps` fits each (alternated), on the Holzinger-Swineford CFA and the PoliticalDemocracy SEM.
#   Rscript bench/hs_ml.R [reps]
suppressPackageStartupMessages(library(torchfit))
args <- commandArgs(trailingOnly = TRUE)
reps <- if (length(args)) as.integer(args[1]) else 20L
models <- file.path("tests", "reference", "models")
cases <- list(
  "HS CFA" = list(file = "hs_cfa.lav", data = HolzingerSwineford1939),
  "PolDem SEM" = list(file = "poldem_sem.lav", data = PoliticalDemocracy)
)
# Median times of two calls, alternated fit by fit so that a change in the
# machine's load reaches both alike.
median_times <- function(f, g) {
  f(); g()  # warm-up: Python start-up and imports are not part of a fit
  times <- sapply(seq_len(reps), function(i) {
    c(system.time(f())[["elapsed"]], system.time(g())[["elapsed"]])
  })
  apply(times, 1, median)
}
cat(sprintf("ML fit time from R, median of %d fits, lavaan %s, torchfit %s\n\n", reps,
            packageVersion("lavaan"), packageVersion("torchfit")))
cat("| model | torchfit() | lavaan sem() | ratio lavaan/torchfit |\n|---|---|---|---|\n")
for (name in names(cases)) {
  case <- cases[[name]]
  model <- paste(readLines(file.path(models, case$file)), collapse = "\n")
  times <- median_times(function() torchfit(model, data = case$data),
                        function() sem(model, data = case$data))
  ours <- times[1]
  theirs <- times[2]
  cat(sprintf("| %s | %.1f ms | %.1f ms | %.2f |\n", name, 1e3 * ours, 1e3 * theirs,
              theirs / ours))
}
