"""The red-cube world: a MuJoCo arena rendered by a fixed camera.

Our stand-in for the paper's Isaac Sim video. A red cube is tossed or slid into a walled arena
on a checkered floor and bounces off the walls. Randomness only sets the initial pose and
velocity; after that the physics is deterministic, so the future follows from the past.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from .errors import UserError


def default_gl(platform: str | None = None) -> str | None:
    """The MUJOCO_GL this package sets when none is set: EGL on Linux (software EGL renders on any
    headless box), none elsewhere, where MuJoCo's own default renders (CGL on macOS, WGL through GLFW
    on Windows) and `egl` and `osmesa` are refused."""
    platform = sys.platform if platform is None else platform
    return "egl" if platform.startswith("linux") else None


def gl_help(platform: str | None = None) -> str:
    """What to do when MuJoCo cannot render, in this platform's terms."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("linux"):
        return (
            "install an EGL library (Debian/Ubuntu: apt-get install libegl1 libgl1; Fedora: dnf install "
            "mesa-libEGL) and set MUJOCO_GL=egl (the default on Linux); with a display MUJOCO_GL=glfw also works"
        )
    name = {"darwin": "macOS", "win32": "Windows"}.get(platform, platform)
    return f"on {name} leave MUJOCO_GL unset (MuJoCo's default) or set MUJOCO_GL=glfw; egl and osmesa are Linux's"


def set_default_gl() -> None:
    """Set MUJOCO_GL to this platform's default unless it is set: an explicit choice is respected."""
    gl = default_gl()
    if gl is not None:
        os.environ.setdefault("MUJOCO_GL", gl)


set_default_gl()
GL_HELP = gl_help()

try:
    import mujoco

    CANNOT_START = ""
except RuntimeError as e:  # MuJoCo checks MUJOCO_GL when imported; said as a one-line error when a world is made
    mujoco, CANNOT_START = None, f"MuJoCo cannot start: {e}; {GL_HELP}"


def require_mujoco() -> None:
    """A one-line `UserError` if MuJoCo could not start (a bad MUJOCO_GL), before anything is written."""
    if mujoco is None:
        raise UserError(CANNOT_START)


@dataclass(frozen=True)
class WorldConfig:
    """How episodes of the red-cube arena are generated and rendered."""

    resolution: int = 128
    """Square frame size in pixels; a multiple of 8 so the tokenizer divides it."""
    frames_per_episode: int = 64
    """Frames rendered per episode."""
    episodes: int = 64
    """Number of episodes (split later into train / validation / test)."""
    frame_dt: float = 0.05
    """Seconds of simulated time between two frames (20 frames per second)."""
    seed: int = 0
    """Base seed: episode `i` draws its initial state from `(seed, i)`."""
    arena_half_size: float = 0.8
    """Half the side of the square arena floor, in metres."""
    cube_half_size: float = 0.06
    """Half the side of the cube, in metres."""
    max_speed: float = 2.5
    """Largest initial horizontal speed, in m/s."""
    friction: float = 0.05
    """Sliding friction of the floor and walls: low, so the cube keeps moving."""


CAMERA_FOVY = 42.0
"""The overview camera's vertical field of view, in degrees."""
CAMERA_Y_AXIS = (0.0, 0.960, 0.281)
"""The overview camera's image-up axis in world coordinates (its x axis is the world's x): tilted
back from straight down, so the camera looks at the arena from its near (-y) side."""


def camera_position(cfg: WorldConfig) -> np.ndarray:
    """Where the overview camera sits, in metres: behind the arena's near wall and above it."""
    a = cfg.arena_half_size
    return np.array([0.0, -0.85 * a, 2.9 * a])


