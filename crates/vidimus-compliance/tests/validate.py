"""Validates documents against a JSON Schema (Draft 2020-12) with the third-party
`jsonschema` package (Debian: python3-jsonschema), independently of Vidimus's own
parsers. Usage: validate.py SCHEMA FILE... (TOML files are read as their JSON form).
Prints each invalid file with its first errors; exits 1 if any is invalid."""
import json
import sys
import tomllib

import jsonschema

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
bad = 0
for path in sys.argv[2:]:
    with open(path, "rb") as f:
        doc = tomllib.load(f) if path.endswith(".toml") else json.load(f)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        bad += 1
        for e in errors[:3]:
            print(f"{path}: /{'/'.join(map(str, e.path))}: {e.message[:400]}")
print(f"{len(sys.argv) - 2 - bad} valid, {bad} invalid")
sys.exit(1 if bad else 0)
