# The TorchFit class: a lavaan object with the engine's extras.

#' The TorchFit class: a model fitted by torchfit, which is a lavaan object
#'
#' `TorchFit` extends lavaan's class `lavaan`: lavaan's own constructors build
#' its slots (Options, ParTable, Data, SampleStats, Model, h1, ...) from the
#' same parameter table and data, and the engine's estimates and their
#' covariance matrix are placed in them (see `lavaan_fill()`). So every lavaan
#' function (`standardizedSolution()`, `modindices()`, `lavTestLRT()`,
#' `lavInspect()`, `lavPredict()`, ...) and every package built on lavaan
#' objects (semTools, semPlot, broom) works on it. It stores ordinary R values:
#' it works after [saveRDS()]/[readRDS()] and in an R session without Python;
#' only IWAVE factor scores need the engine again.
#'
#' For IWAVE fits, a model lavaan has no likelihood for, the slots hold the
#' parameter table, the model matrices and the estimates' covariance matrix
#' (no data): the functions that read the table and estimates work
#' (`parameterEstimates()`, `standardizedSolution()`, `lavInspect(fit, "est")`,
#' `semPaths()`, `coef()`, `vcov()`).
#'
#' @slot model.syntax The model syntax.
#' @slot info List: estimator, optimizer, iterations, converged, nobs,
#'   nobs.total, npar, neq, se, information, h1.information, test, version,
#'   ov.names, lv.names, loss.history (stochastic fits: the mean loss per
#'   window, see [plot_loss()]), warnings.
#' @slot measures Named numeric vector of the engine's fit measures (lavaan's
#'   names).
#' @slot report The engine's summary text in pieces (header, fit, estimates,
#'   estimates_std).
#' @slot pyfit The Python `Fit` object, or `NULL`.
#' @exportClass TorchFit
#' @importClassesFrom lavaan lavaan
setClass("TorchFit", contains = "lavaan", slots = c(
  model.syntax = "character",
  info = "list",
  measures = "numeric",
  report = "list",
  pyfit = "ANY"
))

# Is the fit one lavaan has a likelihood for (ML, MLM, MLR, FIML)?
is_ml_family <- function(object) !is_irt_estimator(object@info$estimator)

# The engine's estimators of IRT models (any item type), which lavaan has no
# likelihood for: IWAVE and marginal ML by quadrature.
is_irt_estimator <- function(estimator) isTRUE(estimator %in% c("IWAVE", "MML"))
