# Golden values for lnfusion.stats, computed with R and pROC.
#
# Regenerate (from the repository root):
#   Rscript tests/stats/golden/make_golden.R > tests/stats/golden/r_output.txt
# It writes tests/stats/golden/golden.json (data + expected values) and prints
# every result so a reviewer can read them in r_output.txt.
#
# Needs R >= 4.0 and pROC (Debian: apt-get install r-base-core r-cran-proc).
# All data are literal vectors below (no random numbers), and are copied into
# golden.json so the Python tests use exactly the same inputs.

suppressPackageStartupMessages(library(pROC))
cat(R.version.string, "; pROC", as.character(packageVersion("pROC")), "\n")

out_path <- "tests/stats/golden/golden.json"
args <- commandArgs(trailingOnly = TRUE)
if (length(args) >= 1) out_path <- args[1]

# ---------------------------------------------------------------- tiny JSON writer
arr <- function(x) structure(x, class = c("json_array", class(x)))
num <- function(x) {
  if (is.na(x)) return("null")
  if (is.infinite(x)) return(if (x > 0) "1e999" else "-1e999")
  sprintf("%.17g", x)
}
to_json <- function(x) {
  if (is.null(x)) return("null")
  if (inherits(x, "json_array")) {
    x <- unclass(x)
    if (is.matrix(x)) {
      rows <- apply(x, 1, function(r) to_json(arr(as.vector(r))))
      return(paste0("[", paste(rows, collapse = ", "), "]"))
    }
    return(paste0("[", paste(vapply(seq_along(x), function(i) to_json(x[[i]]), ""),
                             collapse = ", "), "]"))
  }
  if (is.list(x)) {
    if (is.null(names(x))) {
      return(paste0("[", paste(vapply(x, to_json, ""), collapse = ",\n"), "]"))
    }
    items <- vapply(names(x), function(k) paste0("\"", k, "\": ", to_json(x[[k]])), "")
    return(paste0("{", paste(items, collapse = ", "), "}"))
  }
  if (is.matrix(x)) return(to_json(arr(x)))
  if (length(x) != 1) return(to_json(arr(x)))
  if (is.character(x)) return(paste0("\"", gsub("\"", "\\\\\"", x), "\""))
  if (is.logical(x)) return(if (is.na(x)) "null" else if (x) "true" else "false")
  num(as.numeric(x))
}


# fisher.test's conditional MLE and confidence interval of the odds ratio use
# uniroot() with its default tolerance (about 1.2e-4), so R's own values are
# only that precise.  This is the same computation (copied from fisher.test)
# with uniroot(tol = 1e-13): the reference for a 1e-6 comparison.
fisher_or_precise <- function(x, conf.level = 0.95, tol = 1e-13) {
  m <- sum(x[, 1L]); n <- sum(x[, 2L]); k <- sum(x[1L, ]); x <- x[1L, 1L]
  lo <- max(0L, k - n); hi <- min(k, m)
  support <- lo:hi
  logdc <- dhyper(support, m, n, k, log = TRUE)
  dnhyper <- function(ncp) {
    d <- logdc + log(ncp) * support
    d <- exp(d - max(d))
    d / sum(d)
  }
  mnhyper <- function(ncp) {
    if (ncp == 0) return(lo)
    if (ncp == Inf) return(hi)
    sum(support * dnhyper(ncp))
  }
  pnhyper <- function(q, ncp = 1, upper.tail = FALSE) {
    if (ncp == 1) {
      return(if (upper.tail) phyper(x - 1, m, n, k, lower.tail = FALSE) else phyper(x, m, n, k))
    }
    if (ncp == 0) return(as.numeric(if (upper.tail) q <= lo else q >= lo))
    if (ncp == Inf) return(as.numeric(if (upper.tail) q <= hi else q >= hi))
    sum(dnhyper(ncp)[if (upper.tail) support >= q else support <= q])
  }
  ur <- function(f, int) uniroot(f, int, tol = tol, maxiter = 10000)$root
  mle <- function(x) {
    if (x == lo) return(0)
    if (x == hi) return(Inf)
    mu <- mnhyper(1)
    if (mu > x) ur(function(t) mnhyper(t) - x, c(0, 1))
    else if (mu < x) 1 / ur(function(t) mnhyper(1 / t) - x, c(.Machine$double.eps, 1))
    else 1
  }
  ncp.U <- function(x, alpha) {
    if (x == hi) return(Inf)
    p <- pnhyper(x, 1)
    if (p < alpha) ur(function(t) pnhyper(x, t) - alpha, c(0, 1))
    else if (p > alpha) 1 / ur(function(t) pnhyper(x, 1 / t) - alpha, c(.Machine$double.eps, 1))
    else 1
  }
  ncp.L <- function(x, alpha) {
    if (x == lo) return(0)
    p <- pnhyper(x, 1, upper.tail = TRUE)
    if (p > alpha) ur(function(t) pnhyper(x, t, upper.tail = TRUE) - alpha, c(0, 1))
    else if (p < alpha) 1 / ur(function(t) pnhyper(x, 1 / t, upper.tail = TRUE) - alpha,
                               c(.Machine$double.eps, 1))
    else 1
  }
  alpha <- (1 - conf.level) / 2
  c(mle(x), ncp.L(x, alpha), ncp.U(x, alpha))
}

