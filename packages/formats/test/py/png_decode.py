"""Decode each PNG given on the command line with pngkit; print JSON {path: {w, h, hex}}."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pngkit import read_png_rgb  # noqa: E402

out = {}
for path in sys.argv[1:]:
    w, h, rgb = read_png_rgb(path)
    out[path] = dict(width=w, height=h, hex=rgb.hex())
print(json.dumps(out))
