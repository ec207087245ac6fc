"""The study behind benchmarks/study/study.py, one job per module: plan (the design as
data), runner (resume, jobs), stats (intervals, aggregation, targets), cost (projection),
report (Markdown, figures, latency)."""
