/**
 * The DAG of a constructive configuration in the style of the paper's Fig. 1a: θ, the θ
 * proto-latents u_θk, the local proto-latents u_l and the modality latents X_i, with each
 * edge labelled by its coefficient (SPEC §1):
 *   u_l → X_i:   g[i,l] = DAG_ul[i][l]·rho[l]·α^(−|i−l|)
 *   u_θk → X_i:  c[i,k] = DAG_theta[i][k]·rho_theta[k]·β^(−i)   (times template T_k)
 *   u_θk → θ:    η_k
 * Edges with coefficient 0 are not drawn (they are in the CSV).
 */
import { join } from 'node:path';
import { latentModelFromTokens, type ConstructiveSpec } from '@mmmi/latents';
import { configName, sub, toCsv, toJson, vegaLiteToSvg, writeFigure, writeText, type WrittenFigure } from './plot.js';

export interface DagEdge {
  from: string;
  to: string;
  kind: 'local' | 'theta' | 'eta';
  coefficient: number;
}

export interface DagData {
  name: string;
  nodes: { id: string; label: string; kind: 'theta' | 'theta-proto' | 'local-proto' | 'latent'; x: number; y: number }[];
  edges: DagEdge[];
  scale: number;
  templates: string;
}

/** The graph of a constructive specification (exactly the coefficients the model is built from). */
export function dagFromSpec(spec: ConstructiveSpec, name: string, scale = 1): DagData {
  const edges: DagEdge[] = [];
  for (let k = 0; k < spec.nUTheta; k++) edges.push({ from: `u_theta${k + 1}`, to: 'theta', kind: 'eta', coefficient: spec.eta[k] });
  for (let i = 0; i < spec.nMod; i++) {
    for (let k = 0; k < spec.nUTheta; k++)
      edges.push({ from: `u_theta${k + 1}`, to: `X${i + 1}`, kind: 'theta', coefficient: spec.dagTheta[i][k] * spec.rhoTheta[k] * spec.beta ** -i });
    for (let l = 0; l < spec.nU; l++)
      edges.push({ from: `u${l + 1}`, to: `X${i + 1}`, kind: 'local', coefficient: spec.dagUl[i][l] * spec.rho[l] * spec.alpha ** -Math.abs(i - l) });
  }
  // Layout: proto-latents on one row (θ's in the middle), latents below, θ on top.
  const protos: { id: string; label: string; kind: 'theta-proto' | 'local-proto' }[] = [];
  const half = Math.ceil(spec.nU / 2);
  for (let l = 0; l < half; l++) protos.push({ id: `u${l + 1}`, label: `u${sub(l + 1)}`, kind: 'local-proto' });
  for (let k = 0; k < spec.nUTheta; k++) protos.push({ id: `u_theta${k + 1}`, label: spec.nUTheta > 1 ? `uθ${sub(k + 1)}` : 'uθ', kind: 'theta-proto' });
  for (let l = half; l < spec.nU; l++) protos.push({ id: `u${l + 1}`, label: `u${sub(l + 1)}`, kind: 'local-proto' });
  const width = Math.max(protos.length, spec.nMod);
  const spread = (j: number, n: number) => (n === 1 ? (width - 1) / 2 : (j * (width - 1)) / (n - 1));
  const nodes: DagData['nodes'] = protos.map((p, j) => ({ ...p, x: spread(j, protos.length), y: 1 }));
  const thetaProtos = nodes.filter((n) => n.kind === 'theta-proto');
  nodes.unshift({ id: 'theta', label: 'θ', kind: 'theta', x: thetaProtos.reduce((s, n) => s + n.x, 0) / thetaProtos.length, y: 0 });
  for (let i = 0; i < spec.nMod; i++) nodes.push({ id: `X${i + 1}`, label: `X${sub(i + 1)}`, kind: 'latent', x: spread(i, spec.nMod), y: 2 });
  const t = spec.templates;
  const templates =
    t.method === 'ones' ? 'ones' : t.method === 'random' ? `random (seed ${t.seed})` : `${t.method}: ${t.path.replace(/^.*[\\/](?=[^\\/]+[\\/]?$)/, '')}`;
  return { name, nodes, edges, scale, templates };
}

const COLORS = { theta: '#e6550d', 'theta-proto': '#fdae6b', 'local-proto': '#9ecae1', latent: '#d9d9d9' } as const;
const EDGE_COLORS = { eta: '#e6550d', theta: '#e6550d', local: '#3182bd' } as const;

function fmt(v: number): string {
  return String(Number(v.toPrecision(3)));
}