cases <- list()
add <- function(id, fn, input, params, expected) {
  cat("\n==== ", id, " (", fn, ")\n", sep = "")
  for (k in names(expected)) {
    v <- unclass(expected[[k]])
    txt <- if (is.numeric(v)) format(v, digits = 15) else as.character(v)
    cat(sprintf("  %-10s %s\n", k, paste(txt, collapse = " ")))
  }
  cases[[length(cases) + 1]] <<- list(id = id, fn = fn, input = input, params = params,
                                      expected = expected)
}
htest_exp <- function(h) {
  e <- list(p_value = unname(h$p.value))
  if (!is.null(h$statistic)) e$statistic <- unname(h$statistic)
  if (!is.null(h$parameter)) e$parameter <- arr(unname(h$parameter))
  if (!is.null(h$conf.int)) e$conf_int <- arr(unname(as.vector(h$conf.int)))
  if (!is.null(h$estimate)) e$estimate <- arr(unname(h$estimate))
  e$method <- h$method
  e
}

# ---------------------------------------------------------------- data
tab_2x2_a <- matrix(c(12, 5, 7, 15), nrow = 2, byrow = TRUE)
tab_2x2_b <- matrix(c(10, 10, 10, 11), nrow = 2, byrow = TRUE)   # |O - E| < 0.5
tab_2x2_c <- matrix(c(3, 1, 1, 3), nrow = 2, byrow = TRUE)
tab_2x2_d <- matrix(c(0, 5, 6, 2), nrow = 2, byrow = TRUE)
tab_2x2_e <- matrix(c(10, 2, 3, 15), nrow = 2, byrow = TRUE)
tab_3x4 <- matrix(c(20, 15, 12, 8, 10, 18, 14, 16, 9, 11, 20, 25), nrow = 3, byrow = TRUE)
tab_3x3_s <- matrix(c(3, 1, 0, 1, 4, 2, 0, 2, 5), nrow = 3, byrow = TRUE)
tab_2x4_s <- matrix(c(2, 5, 1, 0, 4, 1, 3, 6), nrow = 2, byrow = TRUE)
tab_3x4_s <- matrix(c(8, 2, 3, 1, 2, 9, 4, 3, 1, 3, 10, 6), nrow = 3, byrow = TRUE)
tab_3x5_s <- matrix(c(12, 5, 3, 2, 1, 4, 11, 6, 3, 2, 2, 3, 9, 8, 6), nrow = 3, byrow = TRUE)
tab_4x3_s <- matrix(c(1, 0, 3, 2, 2, 1, 0, 4, 1, 3, 1, 0), nrow = 4, byrow = TRUE)
tab_5x2_s <- matrix(c(5, 0, 3, 2, 1, 4, 0, 3, 2, 2), nrow = 5, byrow = TRUE)

