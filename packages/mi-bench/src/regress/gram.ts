/**
 * Dot products of rows, the one dense product ridge regression needs: the primal normal
 * matrix ZᵀZ is the Gram matrix of Z's columns (the rows of Zᵀ), the dual kernel ZZᵀ that of
 * Z's rows. Float64 throughout, so that small ridge penalties keep their meaning.
 */

/**
 * G[i, j] = Σ_{t<len} a[i·stride + offset + t] · a[j·stride + offset + t] for the `rows` rows
 * of the row-major matrix `a` (row stride `stride`), restricted to the column range
 * [offset, offset + len): a full symmetric rows×rows row-major matrix. With `into`, the
 * products are added to it (so that Grams of column blocks accumulate).
 *
 * Why this shape: the product is memory-bound in plain JavaScript, so it works on 2×2 blocks
 * of rows (four dot products share each load: half the loads of a plain dot product) and
 * on column tiles short enough that a band of rows stays in cache while it is paired with all
 * the rows before it. rows²·len/2 multiply-adds.
 */
export function rowGram(a: Float64Array, rows: number, stride: number, offset = 0, len = stride, into?: Float64Array): Float64Array {
  if (offset < 0 || len < 0 || offset + len > stride) throw new RangeError(`rowGram: columns [${offset}, ${offset + len}) outside a row of ${stride}`);
  if (a.length < rows * stride) throw new RangeError(`rowGram: ${rows} rows of ${stride} need ${rows * stride} values, got ${a.length}`);
  const g = into ?? new Float64Array(rows * rows);
  if (g.length !== rows * rows) throw new RangeError(`rowGram: output holds ${g.length} values, ${rows}×${rows} needed`);
  const TILE = 512;
  for (let t0 = offset; t0 < offset + len; t0 += TILE) {
    const t1 = Math.min(t0 + TILE, offset + len);
    let i = 0;
    for (; i + 1 < rows; i += 2) {
      const a0 = i * stride;
      const a1 = a0 + stride;
      let j = 0;
      // pairs (j, j + 1) with j + 1 ≤ i + 1: the lower triangle of the 2×2 block grid
      for (; j + 1 <= i + 1; j += 2) {
        const b0 = j * stride;
        const b1 = b0 + stride;
        let s00 = 0;
        let s01 = 0;
        let s10 = 0;
        let s11 = 0;
        for (let t = t0; t < t1; t++) {
          const x0 = a[a0 + t];
          const x1 = a[a1 + t];
          const y0 = a[b0 + t];
          const y1 = a[b1 + t];
          s00 += x0 * y0;
          s01 += x0 * y1;
          s10 += x1 * y0;
          s11 += x1 * y1;
        }
        g[i * rows + j] += s00;
        g[i * rows + j + 1] += s01;
        g[(i + 1) * rows + j] += s10;
        g[(i + 1) * rows + j + 1] += s11;
      }
    }
    if (i < rows) {
      // the odd last row against every row (itself included)
      const a0 = i * stride;
      for (let j = 0; j <= i; j++) {
        const b0 = j * stride;
        let s = 0;
        for (let t = t0; t < t1; t++) s += a[a0 + t] * a[b0 + t];
        g[i * rows + j] += s;
      }
    }
  }
  // the loops above filled the lower triangle (and, inside diagonal 2×2 blocks, both entries): mirror it
  for (let i = 0; i < rows; i++) for (let j = i + 1; j < rows; j++) g[i * rows + j] = g[j * rows + i];
  return g;
}
