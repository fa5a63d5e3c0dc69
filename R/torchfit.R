# torchfit(): lavaan syntax + data frame -> parameter table + numeric matrix ->
# the Python engine -> a TorchFit object.

# The defaults lavaan's sem() and cfa() pass to lavaanify() (lavaan 0.6-x).
.lavaanify_defaults <- list(
  int.ov.free = TRUE, int.lv.free = FALSE, auto.fix.first = TRUE,
  auto.fix.single = TRUE, auto.var = TRUE, auto.cov.lv.x = TRUE,
  auto.cov.y = TRUE, auto.th = TRUE, auto.delta = TRUE, auto.efa = TRUE,
  fixed.x = TRUE, meanstructure = FALSE
)

# lavaanify() arguments that torchfit sets itself.
.lavaanify_reserved <- c("model", "model.type", "varTable", "ngroups",
                         "as.data.frame.", "debug", "warn", "nthresholds")

# The engine's own list of option names (snake case), or NULL; read once a
# session (converting the list costs a millisecond per fit).
engine_option_names <- function() {
  session_value("engine_options", function() {
    tryCatch(as.character(unlist(engine()$ENGINE_OPTIONS)), error = function(e) NULL)
  })
}

# The engine's option table (torchfit.options.OPTIONS, through bridge.options()),
# read once a session: each option's engine name, the name torchfit() takes (`r`:
# lavaan's, else the engine's with "." for "_") and its role ("fit": an argument
# of the engine's fit(); else an estimator's own).
engine_option_table <- function() {
  session_value("option_table", function() {
    table <- engine_call(engine()$options)
    data.frame(name = as.character(unlist(table$name)), r = as.character(unlist(table$r)),
               role = as.character(unlist(table$role)), stringsAsFactors = FALSE)
  })
}

# The options in `given` (names of `...`) that go to the engine, as a named vector:
# R's name -> the engine's. They are the rows of the engine's table, by the name
# torchfit() takes or the engine's, except the engine's fit() arguments that
# torchfit() settles itself from its own and lavaanify()'s arguments (`settled`:
# lavaan's defaults and couplings apply to them) and, for the ML family, lavaan's
# se, test and bootstrap, which R translates (R/options.R). The table is asked
# for only when there are options, so that a syntax error alone starts no Python.
engine_args <- function(given, estimator, settled) {
  if (!length(given)) return(character(0))
  table <- engine_option_table()
  table <- table[table$role != "fit" | !table$r %in% settled, , drop = FALSE]
  engine_name <- ifelse(given %in% table$r, table$name[match(given, table$r)],
                        table$name[match(given, table$name)])
  args <- stats::setNames(engine_name, given)[!is.na(engine_name)]
  if (!is_irt_estimator(estimator)) args <- args[!names(args) %in% .lavaan_inference]
  args
}

# The IWAVE item types whose responses are categories (they get thresholds).
categorical_item_types <- function() {
  tryCatch(as.character(unlist(engine()$CATEGORICAL_ITEM_TYPES)), error = function(e) NULL)
}

