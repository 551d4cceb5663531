#!/usr/bin/env python3
# Writes the YAML twin of each experiments/*.json (PyYAML, keys in file order).
# The twins are committed; run this only when a JSON file changes, and review.
# lenient.yaml is written by hand: it keeps its keys given twice.
import glob, json, os, yaml
here = os.path.dirname(os.path.abspath(__file__))
for p in sorted(glob.glob(os.path.join(here, "experiments", "*.json"))):
    name = os.path.basename(p)[:-5]
    if name == "lenient":
        continue
    with open(p) as f:
        e = json.load(f)
    with open(p[:-5] + ".yaml", "w") as f:
        f.write("# YAML twin of %s.json (gen-yaml.py)\n" % name)
        yaml.safe_dump(e, f, sort_keys=False, allow_unicode=True, width=100)
