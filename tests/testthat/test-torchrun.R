test_that("torchrun_command writes a script that runs on 2 ranks and gives torchfit's fit", {
  dir <- tempfile("torchrun")
  dir.create(dir)
  hs <- file.path(dir, "hs.npy")
  script <- file.path(dir, "fit.py")
  out <- file.path(dir, "est.csv")
  cmd <- torchrun_command("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", hs,
                          file = script, output = out, model.type = "cfa",
                          columns = paste0("x", 1:6), nproc_per_node = 2)
  expect_match(cmd, "^torchrun --standalone --nproc-per-node=2 ")
  text <- paste(readLines(script), collapse = "\n")
  expect_match(text, "columns=[\"x1\", \"x2\", \"x3\", \"x4\", \"x5\", \"x6\"]", fixed = TRUE)
  expect_match(text, "distributed=True", fixed = TRUE)
  expect_match(torchrun_command("f =~ a", hs, file = script, nnodes = 2,
                                rdzv_endpoint = "node01:29500"),
               "--nnodes=2 --nproc-per-node=2 --rdzv-backend=c10d --rdzv-endpoint=node01:29500",
               fixed = TRUE)
  expect_error(torchrun_command("f =~ a", hs, file = script, nnodes = 2), "rdzv_endpoint")
  expect_error(torchrun_command("f =~ a", data.frame(a = 1), file = script), "Parquet")
  skip_if_not(nzchar(Sys.getenv("TORCHFIT_PYTHON")) &&
                file.exists(file.path(dirname(Sys.getenv("TORCHFIT_PYTHON")), "torchrun")))
  cmd <- torchrun_command("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", hs,
                          file = script, output = out, model.type = "cfa",
                          columns = paste0("x", 1:6), nproc_per_node = 2)
  py <- Sys.getenv("TORCHFIT_PYTHON")
  X <- as.matrix(lavaan::HolzingerSwineford1939[paste0("x", 1:6)])
  np_save <- sprintf("import numpy as np; np.save(%s, np.loadtxt(%s, delimiter=','))",
                     py_literal(hs), py_literal(file.path(dir, "hs.csv")))
  utils::write.table(X, file.path(dir, "hs.csv"), sep = ",", row.names = FALSE,
                     col.names = FALSE)
  expect_equal(system2(py, c("-c", shQuote(np_save))), 0L)
  status <- system(paste("OMP_NUM_THREADS=1", file.path(dirname(py), cmd)))
  expect_equal(status, 0L)
  est <- utils::read.csv(out)
  ref <- lavaan::cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6",
                     lavaan::HolzingerSwineford1939)
  expect_equal(est$est, lavaan::parameterEstimates(ref)$est, tolerance = 1e-4)
})
