"""Benchmarking exported models on the machine edgekd runs on: latency, memory, size, accuracy.

Torch-free (runs on a Raspberry Pi or a Jetson). :mod:`~edgekd.bench.measure` times
one model; :mod:`~edgekd.bench.child` runs it in a fresh process so each model's peak
memory is its own; :mod:`~edgekd.bench.feed` decides how a data set is fed to a model
(its edgekd metadata, the user's options for a model from elsewhere, or random input
for latency only); :mod:`~edgekd.bench.report` compares several records, named by
:mod:`~edgekd.bench.naming`, and :mod:`~edgekd.bench.plot` draws them.
"""
