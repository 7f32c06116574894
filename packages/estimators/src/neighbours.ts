/**
 * Exact max-norm nearest neighbours for the KSG estimator (Kraskov, Stögbauer, Grassberger
 * 2004), two ways that give the same numbers:
 *
 * - `ksgNeighbours`: a k-d tree on the joint space Z = (X, Y) for the k nearest neighbours,
 *   then per-side counts from a k-d tree (several dimensions) or a sorted array with binary
 *   search (one dimension). Fast where the dimension is low (2 joint coordinates, n = 10⁴:
 *   ~100× brute force); the gain shrinks with dimension, as a k-d tree's does (10 joint
 *   coordinates: ~4–8×; 20: ~2–3×, the tree pruning little). `bench/ksg.bench.ts` measures it.
 * - `bruteForceNeighbours`: every pair, O(n² (dx + dy)), the reference the tests and the bench
 *   hold the fast path against.
 *
 * Distances are ‖z_j − z_i‖∞ = max_c |z_jc − z_ic| (KSG's choice), with the joint distance the
 * larger of the two sides'. Both paths compute every distance from the same subtractions, and
 * floating-point subtraction is monotone, so the tree's pruning bounds are exact: the fast
 * counts equal the brute-force ones bit for bit, not just up to rounding.
 *
 * Ties: the k nearest neighbours of point i are the first k of the other points ordered by
 * (distance, index), so equal distances (which continuous data have with probability zero)
 * resolve deterministically and the same way in both paths. The tree must then also visit
 * boxes at exactly the k-th distance, so data with very many equal distances (rounded or
 * discrete values) slow it down toward brute force. Duplicates are allowed here; the estimator
 * refuses data where they make ε(i) = 0 (see `ksg.ts`).
 */
import { InputError } from '@mmmi/cli-kit';
import type { PairedSamples } from './estimator.js';

/** KSG's two estimators: 1 counts marginal neighbours strictly within ε(i), 2 within ε_x(i), ε_y(i). */
export type KsgVariant = 1 | 2;

/** Per-point neighbour facts the KSG estimators need; arrays indexed by sample. */
export interface KsgNeighbours {
  k: number;
  variant: KsgVariant;
  /**
   * ε(i) = ‖z_(k) − z_i‖∞: joint max-norm distance from point i to its k-th nearest neighbour.
   * (A radius: the paper's ε(i)/2.)
   */
  epsilon: Float64Array;
  /** ε_x(i) = max over point i's k nearest joint neighbours j of ‖x_j − x_i‖∞ (the paper's ε_x(i)/2). */
  epsilonX: Float64Array;
  /** ε_y(i), as ε_x(i) on the y side. */
  epsilonY: Float64Array;
  /** Variant 1: n_x(i) = #{j ≠ i : ‖x_j − x_i‖∞ < ε(i)}; variant 2: #{j ≠ i : ‖x_j − x_i‖∞ ≤ ε_x(i)}. */
  nx: Int32Array;
  /** n_y(i), as n_x(i) on the y side. */
  ny: Int32Array;
}

function checkK(n: number, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new InputError(`k = ${k}: the neighbour count must be a positive integer`);
  if (n <= k) throw new InputError(`${n} samples with k = ${k}: each point needs k other points (n > k)`);
}

/** max_c |a[ia + c] − b[ib + c]| over c < d. */
function maxAbs(a: Float64Array, ia: number, b: Float64Array, ib: number, d: number): number {
  let m = 0;
  for (let c = 0; c < d; c++) {
    const v = Math.abs(a[ia + c] - b[ib + c]);
    if (v > m) m = v;
  }
  return m;
}

/**
 * The reference: every pair, O(n² (dx + dy)) time, O(n) memory. The k nearest neighbours are
 * kept in an insertion-sorted list of k; j runs upwards, so among equal distances the lower
 * index stays, which is the (distance, index) order.
 */