#' Fit a structural equation model with the torchfit engine
#'
#' Builds lavaan's parameter table from `model` (with the same defaults as
#' [lavaan::sem()] and [lavaan::cfa()]), checks the data, and fits the model in
#' the Python/PyTorch engine. Maximum likelihood and WLSMV results agree with
#' lavaan.
#'
#' @param model Model description in lavaan syntax (a character string).
#' @param data A data frame holding the observed variables of the model.
#'   Extra columns are ignored; the data frame itself is never modified.
#'   Leave it out for a fit from sample moments: `sample.cov` (the unbiased
#'   covariance matrix with row and column names, or a named list of them, one
#'   per group), `sample.nobs` and optionally `sample.mean` in `...`, as in
#'   lavaan (ML only; what needs the rows is refused). Or the path of a
#'   Parquet file or directory, a CSV or a .npy file too large for R: the
#'   engine reads the model's columns in one pass of blocks and the fit is ML
#'   from their moments (as with `sample.cov`; `missing = "listwise"` drops
#'   incomplete rows).
#' @param estimator `"ML"` (maximum likelihood), `"MLM"` (robust standard
#'   errors and the Satorra-Bentler scaled test) or `"MLR"` (Huber-White
#'   standard errors and the Yuan-Bentler scaled test), as in lavaan, or
#'   `"IWAVE"` (importance-weighted amortized variational estimation, for
#'   ordinal and other non-normal items; its options, e.g. `iw_samples`,
#'   `batch_size`, `lr`, `seed`, go in `...`), or `"MML"` (exact marginal
#'   maximum likelihood by Gauss-Hermite quadrature for the same models with
#'   up to three factors; options `quad.points`, `quadrature` ("fixed" or
#'   "adaptive"), `max.factors`, `se`).
#'   With ordered items the default is lavaan's `"WLSMV"` (DWLS on the
#'   thresholds and polychoric correlations, robust standard errors, the
#'   scaled-shifted test); `"WLSM"`, `"ULSMV"`, `"ULSM"`, `"WLS"`, `"DWLS"` and
#'   `"ULS"` as in lavaan (`parameterization = "theta"` in `...`). Without
#'   ordered items, `"ULS"`, `"GLS"`, `"WLS"` (ADF) and `"DWLS"` fit the
#'   covariances of continuous data as lavaan does.
#' @param model.type `"sem"`, `"cfa"` (the same defaults) or `"growth"`
#'   (lavaan's growth(): latent means free, observed intercepts 0).
#' @param missing `"default"`: stop when the model's variables have missing
#'   values; `"listwise"`: drop rows with a missing value in any of them;
#'   `"ml"` (or `"fiml"`): full-information ML over the missingness patterns
#'   (with fixed covariates, the rows missing one are dropped, as lavaan);
#'   `"ml.x"`: the same keeping the rows missing a fixed covariate.
#' @param ordered The ordinal items, as lavaan's `ordered`: fitted by the WLS
#'   family (WLSMV by default) or, with `estimator = "IWAVE"` or `"MML"`, by
#'   the graded response model. Ordered factors are coded by their levels, and
#'   the model's ordered factors are ordinal items without being named. With
#'   the WLS family, variables not named stay continuous (polyserial
#'   correlations, as lavaan).
#'   `TRUE` takes every non-exogenous observed variable (as lavaan), with
#'   every estimator. Other item
#'   types are chosen per column with the option `item.types` in `...`, e.g.
#'   `item.types = list(y1 = "nominal", y2 = "gpcm", y3 = "poisson")`
#'   (normal, graded, binary, gpcm, nominal, lognormal, poisson, negbinom);
#'   categorical ones (factors or integer codes) get thresholds as ordered
#'   items do, and nominal ones also category scores (`y1 | s1`, ...).
#' @param group Name of a column of `data` whose values define groups: a
#'   multiple-group model (lavaan's `group`). With `group.equal` (e.g.
#'   `c("loadings", "intercepts")`) and `group.partial`, passed in `...`,
#'   parameters are held equal across groups as in lavaan.
#' @param ... Options of [lavaan::lavaanify()] (`std.lv`, `orthogonal`,
#'   `fixed.x`, `meanstructure`, `int.ov.free`, ...) and engine options
#'   (`iter.max`: the most optimizer iterations; further options the engine
#'   lists in `torchfit.bridge.ENGINE_OPTIONS`, written with `.` for `_`), and
#'   lavaan's `cluster` (a column naming each row's cluster: cluster-robust
#'   standard errors and test, lavaan's single-level `se = "robust.cluster"`)
#'   and `sampling.weights` (a column of sampling weights, normalised to sum
#'   to the number of rows; robust standard errors and test), both with
#'   estimator `"ML"` or `"MLR"`. Anything else is an error.
#' @return An object of class [TorchFit-class].
#' @seealso [summary,TorchFit-method], [parameterEstimates()],
#'   [fitMeasures,TorchFit-method], [torchfit_sitrep()]
#' @examples
#' \dontrun{
#' model <- "visual  =~ x1 + x2 + x3
#'           textual =~ x4 + x5 + x6
#'           speed   =~ x7 + x8 + x9"
#' fit <- torchfit(model, data = HolzingerSwineford1939)
#' summary(fit, fit.measures = TRUE, standardized = TRUE)
#' }
#' @export
torchfit <- function(model, data = NULL, estimator = "ML", model.type = "sem",
                     missing = "default", group = NULL, ordered = NULL, ...) {
  mc <- match.call()
  estimator_given <- !missing(estimator)
  t0 <- proc.time()[["elapsed"]]
  if (is.list(model)) {
    model_text <- character(0)  # a parameter table (lavaan's update() passes one)
  } else if (!is.character(model) || length(model) < 1L || anyNA(model)) {
    torchfit_stop("`model` must be a character string with lavaan model syntax, or a parameter table.")
  } else {
    model <- model_text <- paste(model, collapse = "\n")
    # the syntax itself in the call: lavaan's update() then finds it wherever
    # the fit was made (a symbol is looked up from update()'s own frame)
    mc$model <- model_text
  }
  model.type <- match_choice(model.type, c("sem", "cfa", "growth"), "model.type")
  estimator <- toupper(as.character(estimator)[1L])
  missing <- check_missing_option(missing)

  # split `...` into lavaanify options and engine options
  dots <- list(...)
  if (length(dots) && (is.null(names(dots)) || any(!nzchar(names(dots))))) {
    torchfit_stop("All options in `...` must be named (for example std.lv = TRUE).")
  }
  # (no data, data and sample.cov both, sample.cov with group: the engine's to say)
  moments <- given_moments(dots)
  path <- data_path(data)
  if (!is.null(path)) {
    check_path_fit(path, estimator, missing, group, ordered, dots)
    data <- NULL  # the engine reads the file; R sees its moments only
  }
  moment_args <- dots[intersect(names(dots), .moment_options)]
  dots <- dots[setdiff(names(dots), .moment_options)]
  rows <- row_columns(dots, data)
  dots <- dots[setdiff(names(dots), names(rows$lavaan))]
  lav_args <- setdiff(names(formals(lavaan::lavaanify)), .lavaanify_reserved)
  eng_map <- engine_args(names(dots), estimator, c(names(formals(torchfit)), lav_args))
  eng_args <- names(eng_map)
  check_lavaan_options(dots, estimator, eng_args)
  # neither lavaan's nor the engine's: the engine's message, once the estimator is known
  unknown <- setdiff(names(dots), c(lav_args, eng_args, lavaan_option_names()))
  lav_opts <- lavaan_options(dots[names(dots) %in% lav_args], model.type)
  lav_dry <- list()  # what lavaan's dry run needs besides the user's options
  eng_opts <- dots[names(dots) %in% eng_args]

  # 1. the groups, then the parameter table, from lavaan
  type_opt <- intersect(c("item.types", "item_types"), names(eng_opts))
  if (length(type_opt)) {
    eng_opts[type_opt] <- list(check_item_types(eng_opts[[type_opt[1L]]]))
  }
  categorical <- if (length(type_opt)) {
    types <- eng_opts[[type_opt[1L]]]
    names(types)[unlist(types) %in% categorical_item_types()]
  }
  ordered <- ordered_items(data, ordered_columns(model, data, ordered, estimator), categorical)
  if (length(ordered) && !is_irt_estimator(estimator)) {
    # lavaan's default for ordered items (WLSMV) is the engine's to choose
    if (!estimator_given) estimator <- "DEFAULT"
    lav_dry$ordered <- names(ordered)
    # as lavaan's lav_options_set for a categorical model: equal thresholds
    # bring equal intercepts (of continuous variables) and vice versa
    if (any(c("thresholds", "intercepts") %in% lav_opts$group.equal)) {
      lav_opts$group.equal <- unique(c(lav_opts$group.equal, "thresholds", "intercepts"))
    }
  }
  check_engine_options(c(eng_args, unknown), estimator, length(ordered) > 0L, lav_args)
  if (length(ordered)) {
    # lavaan's thresholds need the number of categories, known from the data
    lav_opts$nthresholds <- ordered[!is.na(ordered)] - 1L
  }
  if ((is_irt_estimator(estimator) || length(ordered)) && !"meanstructure" %in% names(dots)) {
    lav_opts$meanstructure <- TRUE  # intercepts and thresholds of the items, as lavaan
  }
  groups <- group_values(data, group)
  ngroups <- if (!is.null(groups)) length(unique(groups)) else
    moment_groups(moment_args$sample.cov)
  if (ngroups > 1L) lav_opts$ngroups <- ngroups
  # as lavaan(): several groups, full-information ML, clusters or sample means
  # switch the means on
  if ((ngroups > 1L || missing %in% c("ml", "fiml", "direct", "ml.x", "fiml.x", "direct.x") ||
       !is.null(rows$lavaan$cluster) || !is.null(moments$sample_mean)) &&
      !"meanstructure" %in% names(dots)) {
    lav_opts$meanstructure <- TRUE
  }
  partable <- if (is.list(model)) user_partable(model) else
    build_partable(model, model.type, lav_opts,
                   user_meanstructure = "meanstructure" %in% names(dots))
  ov <- lavaan::lavNames(partable, "ov")
  lv <- lavaan::lavNames(partable, "lv")
  check_conditional_x(dots$conditional.x, estimator, ordered, partable)

  if (!is.null(path) && is.null(moments)) {
    moments <- path_moments(path, ov, missing, means = any(partable$op == "~1"))
    moment_args <- moments$lavaan
    moments <- moments$engine
    path <- NULL
  }

  # 2. the data (none for a fit from sample moments)
  # (a path beside sample.cov goes as it is: the engine refuses the two together)
  prep <- if (!is.null(data)) prepare_data(data, ov, names(ordered), group) else list(data = path)

  # 3. the engine, called once
  options <- list(
    estimator = estimator, model_type = model.type,
    std_lv = isTRUE(lav_opts$std.lv), orthogonal = isTRUE(lav_opts$orthogonal),
    fixed_x = isTRUE(lav_opts$fixed.x), missing = missing, group = group
  )
  if (length(ordered)) options$ordered <- as.list(names(ordered))
  known <- engine_option_names()
  if (!is.null(known)) options <- options[names(options) %in% known]
  options <- c(options, stats::setNames(eng_opts, unname(eng_map[names(eng_opts)])),
               bootstrap_options(dots), rows$engine)
  t1 <- proc.time()[["elapsed"]]
  res <- engine_call(engine()$fit_from_r, table_to_py(partable), prep$data,
                     as.list(colnames(prep$data)), options, groups,
                     if (!is.null(data)) as.list(names(data)), moments = moments,
                     extra_columns = rows$columns, warn = FALSE)
  t2 <- proc.time()[["elapsed"]]

  # lavaan's options for lavaan's dry run (not the engine's own, e.g. IWAVE's se)
  user_lav <- dots[names(dots) %in% setdiff(lavaan_option_names(),
                                            intersect(eng_args, .lavaan_inference))]
  lav_args <- c(list(estimator = estimator, missing = lavaan_missing(missing), group = group),
                user_lav[setdiff(names(user_lav), c("estimator", "missing", "group"))])
  # lavaan's dry run from the same moments, clusters and weights
  lav_args <- c(lav_args, lav_dry, moment_args, rows$lavaan)
  # the estimator the engine chose (lavaan's default WLSMV for ordered items)
  if (!is.null(res$info$estimator)) lav_args$estimator <- as.character(res$info$estimator)
  if (is_irt_estimator(estimator)) lav_args$estimator <- NULL
  fit <- new_torchfit(res, call = mc, model = model_text, partable = partable, data = data,
                      model.type = model.type, lav_args = lav_args, ov = ov, lv = lv)
  fit@timing <- c(fit@timing, list(engine = t2 - t1, total = proc.time()[["elapsed"]] - t0))
  fit
}

