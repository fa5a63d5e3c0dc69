# Shared by make_ordinal.R and make_ordinal_more.R: where the ordinal
# references go and how a fit's estimates and fit measures are written.
here <- file.path("tests", "reference", "ordinal")
write_csv <- function(x, file) write.csv(x, file.path(here, file), row.names = FALSE)

# parameterEstimates with the standardized solution, every fit measure
write_fit <- function(fit, name) {
  est <- parameterEstimates(fit, standardized = TRUE, remove.nonfree = FALSE,
                            remove.eq = FALSE, remove.system.eq = FALSE)
  write_csv(est, paste0(name, "_estimates.csv"))
  fm <- fitMeasures(fit)
  write_csv(data.frame(name = names(fm), value = as.numeric(fm)),
            paste0(name, "_fitmeasures.csv"))
}
