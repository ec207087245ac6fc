"""Benchmarking exported models on the machine edgekd runs on: latency, memory, size, accuracy.

Torch-free (runs on a Raspberry Pi or a Jetson). :mod:`~edgekd.benchmarking.measure` times
one model; :mod:`~edgekd.benchmarking.child` runs it in a fresh process so each model's peak
memory is its own; :mod:`~edgekd.benchmarking.feed` decides how a data set is fed to a model
(its edgekd metadata, the user's options for a model from elsewhere, or random input
for latency only); :mod:`~edgekd.benchmarking.report` compares several records, named by
:mod:`~edgekd.benchmarking.naming`, and :mod:`~edgekd.benchmarking.plot` draws them.
"""