# lavaan's `cluster` and `sampling.weights` (arguments of lavaan(), not options):
# the engine's options, the columns it needs beside the model's variables, and
# the arguments of lavaan's dry run. Each names one column of `data`, complete
# (the engine says when the column is not there).
row_columns <- function(dots, data) {
  out <- list(engine = list(), columns = list(), lavaan = list())
  roles <- c(cluster = "cluster", sampling.weights = "sampling weight")
  for (name in intersect(names(roles), names(dots))) {
    col <- dots[[name]]
    if (is.null(col)) next
    if (!is.character(col) || length(col) != 1L || is.na(col)) {
      torchfit_stop(paste0("`", name, "` must be the name of one column of `data`."),
                    "torchfit_option_error")
    }
    out$engine[[gsub(".", "_", name, fixed = TRUE)]] <- col
    out$lavaan[[name]] <- col
    # a column absent from `data` is the engine's to report (it has names(data))
    if (!is.data.frame(data) || !col %in% names(data)) next
    values <- data[[col]]
    # (R's check: reticulate sends a missing label as the string "NA")
    if (anyNA(values)) {
      torchfit_stop(paste0("the ", roles[[name]], ' column "', col, '" is missing in ',
                           sum(is.na(values)), " rows; drop those rows or give them a value."),
                    "torchfit_dataerror")
    }
    out$columns[[col]] <- if (name == "cluster") as.character(values) else values
  }
  out
}

