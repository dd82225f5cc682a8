"""What a strip scene is made of: the truth (line optical densities), the cassette geometry and
every nuisance factor, as frozen dataclasses.

All lengths on the cassette are millimetres in *cassette coordinates*: ``u`` runs along the flow
(from the sample well towards the absorbent pad, i.e. left to right when the cassette lies
straight), ``v`` across it (downwards in the image), both measured from the cassette's centre.
A window's line positions (``t_mm``, ``c_mm``) are measured along ``u`` from the window's
sample-side edge. Optical densities are base-10 absorbances on the green channel, where
colloidal gold absorbs most; the truth T/C of a window is ``t_od / c_od``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Relative absorbance of colloidal gold (~40 nm, peak near 525 nm) seen by a camera's blue,
# green and red channels (BGR order, green = 1). Gold lines look red-purple for this reason.
GOLD_ABSORBANCE_BGR: tuple[float, float, float] = (0.5, 1.0, 0.25)


@dataclass(frozen=True)
class WindowGeometry:
    """One result window of a cassette, with its sample well.

    Attributes:
        centre_mm: window centre (u, v) relative to the cassette centre.
        size_mm: (length along the flow, width across it) of the opening.
        t_mm: T line centre, from the window's sample-side edge.
        c_mm: C line centre, from the window's sample-side edge.
        well_centre_mm: centre (u, v) of this strip's sample well.
        well_diameter_mm: diameter of the sample well opening.
    """

    centre_mm: tuple[float, float] = (4.0, 0.0)
    size_mm: tuple[float, float] = (16.0, 5.0)
    t_mm: float = 6.0
    c_mm: float = 11.0
    well_centre_mm: tuple[float, float] = (-22.0, 0.0)
    well_diameter_mm: float = 6.0


@dataclass(frozen=True)
class CassetteGeometry:
    """A cassette (one strip) or a card (up to four parallel strips), in millimetres."""

    size_mm: tuple[float, float] = (72.0, 22.0)
    corner_radius_mm: float = 3.0
    windows: tuple[WindowGeometry, ...] = (WindowGeometry(),)
    line_width_mm: float = 1.0

    def __post_init__(self) -> None:
        if not 1 <= len(self.windows) <= 4:
            raise ValueError("a cassette has 1 to 4 windows")


def single_strip_cassette() -> CassetteGeometry:
    """The common single-strip cassette: 72 x 22 mm, one 16 x 5 mm window."""
    return CassetteGeometry()


def multi_strip_card(n: int) -> CassetteGeometry:
    """A card of ``n`` (2-4) parallel strips, 15 mm apart, each with its window and well."""
    if not 2 <= n <= 4:
        raise ValueError("a multi-strip card has 2 to 4 strips")
    pitch = 15.0
    vs = [(i - (n - 1) / 2) * pitch for i in range(n)]
    windows = tuple(
        WindowGeometry(centre_mm=(4.0, v), well_centre_mm=(-22.0, v)) for v in vs
    )
    return CassetteGeometry(size_mm=(72.0, n * pitch + 4.0), windows=windows)


@dataclass(frozen=True)
class LineTruth:
    """The true line optical densities (green channel, base 10) in one window."""

    c_od: float
    t_od: float

    @classmethod
    def from_ratio(cls, c_od: float, t_c: float) -> LineTruth:
        """A window whose C line has ``c_od`` and whose true T/C is ``t_c``."""
        return cls(c_od=c_od, t_od=c_od * t_c)

    @property
    def t_c(self) -> float | None:
        """The true T/C, or None when there is no C line."""
        return self.t_od / self.c_od if self.c_od > 0 else None


@dataclass(frozen=True)
class StripLook:
    """How the strips themselves look (shared by all windows of a scene)."""

    line_width_mm: float = 1.0
    line_edge_mm: float = 0.08
    """Softness of the line edges (Gaussian sigma, mm): the reagent spreads as it is printed."""
    line_unevenness: float = 0.03
    """Relative variation of line density across the strip width."""
    membrane_reflectance: float = 0.92
    """Dry, cleared nitrocellulose relative to the white plastic."""
    membrane_tint_bgr: tuple[float, float, float] = (1.0, 1.0, 1.0)
    membrane_texture: float = 0.012
    """Relative standard deviation of the membrane's fibrous texture."""
    membrane_texture_mm: float = 0.15
    """Correlation length of that texture."""
    background_od: float = 0.0
    """Residual gold left on the membrane (green OD); tiny on a cleared strip."""
    uncleared_od: float = 0.0
    """Unbound gold not yet washed off (green OD at the window's sample side): read too early."""
    wet: float = 0.0
    """0 = dry; 0.3-0.6 = still wet: the membrane turns translucent and darker."""
    plastic_reflectance: float = 0.8
    plastic_tint_bgr: tuple[float, float, float] = (1.0, 1.0, 1.0)
    gold_bgr: tuple[float, float, float] = GOLD_ABSORBANCE_BGR
    """Gold's absorbance per colour relative to green as this camera sees it (its filters'
    spectra decide it: the default is a typical sensor's)."""


