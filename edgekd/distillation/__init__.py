"""Distillation: a frozen teacher teaches a student (the Distiller, its methods, the run)."""

#: the method ``distill`` uses when none is named: MIP + KD, the study's best on validation
#: (benchmarks/study/study.md); the spec and the method registry read it from here
DEFAULT_METHOD = "mip"
