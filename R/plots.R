# Plots of a TorchFit object, in base graphics: they read only what the
# object stores (no engine call), so they work after saveRDS()/readRDS().

#' Loss curve of a stochastic fit
#'
#' Plots the mean loss per window of iterations that a stochastic fit kept:
#' `estimator = "IWAVE"` (the negative IW-ELBO per row, one value per 100
#' iterations) or mini-batch ML (`batch.size = ...`). ML on the sample
#' moments has no loss history (it converges in a few Fisher scoring steps).
#'
#' @param fit A [TorchFit-class] object from a stochastic fit.
#' @param log Logical; log scale for the loss axis. By default when the loss
#'   is positive and spans more than a factor of 10.
#' @param main,xlab,ylab Titles, as in [graphics::plot()].
#' @param ... Further arguments to [graphics::plot()].
#' @return The loss history (a numeric vector), invisibly.
#' @seealso [plot_loadings()]
#' @examples
#' \dontrun{
#' fit <- torchfit("visual =~ x1 + x2 + x3", HolzingerSwineford1939,
#'                 batch.size = 64, max.epochs = 50)
#' plot_loss(fit)
#' }
#' @export
plot_loss <- function(fit, log = NULL, main = NULL, xlab = NULL, ylab = NULL, ...) {
  check_torchfit(fit, "plot_loss")
  history <- fit@info$loss.history
  if (!length(history)) {
    torchfit_stop(paste0(
      "this fit has no loss history: only stochastic fits keep one ",
      '(estimator = "IWAVE", or ML with batch.size = ...). ML on the sample ',
      "moments converges in a few Fisher scoring steps; use summary() for it."
    ))
  }
  iwave <- identical(fit@info$estimator, "IWAVE")
  x <- seq_along(history) * if (iwave) 100 else 1
  if (is.null(log)) log <- all(history > 0) && max(history) / min(history) > 10
  if (is.null(main)) {
    main <- paste0("Loss curve (", fit@info$estimator, ")",
                   if (!isTRUE(fit@info$converged)) ", not converged" else "")
  }
  graphics::plot(x, history, type = "l", lwd = 1.5, col = "#1f77b4",
                 log = if (isTRUE(log)) "y" else "", main = main,
                 xlab = if (is.null(xlab)) if (iwave) "iteration" else "window" else xlab,
                 ylab = if (is.null(ylab)) {
                   if (iwave) "loss (-IW-ELBO per row)" else "mean loss"
                 } else ylab, ...)
  best <- which.min(history)
  graphics::points(x[best], history[best], pch = 19, col = "#d62728")
  graphics::legend("topright", legend = sprintf("best %.4f", history[best]), pch = 19,
                   col = "#d62728", bty = "n")
  graphics::grid()
  invisible(history)
}

#' Heat map of the loadings
#'
#' Draws the loadings (items by factors) of a fitted model as a heat map with
#' a diverging palette centred at 0, each cell labelled with its value.
#' Loadings fixed at 0 (absent from the model) show as 0.
#'
#' @param fit A [TorchFit-class] object.
#' @param standardized Logical; the standardized loadings (`std.all`), else
#'   the estimates (`est`).
#' @param digits Digits of the cell labels (`NA`: no labels).
#' @param main Title.
#' @param ... Further arguments to [graphics::image()].
#' @return The loadings matrix (items by factors), invisibly.
#' @seealso [plot_loss()]
#' @examples
#' \dontrun{
#' fit <- torchfit("visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6",
#'                 HolzingerSwineford1939)
#' plot_loadings(fit)
#' }
#' @export
plot_loadings <- function(fit, standardized = TRUE, digits = 2, main = "Loadings", ...) {
  check_torchfit(fit, "plot_loadings")
  # IWAVE's standardized loadings are the engine's (a logistic item's latent
  # response has variance pi^2/3, not lavaan's probit 1)
  pt <- if (is_ml_family(fit)) lavaan::parameterEstimates(fit, standardized = TRUE) else
    fit@ParTable
  L <- loadings_matrix(pt, standardized)
  p <- nrow(L)
  k <- ncol(L)
  lim <- if (standardized) max(1, abs(L), na.rm = TRUE) else max(abs(L), na.rm = TRUE)
  if (!is.finite(lim) || lim == 0) lim <- 1
  cols <- grDevices::hcl.colors(101, "Blue-Red 2")
  old <- graphics::par(mar = c(2, max(4, max(nchar(rownames(L))) * 0.6 + 1.5), 4, 6))
  on.exit(graphics::par(old))
  # image() draws column j of its matrix as the j-th row from the bottom:
  # transpose and reverse the items so they read top to bottom.
  graphics::image(seq_len(k), seq_len(p), t(L[rev(seq_len(p)), , drop = FALSE]),
                  col = cols, zlim = c(-lim, lim), axes = FALSE, xlab = "", ylab = "",
                  main = "", ...)
  graphics::title(main, line = 2.5)
  graphics::axis(3, at = seq_len(k), labels = colnames(L), tick = FALSE, line = -0.5)
  graphics::axis(2, at = seq_len(p), labels = rev(rownames(L)), las = 1, tick = FALSE)
  graphics::box()
  if (!is.na(digits)) {
    vals <- t(L[rev(seq_len(p)), , drop = FALSE])
    graphics::text(rep(seq_len(k), p), rep(seq_len(p), each = k),
                   formatC(as.vector(vals), format = "f", digits = digits), cex = 0.75,
                   col = ifelse(abs(as.vector(vals)) > 0.8 * lim, "white", "black"))
  }
  # a colour key in the right margin
  usr <- graphics::par("usr")
  x0 <- usr[2] + 0.04 * (usr[2] - usr[1])
  x1 <- x0 + 0.06 * (usr[2] - usr[1])
  ys <- seq(usr[3], usr[4], length.out = length(cols) + 1)
  graphics::rect(x0, ys[-length(ys)], x1, ys[-1], col = cols, border = NA, xpd = TRUE)
  graphics::text(x1, c(usr[3], (usr[3] + usr[4]) / 2, usr[4]),
                 formatC(c(-lim, 0, lim), format = "f", digits = 1), pos = 4, cex = 0.75,
                 xpd = TRUE)
  invisible(L)
}

# Items x factors matrix of the loadings in a parameter table.
loadings_matrix <- function(pt, standardized = TRUE) {
  rows <- pt[pt$op == "=~", , drop = FALSE]
  if (!nrow(rows)) torchfit_stop("the model has no loadings (no `=~` rows) to plot.")
  col <- if (standardized && !is.null(rows$std.all)) "std.all" else "est"
  items <- unique(rows$rhs)
  factors <- unique(rows$lhs)
  L <- matrix(0, length(items), length(factors), dimnames = list(items, factors))
  L[cbind(match(rows$rhs, items), match(rows$lhs, factors))] <- rows[[col]]
  L
}

check_torchfit <- function(fit, fun) {
  if (!methods::is(fit, "TorchFit")) {
    torchfit_stop(paste0(fun, "() needs a model fitted by torchfit(), not an object of ",
                         "class ", class(fit)[1L], "."))
  }
}
