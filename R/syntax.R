# Where is the syntax error? Located in R, without starting Python.
#
# lavaan 0.6's parser says that a model is wrong but not where ("unexpected end
# of input" about a formula it has rewritten). When lavaan::lavaanify() fails,
# torchfit reads the model again with the small tokenizer and recursive-descent
# parser below, an R transcription of the checks of the engine's own parser
# (python/torchfit/model/syntax.py: tokenize, _statements, _Parser and the checks of
# parse_formulas), so the message names the line and column, shows the line
# with a caret under the offending token and says what to write instead, in
# the same words as the engine. It only locates errors: the parameter table
# still comes from lavaan. It must not start Python: the first call of an R
# session may be a model with a typo, and a Python started before torchfit has
# chosen its engine's would hold the session (see R/zzz.R).

# One alternative per token kind, in the order of syntax.py's _TOKEN_RE (the
# first alternative that matches wins). PCRE's \v in a class also matches a
# newline, so the vertical tab is written \x0b.
.syntax_token_re <- paste0(
  "(?<space>[ \\t\\r\\f\\x0b]+)",
  "|(?<newline>\\n)",
  "|(?<comment>[#!][^\\n]*)",
  "|(?<string>\"[^\"\\n]*\"|'[^'\\n]*')",
  "|(?<number>(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?(?![A-Za-z_.0-9]))",
  "|(?<name>[A-Za-z_.][A-Za-z0-9_.]*)",
  "|(?<op>~\\*~|=~|~~|<~|:=|==|~|<|>|\\||%)",
  "|(?<punct>[*+\\-/^(),?;])"
)

.syntax_bad_values <- c(
  start = "start() takes numbers, e.g. start(0.5) or start(c(0.5, 1))",
  label = 'label() takes labels, e.g. label("a")',
  equal = 'equal() takes labels, e.g. equal("a")',
  c = paste("c() takes either numbers and NA (fixed values, one per group) or",
            "labels (one per group), not both")
)

# The error, as the engine's ModelSyntaxError words it.
syntax_error <- function(message, line, column, text = "") {
  pointer <- if (nzchar(text)) {
    paste0("\n  ", text, "\n  ", strrep(" ", column - 1L), "^")
  } else ""
  structure(
    class = c("torchfit_modelsyntaxerror", "torchfit_error", "error", "condition"),
    list(message = paste0("model syntax error at line ", line, ", column ",
                          column, ": ", message, pointer),
         call = NULL, line = as.integer(line), column = as.integer(column))
  )
}

# Python's repr() of a string, as the engine's messages quote tokens.
py_repr <- function(x) {
  if (grepl("'", x, fixed = TRUE) && !grepl('"', x, fixed = TRUE)) {
    paste0('"', x, '"')
  } else {
    paste0("'", gsub("'", "\\\\'", x), "'")
  }
}

syntax_line_text <- function(model, line) {
  lines <- strsplit(model, "\n", fixed = TRUE)[[1L]]
  if (line >= 1L && line <= length(lines)) lines[[line]] else ""
}

# Tokens of the model (blanks and comments dropped, newlines kept) as a
# data.frame with columns kind, text, line, column; stops at a character no
# token starts with.
syntax_tokenize <- function(model) {
  m <- gregexpr(.syntax_token_re, model, perl = TRUE)[[1L]]
  n <- if (m[1L] == -1L) 0L else length(m)
  starts <- as.integer(m)[seq_len(n)]
  lens <- attr(m, "match.length")[seq_len(n)]
  cs <- attr(m, "capture.start")
  groups <- attr(m, "capture.names")
  kinds <- if (n) groups[apply(cs[seq_len(n), , drop = FALSE] > 0L, 1L, which.max)] else character(0)
  texts <- if (n) substring(model, starts, starts + lens - 1L) else character(0)
  line <- 1L
  line_start <- 1L
  pos <- 1L
  out_line <- out_col <- integer(n)
  for (k in seq_len(n)) {
    if (starts[k] != pos) break
    out_line[k] <- line
    out_col[k] <- pos - line_start + 1L
    if (kinds[k] == "newline") {
      line <- line + 1L
      line_start <- pos + 1L
    }
    pos <- pos + lens[k]
  }
  if (pos <= nchar(model)) {
    stop(syntax_error(
      paste0("unexpected character ", py_repr(substr(model, pos, pos)),
             "; variable names use letters, digits, '.' and '_'"),
      line, pos - line_start + 1L, syntax_line_text(model, line)
    ))
  }
  keep <- !kinds %in% c("space", "comment")
  data.frame(kind = kinds[keep], text = texts[keep], line = out_line[keep],
             column = out_col[keep], stringsAsFactors = FALSE)
}

