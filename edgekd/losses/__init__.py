"""Loss functions, pure: Hinton KD and the attention (segmentation) losses."""

from __future__ import annotations

from edgekd.losses.attention import ATT_LOSSES, attention_loss
from edgekd.losses.kd import kd_loss

__all__ = ["ATT_LOSSES", "attention_loss", "kd_loss"]
