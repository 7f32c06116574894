"""Needs numpy + PIL. Writes PNG/JPEG files with PIL and PIL's own decode of each
(`Image.open(p).convert("RGB")`) as raw .rgb bytes; prints a JSON manifest."""
import json
import os
import sys

import numpy as np
from PIL import Image

out_dir = sys.argv[1]
rng = np.random.default_rng(3)
h, w = 23, 37  # not multiples of the 8/16-pixel JPEG blocks
y, x = np.mgrid[0:h, 0:w]
base = np.stack([128 + 100 * np.sin(x / 5), 128 + 100 * np.cos(y / 4), 128 + 80 * np.sin((x + y) / 7)], -1)
smooth = np.clip(base, 0, 255).astype(np.uint8)
noisy = np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8)
manifest = {}


def case(name, image, ext, group, **save):
    path = os.path.join(out_dir, f'{name}.{ext}')
    image.save(path, **save)
    with Image.open(path) as im:
        mode = im.mode
        rgb = im.convert('RGB').tobytes()
    with open(path + '.rgb', 'wb') as f:
        f.write(rgb)
    manifest[name] = dict(file=path, rgb=path + '.rgb', width=image.width, height=image.height, mode=mode, group=group)


rgba = np.concatenate([noisy, rng.integers(0, 256, (h, w, 1), dtype=np.uint8)], -1)
case('png_rgb', Image.fromarray(noisy), 'png', 'png')
case('png_rgba', Image.fromarray(rgba), 'png', 'png')
case('png_l', Image.fromarray(noisy[..., 0]), 'png', 'png')
case('png_la', Image.merge('LA', [Image.fromarray(noisy[..., 0]), Image.fromarray(noisy[..., 1])]), 'png', 'png')
case('png_1bit', Image.fromarray(noisy[..., 0] > 128), 'png', 'png')
case('png_p', Image.fromarray(noisy).quantize(50), 'png', 'png')
case('png_p_transparency', Image.fromarray(noisy).quantize(20), 'png', 'png', transparency=3)
case('png_rgb_transparency', Image.fromarray(noisy), 'png', 'png', transparency=tuple(int(v) for v in noisy[0, 0]))
case('png_optimized', Image.fromarray(smooth), 'png', 'png', optimize=True)
case('jpg_444', Image.fromarray(noisy), 'jpg', 'jpeg_full', quality=90, subsampling=0)
case('jpg_444_smooth_q95', Image.fromarray(smooth), 'jpg', 'jpeg_full', quality=95, subsampling=0)
case('jpg_progressive', Image.fromarray(noisy), 'jpg', 'jpeg_full', quality=90, subsampling=0, progressive=True)
case('jpg_gray', Image.fromarray(smooth[..., 0]), 'jpg', 'jpeg_full', quality=90)
case('jpg_cmyk', Image.fromarray(noisy).convert('CMYK'), 'jpg', 'jpeg_full', quality=95)
case('jpg_420', Image.fromarray(smooth), 'jpg', 'jpeg_subsampled', quality=75)
case('jpg_422', Image.fromarray(noisy), 'jpg', 'jpeg_subsampled', quality=90, subsampling=1)
print(json.dumps(manifest))
