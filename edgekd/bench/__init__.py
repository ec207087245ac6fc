"""Benchmarking exported models on the machine edgekd runs on: latency, memory, size, accuracy.

Torch-free (runs on a Raspberry Pi or a Jetson). :mod:`~edgekd.bench.measure` times
one model; :mod:`~edgekd.bench.child` runs it in a fresh process so each model's peak
memory is its own; :mod:`~edgekd.bench.report` compares several records.
"""
