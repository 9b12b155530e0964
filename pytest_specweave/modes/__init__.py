"""SpecWeave's modes as plain Python: what `--sw-validate`, `--sw-done`, `--sw-update-tasks` and
`--sw-sync-docs` check and write. The pytest layer (pytestlayer/) turns them into items and calls
them at the end of the session; nothing here imports pytest.

- validation: the rules of `--sw-validate`, each a function (increment, context) -> RuleResult
- data_schema: data/schema.yaml checked with pandera (imported inside the rule)
- completion: `--sw-done` bookkeeping (metadata.json status "completed")
- task_marks: ticking passing tasks in tasks.md, byte for byte (`--sw-update-tasks`)
- sync_docs: docs/architecture/ml-models.md and the algorithm's ADR (`--sw-sync-docs`)
"""
