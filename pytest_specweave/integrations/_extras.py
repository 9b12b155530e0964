"""Optional dependencies: import a framework when an integration is used, or say which extra installs it.

    xgboost = require("xgboost", "xgboost")   # the module, or MissingExtra (a ModuleNotFoundError):
    # track_boosting_model('xgboost') needs xgboost, which is not installed: pip install pytest-specweave[xgboost]

Stdlib only. A module that is installed but fails to import (a missing shared library, say) is not
reported as missing: its own error is kept, chained, so that the message says what to repair.
"""

from __future__ import annotations

import importlib
import sys

from ..errors import SpecweaveError

# Distribution names where they differ from the module imported.
DISTRIBUTIONS = {"sklearn": "scikit-learn"}


class MissingExtra(SpecweaveError, ModuleNotFoundError):
    """An integration's framework is not installed; the message names the extra that installs it."""

    def __init__(self, message: str, *, module: str, extra: str):
        super().__init__(message)
        self.msg = message
        self.name = module
        self.module = module
        self.extra = extra

    def __str__(self) -> str:
        return self.msg


def install_hint(extra: str) -> str:
    return f"pip install pytest-specweave[{extra}]"


def _caller() -> str | None:
    """The outermost public function of the integrations that led to require (`track_boosting_model`)."""
    found = None
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith("pytest_specweave"):
            break
        name = frame.f_code.co_name
        if module.startswith("pytest_specweave.integrations") and not name.startswith("_") and name != "require":
            found = name
        frame = frame.f_back
    return found


def require(module: str, extra: str, *, feature: str | None = None):
    """Import `module` and return it; if it is not installed, raise MissingExtra naming `extra`.

    `feature` names what needed it in the message (default: the integration function that called).
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        missing = getattr(err, "name", None) or ""
        top = module.split(".")[0]
        if missing and (module == missing or module.startswith(missing + ".")):  # it, or a package above it
            who = feature or _caller()
            dist = DISTRIBUTIONS.get(top, top)
            needs = f"{who} needs {dist}" if who else f"{dist} is needed"
            raise MissingExtra(
                f"{needs}, which is not installed: {install_hint(extra)}", module=module, extra=extra
            ) from None
        # installed, but it (or one of its own dependencies) does not import
        raise ImportError(
            f"{module} is installed but cannot be imported: {err} (reinstall it with {install_hint(extra)})"
        ) from err
    except OSError as err:  # a shared library it loads is missing (lightgbm without libgomp, say)
        raise ImportError(f"{module} is installed but cannot be imported: {err}") from err
