"""Attention maps for distillation and for exported attention heads.

``capture`` (ATCam, forward hooks), ``maps`` (FMA, MIP), ``saliency`` (SALS), ``at``
(attention transfer baseline), ``cam`` (class activation maps): pure functions from
captured features to maps. ``registry`` is the one table of combiners (torch-free, so the
export format table and the device side can read head names); ``compute`` runs one.

This package's ``__init__`` imports nothing, so ``edgekd.attention.registry`` can be read
without torch: import the submodule you need.
"""
