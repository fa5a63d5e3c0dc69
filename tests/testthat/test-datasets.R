test_that("simulate_big5() gives Big-Five-shaped data with its truth", {
  skip_if_no_engine()
  sim <- simulate_big5(500, seed = 3)
  expect_identical(dim(sim$data), c(500L, 50L))
  expect_identical(names(sim$data)[c(1, 11, 50)], c("EXT1", "EST1", "OPN10"))
  expect_true(all(unlist(sim$data) %in% 0:5))
  expect_identical(dim(sim$truth$loadings), c(50L, 5L))
  expect_match(sim$truth$syntax, "EXT =~ EXT1 + EXT2", fixed = TRUE)
})

test_that("load_ipip_ffm() reads the tab-separated file with the tutorial's steps", {
  skip_if_no_engine()
  facs <- c("EXT", "EST", "AGR", "CSN", "OPN")
  items <- paste0(rep(facs, each = 10), 1:10)
  set.seed(5)
  raw <- as.data.frame(matrix(sample(1:5, 6 * 50, replace = TRUE), 6, 50,
                              dimnames = list(NULL, items)))
  raw[2, ] <- 0                        # answered nothing: dropped
  raw$IPC <- c(1, 1, 2, 1, 1, 1)       # a repeat submission: dropped
  raw$country <- c("GB", "GB", "GB", "NONE", "US", "DE")  # no country: dropped
  path <- tempfile(fileext = ".csv")
  utils::write.table(raw, path, sep = "\t", row.names = FALSE, quote = FALSE)
  ffm <- load_ipip_ffm(path)
  expect_identical(dim(ffm), c(3L, 50L))
  expect_equal(ffm$EXT1, raw$EXT1[c(1, 5, 6)])
  expect_equal(ffm$EXT2, 6 - raw$EXT2[c(1, 5, 6)])  # reverse-keyed
})