export function bruteForceNeighbours(data: PairedSamples, k: number, variant: KsgVariant): KsgNeighbours {
  const { n, x, dx, y, dy } = data;
  checkK(n, k);
  const epsilon = new Float64Array(n);
  const epsilonX = new Float64Array(n);
  const epsilonY = new Float64Array(n);
  const nx = new Int32Array(n);
  const ny = new Int32Array(n);
  const bestD = new Float64Array(k);
  const bestX = new Float64Array(k);
  const bestY = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const ex = maxAbs(x, i * dx, x, j * dx, dx);
      const ey = maxAbs(y, i * dy, y, j * dy, dy);
      const e = ex > ey ? ex : ey;
      if (m === k && !(e < bestD[k - 1])) continue;
      let t = m < k ? m++ : k - 1;
      while (t > 0 && bestD[t - 1] > e) {
        bestD[t] = bestD[t - 1];
        bestX[t] = bestX[t - 1];
        bestY[t] = bestY[t - 1];
        t--;
      }
      bestD[t] = e;
      bestX[t] = ex;
      bestY[t] = ey;
    }
    let ex = 0;
    let ey = 0;
    for (let t = 0; t < k; t++) {
      if (bestX[t] > ex) ex = bestX[t];
      if (bestY[t] > ey) ey = bestY[t];
    }
    const eps = bestD[k - 1];
    epsilon[i] = eps;
    epsilonX[i] = ex;
    epsilonY[i] = ey;
    let cx = 0;
    let cy = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const dxj = maxAbs(x, i * dx, x, j * dx, dx);
      const dyj = maxAbs(y, i * dy, y, j * dy, dy);
      if (variant === 1 ? dxj < eps : dxj <= ex) cx++;
      if (variant === 1 ? dyj < eps : dyj <= ey) cy++;
    }
    nx[i] = cx;
    ny[i] = cy;
  }
  return { k, variant, epsilon, epsilonX, epsilonY, nx, ny };
}

/**
 * The fast path: joint k nearest neighbours from a k-d tree (queries in tree order, for cache
 * locality), then per-side counts from a k-d tree or, for a one-dimensional side, a sorted
 * array. Same results as `bruteForceNeighbours`, exactly.
 */
export function ksgNeighbours(data: PairedSamples, k: number, variant: KsgVariant): KsgNeighbours {
  const { n, x, dx, y, dy } = data;
  checkK(n, k);
  const d = dx + dy;
  const joint = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    joint.set(x.subarray(i * dx, (i + 1) * dx), i * d);
    joint.set(y.subarray(i * dy, (i + 1) * dy), i * d + dx);
  }
  const tree = new KdTree(joint, n, d);
  const epsilon = new Float64Array(n);
  const epsilonX = new Float64Array(n);
  const epsilonY = new Float64Array(n);
  const dist = new Float64Array(k);
  const index = new Int32Array(k);
  for (let p = 0; p < n; p++) {
    const i = tree.order[p];
    epsilon[i] = tree.nearest(p, k, dist, index);
    let ex = 0;
    let ey = 0;
    for (let t = 0; t < k; t++) {
      const j = index[t];
      const a = maxAbs(x, i * dx, x, j * dx, dx);
      const b = maxAbs(y, i * dy, y, j * dy, dy);
      if (a > ex) ex = a;
      if (b > ey) ey = b;
    }
    epsilonX[i] = ex;
    epsilonY[i] = ey;
  }
  const nx = marginalCounts(x, n, dx, variant === 1 ? epsilon : epsilonX, variant === 1);
  const ny = marginalCounts(y, n, dy, variant === 1 ? epsilon : epsilonY, variant === 1);
  return { k, variant, epsilon, epsilonX, epsilonY, nx, ny };
}

/** #{j ≠ i : ‖v_j − v_i‖∞ < r_i} (strict) or ≤ r_i, for every i. */
function marginalCounts(v: Float64Array, n: number, d: number, radius: Float64Array, strict: boolean): Int32Array {
  const counts = new Int32Array(n);
  const counter = d === 1 ? new SortedValues(v) : new KdTree(v, n, d);
  for (let i = 0; i < n; i++) {
    const r = radius[i];
    // the point itself, at distance 0, is inside unless the strict radius is 0
    const self = strict && !(r > 0) ? 0 : 1;
    counts[i] = counter.count(v, i * d, r, strict) - self;
  }
  return counts;
}

/** One-dimensional range counts by binary search on the sorted values. */
class SortedValues {
  private readonly sorted: Float64Array;

  constructor(values: Float64Array) {
    this.sorted = Float64Array.from(values).sort();
  }

  /**
   * #{v : |v − q| < r} (strict) or ≤ r, with q = at[offset], itself included. On the sorted
   * values the members form one run: below q, q − v shrinks as v grows; above q, v − q grows
   * (rounding is monotone), so both ends are found by bisection on monotone predicates.
   */
  count(at: Float64Array, offset: number, r: number, strict: boolean): number {
    // nothing is strictly within 0 (the runs below assume q's own distance, 0, is inside)
    if (strict ? !(r > 0) : r < 0) return 0;
    const s = this.sorted;
    const q = at[offset];
    // first t with s[t] ≥ q, or with s[t] below q but inside
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const v = s[mid];
      if (v >= q || (strict ? q - v < r : q - v <= r)) hi = mid;
      else lo = mid + 1;
    }
    const start = lo;
    // first t with s[t] above q and outside
    hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const v = s[mid];
      if (v > q && (strict ? v - q >= r : v - q > r)) hi = mid;
      else lo = mid + 1;
    }
    return lo - start;
  }
}

