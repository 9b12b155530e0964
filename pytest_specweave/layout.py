"""The project layout SpecWeave defines, shared by the pytest entry point and the markdown model.

Imports only `re`: every pytest run imports it through the plugin.
"""

import re

INCREMENT_FILES = ("spec.md", "tasks.md", "tests.md")
# SpecWeave moves finished, abandoned and paused increments into these folders of increments/.
SET_ASIDE = {"_archive": "archived", "_abandoned": "abandoned", "_paused": "paused"}

# An increment folder: NNNN-name, or NNNN<capital letter>-name for work on an item imported from another
# tool. SpecWeave's IncrementNumberManager (src/core/increment-utils.ts) matches /^(\d{3,4})E?-/ and
# validates new ids with /^\d{4}E?-/; later versions write one letter per source, as found in SpecWeave
# projects: 0002G-… (GitHub, metadata "source_platform": "github"), 0411J-… (Jira), 0438A-… (Azure
# DevOps), 0657E-… (external), 0713B-…. Four digits, as SpecWeave writes them today, one optional
# capital letter, a dash, then any name that starts with a visible character (accents and spaces
# included, as SpecWeave allows). The id keeps the letter: "0002E".
INCREMENT_NAME = re.compile(r"^(\d{4}[A-Z]?)-\S.*$", re.DOTALL)


def increment_id(name: str) -> str | None:
    """The id of an increment folder named `name` ("0042", "0002E"); None when the name is not one."""
    match = INCREMENT_NAME.match(name)
    return match.group(1) if match else None