export function dagSpec(g: DagData, maxLabels = 40): Record<string, unknown> {
  const pos = new Map(g.nodes.map((n) => [n.id, n]));
  const drawn = g.edges.filter((e) => e.coefficient !== 0);
  const showLabels = drawn.length <= maxLabels;
  const cols = Math.max(...g.nodes.map((n) => n.x)) + 1;
  const r = 0.17; // node radius in x units (y units are scaled alike below)
  const yUnit = 1.3;
  const lines = drawn.map((e, j) => {
    const a = pos.get(e.from)!;
    const b = pos.get(e.to)!;
    const dx = b.x - a.x;
    const dy = (b.y - a.y) * yUnit;
    const len = Math.hypot(dx, dy);
    const ux = dx / len;
    const uy = dy / len;
    const t = drawn.length > 6 ? 0.3 + 0.4 * ((j % 3) / 2) : 0.5;
    return {
      x: a.x + ux * r,
      y: a.y * yUnit + uy * r,
      x2: b.x - ux * r * 1.3,
      y2: b.y * yUnit - uy * r * 1.3,
      lx: a.x + dx * t,
      ly: a.y * yUnit + dy * t,
      angle: (Math.atan2(dx, -dy) * 180) / Math.PI,
      kind: e.kind,
      label: fmt(e.coefficient),
    };
  });
  const pxPerUnit = 110;
  const width = Math.max(260, cols * pxPerUnit);
  const height = 2 * yUnit * pxPerUnit + 40;
  const x = { field: 'x', type: 'quantitative', axis: null, scale: { domain: [-0.5, cols - 0.5] } };
  const y = { field: 'y', type: 'quantitative', axis: null, scale: { domain: [-0.35, 2 * yUnit + 0.35], reverse: true } };
  const kindScale = { domain: Object.keys(EDGE_COLORS), range: Object.values(EDGE_COLORS) };
  const layers: Record<string, unknown>[] = [
    {
      data: { values: lines },
      mark: { type: 'rule', strokeWidth: 1.4, opacity: 0.8 },
      encoding: { x, y, x2: { field: 'x2' }, y2: { field: 'y2' }, color: { field: 'kind', scale: kindScale, legend: null } },
    },
    {
      data: { values: lines },
      mark: { type: 'point', shape: 'triangle-up', filled: true, size: 70, opacity: 0.9 },
      encoding: {
        x: { ...x, field: 'x2' },
        y: { ...y, field: 'y2' },
        angle: { field: 'angle', type: 'quantitative', scale: null },
        color: { field: 'kind', scale: kindScale, legend: null },
      },
    },
  ];
  if (showLabels)
    layers.push(
      {
        data: { values: lines },
        mark: { type: 'text', fontSize: 12, stroke: 'white', strokeWidth: 3, strokeOpacity: 0.9 },
        encoding: { x: { ...x, field: 'lx' }, y: { ...y, field: 'ly' }, text: { field: 'label' } },
      },
      {
        data: { values: lines },
        mark: { type: 'text', fontSize: 12 },
        encoding: { x: { ...x, field: 'lx' }, y: { ...y, field: 'ly' }, text: { field: 'label' }, color: { field: 'kind', scale: kindScale, legend: null } },
      },
    );
  const nodes = g.nodes.map((n) => ({ ...n, y: n.y * yUnit }));
  layers.push(
    {
      data: { values: nodes },
      mark: { type: 'point', filled: true, size: 1500, stroke: '#333', strokeWidth: 1.2, opacity: 1 },
      encoding: { x, y, fill: { field: 'kind', scale: { domain: Object.keys(COLORS), range: Object.values(COLORS) }, legend: null } },
    },
    { data: { values: nodes }, mark: { type: 'text', fontSize: 16 }, encoding: { x, y, text: { field: 'label' } } },
  );
  const sub1 = `edges: coefficients of SPEC §1 (blue: g = DAG_ul·ρ·α^−|i−l|; orange: c = DAG_θ·ρθ·β^−i, η)`;
  const sub2 = `templates ${g.templates}${g.scale !== 1 ? `; every latent × s = ${fmt(g.scale)} (alignment)` : ''}${showLabels ? '' : `; ${drawn.length} edges, coefficients in dag_${g.name}.csv`}`;
  return { width, height, title: { text: `DAG of ${g.name}`, subtitle: [sub1, sub2] }, layer: layers, config: { view: { stroke: null } } };
}

export interface DagResult {
  data: DagData;
  figure: WrittenFigure;
  csv: string;
  json: string;
}

/** Write dag_<name>.{svg,png,csv,json}. */
export async function writeDag(dir: string, tokens: readonly string[]): Promise<DagResult> {
  const { spec, structure } = await latentModelFromTokens(tokens);
  const name = configName(tokens);
  if (spec.paradigm !== 'constructive') throw new Error(`${name}: the DAG picture needs a constructive configuration (the sampling paradigm has no DAG)`);
  const data = dagFromSpec(spec, name, structure.scale);
  const figure = await writeFigure(dir, `dag_${name}`, await vegaLiteToSvg(dagSpec(data)));
  const csv = await writeText(join(dir, `dag_${name}.csv`), toCsv(['from', 'to', 'kind', 'coefficient'], data.edges));
  const json = await writeText(join(dir, `dag_${name}.json`), toJson(data));
  return { data, figure, csv, json };
}