# The names of lavaan's options, read once a session (lavOptions() asks the
# system for the number of cores, which costs more than a small fit).
lavaan_option_names <- function() {
  session_value("lavaan_options", function() names(lavaan::lavOptions()))
}

# lavaan's name for torchfit's missing-data option.
lavaan_missing <- function(missing) {
  if (missing %in% c("ml", "fiml", "direct")) "ml" else
    if (missing %in% c("ml.x", "fiml.x", "direct.x")) "ml.x" else missing
}

# A parameter table given as `model` (lavaan's update() sends one): its model
# columns, as lavaanify() would have made them.
user_partable <- function(model) {
  pt <- as.data.frame(model, stringsAsFactors = FALSE)
  missing_cols <- setdiff(c("lhs", "op", "rhs"), names(pt))
  if (length(missing_cols)) {
    torchfit_stop(paste0("`model` as a parameter table needs the columns ",
                         paste(missing_cols, collapse = ", "), " (see lavaan::lavaanify())."))
  }
  pt <- as.data.frame(lavaan::lav_partable_complete(as.list(pt)), stringsAsFactors = FALSE)
  pt[, intersect(names(pt), .lavaan_table_columns), drop = FALSE]
}

# sem()/cfa()/growth() defaults plus the user's lavaanify options, with the
# couplings lavaan's lav_options_set() applies (std.lv or effect coding free
# the first loading).
lavaan_options <- function(user, model.type = "sem") {
  defaults <- .lavaanify_defaults
  if (model.type == "growth") {
    defaults[c("int.ov.free", "int.lv.free", "meanstructure")] <- list(FALSE, TRUE, TRUE)
  }
  opts <- utils::modifyList(defaults, user)
  ec <- opts$effect.coding
  effect_coding <- isTRUE(ec) || (is.character(ec) && any(nzchar(ec)))
  if (isTRUE(opts$std.lv) || effect_coding) opts$auto.fix.first <- FALSE
  # lavaan's lav_options_set() strips white space from group.partial
  # ("x3 ~ 1" is "x3~1"); lavaanify() alone does not
  if (is.character(opts$group.partial)) {
    opts$group.partial <- gsub("[[:space:]]+", "", opts$group.partial)
  }
  opts
}