# Statements as lists of token rows: a statement ends at ';' or at the end of
# a line, and a line without an operator continues the statement above.
syntax_statements <- function(tokens, model) {
  brk <- tokens$kind == "newline" | tokens$text == ";"
  piece <- cumsum(brk)
  statements <- list()
  for (p in unique(piece)) {
    rows <- which(piece == p & !brk)
    if (!length(rows)) next
    last <- length(statements)
    if (any(tokens$kind[rows] == "op")) {
      statements[[last + 1L]] <- rows
    } else if (last > 0L &&
               tokens$line[rows[1L]] != tokens$line[utils::tail(statements[[last]], 1L)]) {
      statements[[last]] <- c(statements[[last]], rows)
    } else {
      t <- rows[1L]
      stop(syntax_error(
        paste0("this statement has no operator; write formulas such as ",
               "'f =~ x1 + x2', 'y ~ x' or 'x1 ~~ x2'"),
        tokens$line[t], tokens$column[t], syntax_line_text(model, tokens$line[t])
      ))
    }
  }
  statements
}

# The formula rows (lhs, op, rhs, line, column) of one statement; stops with
# the engine's message at the first error.
syntax_statement <- function(tok, model) {
  n <- nrow(tok)
  i <- 1L
  fail <- function(message, k = NULL) {
    if (is.null(k)) k <- if (i <= n) i else n
    column <- if (i <= n || k != n) tok$column[k] else tok$column[k] + nchar(tok$text[k])
    stop(syntax_error(message, tok$line[k], column, syntax_line_text(model, tok$line[k])))
  }
  peek <- function() if (i <= n) i else NULL
  take <- function() {
    k <- peek()
    if (is.null(k)) fail("the formula ends too early")
    i <<- i + 1L
    k
  }
  expect <- function(text) {
    k <- peek()
    if (is.null(k) || tok$text[k] != text) {
      found <- if (is.null(k)) "the end of the formula" else py_repr(tok$text[k])
      fail(paste0("expected ", py_repr(text), " but found ", found))
    }
    take()
  }
  # the '+' between two terms; a name followed by a name or number is a name
  # with a space (the engine's Parser.plus)
  plus <- function() {
    k <- peek()
    if (i > 1L && !is.null(k) && tok$kind[i - 1L] == "name" &&
        tok$kind[k] %in% c("name", "number")) {
      fail(paste0("expected '+' between terms but found '", tok$text[i - 1L], " ",
                  tok$text[k], "': a variable name cannot contain spaces; rename the column ",
                  "(replace each space by '_') and use the new name in the model, or put ",
                  "'+' between two variables"), k)
    }
    expect("+")
  }
  text_at <- function(k) if (is.null(k) || k > n) NA_character_ else tok$text[k]
  number <- function() {
    if (identical(text_at(peek()), "-")) take()
    k <- take()
    if (tok$kind[k] != "number") {
      fail(paste0("expected a number but found ", py_repr(tok$text[k])), k)
    }
    as.numeric(tok$text[k])
  }
  # a number, NA (a logical NA) or a label (a string)
  item <- function() {
    k <- peek()
    if (!is.null(k) && tok$kind[k] == "string") {
      return(substr(tok$text[take()], 2L, nchar(tok$text[k]) - 1L))
    }
    if (!is.null(k) && tok$kind[k] == "name" && tok$text[k] != "NA") {
      return(tok$text[take()])
    }
    if (!is.null(k) && tok$text[k] == "NA") {
      take()
      return(NA)
    }
    number()
  }
  values <- function() {
    expect("(")
    out <- list(item())
    while (identical(text_at(peek()), ",")) {
      take()
      out[[length(out) + 1L]] <- item()
    }
    expect(")")
    out
  }
  call_argument <- function() {
    expect("(")
    if (identical(text_at(peek()), "c") && identical(text_at(i + 1L), "(")) {
      take()
      value <- values()
    } else {
      value <- list(item())
    }
    expect(")")
    value
  }
  has_start <- FALSE
  modifier <- function() {
    k <- peek()
    if (tok$kind[k] == "number" || tok$text[k] == "-") {
      number()
      if (tok$text[take()] == "?") has_start <<- TRUE
      return(invisible())
    }
    if (tok$kind[k] == "string") {
      take()
    } else if (tok$kind[k] == "name" && tok$text[k] == "NA") {
      take()
    } else if (tok$kind[k] == "name" && identical(text_at(k + 1L), "(")) {
      fname <- tok$text[take()]
      vals <- if (fname == "c") values() else
        if (fname %in% c("start", "label", "equal")) call_argument() else NULL
      numbers <- all(vapply(vals, function(v) is.numeric(v) || identical(v, NA), logical(1)))
      labels <- all(vapply(vals, is.character, logical(1)))
      na <- any(vapply(vals, identical, logical(1), NA))
      if (fname == "start" && numbers && !na) {
        has_start <<- TRUE
      } else if (fname %in% c("label", "equal", "c") && labels) {
        # a label, or one label per group
      } else if (fname == "c" && numbers) {
        # fixed values (NA frees), one per group
      } else if (!is.null(vals)) {
        fail(.syntax_bad_values[[fname]], k)
      } else {
        fail(paste0("unknown modifier ", fname, "(); use a number, NA, a label, ",
                    "start(), label() or equal()"), k)
      }
    } else if (tok$kind[k] == "name") {
      take()
    } else {
      fail(paste0("expected a variable name but found ", py_repr(tok$text[k])))
    }
    sep <- take()
    if (tok$text[sep] == "?" && !has_start) {
      fail("'?' follows a start value, e.g. 0.5?x", sep)
    }
    if (!tok$text[sep] %in% c("*", "?")) {
      fail(paste0("expected '*' after a modifier but found ", py_repr(tok$text[sep])), sep)
    }
  }
  term <- function(op) {
    has_start <<- FALSE
    repeat {
      k <- peek()
      if (is.null(k)) {
        fail(paste0("expected a variable name after ", py_repr(tok$text[op])))
      }
      nxt <- if (k + 1L <= n) k + 1L else NULL
      if (is.null(nxt) || tok$text[nxt] == "+" ||
          (tok$kind[k] == "name" && tok$kind[nxt] == "name")) break
      modifier()
    }
    k <- take()
    rhs <- tok$text[k]
    row_op <- tok$text[op]
    if (tok$kind[k] == "number" && row_op == "~" && as.numeric(rhs) == 1) {
      row_op <- "~1"
      rhs <- ""
    } else if (tok$kind[k] == "number" && row_op == "~" && as.numeric(rhs) == 0) {
      fail("'~ 0' is not lavaan syntax; fix an intercept with 'y ~ 0*1'", k)
    } else if (tok$kind[k] != "name") {
      fail(paste0("expected a variable name but found ", py_repr(rhs)), k)
    }
    list(op = row_op, rhs = rhs, line = tok$line[k], column = tok$column[k])
  }
  lhs_names <- function(op) {
    out <- character(0)
    repeat {
      k <- take()
      if (tok$kind[k] != "name") {
        fail(paste0("expected a variable name on the left of ", py_repr(tok$text[op]),
                    " but found ", py_repr(tok$text[k])), k)
      }
      out <- c(out, tok$text[k])
      if (identical(peek(), op)) {
        take()
        return(out)
      }
      plus()
    }
  }
  expression <- function(rows) {
    if (!length(rows)) fail("an expression is missing on one side of the operator")
    paste(tok$text[rows], collapse = "")
  }

  ops <- which(tok$kind == "op")
  if (length(ops) > 1L) {
    fail(paste0("a second operator ", py_repr(tok$text[ops[2L]]), " in one statement; ",
                "put each formula on its own line or separate with ';'"), ops[2L])
  }
  op <- ops[1L]
  op_text <- tok$text[op]
  if (op_text %in% c(":=", "==", "<", ">")) {
    lhs <- seq_len(op - 1L)
    rhs <- seq.int(op + 1L, length.out = n - op)
    if (op_text == ":=" && (length(lhs) != 1L || tok$kind[lhs[1L]] != "name")) {
      fail("':=' defines one new parameter: write 'name := expression'",
           if (length(lhs)) lhs[1L] else op)
    }
    first <- if (length(lhs)) lhs[1L] else op
    return(list(list(lhs = expression(lhs), op = op_text, rhs = expression(rhs),
                     line = tok$line[first], column = tok$column[first])))
  }
  if (op_text %in% c("~*~", "<~", "%")) {
    fail(paste0("the operator ", py_repr(op_text), " is not supported yet"), op)
  }
  lhs <- lhs_names(op)
  terms <- list(term(op))
  while (!is.null(peek())) {
    plus()
    terms[[length(terms) + 1L]] <- term(op)
  }
  # lavaan's order: every right-hand term of the first lhs, then the next
  unlist(lapply(lhs, function(name) {
    lapply(terms, function(t) c(list(lhs = name), t))
  }), recursive = FALSE)
}

