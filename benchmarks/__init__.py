"""wa-manager's performance suite: ``python -m benchmarks`` (``make bench``).

It measures, in one run on one machine, our sync and listing against the
practical limit (raw DB-API) and a naive peer (an ORM loop), and prints ratios:
the machine is shared and noisy, so absolute seconds mean little and ratios
within one run mean more. See benchmarks/README.md for the figures and goals.
"""
