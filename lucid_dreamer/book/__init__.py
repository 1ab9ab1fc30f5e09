"""The book: what the notebooks and pages show, the claims audit, the comparison, the conditions map, tables,
plots and the paper's reported numbers. It imports the pipeline and the method."""
