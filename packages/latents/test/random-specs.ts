/** Random constructive specifications for property tests, and their dense counterparts. */
import { SeededRandom } from '@mmmi/test-utils';
import type { ConstructiveSpec } from '../src/spec.js';
import type { TemplateSet } from '../src/templates.js';
import type { DenseConstructive } from './dense-reference.js';

export interface RandomCase {
  spec: ConstructiveSpec;
  templates: TemplateSet;
  dense: DenseConstructive;
  onesTemplates: boolean;
}

export function randomCase(seed: number, opts: { allowSingular?: boolean } = {}): RandomCase {
  // test cases from a seeded source independent of src/rng
  const rng = new SeededRandom(seed);
  const rand = () => rng.uniform();
  const int = (lo: number, hi: number) => rng.int(lo, hi);
  const coef = () => (rand() < 0.15 ? -1 : 1) * (0.2 + 1.3 * rand());
  const nMod = int(1, 6);
  const nU = opts.allowSingular ? int(1, nMod + 2) : int(nMod, nMod + 2);
  const nUTheta = int(1, 3);
  const d = int(4, 7);
  const onesTemplates = rand() < 0.35;
  const mask = (rows: number, cols: number, pOne: number) => Array.from({ length: rows }, () => Array.from({ length: cols }, () => (rand() < pOne ? 1 : 0)));
  let dagUl = mask(nMod, nU, 0.6);
  if (!opts.allowSingular) {
    // a diagonal of ones keeps every K_SS non-singular
    dagUl = dagUl.map((row, i) => row.map((v, l) => (l === i ? 1 : v)));
  }
  const dagTheta = mask(nMod, nUTheta, 0.75);
  const eta = Array.from({ length: nUTheta }, coef);
  const spec: ConstructiveSpec = {
    paradigm: 'constructive',
    nMod,
    nU,
    nUTheta,
    modDim: d,
    alpha: 0.7 + 0.9 * rand(),
    beta: 0.7 + 0.9 * rand(),
    eta,
    rhoTheta: Array.from({ length: nUTheta }, coef),
    rho: Array.from({ length: nU }, coef),
    dagTheta,
    dagUl,
    templates: onesTemplates ? { method: 'ones' } : { method: 'random', seed },
    align: null,
    labels: null,
  };
  const T: Float64Array[][] = [];
  let templates: TemplateSet;
  if (onesTemplates) {
    templates = { vectors: [{ kind: 'const', value: 1 }], index: dagTheta[0].map(() => new Array(nMod).fill(0)) };
    for (let k = 0; k < nUTheta; k++) T.push(Array.from({ length: nMod }, () => new Float64Array(d).fill(1)));
  } else {
    templates = { vectors: [], index: [] };
    for (let k = 0; k < nUTheta; k++) {
      T.push([]);
      templates.index.push([]);
      for (let i = 0; i < nMod; i++) {
        // sometimes share one template across modalities, as image templates do
        if (i > 0 && rand() < 0.25) {
          T[k].push(T[k][i - 1]);
          templates.index[k].push(templates.index[k][i - 1]);
          continue;
        }
        const v = Float64Array.from({ length: d }, () => rng.normal());
        T[k].push(v);
        templates.vectors.push({ kind: 'dense', data: v });
        templates.index[k].push(templates.vectors.length - 1);
      }
    }
  }
  const dense: DenseConstructive = {
    nMod,
    nU,
    nUTheta,
    d,
    alpha: spec.alpha,
    beta: spec.beta,
    eta,
    rhoTheta: spec.rhoTheta,
    rho: spec.rho,
    dagTheta,
    dagUl,
    T,
  };
  return { spec, templates, dense, onesTemplates };
}
