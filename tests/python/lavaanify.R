# Writes lavaan::lavaanify()'s table for every model of a syntax corpus, with
# the defaults lavaan's sem() uses.  Called by test_syntax.py:
#   Rscript lavaanify.R CORPUS.csv OUTDIR
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
corpus <- read.csv(args[1], stringsAsFactors = FALSE, na.strings = character(0))
for (i in seq_len(nrow(corpus))) {
  opts <- eval(parse(text = paste0("list(", corpus$options[i], ")")))
  defaults <- list(model = corpus$model[i], model.type = "sem", int.ov.free = TRUE,
                 int.lv.free = FALSE, auto.fix.first = !isTRUE(opts$std.lv),
                 auto.fix.single = TRUE, fixed.x = TRUE,
                 auto.var = TRUE, auto.cov.lv.x = TRUE, auto.cov.y = TRUE,
                 auto.th = TRUE, auto.delta = TRUE, auto.efa = TRUE)
  # as lavaan(): several groups switch the mean structure on
  if (!is.null(opts$ngroups) && opts$ngroups > 1 && is.null(opts$meanstructure)) {
    opts$meanstructure <- TRUE
  }
  call <- c(defaults[setdiff(names(defaults), names(opts))], opts)
  pt <- suppressWarnings(do.call(lavaanify, call))
  write.csv(pt, file.path(args[2], paste0(corpus$name[i], ".csv")), row.names = FALSE)
}
