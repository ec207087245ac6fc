"""Quantization: the named int8 schemes (torch-free) and quantisation-aware distillation."""
