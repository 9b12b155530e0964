"""LIME explanations of chosen rows, beside SHAP's (explain.explain_model, `lime=`).

LIME (Ribeiro et al., 2016) fits a sparse linear model to the explained output around one row,
on perturbed samples drawn from the data's distribution; its weights are that row's reasons. It
explains the same output SHAP does (the positive-class probability, the predicted class's, or
predict), through `lime.lime_tabular.LimeTabularExplainer` in regression mode. Numeric columns are
discretised into quartiles (LIME's default); pandas categorical, string and boolean columns are
passed to LIME as categorical features (as codes) and rebuilt before the model sees them.

`lime` is imported inside the functions (`pip install "pytest-specweave[lime]"`).
"""

from __future__ import annotations

from dataclasses import dataclass

LIME_FILE = "lime_explanations.json"


@dataclass
class LimeExample:
    row: int
    prediction: float
    reasons: list[tuple[str, str, float]]  # (feature, LIME's condition text, weight), strongest first
    local_r2: float  # how well the local linear model fits the output around the row
    intercept: float

    def as_json(self) -> dict:
        return {"row": self.row, "prediction": self.prediction, "local_r2": self.local_r2,
                "intercept": self.intercept,
                "reasons": [{"feature": f, "condition": c, "weight": w} for f, c, w in self.reasons]}


class _Encoded:
    """X as the numbers LIME perturbs, and back: categorical columns as codes."""

    def __init__(self, X, names):
        import numpy as np

        self.frame = hasattr(X, "iloc")
        self.names = names
        self.categories: dict[int, list] = {}
        if not self.frame:
            self.array = np.asarray(X, dtype=float)
            return
        import pandas as pd

        columns = []
        for j, name in enumerate(X.columns):
            column = X[name]
            numeric = pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
            if numeric:
                columns.append(column.to_numpy(dtype=float))
            else:
                values = column.astype("category")
                self.categories[j] = list(values.cat.categories)
                columns.append(values.cat.codes.to_numpy(dtype=float))
        self.array = np.column_stack(columns)
        self.dtypes = X.dtypes
        self.columns = X.columns

    def decode(self, array):
        if not self.frame:
            return array
        import numpy as np
        import pandas as pd

        data = {}
        for j, name in enumerate(self.columns):
            if j in self.categories:
                cats = self.categories[j]
                codes = np.clip(np.rint(array[:, j]).astype(int), 0, max(len(cats) - 1, 0))
                values = pd.Categorical.from_codes(codes, categories=cats)
                dtype = self.dtypes.iloc[j]
                data[name] = values if isinstance(dtype, pd.CategoricalDtype) else pd.Series(values).astype(dtype).to_numpy()
            else:
                data[name] = array[:, j].astype(self.dtypes.iloc[j]) if self.dtypes.iloc[j].kind in "iuf" else array[:, j]
        return pd.DataFrame(data, columns=self.columns)


def lime_reasons(output, X, rows, names, *, top: int = 3, num_samples: int = 1000, seed: int = 0) -> list[LimeExample]:
    """LIME's top reasons for X's `rows` (positions), for `output` (rows of X -> the explained values)."""
    import numpy as np
    from lime.lime_tabular import LimeTabularExplainer

    encoded = _Encoded(X, names)
    explainer = LimeTabularExplainer(encoded.array, feature_names=list(names), mode="regression",
                                     categorical_features=sorted(encoded.categories),
                                     categorical_names={j: [str(c) for c in cats] for j, cats in encoded.categories.items()},
                                     discretize_continuous=True, random_state=seed)

    def predict(array):
        return np.asarray(output(encoded.decode(np.asarray(array, dtype=float))), dtype=float)

    found = []
    for row in rows:
        row = int(row)
        explanation = explainer.explain_instance(encoded.array[row], predict, num_features=max(top, 1),
                                                 num_samples=num_samples)
        # regression mode keeps the explanation under label 1 (label 0 holds it negated)
        conditions = [condition for condition, _ in explanation.as_list(label=1)]
        reasons = [(names[int(j)], condition, float(weight))
                   for (j, weight), condition in zip(explanation.as_map()[1], conditions)]
        reasons.sort(key=lambda r: -abs(r[2]))
        intercept = explanation.intercept
        intercept = intercept[1] if isinstance(intercept, dict) else intercept
        found.append(LimeExample(row, float(predict(encoded.array[row:row + 1])[0]), reasons,
                                 float(explanation.score), float(np.ravel(intercept)[0])))
    return found
