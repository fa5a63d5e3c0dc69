# The checks R owns: what only R has (its types, lavaan's own arguments, what a
# fit from a file path cannot do) and the options R sends on. The data checks
# both languages share are the engine's (python/torchfit/data), and so are the
# messages for the engine's options (its option table).

# The options of `...` that R does not know (neither lavaanify()'s nor lavaan's
# nor the engine's) and the engine's options the estimator does not take: refused
# with the engine's message, written from its option table in R's spelling.
check_engine_options <- function(names, estimator, ordered, lav_args) {
  if (!length(names)) return(invisible())
  msg <- engine_call(engine()$check_r_options, estimator, ordered, as.list(names),
                     as.list(union(lav_args, lavaan_option_names())))
  if (!is.null(msg)) torchfit_stop(msg, "torchfit_option_error")
}

# MML's and IWAVE's likelihood of categorical items with covariates is
# p(y | x): lavaan's conditional.x = TRUE (its default there). lavaan's
# conditional.x = FALSE would model the covariates too (it frees their moments).
check_conditional_x <- function(conditional.x, estimator, ordered, partable) {
  if (isFALSE(conditional.x) && is_irt_estimator(estimator) && length(ordered) &&
      length(lavaan::lavNames(partable, "ov.x"))) {
    torchfit_stop(paste0(
      "option `conditional.x = FALSE` is not supported with estimator = \"", estimator,
      "\": its likelihood of the items is conditional on the covariates (",
      paste(lavaan::lavNames(partable, "ov.x"), collapse = ", "),
      "), lavaan's conditional.x = TRUE; leave the option out."), "torchfit_option_error")
  }
}

# One string among `choices` (any case), lower-cased.
match_choice <- function(x, choices, what) {
  if (!is.character(x) || length(x) != 1L || !(tolower(x) %in% choices)) {
    torchfit_stop(paste0("`", what, "` must be one of ",
                         paste0('"', choices, '"', collapse = ", "), "."))
  }
  tolower(x)
}

# The engine knows the missing-data options ("default", "listwise", "ml"...)
# and says which it supports.
check_missing_option <- function(missing) {
  if (!is.character(missing) || length(missing) != 1L || is.na(missing)) {
    torchfit_stop('`missing` must be one string, e.g. "default" or "listwise".')
  }
  tolower(missing)
}

# A column of the model that is not numeric (a factor, text, ...): its class
# and the R code that converts it.
check_numeric_column <- function(col, v) {
  if (!is.factor(col) && is.numeric(col)) return(invisible())
  fix <- if (is.factor(col)) {
    paste0('name it in ordered = for an ordinal item, ',
           "or convert it with as.numeric(data$", v, ")")
  } else if (is.character(col)) {
    paste0("convert it with as.numeric(data$", v, ") or leave it out of ",
           "the model")
  } else {
    paste0("convert it to numbers (for example as.numeric(data$", v, "))")
  }
  torchfit_stop(paste0(
    'column "', v, '" used in the model is not numeric (class ', class(col)[1L],
    "); ", fix, "."
  ), "torchfit_dataerror")
}

# item.types as a named list of strings (what the engine takes as a dict).
check_item_types <- function(types) {
  ok <- (is.list(types) || is.character(types)) && length(types) &&
    !is.null(names(types)) && all(nzchar(names(types))) &&
    all(vapply(types, function(t) is.character(t) && length(t) == 1L, TRUE))
  if (!ok) {
    torchfit_stop(paste0("`item.types` must name one item type per column, e.g. ",
                         'item.types = list(y1 = "nominal", y2 = "poisson").'))
  }
  as.list(types)
}

# From a path torchfit() fits ML from the moments the engine reads (lavaan's
# dry run takes them as sample.cov); what needs the rows in R is refused.
check_path_fit <- function(path, estimator, missing, group, ordered, dots) {
  needs_rows <- c(
    if (!estimator %in% c("ML", "DEFAULT")) paste0('estimator = "', estimator, '"'),
    if (!missing %in% c("default", "listwise")) paste0('missing = "', missing, '"'),
    if (!is.null(group)) "group",
    if (!is.null(ordered) && !isFALSE(ordered)) "ordered",
    intersect(c("cluster", "sampling.weights", "se", "test", "bootstrap", "std.ov"), names(dots)))
  if (length(needs_rows)) {
    torchfit_stop(paste0("with `data` a path, torchfit() fits ML from the moments the ",
                         "engine reads from the file; ", paste(needs_rows, collapse = ", "),
                         " need", if (length(needs_rows) == 1L) "s", " the rows: read them ",
                         "into a data frame (e.g. arrow::read_parquet() or read.csv()), or ",
                         "fit from Python with the path (torchfit.cfa(model, \"", path,
                         "\", ...))."), "torchfit_dataerror")
  }
}

# Stop when `dots` holds a lavaan option torchfit cannot honour. Names the
# engine takes as its own options (IWAVE's `se`) are the engine's to check.
check_lavaan_options <- function(dots, estimator, engine_names = character(0)) {
  dots <- dots[setdiff(names(dots), engine_names)]
  implied <- .estimator_se_test[[estimator]]
  if (!is.null(implied)) {
    for (i in 1:2) {
      name <- c("se", "test")[i]
      if (!is.null(dots[[name]]) && !identical(dots[[name]], "default") &&
          !identical(dots[[name]], implied[i]) &&
          !(estimator == "ML" && dots[[name]] %in% .bootstrap_values[[name]])) {
        torchfit_stop(paste0("option `", name, " = \"", dots[[name]], "\"` is not supported with ",
                             "estimator = \"", estimator, "\", which computes ", name, " = \"",
                             implied[i], "\"; choose the estimator that computes it (",
                             "ML, MLM or MLR) or fit this with lavaan."), "torchfit_option_error")
      }
    }
    dots[c("se", "test")] <- NULL
  }
  for (name in intersect(names(dots), names(.refused_options))) {
    torchfit_stop(paste0("option `", name, "` is not supported by torchfit(); use ",
                         .refused_options[[name]], "."), "torchfit_option_error")
  }
  for (name in intersect(names(dots), names(.default_only_options))) {
    allowed <- .default_only_options[[name]]
    value <- dots[[name]]
    ok <- vapply(allowed, function(a) identical(value, a) ||
                   (is.null(value) && is.null(a)) ||
                   (length(value) >= 1L && all(as.character(value) == as.character(a))),
                 logical(1))
    if (!any(ok)) {
      shown <- vapply(allowed, function(a) if (is.null(a)) "NULL" else deparse(a), "")
      torchfit_stop(paste0(
        "option `", name, " = ", paste(deparse(value), collapse = ""), "` is not supported ",
        "by torchfit(); it takes ", paste(shown, collapse = " or "),
        " (lavaan's default or what the estimator implies). Fit this with lavaan ",
        "instead, or leave the option out."), "torchfit_option_error")
    }
  }
  invisible(dots)
}
