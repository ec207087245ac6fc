"""Why did the model decide: attention overlays, teacher-student map agreement, run reports.

* :mod:`edgekd.explain.run` -- ``edgekd explain``: PNG overlays and ``explain.json`` for image
  files or a data set's images, from an exported model's attention head (torch-free) or
  from a checkpoint (any map: fma, mip, cam, sals);
* :mod:`edgekd.explain.agreement` -- Pearson r, top-region IoU (numpy);
* :mod:`edgekd.explain.faithfulness` -- insertion / deletion (ins−del), controls, paired intervals,
  image-specific agreement (numpy);
* :mod:`edgekd.explain.model_maps` -- every map of a checkpoint, GradCAM as the reference (torch);
* :mod:`edgekd.explain.study` -- ``edgekd attention-agreement`` over a split (torch);
* :mod:`edgekd.explain.report` -- ``edgekd report``: one self-contained HTML page per run
  (the folder read by :mod:`~edgekd.explain.run_folder`, the sections drawn by
  :mod:`~edgekd.explain.report_sections`).

Nothing is imported here, so ``import edgekd.explain.run`` stays torch-free.
"""

from __future__ import annotations
