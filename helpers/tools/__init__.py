"""The teacher's and CI's tools: the command line (``python -m helpers``), headless runs and
sweeps, the benchmark, the static book, nbgrader assignments, student copies and HTML, and the
environment check. Nothing here is needed to follow the notebooks; what backs them lives one
level up, in ``helpers``.
"""