function swap(a: Int32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/**
 * Rearranges order[left..right] so that order[nth] holds the row whose coordinate `dim` would
 * be there in sorted order, smaller-or-equal ones before it and greater-or-equal after
 * (Hoare-style quickselect; copes with runs of equal values).
 */
function selectNth(order: Int32Array, rows: Float64Array, d: number, dim: number, left: number, right: number, nth: number): void {
  while (right > left) {
    const t = rows[order[nth] * d + dim];
    let i = left;
    let j = right;
    swap(order, left, nth);
    if (rows[order[right] * d + dim] > t) swap(order, left, right);
    while (i < j) {
      swap(order, i, j);
      i++;
      j--;
      while (rows[order[i] * d + dim] < t) i++;
      while (rows[order[j] * d + dim] > t) j--;
    }
    if (rows[order[left] * d + dim] === t) swap(order, left, j);
    else {
      j++;
      swap(order, j, right);
    }
    if (j <= nth) left = j + 1;
    if (nth <= j) right = j - 1;
  }
}

/**
 * A k-d tree under the max norm: median splits on the coordinate of widest spread, each node
 * with the bounding box of its points (a tighter bound than the split planes alone), rows
 * copied into tree order. Exact k-nearest-neighbour queries for its own points and exact
 * range counts.
 */
export class KdTree {
  /** Tree position → original row. */
  readonly order: Int32Array;
  /** Rows in tree order, row-major. */
  private readonly points: Float64Array;
  private readonly first: Int32Array;
  private readonly last: Int32Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  private nodes = 0;
  // state of the query under way (kept on the tree to spare the recursion its arguments)
  private heapD: Float64Array = new Float64Array(0);
  private heapI: Int32Array = new Int32Array(0);
  private heapSize = 0;
  private k = 0;
  private queryPos = 0;

  /** `rows`: n rows of d values, row-major; not modified. `leafSize`: most points in a leaf. */
  constructor(
    rows: Float64Array,
    readonly n: number,
    readonly d: number,
    leafSize = 32,
  ) {
    // a node of m > leafSize points splits into halves of ≥ ⌊(leafSize + 1)/2⌋ points
    const maxNodes = 2 * Math.ceil(n / Math.max(1, Math.floor((leafSize + 1) / 2))) + 1;
    this.first = new Int32Array(maxNodes);
    this.last = new Int32Array(maxNodes);
    this.left = new Int32Array(maxNodes);
    this.right = new Int32Array(maxNodes);
    this.lo = new Float64Array(maxNodes * d);
    this.hi = new Float64Array(maxNodes * d);
    this.order = new Int32Array(n);
    for (let i = 0; i < n; i++) this.order[i] = i;
    this.build(rows, 0, n, leafSize);
    this.points = new Float64Array(n * d);
    for (let p = 0; p < n; p++) this.points.set(rows.subarray(this.order[p] * d, (this.order[p] + 1) * d), p * d);
  }

  private build(rows: Float64Array, start: number, end: number, leafSize: number): number {
    const { d, order, lo, hi } = this;
    const node = this.nodes++;
    this.first[node] = start;
    this.last[node] = end;
    const b = node * d;
    for (let c = 0; c < d; c++) {
      lo[b + c] = Number.POSITIVE_INFINITY;
      hi[b + c] = Number.NEGATIVE_INFINITY;
    }
    for (let t = start; t < end; t++) {
      const r = order[t] * d;
      for (let c = 0; c < d; c++) {
        const v = rows[r + c];
        if (v < lo[b + c]) lo[b + c] = v;
        if (v > hi[b + c]) hi[b + c] = v;
      }
    }
    let dim = -1;
    let spread = 0;
    for (let c = 0; c < d; c++) {
      const s = hi[b + c] - lo[b + c];
      if (s > spread) {
        spread = s;
        dim = c;
      }
    }
    if (end - start <= leafSize || dim < 0) {
      // a leaf (also when all its points coincide)
      this.left[node] = -1;
      this.right[node] = -1;
      return node;
    }
    const mid = (start + end) >>> 1;
    selectNth(order, rows, d, dim, start, end - 1, mid);
    this.left[node] = this.build(rows, start, mid, leafSize);
    this.right[node] = this.build(rows, mid, end, leafSize);
    return node;
  }

  /** Max-norm distance from the query point to node's box (0 inside). */
  private boxDistance(node: number, q: Float64Array, qo: number): number {
    const { d, lo, hi } = this;
    const b = node * d;
    let m = 0;
    for (let c = 0; c < d; c++) {
      const v = q[qo + c];
      const below = lo[b + c] - v;
      const above = v - hi[b + c];
      const e = below > above ? below : above;
      if (e > m) m = e;
    }
    return m;
  }

  /**
   * The k nearest neighbours of the tree's own point at position `pos` (itself excluded), by
   * (distance, original index). Writes their distances and original rows into `dist` and
   * `index` (heap order, not sorted) and returns the k-th distance.
   */
  nearest(pos: number, k: number, dist: Float64Array, index: Int32Array): number {
    this.heapD = dist;
    this.heapI = index;
    this.heapSize = 0;
    this.k = k;
    this.queryPos = pos;
    this.search(0);
    return dist[0];
  }

  private search(node: number): void {
    const { d, points } = this;
    const qo = this.queryPos * d;
    const a = this.left[node];
    if (a < 0) {
      const heapD = this.heapD;
      const order = this.order;
      for (let t = this.first[node], end = this.last[node]; t < end; t++) {
        if (t === this.queryPos) continue;
        const full = this.heapSize === this.k;
        const bound = full ? heapD[0] : Number.POSITIVE_INFINITY;
        const r = t * d;
        let e = 0;
        for (let c = 0; c < d; c++) {
          const v = Math.abs(points[r + c] - points[qo + c]);
          if (v > e) {
            e = v;
            if (e > bound) break;
          }
        }
        if (!full) this.push(e, order[t]);
        else if (e < bound || (e === bound && order[t] < this.heapI[0])) this.replaceTop(e, order[t]);
      }
      return;
    }
    const b = this.right[node];
    const da = this.boxDistance(a, points, qo);
    const db = this.boxDistance(b, points, qo);
    // nearer child first; a box no nearer than the k-th distance is skipped (equal is kept: a
    // tie with a lower index may be inside)
    if (da <= db) {
      if (this.heapSize < this.k || da <= this.heapD[0]) this.search(a);
      if (this.heapSize < this.k || db <= this.heapD[0]) this.search(b);
    } else {
      if (this.heapSize < this.k || db <= this.heapD[0]) this.search(b);
      if (this.heapSize < this.k || da <= this.heapD[0]) this.search(a);
    }
  }

  /** (d1, i1) after (d2, i2) in (distance, index) order. */
  private static after(d1: number, i1: number, d2: number, i2: number): boolean {
    return d1 > d2 || (d1 === d2 && i1 > i2);
  }

  private push(e: number, i: number): void {
    const { heapD, heapI } = this;
    let t = this.heapSize++;
    while (t > 0) {
      const parent = (t - 1) >> 1;
      if (!KdTree.after(e, i, heapD[parent], heapI[parent])) break;
      heapD[t] = heapD[parent];
      heapI[t] = heapI[parent];
      t = parent;
    }
    heapD[t] = e;
    heapI[t] = i;
  }

  private replaceTop(e: number, i: number): void {
    const { heapD, heapI } = this;
    const size = this.heapSize;
    let t = 0;
    for (;;) {
      let child = 2 * t + 1;
      if (child >= size) break;
      if (child + 1 < size && KdTree.after(heapD[child + 1], heapI[child + 1], heapD[child], heapI[child])) child++;
      if (!KdTree.after(heapD[child], heapI[child], e, i)) break;
      heapD[t] = heapD[child];
      heapI[t] = heapI[child];
      t = child;
    }
    heapD[t] = e;
    heapI[t] = i;
  }

  /**
   * #{rows v : ‖v − q‖∞ < r} (strict) or ≤ r, with q = at[offset .. offset + d), q itself
   * included if it is a row. Whole boxes are taken or skipped on their nearest and farthest
   * corners, which bound every member's distance exactly (subtraction is monotone).
   */
  count(at: Float64Array, offset: number, r: number, strict: boolean): number {
    return this.countNode(0, at, offset, r, strict);
  }

  private countNode(node: number, q: Float64Array, qo: number, r: number, strict: boolean): number {
    const { d, lo, hi } = this;
    const b = node * d;
    let near = 0;
    let far = 0;
    for (let c = 0; c < d; c++) {
      const v = q[qo + c];
      const below = lo[b + c] - v;
      const above = v - hi[b + c];
      const e = below > above ? below : above;
      if (e > near) near = e;
      const up = hi[b + c] - v;
      const down = v - lo[b + c];
      const f = up > down ? up : down;
      if (f > far) far = f;
    }
    if (strict ? near >= r : near > r) return 0;
    if (strict ? far < r : far <= r) return this.last[node] - this.first[node];
    const a = this.left[node];
    if (a >= 0) return this.countNode(a, q, qo, r, strict) + this.countNode(this.right[node], q, qo, r, strict);
    const points = this.points;
    let count = 0;
    for (let t = this.first[node], end = this.last[node]; t < end; t++) {
      const p = t * d;
      let inside = true;
      for (let c = 0; c < d; c++) {
        const v = Math.abs(points[p + c] - q[qo + c]);
        if (strict ? v >= r : v > r) {
          inside = false;
          break;
        }
      }
      if (inside) count++;
    }
    return count;
  }
}
