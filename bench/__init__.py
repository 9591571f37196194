"""`python -m bench`: side-by-side throughput ratios for digitsum on a shared CPU.

Absolute images/s drift with whatever else the machine is doing, so every figure that
matters here is a ratio of variants measured interleaved in one run (A, B, C, A, B, C ...),
taken as the median of paired per-repeat ratios.
"""