g1 <- c(9.3, 8.1, 11, 10.8, 9.1, 9.8, 6.4, 8.2, 10.4, 11.2, 10, 8.4)
g2 <- c(10.9, 13.6, 7.9, 15.6, 11.3, 9.6, 8.9, 8.6, 14.3, 7.9, 9.5, 12.3, 8.4, 8.5, 17.1)
g3 <- c(10.9, 10.6, 13.1, 12, 11.6, 11.9, 11.6, 11.1, 8.7, 11.7)
g4 <- c(12.4, 19.1, 17, 18.4, 11.4, 14.8, 18.3, 9, 12.5)
wx <- c(27.5, 30.5, 10.5, 14.5, 18.5, 37.5, 2.5, 21.5, 7.5, 29.5, 26.5)
wy <- c(14, 34, 36, 9, 12, 26, 21, 5, 38, 3, 37, 20, 11)
tx <- c(5, 4, 3, 4, 1, 2, 6, 7, 4, 5, 6, 1, 2, 1)
ty <- c(4, 2, 5, 8, 8, 3, 4, 8, 8, 2, 3, 2, 3, 5, 5, 4, 6)
tz <- c(7, 6, 8, 5, 7, 9, 6, 8, 7, 5)
lx <- c(0.3137, 0.3838, -1.5715, 0.9198, 1.2538, -1.9639, 0.6382, -0.9634, 0.0125, -0.5262,
        -0.3073, -2.4426, -1.5258, 0.101, -1.1185, 0.2329, -0.8312, -0.3023, 0.7126, 0.9832,
        -0.4051, 2.1029, 0.001, 0.4715, -0.4425, -0.8903, 2.4828, -1.8671, -1.2439, 0.9249,
        -1.6384, 0.0161, -0.5932, -2.1707, 1.2142, 1.3826, -0.9323, -0.2918, -0.5283, 0.2614,
        -0.7003, 0.3027, 0.864, 0.0479, -0.7608, 0.5295, 0.6422, -0.5918, -0.5941, -0.6659,
        -1.0295, 2.0379, 0.9041, -1.9468, -0.5392, -0.3399, -1.8118, 0.9558, 0.9947, 0.2546)
ly <- c(1.2335, 0.2319, 1.0104, 0.17, -0.4696, 3.1821, -0.4208, -1.7365, 1.3527, 1.4898,
        1.2413, 1.0055, -0.748, -1.0146, 1.1936, 1.1188, 0.3594, 0.8213, 1.286, -1.0855,
        1.5082, 0.1614, 1.4923, -0.4188, 0.9613, 1.9344, -0.7312, 1.4215, -1.0922, -2.174,
        0.018, 0.9541, -0.6573, -0.3595, -0.3256, 0.0364, 1.6451, 1.8528, -0.0599, -0.5017,
        0.8647, 1.6504, 1.9207, 1.3753, -0.3354, 1.1997, -0.0481, 0.1037, 0.2831, -1.6978,
        -1.3122, 0.2938, 0.8339, 2.8146, -0.7743)
resp <- c(0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0,
          1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0,
          0, 0, 0, 1)
s1 <- c(-0.1, 0.1, 2, 1.3, -0.8, -0.2, 2.4, 1.3, -1.3, 2, -1.2, 0.2, 0.4, 0.2, 0.7, 1.7, 1.1,
        2.8, -0.3, -0.8, 1.2, -0.4, 1.2, 0.9, -1, 0.7, -2.5, -0.7, 1, -1.9, 1.1, 1.3, -0.3, -1,
        -0.1, 2.7, 2.1, 0.5, 0.6, 0.9, -0.6, 0, 0, 0.9, 0.3, 2.7, 2.5, 1.4, 2.4, 1.3, 0.3,
        -1.2, 2.1, -1.3, 0.9, -0.2, 1.4, 0.3, 0.5, 0.3)
