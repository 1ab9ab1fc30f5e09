"""The paper's recipe: its training video's frames and the settings ResNet-Rollout was trained with.

Transcribed from the paper's README and technical report (`shared/seeds/`); the method and the presets
follow them (the `paper` preset trains with exactly these). The numbers the paper reports as results
are the book's (`book.paper`).
"""

PAPER_FRAMES = 101
"""Frames of the paper's one training video: 97 dreamed (its 96/97 detections) after 4 context frames."""
PAPER_CONTEXT = 4
"""Context frames (K) of ResNet-Rollout."""
PAPER_ROLLOUT = 4
"""Frames predicted per training window (R)."""
PAPER_EPOCHS = 500
PAPER_BATCH = 32
PAPER_WINDOWS = PAPER_FRAMES - PAPER_CONTEXT - PAPER_ROLLOUT + 1
"""Training windows of K + R frames in the video: 94."""
PAPER_STEPS = PAPER_EPOCHS * -(-PAPER_WINDOWS // PAPER_BATCH)
"""Optimizer steps of the paper's budget: 500 epochs of 3 batches (94 windows in batches of 32), 1,500."""
