"""Helpers for the course on training deep neural networks.

One library imported by every lecture and exercise: datasets with an offline stand-in,
fast mode for CI, and plots. Import the module you need, e.g.
``from course_utils import datasets, fast, plots``.
"""

__version__ = "0.1.0"