@dataclass(frozen=True)
class Illumination:
    """The reader's own LED light as the camera sees it."""

    exposure: float = 1.0
    """Relative exposure (LED output x shutter x gain); 1.0 puts white plastic at 60 %."""
    vignetting: float = 0.15
    """Fractional fall-off of light at the frame corners (quadratic in radius)."""
    tilt: tuple[float, float] = (0.0, 0.0)
    """Linear light gradient across the frame (fraction from centre to the right / bottom edge)."""
    colour_temp_k: float = 5000.0
    """LED colour temperature; the camera's white balance is fixed for 5000 K."""
    ripple: float = 0.0
    """Amplitude of the LED-array ripple pattern (fraction), which a smooth baseline cannot
    follow but a flat-field calibration removes."""
    ripple_period_mm: float = 9.0
    ripple_angle_deg: float = 20.0
    flare: float = 0.0
    """Veiling flare: stray light added uniformly, as a fraction of the mean level."""


@dataclass(frozen=True)
class GlareSpot:
    """A specular reflection of the LED, in frame pixels (fixed by the box, not the cassette)."""

    x_px: float
    y_px: float
    sigma_px: float
    peak: float
    """Peak added light as a fraction of full scale at exposure 1 (scales with the exposure,
    since it is the LED's own reflection; above ~0.5 it saturates)."""
    aspect: float = 1.0
    """Extent along ``angle_deg`` over the extent across it (1: round)."""
    angle_deg: float = 0.0
    """Direction of the spot's long axis in the frame (degrees, clockwise from x)."""
    order: float = 1.0
    """Shape: 1 is a Gaussian; larger values give a flatter top and steeper shoulders (a
    super-Gaussian ``exp(-(r / sigma) ** (2 * order) / 2)``, the soft disc of a diffuser)."""
    tint_bgr: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """Colour of the reflection relative to the LED's (a coated cover can tint it a little)."""


@dataclass(frozen=True)
class Camera:
    """Sensor and image pipeline."""

    width: int = 1280
    height: int = 960
    px_per_mm: float = 12.0
    blur_px: float = 0.8
    """Optical blur (Gaussian sigma, pixels)."""
    shot_noise: float = 0.01
    """Shot-noise standard deviation at full scale (scales with the square root of signal)."""
    read_noise: float = 0.003
    """Signal-independent noise standard deviation (fraction of full scale)."""
    jpeg_quality: int | None = 90
    """JPEG round trip at this quality, or None for a lossless frame."""
    bayer: bool = False
    """A colour-filter-array sensor: each pixel senses one colour (B G / G R) with its own
    noise, and the image pipeline interpolates the other two (edge-aware demosaicing), as a
    real camera module does. False: every pixel senses all three colours."""


@dataclass(frozen=True)
class Placement:
    """Where the cassette lies in the tray, relative to the nominal (frame centre, straight)."""

    offset_mm: tuple[float, float] = (0.0, 0.0)
    rotation_deg: float = 0.0
    """Positive turns the cassette clockwise as seen in the image."""
    reversed: bool = False
    """Cassette put in the wrong way round (turned by 180 degrees)."""


@dataclass(frozen=True)
class SceneSpec:
    """Everything needed to render a scene; rendering is deterministic given ``seed``.

    ``cassette=None`` renders an empty tray; ``white_card=True`` renders a blank white card
    filling the view (what a technician photographs for the flat-field calibration).
    """

    seed: int = 0
    cassette: CassetteGeometry | None = field(default_factory=single_strip_cassette)
    lines: tuple[LineTruth, ...] = (LineTruth(c_od=0.6, t_od=0.6),)
    look: StripLook = field(default_factory=StripLook)
    light: Illumination = field(default_factory=Illumination)
    camera: Camera = field(default_factory=Camera)
    placement: Placement = field(default_factory=Placement)
    glare: tuple[GlareSpot, ...] = ()
    tray_reflectance: float = 0.2
    tray_tint_bgr: tuple[float, float, float] = (1.0, 1.0, 1.0)
    white_card: bool = False

    def __post_init__(self) -> None:
        if self.cassette is not None and len(self.lines) != len(self.cassette.windows):
            raise ValueError(
                f"{len(self.lines)} line truths for {len(self.cassette.windows)} windows"
            )
        if self.camera.width < 64 or self.camera.height < 64:
            raise ValueError("frame too small")
