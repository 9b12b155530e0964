"""The project layout SpecWeave defines, shared by the pytest entry point and the markdown model.

Imports nothing: every pytest run imports it through the plugin.
"""

INCREMENT_FILES = ("spec.md", "tasks.md", "tests.md")
# SpecWeave moves finished, abandoned and paused increments into these folders of increments/.
SET_ASIDE = {"_archive": "archived", "_abandoned": "abandoned", "_paused": "paused"}
