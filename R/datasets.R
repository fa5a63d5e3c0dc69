# Data sets that come from the engine: the simulated Big-Five data with its
# truth, and the IPIP-FFM file with the tutorial's pre-processing.

# A data set of the engine (torchfit.bridge.dataset), as an R data.frame and
# the truth of a simulation.
engine_dataset <- function(name, ...) {
  out <- engine_call(engine()$dataset, name, ...)
  cols <- lapply(out$columns, function(x) if (is.character(x) || is.list(x)) as_chr(x) else as_num(x))
  list(data = as.data.frame(cols, check.names = FALSE, stringsAsFactors = FALSE),
       truth = out$truth)
}

#' Simulated Big-Five responses with a known truth
#'
#' Draws responses of `n` people to 50 five-category items (EXT1-EXT10,
#' EST1-EST10, AGR1-AGR10, CSN1-CSN10, OPN1-OPN10) from a five-factor logistic
#' graded response model with published-like parameters (the engine's
#' `torchfit.datasets.simulate_big5`).
#'
#' @param n Number of people (the IPIP-FFM data have about 621,000).
#' @param seed Seed of the draws.
#' @return A list with `data` (a data.frame of integer category codes) and
#'   `truth` (a list with the model `syntax`, `loadings`, `corr`,
#'   `thresholds`).
#' @examples
#' \dontrun{
#' sim <- simulate_big5(5000, seed = 1)
#' fit <- torchfit(sim$truth$syntax, data = sim$data, estimator = "IWAVE",
#'                 ordered = names(sim$data), std.lv = TRUE)
#' }
#' @export
simulate_big5 <- function(n = 621307L, seed = 0L) {
  engine_dataset("simulate_big5", as.integer(n), seed = as.integer(seed))
}

#' The IPIP-FFM Big-Five data, pre-processed
#'
#' Reads `data-final.csv` of the IPIP-FFM release (openpsychometrics.org;
#' download it yourself, nothing is fetched) with the pre-processing of the
#' DeepIRTools tutorial: first submissions from an IP address (`IPC == 1`),
#' 0 as missing, people with no answer or no country dropped, negatively
#' keyed items reverse-coded.
#'
#' @param path Path of the tab-separated `data-final.csv`.
#' @param response.times Also return the 50 response-time columns.
#' @param country Also return the country.
#' @return A data.frame with the 50 items (1-5, `NA` for missing answers).
#' @examples
#' \dontrun{
#' ffm <- load_ipip_ffm("data-final.csv")
#' }
#' @export
load_ipip_ffm <- function(path, response.times = FALSE, country = FALSE) {
  engine_dataset("load_ipip_ffm", normalizePath(path, mustWork = FALSE),
                 response_times = response.times, country = country)$data
}
