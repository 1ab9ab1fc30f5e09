"""The method: what the paper is, the world, tokenizer, models, losses, training, dreaming, tracking and
analysis, with the small helpers they need. It imports nothing from the pipeline or the book."""
