"""Writes hand-encoded PNGs of every colour type/bit depth plus the RGB bytes we expect
(PIL's convert("RGB") rules, and high byte for 16-bit), then prints a JSON manifest."""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pngkit import write_png  # noqa: E402

out_dir = sys.argv[1]
rnd = random.Random(7)
W, H = 13, 9  # odd sizes exercise sub-byte row padding and partial Adam7 passes
manifest = {}


def grid(fn):
    return [[fn(x, y) for x in range(W)] for y in range(H)]


def case(name, pixels, to_rgb, color_type, depth, **kw):
    path = os.path.join(out_dir, name + '.png')
    write_png(path, pixels, color_type, depth, **kw)
    expected = bytes(c for row in pixels for px in row for c in to_rgb(px))
    with open(os.path.join(out_dir, name + '.rgb'), 'wb') as f:
        f.write(expected)
    manifest[name] = dict(png=path, rgb=os.path.join(out_dir, name + '.rgb'), width=W, height=H)


def r(n):
    return rnd.randrange(n)


gray = lambda px: (px[0],) * 3
hi = lambda v: v >> 8

case('gray8', grid(lambda x, y: (r(256),)), gray, 0, 8)
case('gray16', grid(lambda x, y: (r(65536),)), lambda p: (hi(p[0]),) * 3, 0, 16)
for d in (1, 2, 4):
    case(f'gray{d}', grid(lambda x, y: (r(2 ** d),)), lambda p, d=d: (p[0] * 255 // (2 ** d - 1),) * 3, 0, d)
case('rgb8', grid(lambda x, y: (r(256), r(256), r(256))), lambda p: p, 2, 8)
case('rgb16', grid(lambda x, y: (r(65536), r(65536), r(65536))), lambda p: tuple(map(hi, p)), 2, 16)
case('rgba8', grid(lambda x, y: (r(256), r(256), r(256), r(256))), lambda p: p[:3], 6, 8)
case('rgba16', grid(lambda x, y: tuple(r(65536) for _ in range(4))), lambda p: tuple(map(hi, p[:3])), 6, 16)
case('la8', grid(lambda x, y: (r(256), r(256))), gray, 4, 8)
case('la16', grid(lambda x, y: (r(65536), r(65536))), lambda p: (hi(p[0]),) * 3, 4, 16)

pal = [(r(256), r(256), r(256)) for _ in range(256)]
case('pal8_trns', grid(lambda x, y: (r(256),)), lambda p: pal[p[0]], 3, 8, palette=pal, trns=bytes(r(256) for _ in range(40)))
case('pal4', grid(lambda x, y: (r(16),)), lambda p: pal[p[0]], 3, 4, palette=pal[:16])
case('pal1', grid(lambda x, y: (r(2),)), lambda p: pal[p[0]], 3, 1, palette=pal[:2])

# colour-key transparency: the keyed pixels must keep their colour (alpha is dropped)
key = (10, 20, 30)
case('rgb8_trns', grid(lambda x, y: key if (x + y) % 3 == 0 else (r(256), r(256), r(256))), lambda p: p, 2, 8,
     trns=bytes([0, 10, 0, 20, 0, 30]))
case('gray8_trns', grid(lambda x, y: (77,) if x % 2 else (r(256),)), gray, 0, 8, trns=bytes([0, 77]))

case('rgb8_interlaced', grid(lambda x, y: (r(256), r(256), r(256))), lambda p: p, 2, 8, interlace=True)
case('gray2_interlaced', grid(lambda x, y: (r(4),)), lambda p: (p[0] * 85,) * 3, 0, 2, interlace=True)
case('rgba16_interlaced', grid(lambda x, y: tuple(r(65536) for _ in range(4))), lambda p: tuple(map(hi, p[:3])), 6, 16,
     interlace=True)

print(json.dumps(manifest))
