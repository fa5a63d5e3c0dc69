# make demo: fit the Holzinger-Swineford three-factor CFA with torchfit and
# check it side by side against lavaan's cfa().
suppressPackageStartupMessages(library(torchfit))

model <- '
  visual  =~ x1 + x2 + x3
  textual =~ x4 + x5 + x6
  speed   =~ x7 + x8 + x9
'
fit <- torchfit(model, data = HolzingerSwineford1939)
summary(fit, fit.measures = TRUE, standardized = TRUE)

ref <- cfa(model, data = HolzingerSwineford1939)
ours <- parameterEstimates(fit)
theirs <- parameterEstimates(ref)
side <- data.frame(parameter = paste(ours$lhs, ours$op, ours$rhs),
                   lavaan.est = theirs$est, torchfit.est = ours$est,
                   lavaan.se = theirs$se, torchfit.se = ours$se)
cat("\nSide by side with lavaan", as.character(packageVersion("lavaan")), "cfa():\n\n")
print(side, digits = 6, row.names = FALSE)
measures <- c("chisq", "df", "pvalue", "cfi", "tli", "logl", "aic", "bic", "rmsea",
              "rmsea.ci.lower", "rmsea.ci.upper", "srmr")
cat("\n")
print(data.frame(measure = measures,
                 lavaan = round(unname(fitMeasures(ref, measures)), 6),
                 torchfit = round(unname(fitMeasures(fit, measures)), 6)), row.names = FALSE)
cat(sprintf("\nlargest |difference| in estimates: %.2e, in standard errors: %.2e\n",
            max(abs(side$lavaan.est - side$torchfit.est)),
            max(abs(side$lavaan.se - side$torchfit.se))))
