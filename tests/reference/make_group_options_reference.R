# Regenerates tests/reference/lavaan/group_options_npar.csv: how many free
# parameters lavaan fits for group.equal / group.partial written as users write
# them (spaces around the operator, one type as a plain string).
# tests/python/test_api.py fits the same calls with torchfit and compares.
# Run from the repository root: Rscript tests/reference/make_group_options_reference.R
suppressPackageStartupMessages(library(lavaan))
here <- file.path("tests", "reference")
model <- paste(readLines(file.path(here, "models", "hs_cfa.lav")), collapse = "\n")
# group_equal and group_partial: ";"-separated; as_string: the Python test
# passes the single entry as a plain string instead of a list.
cases <- data.frame(
  name = c("partial_spaces", "partial_no_spaces", "partial_extra_spaces",
           "equal_string", "partial_string", "partial_covariance"),
  group_equal = c("loadings;intercepts", "loadings;intercepts", "loadings;intercepts",
                  "loadings", "loadings", "lv.covariances"),
  group_partial = c("x3 ~ 1;x7 ~ 1", "x3~1;x7~1", "  x3   ~ 1 ;x7~  1",
                    "", "visual =~ x2", "visual ~~ textual"),
  as_string = c(FALSE, FALSE, FALSE, TRUE, TRUE, TRUE),
  stringsAsFactors = FALSE)
split <- function(x) if (x == "") character(0) else strsplit(x, ";")[[1]]
cases$npar <- vapply(seq_len(nrow(cases)), function(i) {
  fit <- cfa(model, data = HolzingerSwineford1939, group = "school",
             group.equal = split(cases$group_equal[i]),
             group.partial = split(cases$group_partial[i]))
  as.integer(fitMeasures(fit, "npar"))
}, integer(1))
cases$lavaan_version <- as.character(packageVersion("lavaan"))
write.csv(cases, file.path(here, "lavaan", "group_options_npar.csv"), row.names = FALSE)
