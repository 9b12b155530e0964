"""`pytest-specweave new`: the next-numbered increment of a problem type, scaffolded from templates.

Imported by the command line only, never by the pytest plugin. The templates are package data
(`templates/common/` and `templates/<problem type>/`); `create_increment` renders them into a
temporary folder beside the target and renames it into place, so a failure leaves nothing behind.
"""

from __future__ import annotations

from .create import Created, ScaffoldError, create_increment
from .naming import increment_numbers, next_number, slugify
from .rendering import PROBLEM_TYPES

__all__ = ["PROBLEM_TYPES", "Created", "ScaffoldError", "create_increment", "increment_numbers", "next_number",
           "slugify"]
