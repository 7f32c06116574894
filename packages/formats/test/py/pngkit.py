"""Minimal PNG writer/reader in the Python standard library only (zlib, struct).

An independent implementation of the PNG spec used as test truth when PIL is absent:
it shares no code with pngjs. Writer: all colour types and bit depths, per-row filter
types 0-4, optional Adam7 interlacing, optional PLTE/tRNS. Reader: 8-bit RGB, RGBA and
palette images, non-interlaced, all filter types (enough for our encoder's output and
the anchor templates).
"""
import struct
import zlib

SIG = b'\x89PNG\r\n\x1a\n'
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    body = kind + data
    return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body) & 0xffffffff)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def pack_row(samples, depth):
    """samples: flat list of ints for one row."""
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b''.join(struct.pack('>H', s) for s in samples)
    out, acc, nbits = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | s
        nbits += depth
        if nbits == 8:
            out.append(acc)
            acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)


def filter_row(kind, row, prev, bpp):
    out = bytearray(len(row))
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][kind]
        out[i] = (x - pred) & 0xff
    return bytes([kind]) + bytes(out)


def encode_image(pixels, width, height, ch, depth):
    """pixels[y][x] is a tuple of ch samples. Rows use filter types 0..4 in turn."""
    bpp = max(1, ch * depth // 8)
    out, prev = bytearray(), None
    for y in range(height):
        row = pack_row([s for px in pixels[y] for s in px], depth)
        if prev is None:
            prev = bytes(len(row))
        out += filter_row(y % 5, row, prev, bpp)
        prev = row
    return bytes(out)


def write_png(path, pixels, color_type, depth, palette=None, trns=None, interlace=False):
    height, width = len(pixels), len(pixels[0])
    ch = CHANNELS[color_type]
    if interlace:
        raw = b''
        for x0, y0, dx, dy in ADAM7:
            sub = [[pixels[y][x] for x in range(x0, width, dx)] for y in range(y0, height, dy)]
            if sub and sub[0]:
                raw += encode_image(sub, len(sub[0]), len(sub), ch, depth)
    else:
        raw = encode_image(pixels, width, height, ch, depth)
    data = SIG + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        data += chunk(b'PLTE', bytes(c for rgb in palette for c in rgb))
    if trns is not None:
        data += chunk(b'tRNS', trns)
    # split the image data over two IDAT chunks, which decoders must concatenate
    z = zlib.compress(raw, 9)
    half = len(z) // 2
    data += chunk(b'IDAT', z[:half]) + chunk(b'IDAT', z[half:]) + chunk(b'IEND', b'')
    with open(path, 'wb') as f:
        f.write(data)


def read_png_rgb(path):
    """Returns (width, height, rgb bytes) for 8-bit RGB/RGBA/palette non-interlaced PNGs."""
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:8] == SIG, 'not a PNG'
    pos, idat, palette = 8, b'', None
    while pos < len(data):
        (n,) = struct.unpack('>I', data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        assert zlib.crc32(kind + body) & 0xffffffff == struct.unpack('>I', data[pos + 8 + n:pos + 12 + n])[0], 'bad CRC'
        if kind == b'IHDR':
            width, height, depth, ct, _, _, interlace = struct.unpack('>IIBBBBB', body)
            assert depth == 8 and ct in (2, 3, 6) and interlace == 0, (depth, ct, interlace)
        elif kind == b'PLTE':
            palette = [body[i:i + 3] for i in range(0, len(body), 3)]
        elif kind == b'IDAT':
            idat += body
        pos += 12 + n
    ch = CHANNELS[ct]
    stride = width * ch
    raw = zlib.decompress(idat)
    prev, out, i = bytearray(stride), bytearray(), 0
    for _ in range(height):
        kind, row = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = row[x - ch] if x >= ch else 0
            b = prev[x]
            c = prev[x - ch] if x >= ch else 0
            row[x] = (row[x] + [0, a, b, (a + b) >> 1, paeth(a, b, c)][kind]) & 0xff
        for x in range(width):
            px = row[x * ch:(x + 1) * ch]
            out += palette[px[0]] if ct == 3 else px[:3]
        prev = row
    return width, height, bytes(out)
