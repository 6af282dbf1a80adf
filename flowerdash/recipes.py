"""Recipes: model, optimizer, schedule, regularisation, augmentation and epochs chosen together.

A :class:`Recipe` proposes training values for a dataset, described by a :class:`DataProfile`
(image shape, number of images and classes). :func:`resolve_recipe` applies a recipe and then
the values the user set explicitly (CLI flags, widgets), which always win, and returns a
:class:`ResolvedRecipe`: the final ``TrainSettings`` and ``AugmentSettings`` plus a human
explanation. ``auto`` is not a recipe but a choice among the registered ones: each recipe that
may be chosen declares ``suitability(profile) -> (score, reason)``; the highest positive score
wins (``scratch`` 1 everywhere; ``transfer`` 2 for colour photos of moderate count when the
pretrained weights are installed, so ``auto`` falls back to ``scratch``, saying why, when they
are not). The reasons of the recipes left out join the explanation. Extension point: a new
recipe calls :func:`register_recipe` with its ``propose`` and ``suitability``; ``auto`` then
weighs it against the others. Importing this module is cheap (no Keras).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowerdash.augment import AugmentSettings, augment_preset
from flowerdash.errors import ConfigError
from flowerdash.models import model_cost
from flowerdash.settings import TrainSettings

AUTO = "auto"
#: The default recipe of the CLI and the Train page.
DEFAULT_RECIPE = AUTO
#: Images 48 pixels a side or more get a stride-2 stem in ``scratch``.
STRIDE2_SIDE = 48
#: Grayscale images at most this many pixels a side are taken for glyphs (digits, letters).
GLYPH_SIDE = 48
#: ``scratch`` trains for about this many images seen (epochs x training images) ...
SCRATCH_IMAGES_SEEN = 60_000
#: ... within these epochs.
SCRATCH_EPOCHS = (3, 120)
#: ``scratch`` mixes photo batches with mixup at the default alpha 0.2. Measured with
#: ``benchmarks/recipes.py --data dev-tune --recipes scratch --mix none,mixup,cutmix``: 375 dev
#: photos scored on the dev hold-out (250), 120 epochs, seed 42: accuracy 0.632 without mixing,
#: 0.712 with mixup, 0.696 with CutMix (alpha 0.2); again with ``--seed 7``: 0.700 without,
#: 0.732 with mixup. Glyphs were not measured: no mixing there.
SCRATCH_PHOTO_MIX = ("mixup", 0.2)


@dataclass(frozen=True)
class DataProfile:
    """What a recipe may look at: the image shape ``(H, W, C)``, the number of training
    images and of classes."""

    shape: tuple[int, int, int]
    images: int
    classes: int

    @classmethod
    def of(cls, dataset: Any) -> DataProfile:
        """The profile of a loaded ``ImageDataset`` (its images and classes)."""
        return cls(
            tuple(int(v) for v in dataset.images.shape[1:]),  # type: ignore[arg-type]
            len(dataset.images),
            len(dataset.classes),
        )

    @property
    def side(self) -> int:
        """The shorter image side, in pixels."""
        return min(self.shape[0], self.shape[1])

    @property
    def looks_like_glyphs(self) -> bool:
        """Small grayscale images: digits, letters, symbols (flip would change them)."""
        return self.shape[2] == 1 and max(self.shape[:2]) <= GLYPH_SIDE

    def describe(self) -> str:
        """``"375 images of 64x64x3 in 5 classes"``."""
        return (
            f"{self.images:,} images of {'x'.join(map(str, self.shape))} in {self.classes} classes"
        )


@dataclass(frozen=True)
class Proposal:
    """A recipe's values for one dataset: ``train`` (TrainSettings fields; the rest keep their
    defaults), the augmentation preset (``flowerdash.augment.AUGMENT_PRESETS``) and one
    reason per choice, for the explanation."""

    train: Mapping[str, Any]
    augment_preset: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recipe:
    """A named way to train. ``propose(profile)`` gives its values for a dataset;
    ``suitability(profile)`` (None: ``auto`` never picks it) gives a score, > 0 when ``auto``
    may pick it, and the reason shown when it does."""

    name: str
    summary: str
    propose: Callable[[DataProfile], Proposal]
    suitability: Callable[[DataProfile], tuple[float, str]] | None = None


RECIPES: dict[str, Recipe] = {}


def register_recipe(recipe: Recipe) -> Recipe:
    """Add ``recipe`` (a new name, not ``auto``) to the registry; return it."""
    if recipe.name in RECIPES or recipe.name == AUTO:
        raise ValueError(f"recipe {recipe.name!r} is already registered")
    RECIPES[recipe.name] = recipe
    return recipe


def recipe_names() -> tuple[str, ...]:
    """``auto`` and every registered recipe, for a choice list."""
    return (AUTO, *RECIPES)


def _tutorial(profile: DataProfile) -> Proposal:
    return Proposal(
        {},
        "photos",
        ("the tutorial's MiniVGGNet, SGD 0.01 with decay 0.01/epochs, 75 epochs, batch 32 and "
         "its flip + affine augmentation, exactly as the tutorial trains",),
    )  # fmt: skip


def _scratch(profile: DataProfile) -> Proposal:
    stride = 2 if profile.side >= STRIDE2_SIDE else 1
    train: dict[str, Any] = {
        "model": "resnet18",
        "width": 0.25,
        "stem_stride": stride,
        "preactivation": True,
        "optimizer": "adamw",
        "learning_rate": 0.003,
        "weight_decay": 0.05,
        "schedule": "warmup_cosine",
        "warmup": 0.05,
        "label_smoothing": 0.1,
        "batchnorm": "adaptive",
        "batch_size": 64 if profile.images >= 10_000 else 32,
    }
    low, high = SCRATCH_EPOCHS
    train["epochs"] = min(high, max(low, round(SCRATCH_IMAGES_SEEN / max(1, profile.images))))
    cost = model_cost("resnet18", profile.shape, max(2, profile.classes), _options(train))
    reasons = [
        f"a pre-activation ResNet-18 at width 0.25 ({cost.summary()}) with a stride-"
        + (
            f"2 stem, since the images are {profile.side} pixels or more a side"
            if stride == 2
            else f"1 stem, keeping the full resolution of {profile.side}-pixel images"
        ),
        "AdamW (lr 0.003, weight decay 0.05) with warmup and cosine decay over the run's "
        "steps, label smoothing 0.1, BatchNorm momentum fitted to the run's length",
        f"{train['epochs']} epochs (about {SCRATCH_IMAGES_SEEN:,} images seen, within "
        f"{low}-{high} epochs) for {profile.images:,} training images",
    ]
    if profile.looks_like_glyphs:
        preset = "glyphs"
        reasons.append(
            "glyphs augmentation (small rotation, shift, zoom; no flip or shear): small "
            "grayscale images look like characters, which a mirror or a slant changes"
        )
    else:
        preset = "photos"
        train["flip_tta"] = True
        train["mix"], train["mix_alpha"] = SCRATCH_PHOTO_MIX
        reasons.append(
            "photos augmentation (flip, rotation, zoom, shift, shear) and flip test-time "
            "augmentation reported next to the plain score"
        )
        reasons.append(
            f"{train['mix']} (alpha {train['mix_alpha']}) on the training batches: on 375 dev "
            "photos scored on their hold-out it gave 0.712 and 0.732 accuracy (two seeds) "
            "against 0.632 and 0.700 without (CutMix 0.696; benchmarks/recipes.py --mix)"
        )
    return Proposal(train, preset, tuple(reasons))


def _options(train: Mapping[str, Any]) -> Any:
    return TrainSettings.from_dict(dict(train)).model_options


register_recipe(
    Recipe(
        "tutorial",
        "the tutorial's recipe, unchanged: MiniVGGNet, SGD with its decay, 75 epochs",
        _tutorial,
    )
)
register_recipe(
    Recipe(
        "scratch",
        "a small pre-activation ResNet trained from random weights: AdamW, warmup + cosine, "
        "label smoothing, augmentation suited to the images",
        _scratch,
        suitability=lambda profile: (
            1.0,
            "it trains from random weights on images of any size and channel count",
        ),
    )
)

#: ``transfer`` trains for about this many images seen, within these epochs (each costs a
#: pass of the backbone: on 2 CPU cores, tens of images/s at 224 pixels). On 375 dev photos
#: (2 subsets x 2 seeds, dev hold-out) 16 epochs gave 0.865 where the earlier cap of 10 gave
#: 0.844 (at 160 pixels; at 224: 0.875).
TRANSFER_IMAGES_SEEN = 6_000
TRANSFER_EPOCHS = (5, 16)
#: The new classifier's peak rate and epochs on the frozen backbone, then the fine-tuning peak
#: rate as a factor of it; each phase warms up and decays on its own cosine. Chosen on 375 dev
#: photos scored on the dev hold-out (250): this gave 0.868 (0.872 with flip TTA); the head at
#: 0.003 (fine-tuning at the same 0.0003) 0.836, with label smoothing 0.1 0.832, with all 16
#: blocks fine-tuned 0.840 in 1.8x the time; a constant Adam rate (0.001, then 0.0001) 0.788.
TRANSFER_HEAD_RATE = 0.01
TRANSFER_HEAD_EPOCHS = 2
TRANSFER_FINE_TUNE_FACTOR = 0.03
#: Why ``auto`` picks ``transfer`` where it applies.
TRANSFER_MEASURED = (
    "a backbone pretrained on ImageNet learns a few thousand colour photos or fewer in "
    f"{TRANSFER_EPOCHS[0]}-{TRANSFER_EPOCHS[1]} epochs, in less time than the tutorial's 75 "
    "(measured with benchmarks/recipes.py)"
)


def _transfer(profile: DataProfile) -> Proposal:
    from flowerdash.pretrained.transfer import PRETRAINED_INPUT_SIZE

    low, high = TRANSFER_EPOCHS
    epochs = min(high, max(low, round(TRANSFER_IMAGES_SEEN / max(1, profile.images))))
    train: dict[str, Any] = {
        "model": "efficientnet_lite0",
        "input_size": PRETRAINED_INPUT_SIZE,
        "optimizer": "adam",
        "learning_rate": TRANSFER_HEAD_RATE,
        "schedule": "warmup_cosine",
        "frozen_epochs": TRANSFER_HEAD_EPOCHS,
        "fine_tune_blocks": 5,
        "fine_tune_rate": TRANSFER_FINE_TUNE_FACTOR,
        "epochs": epochs,
        "batch_size": 32,
        "flip_tta": profile.shape[2] == 3,
    }
    cost = model_cost("efficientnet_lite0", profile.shape, max(2, profile.classes), _options(train))
    reasons = [
        f"EfficientNet-Lite0 pretrained on ImageNet ({cost.summary()}; weights installed "
        f"locally, nothing downloaded), the images resized to {PRETRAINED_INPUT_SIZE} pixels "
        "inside the model (benchmarks/transfer_resolution.py: accuracy against time)",
        f"{train['frozen_epochs']} epochs of the new classifier on the frozen backbone (Adam, "
        f"peak lr {train['learning_rate']:g}), then the top {train['fine_tune_blocks']} of 16 "
        f"blocks fine-tuned at peak lr {train['learning_rate'] * train['fine_tune_rate']:g}, "
        "each phase with its own warmup and cosine decay; BatchNorm keeps ImageNet's statistics",
        f"{epochs} epochs (about {TRANSFER_IMAGES_SEEN:,} images seen, within {low}-{high}) "
        f"for {profile.images:,} training images",
    ]
    preset = "glyphs" if profile.looks_like_glyphs else "photos"
    reasons.append(
        f"{preset} augmentation" + (", flip test-time augmentation" if train["flip_tta"] else "")
    )
    return Proposal(train, preset, tuple(reasons))


#: ``auto`` picks ``transfer`` for colour photos at least this many pixels a side ...
TRANSFER_MIN_SIDE = 48
#: ... and at most this many training images (each image costs a backbone pass per epoch; past
#: this, ``scratch`` trains in less time on 2 CPU cores).
TRANSFER_MAX_IMAGES = 3_000


def _transfer_suitability(profile: DataProfile) -> tuple[float, str]:
    """Where ``auto`` picks ``transfer`` (score 2, above ``scratch``'s 1) and why; score 0 and
    the reason otherwise, the pretrained weights not being installed among them."""
    from flowerdash.pretrained.efficientnet_lite import PretrainedWeightsError, weights_source

    if profile.shape[2] != 3 or profile.side < TRANSFER_MIN_SIDE:
        return 0.0, (
            f"the pretrained backbone is for colour photos of {TRANSFER_MIN_SIDE} pixels or "
            "more a side"
        )
    if profile.images > TRANSFER_MAX_IMAGES:
        return 0.0, (
            f"past {TRANSFER_MAX_IMAGES:,} training images the pretrained backbone costs more "
            "time than training from scratch on this CPU"
        )
    try:
        weights_source()
    except PretrainedWeightsError as error:
        return 0.0, f"the pretrained weights are not available ({error})"
    return 2.0, TRANSFER_MEASURED


register_recipe(
    Recipe(
        "transfer",
        "EfficientNet-Lite0 pretrained on ImageNet: the new classifier on the frozen backbone, "
        "then the top blocks fine-tuned, in one run",
        _transfer,
        suitability=_transfer_suitability,
    )
)


def choose_recipe(profile: DataProfile) -> tuple[Recipe, str]:
    """The recipe ``auto`` picks for ``profile`` and why (the highest suitability > 0), with
    the reason each recipe that does not suit was left out (``not transfer: ...``)."""
    scored = [
        (*recipe.suitability(profile), recipe)
        for recipe in RECIPES.values()
        if recipe.suitability is not None
    ]
    declined = [f"not {recipe.name}: {reason}" for score, reason, recipe in scored if score <= 0]
    scored = [item for item in scored if item[0] > 0]
    if not scored:
        raise ConfigError(f"no recipe suits {profile.describe()}: " + "; ".join(declined))
    _score, reason, recipe = max(scored, key=lambda item: item[0])
    return recipe, "; ".join([reason, *declined])


@dataclass(frozen=True)
class ResolvedRecipe:
    """A recipe applied to a dataset, explicit values on top.

    ``requested`` is what the user asked for (``auto`` or a name), ``name`` the recipe used,
    ``overridden`` the setting names the user set explicitly, ``explanation`` the text the page
    and the CLI show.
    """

    requested: str
    name: str
    settings: TrainSettings
    augment: AugmentSettings
    augment_preset: str
    overridden: tuple[str, ...] = ()
    explanation: str = ""
    profile: DataProfile | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The record ``config.json`` keeps under ``recipe`` (the resolved values themselves
        are its ``settings`` and ``augment``)."""
        return {
            "requested": self.requested,
            "name": self.name,
            "augment_preset": self.augment_preset,
            "overridden": list(self.overridden),
            "explanation": self.explanation,
        }


def resolve_recipe(
    name: str,
    profile: DataProfile,
    *,
    train: Mapping[str, Any] | None = None,
    augment: Mapping[str, Any] | None = None,
    preset: str | None = None,
) -> ResolvedRecipe:
    """Apply recipe ``name`` (or ``auto``) to ``profile``, then the explicit ``train`` and
    ``augment`` values and augmentation ``preset``, which win over the recipe's.

    Raises ConfigError for an unknown recipe or preset, or a value out of range.
    """
    train, augment = dict(train or {}), dict(augment or {})
    if name == AUTO:
        recipe, why = choose_recipe(profile)
        lead = f"Chose the {recipe.name} recipe for {profile.describe()} because {why}."
    elif name in RECIPES:
        recipe = RECIPES[name]
        lead = f"The {recipe.name} recipe for {profile.describe()}."
    else:
        raise ConfigError(f"unknown recipe {name!r}; expected one of: {', '.join(recipe_names())}")
    proposal = recipe.propose(profile)
    chosen_preset = preset or proposal.augment_preset
    settings = TrainSettings.from_dict({**proposal.train, **train})
    augment_settings = AugmentSettings.from_dict(
        {**augment_preset(chosen_preset).to_dict(), **augment}
    )
    overridden = tuple(train) + tuple(augment) + (("augment_preset",) if preset else ())
    lines = [lead, *(f"- {reason}" for reason in proposal.reasons)]
    if overridden:
        given = {**train, **augment, **({"augment_preset": preset} if preset else {})}
        lines.append(
            "- your own values win over the recipe's: "
            + ", ".join(f"{name} {given[name]}" for name in overridden)
        )
    return ResolvedRecipe(
        requested=name,
        name=recipe.name,
        settings=settings,
        augment=augment_settings,
        augment_preset=chosen_preset,
        overridden=overridden,
        explanation="\n".join(lines),
        profile=profile,
    )
