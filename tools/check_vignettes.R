# make test: render the vignettes and check the numbers they report.
#   Rscript tools/check_vignettes.R OUTDIR
args <- commandArgs(trailingOnly = TRUE)
out <- normalizePath(args[1], mustWork = FALSE)
dir.create(out, showWarnings = FALSE, recursive = TRUE)
text_of <- function(name) {
  html <- rmarkdown::render(file.path("vignettes", paste0(name, ".Rmd")), output_dir = out,
                            intermediates_dir = out, quiet = TRUE, envir = new.env())
  txt <- gsub("<[^>]+>", " ", paste(readLines(html, warn = FALSE), collapse = " "))
  gsub("&#x2D;|&minus;", "-", gsub("\\s+", " ", txt))
}
# The number after the last mention of `label` (earlier ones are the code).
number_after <- function(txt, label) {
  at <- max(gregexpr(label, txt, fixed = TRUE)[[1]])
  if (at < 0) stop("the rendered vignette lacks '", label, "'")
  rest <- substring(txt, at + nchar(label))
  as.numeric(regmatches(rest, regexpr("-?[0-9.]+(e-?[0-9]+)?", rest)))
}
check <- function(ok, what) {
  cat(if (ok) "ok  " else "FAIL", what, "\n")
  if (!ok) quit(status = 1)
}

hs <- text_of("holzinger-swineford")
check(grepl("85.306", hs, fixed = TRUE), "HS: the chi-square 85.306 (lavaan's) is reported")
check(number_after(hs, "torchfit ML vs lavaan: estimates") < 1e-4,
      "HS: torchfit ML estimates equal lavaan's")
check(number_after(hs, "IWAVE vs lavaan ML: loadings") < 0.03, "HS: IWAVE loadings within 0.03")
check(number_after(hs, "IWAVE vs lavaan ML: factor correlations") < 0.03,
      "HS: IWAVE factor correlations within 0.03")
check(number_after(hs, "IWAVE vs lavaan ML: residual variances") < 0.05,
      "HS: IWAVE residual variances within 0.05")

b5 <- text_of("big-five")
check(number_after(b5, "IWAVE loading RMSE against the truth:") < 0.1,
      "Big Five: IWAVE loading RMSE below 0.1 at N = 10,000")
check(number_after(b5, "IWAVE factor correlation RMSE against the truth:") < 0.05,
      "Big Five: IWAVE factor correlation RMSE below 0.05")
check(grepl("A =~|A1", b5) && grepl("bic", b5), "Big Five: psych::bfi fitted")
cat("vignettes rendered in", out, "\n")