# lavaanify() with sem()/cfa() defaults; syntax errors located by the engine.
build_partable <- function(model, model.type, lav_opts, user_meanstructure = FALSE) {
  args <- c(list(model = model, model.type = model.type, warn = TRUE), lav_opts)
  pt <- tryCatch(
    do.call(lavaan::lavaanify, args),
    error = function(e) {
      located <- locate_syntax_error(model)
      if (!is.null(located)) stop(located)
      msg <- sub("^lavaan ERROR:\\s*", "", conditionMessage(e))
      torchfit_stop(paste0("could not read the model syntax: ", trimws(msg),
                           "\nCheck the operators (=~ ~ ~~ ~1 := ==) and ",
                           "that every formula is complete."),
                    "torchfit_modelsyntaxerror")
    }
  )
  # as lavaan(): intercepts in the syntax switch the mean structure on
  if (!user_meanstructure && !isTRUE(args$meanstructure) && any(pt$op == "~1")) {
    args$meanstructure <- TRUE
    pt <- do.call(lavaan::lavaanify, args)
  }
  pt <- as.data.frame(pt, stringsAsFactors = FALSE)
  if (nrow(pt) == 0L) {
    torchfit_stop("the model syntax defines no parameters.")
  }
  pt
}

#' The model's variables in `data` as a numeric matrix, after the checks of
#' what only R has: a data frame, factor and character columns (their fixes
#' are R code). The engine owns the data checks both languages share: a model
#' variable absent from `data` (it gets `names(data)` to suggest close names)
#' and infinite values, with the same message as from Python.
#' @return list(data = numeric matrix of the model's variables in `data`)
#' @keywords internal
#' @noRd
prepare_data <- function(data, ov, ordered = character(0), group = NULL) {
  if (!is.data.frame(data)) {
    torchfit_stop(paste0(
      "`data` must be a data.frame, not ", class(data)[1L],
      ". Convert it with as.data.frame()."
    ), "torchfit_dataerror")
  }
  present <- intersect(ov, names(data))
  # ordered items: integer codes below; a grouping column in the model is the
  # engine's to report
  for (v in setdiff(present, c(ordered, group))) {
    check_numeric_column(data[[v]], v)
  }
  # (one matrix from the columns: through a data.frame it cost a millisecond)
  cols <- lapply(present, function(v) {
    col <- data[[v]]
    if (is.factor(col)) as.integer(col) else if (is.numeric(col)) col else
      rep(NA_real_, nrow(data))
  })
  X <- matrix(as.double(unlist(cols, use.names = FALSE)), nrow = nrow(data),
              ncol = length(present), dimnames = list(NULL, present))
  # Missing values go to the engine as NaN: it drops incomplete rows
  # (missing = "listwise") or says how many there are.
  list(data = X)
}

