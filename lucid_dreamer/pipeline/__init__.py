"""The pipeline: presets, the cached stages, the comparison grid and its executors, the benchmark, the
paper-scale run, and where every product and record goes (`paths`). It imports the method, never the book."""
