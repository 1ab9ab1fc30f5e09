"""Dreams as moving pictures: panels side by side, written to a video file or played inline in a notebook."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def side_by_side(panels: dict[str, np.ndarray], scale: int = 2, header: int = 22) -> np.ndarray:
    """Frames [T, H, W, 3] of several sources, upscaled, each under a strip with its label, joined
    left to right with a white gutter (a video's panels say what they are)."""
    import cv2

    frames = [f.repeat(scale, axis=1).repeat(scale, axis=2) for f in panels.values()]
    count, height, width = frames[0].shape[:3]
    columns = []
    for label, panel in zip(panels, frames):
        strip = np.full((header, width, 3), 255, np.uint8)
        size = 0.5  # shrink the label until it fits its panel
        while size > 0.25 and cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, size, 1)[0][0] > width - 6:
            size -= 0.05
        cv2.putText(strip, label, (3, header - 7), cv2.FONT_HERSHEY_SIMPLEX, size, (0, 0, 0), 1, cv2.LINE_AA)
        columns.append(np.concatenate([np.broadcast_to(strip, (count, header, width, 3)), panel], axis=1))
    gutter = np.full((count, height + header, 6, 3), 255, np.uint8)
    return np.concatenate([part for column in columns for part in (column, gutter)][:-1], axis=2)


def write_video(path, frames: np.ndarray, fps: int = 10) -> None:
    """uint8 frames [T, H, W, 3] to an H.264 mp4 through imageio-ffmpeg.

    Sides are padded (white) to multiples of 16, the codec's block size, so nothing is resampled.
    """
    import imageio.v3 as iio

    pad = ((0, 0), (0, -frames.shape[1] % 16), (0, -frames.shape[2] % 16), (0, 0))
    iio.imwrite(path, np.pad(frames, pad, constant_values=255), fps=fps, codec="libx264", plugin="FFMPEG")


def animation_html(panels: dict[str, np.ndarray], fps: int = 10) -> str:
    """Several sources side by side as a self-playing JavaScript animation for a static page.

    Frames are embedded as JPEG at a modest size, so a notebook holding it stays small.
    """
    from matplotlib.animation import FuncAnimation

    # at most three panels a row, rows as full as can be (four panels: two by two, no empty slots that
    # would widen every frame), drawn at the size the book's column shows them, so titles stay legible
    rows = -(-len(panels) // 3)
    cols = -(-len(panels) // rows)
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.5 * rows + 0.3), dpi=96, squeeze=False)
    images = []
    for ax in axes.flat:
        ax.axis("off")
    for ax, (label, frames) in zip(axes.flat, panels.items()):
        images.append(ax.imshow(frames[0]))
        ax.set_title(label, fontsize=10, wrap=True)
    title = fig.suptitle("horizon 1", fontsize=11)
    fig.tight_layout()

    def update(t):
        for image, frames in zip(images, panels.values()):
            image.set_data(frames[t])
        title.set_text(f"horizon {t + 1}")
        return images

    anim = FuncAnimation(fig, update, frames=len(next(iter(panels.values()))), interval=1000 / fps)
    with plt.rc_context({"animation.frame_format": "jpeg"}):
        html = anim.to_jshtml(default_mode="loop")
    plt.close(fig)
    return html