# The ordinal items and their number of categories (named integer vector):
# factor levels, or the range of the codes of a numeric column (as the
# engine codes it). `categorical` adds the items whose IWAVE item type is
# categorical (gpcm, nominal, ...). An item that is not a column of `data`
# (or without a data frame) has NA: the engine reports it by name.
ordered_items <- function(data, ordered, categorical = NULL) {
  if (is.null(ordered) || identical(ordered, FALSE)) ordered <- character(0)
  if (isTRUE(ordered)) {
    if (!is.data.frame(data)) return(integer(0))
    ordered <- names(data)[vapply(data, is.ordered, TRUE)]
  }
  ordered <- union(as.character(ordered), categorical)
  stats::setNames(vapply(ordered, function(v) {
    if (!is.data.frame(data) || !v %in% names(data)) return(NA_integer_)
    col <- data[[v]]
    if (!is.factor(col)) {
      # (infinite codes are the engine's to report; lavaanify needs a count)
      seen <- if (is.numeric(col)) col[is.finite(col)] else numeric(0)
      return(if (length(seen)) as.integer(max(seen) - min(seen) + 1) else 0L)
    }
    unused <- setdiff(levels(col), as.character(unique(stats::na.omit(col))))
    if (length(unused)) {
      torchfit_stop(paste0('column "', v, '" has no responses in level(s) ',
                           paste0('"', unused, '"', collapse = ", "), "; its thresholds ",
                           "cannot be estimated: drop the level(s) with droplevels(data$", v,
                           ") or merge them with a neighbouring level."), "torchfit_dataerror")
    }
    nlevels(col)
  }, 1L), ordered)
}

# The ordered items as lavaan takes them: those named in `ordered` and the
# model's variables that are ordered factors in `data`; with TRUE (and an
# estimator) every non-exogenous variable, as lavaan's ordered = TRUE (and the
# engine's). IWAVE and MML take the items named, without the other ordered
# factors.
ordered_columns <- function(model, data, ordered, estimator) {
  if (isFALSE(ordered) || !is.data.frame(data) || !is.character(model) ||
      (!is.null(ordered) && !isTRUE(ordered) && is_irt_estimator(estimator))) return(ordered)
  factors <- names(data)[vapply(data, is.ordered, TRUE)]
  if (!isTRUE(ordered) && !length(factors)) return(ordered)
  ov <- tryCatch(lavaan::lavNames(lavaan::lavaanify(model, warn = FALSE),
                                  if (isTRUE(ordered)) "ov.nox" else "ov"),
                 error = function(e) character(0))  # syntax errors are reported later
  used <- if (isTRUE(ordered)) ov else union(ordered, intersect(factors, ov))
  if (length(used)) used else NULL
}

# The grouping column as character values, checked; NULL without groups.
group_values <- function(data, group) {
  if (is.null(group)) return(NULL)
  if (!is.character(group) || length(group) != 1L) {
    torchfit_stop("`group` must be the name of one column of `data`.")
  }
  # a column absent from `data` is the engine's to report (it has names(data));
  # lavaanify then builds one group's table, never used
  if (!is.data.frame(data) || !group %in% names(data)) return(NULL)
  values <- as.character(data[[group]])
  # (R's check: reticulate sends a missing label as the string "NA")
  if (anyNA(values)) {
    torchfit_stop(paste0('the grouping column "', group, '" is missing in ', sum(is.na(values)),
                         " rows; drop those rows or give them a group."), "torchfit_dataerror")
  }
  values  # (a single value is the engine's to report)
}

# A data.frame as a list of columns that reticulate turns into Python lists
# (a length-one vector would otherwise become a scalar).
table_to_py <- function(pt) {
  lapply(as.list(pt), function(col) {
    if (length(col) == 1L) list(col) else col
  })
}
