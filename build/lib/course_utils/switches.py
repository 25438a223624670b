"""The course's on/off switches in the environment, read one way: ``COURSE_FAST`` (fast mode)
and ``COURSE_OFFLINE`` (no download attempts).

``1``, ``true``, ``yes`` and ``on`` switch one on; ``0``, ``false``, ``no``, ``off`` and
unset (or empty) leave it off, in any case. Anything else is an error that names the variable:
a typo must not silently mean the opposite of what was meant.
"""

import os

ON = ("1", "true", "yes", "on")
OFF = ("", "0", "false", "no", "off")


def switch(name, environ=None):
    """Whether the switch ``name`` is on in ``environ`` (default: this process's environment).

    Args:
        name: the variable, e.g. ``"COURSE_FAST"``.
        environ: a mapping to read it from instead of ``os.environ``.

    Returns:
        True or False.

    Raises:
        ValueError: the variable holds something else, named with its value.

    Example:
        >>> switch("COURSE_FAST", {"COURSE_FAST": "on"})
        True
    """
    value = (os.environ if environ is None else environ).get(name, "")
    word = value.strip().lower()
    if word in ON:
        return True
    if word in OFF:
        return False
    raise ValueError(f"{name}={value!r}: expected 1 (on) or 0 (off); true/false, yes/no and on/off work too.")
