# Exports the example data sets that torchfit ships from lavaan, so Python users
# get exactly the data lavaan users have. Run: Rscript tools/export_datasets.R
library(lavaan)
out <- file.path("python", "torchfit", "datasets", "data")
dir.create(out, showWarnings = FALSE, recursive = TRUE)
write.csv(HolzingerSwineford1939, file.path(out, "HolzingerSwineford1939.csv"),
          row.names = FALSE)
write.csv(PoliticalDemocracy, file.path(out, "PoliticalDemocracy.csv"),
          row.names = FALSE)
write.csv(Demo.growth, file.path(out, "Demo.growth.csv"), row.names = FALSE)