#' Locate a syntax error in lavaan model syntax, in R
#'
#' Reads `model` as the engine's parser does and returns the first error as a
#' condition of class `torchfit_modelsyntaxerror` (fields `line`, `column`;
#' its message names both, shows the line with a caret and says what to
#' write), or `NULL` when it finds none. Starts no Python.
#' @keywords internal
#' @noRd
locate_syntax_error <- function(model) {
  tryCatch({
    tokens <- syntax_tokenize(model)
    seen <- list()
    nrows <- 0L
    for (stmt in syntax_statements(tokens, model)) {
      for (row in syntax_statement(tokens[stmt, , drop = FALSE], model)) {
        nrows <- nrows + 1L
        key <- paste(row$lhs, row$op, row$rhs, sep = "\r")
        if (row$op == "~~") {
          rev <- paste(row$rhs, row$op, row$lhs, sep = "\r")
          if (!is.null(seen[[rev]])) key <- rev
        }
        first <- seen[[key]]
        if (!is.null(first) && !row$op %in% c("==", "<", ">")) {
          stop(syntax_error(
            paste0("'", row$lhs, " ", row$op, " ", row$rhs, "' is specified twice ",
                   "(first on line ", first$line, "); give each parameter once"),
            row$line, row$column, syntax_line_text(model, row$line)
          ))
        }
        seen[[key]] <- row
      }
    }
    if (nrows == 0L) {
      stop(syntax_error(paste0("the model is empty; write at least one formula ",
                               "such as 'f =~ x1 + x2 + x3'"), 1L, 1L, ""))
    }
    NULL
  }, torchfit_modelsyntaxerror = function(e) e,
  # a model this reader does not understand: lavaan's own message is used
  error = function(e) NULL)
}
