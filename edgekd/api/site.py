"""``classify`` and ``adapt``: the site side of the Python API, torch-free."""

from __future__ import annotations

from edgekd.onsite.run import Adaptation, Classified, adapt_model, classify_images
from edgekd.onsite.spec import AdaptSpec, ClassifySpec

__all__ = ["adapt", "classify"]


def classify(spec: ClassifySpec) -> Classified:
    """One decision per image with the model's rule (under the site prior when adapted); writes the CSV."""
    return classify_images(spec)


def adapt(spec: AdaptSpec) -> Adaptation:
    """The class prior of the images, with its interval, written beside the model for classify and bench."""
    return adapt_model(spec)
