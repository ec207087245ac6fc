"""What runs at the site, torch-free: one decision per image (``edgekd classify``) and the
site's class balance estimated from unlabelled images (``edgekd adapt``), with the decision
rule an exported model carries (:mod:`edgekd.decision`)."""
