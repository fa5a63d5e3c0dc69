#' torchfit: structural equation models fitted by a PyTorch engine
#'
#' torchfit reads models in lavaan syntax, builds lavaan's parameter table
#' with [lavaan::lavaanify()], and fits them in a Python engine built on
#' PyTorch (see [torchfit()]). Results come back as a [TorchFit-class] object
#' with lavaan's methods and names. [torchfit_sitrep()] reports whether the
#' Python engine is ready.
#'
#' @keywords internal
#' @docType package
#' @name torchfit-package
#' @aliases torchfit-package
#' @import methods
#' @importMethodsFrom lavaan coef vcov nobs logLik predict update anova fitted residuals resid
#' @importMethodsFrom lavaan summary
NULL
