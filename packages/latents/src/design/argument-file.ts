/**
 * A designed configuration as a complete argument file in the reference's syntax: every
 * flag the base gave (includes resolved, template paths made absolute so the file works
 * from anywhere), the varied coefficients replaced by their designed values written to
 * round-trip exactly (shortest decimal that parses back to the same double), and a comment
 * block naming the targets and what the model achieves.
 */
import { resolve } from 'node:path';
import type { DesignBase, DesignResult } from './design.js';

function written(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value); // numbers and lists: shortest round-trip decimals, no spaces
}

export function designedArgumentFile(base: DesignBase, result: DesignResult, source: string): string {
  const lines: string[] = [
    `# designed by mmmi-latents design from ${source}`,
    `# varied: ${base.vary.join(', ')}; every other flag as the base gives it`,
    `# targets (nats)${result.met ? `, all met to ${result.tol}` : ': NOT ALL MET, this is the nearest design in the Euclidean norm of the MI residuals'}:`,
    ...result.targets.map(
      (t, k) => `#   ${t.label} = ${t.value}  achieved ${result.achieved[k]}  (error ${Math.abs(result.achieved[k] - t.value).toExponential(2)})`,
    ),
    ...result.conflicts.map((c) => `# conflict: ${c.why}`),
  ];
  const values: Record<string, unknown> = {};
  const parsed: Readonly<Record<string, unknown>> = base.parsed.values;
  for (const name of base.parsed.given) values[name] = parsed[name];
  const t = base.spec.templates;
  if (t.method === 'npy' || t.method === 'images') values.T_vectors_method = resolve(t.path);
  Object.assign(values, result.values);
  for (const [name, value] of Object.entries(values)) lines.push(`--${name} ${written(value)}`);
  return `${lines.join('\n')}\n`;
}