s2 <- c(-1, -0.1, 2.8, 1.6, 1.7, -0.5, 1.5, 3, -1.6, 0.3, -0.3, 0.4, -1.1, 1.1, -1.2, -0.3,
        0.6, 0.3, 0.1, -1.2, 1.1, -0.3, -0.6, 0.1, -0.3, 1.6, 0.5, -1.4, 0.5, -1.4, -0.4,
        -0.3, 0.6, -0.5, 2.8, 2.5, 1.1, -0.4, 1.4, -0.7, -1.2, -0.6, 0.5, 0, 1.2, 2.6, 1.3,
        -0.7, 1, 2.8, 0.8, 1.4, 2.2, -0.5, 0.4, 0, 1.4, 1.7, 0.4, 0.5)
# heavily tied ordinal scores (ROC with many ties)
resp_t <- c(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
sc_ta <- c(1, 1, 2, 2, 2, 3, 1, 2, 3, 4, 2, 1, 3, 4, 5, 5, 2, 4, 3, 5, 4, 3)
sc_tb <- c(2, 1, 1, 3, 2, 2, 1, 1, 4, 3, 2, 2, 2, 4, 4, 5, 3, 3, 3, 4, 5, 1)
gy <- c(0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1,
        0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1, 1,
        1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1)
gx <- c(59.4, 45.4, 60.5, 61.2, 60.4, 60.6, 36.8, 45.3, 51.4, 45.6, 41, 52, 41.9, 43.6, 38.9,
        61.2, 44, 57.4, 39.2, 54.3, 54.4, 36.8, 53.8, 53.6, 59.3, 33.9, 49, 65.5, 68.7, 51.7,
        63.2, 41.4, 47.4, 51.4, 50.2, 53.1, 53.6, 60.1, 47.4, 56.5, 52.5, 34.6, 54.9, 44, 63.4,
        41.5, 60.7, 65.8, 65.3, 42.1, 60.1, 41.4, 56.8, 54, 54.2, 44.6, 60.9, 67.2, 53.5, 63,
        49.7, 38.8, 47.3, 56.8, 56.2, 60, 54.5, 43, 38.2, 65.2, 53, 28, 59.2, 63.7, 54.3, 45.9,
        42.3, 39.9, 50.5, 25.2)
gg <- c("c", "b", "b", "a", "c", "c", "b", "b", "a", "a", "b", "c", "a", "c", "b", "c", "c",
        "a", "b", "b", "a", "a", "c", "b", "a", "b", "a", "a", "a", "b", "c", "b", "a", "c",
        "a", "c", "a", "b", "b", "b", "c", "a", "b", "c", "b", "c", "b", "b", "b", "b", "c",
        "c", "b", "a", "b", "b", "b", "b", "a", "a", "a", "a", "a", "a", "c", "b", "b", "c",
        "a", "c", "c", "c", "a", "b", "a", "b", "a", "c", "c", "c")
pv <- c(0.01, 0.02, 0.03, 0.04, 0.05, 0.2, 0.0001, 0.5, 0.03, 0.9, 0.004, 0.045, 0.6, 0.012,
        0.07, NA)

# ---------------------------------------------------------------- chisq.test
for (nm in c("tab_2x2_a", "tab_2x2_b", "tab_2x2_e", "tab_3x4")) {
  tab <- get(nm)
  for (corr in c(FALSE, TRUE)) {
    h <- suppressWarnings(chisq.test(tab, correct = corr))
    add(paste0("chisq_", nm, "_", tolower(corr)), "chisq.test", list(table = arr(tab)),
        list(correct = corr), htest_exp(h))
  }
}

# ---------------------------------------------------------------- fisher.test
for (nm in c("tab_2x2_a", "tab_2x2_c", "tab_2x2_d", "tab_2x2_e")) {
  h <- fisher.test(get(nm))
  e <- htest_exp(h)
  pr <- fisher_or_precise(get(nm))
  e$estimate_precise <- pr[1]
  e$conf_int_precise <- arr(pr[2:3])
  add(paste0("fisher_", nm), "fisher.test", list(table = arr(get(nm))), list(), e)
}
for (nm in c("tab_3x3_s", "tab_2x4_s", "tab_3x4_s", "tab_3x5_s", "tab_4x3_s", "tab_5x2_s",
             "tab_3x4")) {
  h <- fisher.test(get(nm), workspace = 2e8)
  add(paste0("fisher_", nm), "fisher.test", list(table = arr(get(nm))), list(), htest_exp(h))
}

# ---------------------------------------------------------------- kruskal / oneway / t
add("kruskal_g123", "kruskal.test", list(groups = list(arr(g1), arr(g2), arr(g3))), list(),
    htest_exp(kruskal.test(list(g1, g2, g3))))
add("kruskal_ties", "kruskal.test", list(groups = list(arr(tx), arr(ty), arr(tz))), list(),
    htest_exp(kruskal.test(list(tx, ty, tz))))
add("kruskal_two", "kruskal.test", list(groups = list(arr(wx), arr(wy))), list(),
    htest_exp(kruskal.test(list(wx, wy))))
for (ve in c(TRUE, FALSE)) {
  for (set in list(c("g1", "g2", "g3"), c("g1", "g2", "g3", "g4"), c("g1", "g4"))) {
    y <- unlist(lapply(set, get))
    g <- factor(rep(set, vapply(set, function(s) length(get(s)), 1L)))
    h <- oneway.test(y ~ g, var.equal = ve)
    add(paste0("oneway_", paste(set, collapse = ""), "_", tolower(ve)), "oneway.test",
        list(groups = lapply(set, function(s) arr(get(s)))), list(var_equal = ve), htest_exp(h))
  }
}
for (ve in c(TRUE, FALSE)) {
  for (pair in list(c("g1", "g2"), c("g3", "g4"), c("lx", "ly"))) {
    h <- t.test(get(pair[1]), get(pair[2]), var.equal = ve)
    add(paste0("ttest_", pair[1], pair[2], "_", tolower(ve)), "t.test",
        list(x = arr(get(pair[1])), y = arr(get(pair[2]))), list(var_equal = ve), htest_exp(h))
  }
}

# ---------------------------------------------------------------- wilcox.test
wcases <- list(
  list(id = "wilcox_exact_default", x = "wx", y = "wy", exact = NULL, correct = TRUE),
  list(id = "wilcox_exact_false_corr", x = "wx", y = "wy", exact = FALSE, correct = TRUE),
  list(id = "wilcox_exact_false_nocorr", x = "wx", y = "wy", exact = FALSE, correct = FALSE),
  list(id = "wilcox_ties_corr", x = "tx", y = "ty", exact = NULL, correct = TRUE),
  list(id = "wilcox_ties_nocorr", x = "tx", y = "ty", exact = NULL, correct = FALSE),
  list(id = "wilcox_ties_exact_requested", x = "tx", y = "ty", exact = TRUE, correct = TRUE),
  list(id = "wilcox_large_default", x = "lx", y = "ly", exact = NULL, correct = TRUE),
  list(id = "wilcox_large_exact", x = "lx", y = "ly", exact = TRUE, correct = TRUE),
  list(id = "wilcox_small_reversed", x = "wy", y = "wx", exact = NULL, correct = TRUE)
)
for (w in wcases) {
  h <- suppressWarnings(wilcox.test(get(w$x), get(w$y), exact = w$exact, correct = w$correct))
  add(w$id, "wilcox.test", list(x = arr(get(w$x)), y = arr(get(w$y))),
      list(exact = if (is.null(w$exact)) NA else w$exact, correct = w$correct), htest_exp(h))
}

# ---------------------------------------------------------------- shapiro.test
for (nm in c("g1", "g2", "g3", "g4", "lx", "tx")) {
  add(paste0("shapiro_", nm), "shapiro.test", list(x = arr(get(nm))), list(),
      htest_exp(shapiro.test(get(nm))))
}

# ---------------------------------------------------------------- prop.test / prop.trend.test
for (kn in list(c(0, 10), c(3, 10), c(10, 10), c(45, 60), c(1, 3), c(87, 93))) {
  h <- suppressWarnings(prop.test(kn[1], kn[2], correct = FALSE))
  add(sprintf("wilson_%d_%d", kn[1], kn[2]), "prop.test", list(k = kn[1], n = kn[2]),
      list(correct = FALSE), list(conf_int = arr(as.vector(h$conf.int))))
}
trend_x <- c(15, 10, 8, 4)
trend_n <- c(20, 22, 25, 24)
add("trend_default", "prop.trend.test", list(x = arr(trend_x), n = arr(trend_n)), list(),
    htest_exp(prop.trend.test(trend_x, trend_n)))
add("trend_scores", "prop.trend.test", list(x = arr(trend_x), n = arr(trend_n),
                                            score = arr(c(0, 1, 3, 7))), list(),
    htest_exp(prop.trend.test(trend_x, trend_n, score = c(0, 1, 3, 7))))

# ---------------------------------------------------------------- pROC
roc_cases <- list(list(id = "roc_s", y = resp, a = s1, b = s2),
                  list(id = "roc_ties", y = resp_t, a = sc_ta, b = sc_tb))
for (rc in roc_cases) {
  r1 <- roc(rc$y, rc$a, levels = c(0, 1), direction = "<", quiet = TRUE)
  r2 <- roc(rc$y, rc$b, levels = c(0, 1), direction = "<", quiet = TRUE)
  c1 <- ci.auc(r1, method = "delong")
  c2 <- ci.auc(r2, method = "delong")
  c1_90 <- ci.auc(r1, method = "delong", conf.level = 0.9)
  tt <- roc.test(r1, r2, method = "delong", paired = TRUE)
  add(paste0(rc$id, "_auc"), "pROC::ci.auc",
      list(y = arr(rc$y), score_a = arr(rc$a), score_b = arr(rc$b)),
      list(method = "delong"),
      list(auc_a = as.numeric(auc(r1)), ci_a = arr(as.vector(c1)[c(1, 3)]),
           var_a = var(r1, method = "delong"),
           auc_b = as.numeric(auc(r2)), ci_b = arr(as.vector(c2)[c(1, 3)]),
           ci_a_90 = arr(as.vector(c1_90)[c(1, 3)])))
  add(paste0(rc$id, "_test"), "pROC::roc.test",
      list(y = arr(rc$y), score_a = arr(rc$a), score_b = arr(rc$b)),
      list(method = "delong", paired = TRUE), htest_exp(tt))
}

# ---------------------------------------------------------------- two-class evaluation
# A two-class task with named classes: probabilities of "malignant" from a reference
# model (a) and two branches (b, c).  lnfusion.evaluation reports one AUC (ci.auc) and one
# DeLong test per comparison (roc.test), Holm-adjusted across the branches only.  The
# positive class "malignant" is the second declared class; with "benign" positive
# (scores 1 - p) the AUCs and tests are identical.
bin_y <- c("malignant", "benign", "benign", "malignant", "benign", "malignant", "malignant",
           "benign", "benign", "malignant", "malignant", "benign", "malignant", "benign",
           "benign", "malignant", "benign", "benign", "malignant", "benign", "malignant",
           "malignant", "benign", "benign", "malignant", "malignant", "benign", "malignant",
           "benign", "benign", "malignant", "benign", "benign", "malignant", "benign",
           "malignant")
bin_a <- c(0.48, 0.17, 0.02, 0.6, 0.37, 0.55, 0.74, 0.29, 0.4, 0.69, 0.4, 0.44, 0.86, 0.39,
           0.3, 0.91, 0.5, 0.4, 0.58, 0.3, 0.56, 0.61, 0.18, 0.53, 0.45, 0.91, 0.48, 0.79,
           0.59, 0.37, 0.58, 0.36, 0.29, 0.74, 0.26, 0.67)
bin_b <- c(0.24, 0.42, 0.87, 0.66, 0.6, 0.69, 0.66, 0.69, 0.52, 0.79, 0.76, 0.25, 0.74, 0.25,
           0.31, 0.36, 0.02, 0.7, 0.19, 0.52, 0.48, 0.53, 0.51, 0.61, 0.55, 0.31, 0.35, 0.58,
           0.65, 0.55, 0.75, 0.23, 0.74, 0.59, 0.14, 0.59)
bin_c <- c(0.53, 0.52, 0.37, 0.52, 0.23, 0.54, 0.8, 0.5, 0.63, 0.63, 0.66, 0.46, 0.25, 0.59,
           0.52, 0.68, 0.08, 0.07, 0.4, 0.33, 0.64, 0.57, 0.52, 0.29, 0.64, 0.66, 0.29, 0.92,
           0.53, 0.66, 0.46, 0.27, 0.35, 0.56, 0.55, 0.63)
for (positive in c("malignant", "benign")) {
  lv <- if (positive == "malignant") c("benign", "malignant") else c("malignant", "benign")
  sc <- function(p) if (positive == "malignant") p else 1 - p
  ra <- roc(bin_y, sc(bin_a), levels = lv, direction = "<", quiet = TRUE)
  rb <- roc(bin_y, sc(bin_b), levels = lv, direction = "<", quiet = TRUE)
  rcc <- roc(bin_y, sc(bin_c), levels = lv, direction = "<", quiet = TRUE)
  tab <- roc.test(ra, rb, method = "delong", paired = TRUE)
  tac <- roc.test(ra, rcc, method = "delong", paired = TRUE)
  add(paste0("binary_eval_", positive), "binary evaluation",
      list(y = arr(bin_y), p_a = arr(bin_a), p_b = arr(bin_b), p_c = arr(bin_c),
           classes = arr(c("benign", "malignant"))),
      list(positive_class = positive, method = "delong", paired = TRUE),
      list(auc = arr(c(as.numeric(auc(ra)), as.numeric(auc(rb)), as.numeric(auc(rcc)))),
           ci_a = arr(as.vector(ci.auc(ra, method = "delong"))[c(1, 3)]),
           ci_b = arr(as.vector(ci.auc(rb, method = "delong"))[c(1, 3)]),
           test_ab = htest_exp(tab), test_ac = htest_exp(tac),
           p_holm = arr(p.adjust(c(tab$p.value, tac$p.value), method = "holm"))))
}

# ---------------------------------------------------------------- p.adjust
adj <- list()
for (m in p.adjust.methods) adj[[m]] <- arr(p.adjust(pv, method = m))
add("p_adjust_all", "p.adjust", list(p = arr(pv)), list(), adj)
adj2 <- list()
for (m in p.adjust.methods) adj2[[m]] <- arr(p.adjust(c(0.04, 0.01), method = m))
add("p_adjust_two", "p.adjust", list(p = arr(c(0.04, 0.01))), list(), adj2)
pv3 <- c(0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216, 0.222, 0.251,
         0.269, 0.275, 0.34, 0.341, 0.384, 0.569, 0.594, 0.696, 0.762, 0.94, 0.942, 0.975,
         0.986, 0.012, 0.012)
adj3 <- list()
for (m in p.adjust.methods) adj3[[m]] <- arr(p.adjust(pv3, method = m))
add("p_adjust_many", "p.adjust", list(p = arr(pv3)), list(), adj3)

# ---------------------------------------------------------------- glm binomial
fit <- glm(gy ~ gx + gg, family = binomial)
sm <- summary(fit)$coefficients
ci <- confint.default(fit)
add("glm_binomial", "glm", list(y = arr(gy), x = arr(gx), g = arr(gg)),
    list(formula = "y ~ x + g"),
    list(terms = arr(rownames(sm)), estimate = arr(unname(sm[, 1])),
         se = arr(unname(sm[, 2])), z = arr(unname(sm[, 3])), p_value = arr(unname(sm[, 4])),
         ci_low = arr(unname(ci[, 1])), ci_high = arr(unname(ci[, 2])),
         loglik = as.numeric(logLik(fit)), aic = AIC(fit)))

# ---------------------------------------------------------------- write
meta <- list(r_version = R.version.string, proc_version = as.character(packageVersion("pROC")),
             generated_by = "tests/stats/golden/make_golden.R")
writeLines(to_json(list(meta = meta, cases = cases)), out_path)
cat("\nwrote", length(cases), "cases to", out_path, "\n")