@dataclass(frozen=True)
class Camera:
    """The overview camera's pinhole model, from the world's geometry alone (no renderer): world
    points to pixel-index coordinates (x right, y down, pixel i centred at i) and back.

    The camera is tilted, so the map is a perspective one, not linear; `unproject` intersects a
    pixel's ray with the horizontal plane at `height` (by default the cube's centre resting on the
    floor: `WorldConfig.cube_half_size`)."""

    position: np.ndarray
    """The camera's centre in world coordinates [3]."""
    rotation: np.ndarray
    """Columns are the camera's x (right), y (up) and z (backwards) axes in world coordinates [3, 3]."""
    focal: float
    """Focal length in pixels."""
    resolution: int
    height: float
    """Height of the plane `unproject` lands on, in metres."""

    @classmethod
    def of(cls, cfg: WorldConfig) -> Camera:
        x = np.array([1.0, 0.0, 0.0])
        y = np.array(CAMERA_Y_AXIS)
        y = y - (y @ x) * x  # as MuJoCo does with `xyaxes`: orthogonalise, normalise, z = x cross y
        y /= np.linalg.norm(y)
        rotation = np.stack([x, y, np.cross(x, y)], axis=1)
        focal = 0.5 * cfg.resolution / np.tan(np.deg2rad(CAMERA_FOVY) / 2)
        return cls(camera_position(cfg), rotation, float(focal), cfg.resolution, cfg.cube_half_size)

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points [..., 3], or [..., 2] on the plane at `height`, to pixel coordinates [..., 2]."""
        points = np.asarray(points, dtype=float)
        if points.shape[-1] == 2:
            points = np.concatenate([points, np.full((*points.shape[:-1], 1), self.height)], axis=-1)
        local = (points - self.position) @ self.rotation  # camera frame: x right, y up, looking down -z
        depth = -local[..., 2]
        half = 0.5 * self.resolution
        with np.errstate(divide="ignore", invalid="ignore"):
            # pixel i covers [i, i+1), so its centre sits at i + 0.5 in continuous coordinates
            x = half + self.focal * local[..., 0] / depth - 0.5
            y = half - self.focal * local[..., 1] / depth - 0.5
        return np.stack([x, y], axis=-1)

    def unproject(self, pixels: np.ndarray, height: float | None = None) -> np.ndarray:
        """Pixel coordinates [..., 2] to the world x, y [..., 2] where their rays meet the plane at
        `height` (default: the camera's `height`). NaN pixels give NaN."""
        pixels = np.asarray(pixels, dtype=float)
        half = 0.5 * self.resolution
        ray = (
            np.stack(
                [
                    (pixels[..., 0] + 0.5 - half) / self.focal,
                    -(pixels[..., 1] + 0.5 - half) / self.focal,
                    -np.ones(pixels.shape[:-1]),
                ],
                axis=-1,
            )
            @ self.rotation.T
        )  # to world directions
        z = self.height if height is None else height
        t = (z - self.position[2]) / ray[..., 2]
        return self.position[:2] + t[..., None] * ray[..., :2]


def _scene_xml(cfg: WorldConfig) -> str:
    a, c = cfg.arena_half_size, cfg.cube_half_size
    wall_h, wall_t = 0.25, 0.05
    cam, ya = camera_position(cfg), CAMERA_Y_AXIS
    walls = "".join(
        f'<geom type="box" pos="{x} {y} {wall_h}" size="{sx} {sy} {wall_h}" material="wall"/>'
        for x, y, sx, sy in [
            (a + wall_t, 0, wall_t, a + 2 * wall_t),
            (-a - wall_t, 0, wall_t, a + 2 * wall_t),
            (0, a + wall_t, a, wall_t),
            (0, -a - wall_t, a, wall_t),
        ]
    )
    # Negative solref = (stiffness, damping): low damping makes wall hits bouncy.
    return f"""
<mujoco model="red_cube_arena">
  <option timestep="0.002"/>
  <visual>
    <global offwidth="{cfg.resolution}" offheight="{cfg.resolution}"/>
    <quality shadowsize="2048"/>
    <headlight ambient="0.35 0.35 0.35" diffuse="0.3 0.3 0.3"/>
  </visual>
  <default>
    <geom friction="{cfg.friction} 0.005 0.0001" solref="-20000 -8" solimp="0.95 0.99 0.001"/>
  </default>
  <asset>
    <texture name="checker" type="2d" builtin="checker" rgb1="0.82 0.82 0.80"
             rgb2="0.55 0.57 0.60" width="128" height="128"/>
    <material name="floor" texture="checker" texrepeat="4 4"/>
    <material name="wall" rgba="0.35 0.40 0.55 1"/>
  </asset>
  <worldbody>
    <light pos="0.4 -0.6 3.0" dir="-0.1 0.2 -1" diffuse="0.7 0.7 0.7" castshadow="true"/>
    <geom type="plane" size="{a} {a} 0.1" material="floor"/>
    {walls}
    <camera name="overview" pos="{cam[0]} {cam[1]} {cam[2]}"
            xyaxes="1 0 0 {ya[0]} {ya[1]} {ya[2]}" fovy="{CAMERA_FOVY}"/>
    <body name="cube" pos="0 0 {c}">
      <freejoint/>
      <geom type="box" size="{c} {c} {c}" rgba="0.85 0.08 0.06 1" mass="0.2"/>
    </body>
  </worldbody>
</mujoco>"""


@dataclass
class Episode:
    """One rendered episode; arrays are indexed by frame."""

    frames: np.ndarray
    """RGB frames, uint8 [T, H, W, 3]."""
    position: np.ndarray
    """Cube centre in world coordinates (metres), float64 [T, 3]."""
    orientation: np.ndarray
    """Cube orientation as a unit quaternion (w, x, y, z), float64 [T, 4]."""
    pixel: np.ndarray
    """Cube centre projected into the image as (x, y) in pixel-index coordinates, [T, 2]."""
    in_view: np.ndarray
    """Whether the projected centre lies inside the frame, bool [T]."""


class World:
    """A compiled arena and an off-screen renderer; `episode(i)` renders episode i."""

    def __init__(self, cfg: WorldConfig):
        require_mujoco()
        if cfg.resolution <= 0 or cfg.resolution % 8:
            raise UserError(f"resolution must be a positive multiple of 8, got {cfg.resolution}")
        self.cfg = cfg
        self.model = mujoco.MjModel.from_xml_string(_scene_xml(cfg))
        self.data = mujoco.MjData(self.model)
        try:
            self.renderer = mujoco.Renderer(self.model, cfg.resolution, cfg.resolution)
        except Exception as e:  # MuJoCo raises plain Exceptions for GL failures
            raise UserError(
                f"MuJoCo could not open an OpenGL context with MUJOCO_GL={os.environ.get('MUJOCO_GL', '(unset)')} "
                f"({e}); {GL_HELP}"
            ) from e
        self.camera = self.model.camera("overview").id
        self.substeps = max(1, round(cfg.frame_dt / self.model.opt.timestep))

    def close(self) -> None:
        self.renderer.close()

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _reset(self, episode: int) -> None:
        """Draw the initial pose and velocity of `episode` from its own seed."""
        cfg, d = self.cfg, self.data
        rng = np.random.default_rng([cfg.seed, episode])
        mujoco.mj_resetData(self.model, d)
        inner = cfg.arena_half_size - 2 * cfg.cube_half_size
        speed = rng.uniform(0.4, 1.0) * cfg.max_speed
        heading = rng.uniform(0, 2 * np.pi)
        tossed = rng.random() < 0.5  # a toss starts in the air and spins; a slide starts flat
        d.qpos[:2] = rng.uniform(-inner, inner, size=2)
        d.qpos[2] = cfg.cube_half_size + (rng.uniform(0.05, 0.2) if tossed else 0.0)
        yaw = rng.uniform(0, 2 * np.pi)
        d.qpos[3:7] = [np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)]
        d.qvel[:2] = speed * np.array([np.cos(heading), np.sin(heading)])
        d.qvel[2] = rng.uniform(0.5, 1.5) if tossed else 0.0
        d.qvel[3:6] = rng.normal(0, 4.0, size=3) if tossed else [0, 0, rng.normal(0, 3.0)]
        mujoco.mj_forward(self.model, d)

    def _project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points [N, 3] -> pixel-index coordinates [N, 2] and in-view flags [N]."""
        res = self.cfg.resolution
        cam_pos = self.data.cam_xpos[self.camera]
        cam_rot = self.data.cam_xmat[self.camera].reshape(3, 3)
        local = (points - cam_pos) @ cam_rot  # camera frame: x right, y up, looking down -z
        depth = -local[:, 2]
        focal = 0.5 * res / np.tan(np.deg2rad(self.model.cam_fovy[self.camera]) / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            # Pixel i covers [i, i+1), so its centre sits at i + 0.5 in continuous coordinates.
            x = 0.5 * res + focal * local[:, 0] / depth - 0.5
            y = 0.5 * res - focal * local[:, 1] / depth - 0.5
        pixel = np.stack([x, y], axis=1)
        in_view = (depth > 0) & (x >= 0) & (x <= res - 1) & (y >= 0) & (y <= res - 1)
        return pixel, in_view

    def cube_free_frame(self) -> np.ndarray:
        """The arena as the camera sees it with the cube far outside it (and its shadow), uint8
        [H, W, 3]: a frame in which any detection is a false one."""
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[:3] = [100.0, 100.0, self.cfg.cube_half_size]
        mujoco.mj_forward(self.model, self.data)
        self.renderer.update_scene(self.data, camera=self.camera)
        return self.renderer.render().copy()

    def episode(self, index: int) -> Episode:
        cfg, d = self.cfg, self.data
        self._reset(index)
        n, res = cfg.frames_per_episode, cfg.resolution
        frames = np.empty((n, res, res, 3), np.uint8)
        position, orientation = np.empty((n, 3)), np.empty((n, 4))
        for t in range(n):
            if t:
                mujoco.mj_step(self.model, d, nstep=self.substeps)
            self.renderer.update_scene(d, camera=self.camera)
            frames[t] = self.renderer.render()
            position[t], orientation[t] = d.qpos[:3], d.qpos[3:7]
        pixel, in_view = self._project(position)
        return Episode(frames, position, orientation, pixel, in_view)


def simulate(cfg: WorldConfig, progress: bool = True) -> dict[str, np.ndarray]:
    """Render every episode of `cfg`; returns arrays stacked over episodes ([E, T, ...])."""
    with World(cfg) as world:
        episodes = [
            world.episode(i) for i in tqdm(range(cfg.episodes), desc="simulate", unit="episode", disable=not progress)
        ]
    return {
        name: np.stack([getattr(e, name) for e in episodes])
        for name in ("frames", "position", "orientation", "pixel", "in_view")
    }
