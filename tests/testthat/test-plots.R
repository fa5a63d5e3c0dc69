# plot_loss() and plot_loadings() render to PNG files that are not blank.

png_of <- function(draw, width = 600, height = 450) {
  path <- tempfile(fileext = ".png")
  grDevices::png(path, width = width, height = height)
  ok <- FALSE
  on.exit(if (!ok) grDevices::dev.off())
  value <- draw()
  grDevices::dev.off()
  ok <- TRUE
  list(path = path, value = value)
}

test_that("plot_loss() draws the loss history of a mini-batch ML fit", {
  skip_if_no_engine()
  suppressWarnings(  # 100 epochs (500 steps) need not converge
    fit <- torchfit(HS_MODEL, data = lavaan::HolzingerSwineford1939, batch.size = 64,
                    max.epochs = 100, quiet = TRUE)
  )
  expect_gt(length(fit@info$loss.history), 1)
  out <- png_of(function() plot_loss(fit))
  expect_identical(out$value, fit@info$loss.history)
  expect_true(file.exists(out$path))
  expect_gt(file.size(out$path), 5000)
  # the object stores what the plot needs: no engine after saveRDS/readRDS
  rds <- tempfile(fileext = ".rds")
  saveRDS(fit, rds)
  again <- readRDS(rds)
  expect_gt(file.size(png_of(function() plot_loss(again))$path), 5000)
})

test_that("plot_loss() draws an IWAVE fit's loss per 100 iterations", {
  skip_if_no_engine()
  suppressWarnings(
    fit <- torchfit("visual =~ x1 + x2 + x3", data = lavaan::HolzingerSwineford1939,
                    estimator = "IWAVE", std.lv = TRUE, seed = 1, quiet = TRUE, se = "none",
                    max.iterations = 500, logl.samples = 50)
  )
  expect_length(fit@info$loss.history, 5L)
  expect_gt(file.size(png_of(function() plot_loss(fit))$path), 5000)
})

test_that("plot_loss() says which fits have a loss history", {
  skip_if_no_engine()
  fit <- torchfit(HS_MODEL, data = lavaan::HolzingerSwineford1939)
  expect_length(fit@info$loss.history, 0L)
  expect_error(plot_loss(fit), "no loss history.*batch.size")
  expect_error(plot_loss(lm(mpg ~ wt, mtcars)), "needs a model fitted by torchfit")
})

test_that("plot_loadings() draws the standardized loadings matrix", {
  skip_if_no_engine()
  fit <- torchfit(HS_MODEL, data = lavaan::HolzingerSwineford1939)
  out <- png_of(function() plot_loadings(fit))
  L <- out$value
  expect_identical(dim(L), c(9L, 3L))
  expect_identical(rownames(L), paste0("x", 1:9))
  pe <- parameterEstimates(fit, standardized = TRUE)
  expect_equal(L["x5", "textual"], pe$std.all[pe$op == "=~" & pe$rhs == "x5"])
  expect_identical(L["x1", "textual"], 0)
  expect_gt(file.size(out$path), 5000)
  raw <- png_of(function() plot_loadings(fit, standardized = FALSE, digits = NA))$value
  expect_identical(raw["x1", "visual"], 1)
})
