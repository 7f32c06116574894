/**
 * The one entry point from options to a ready model: parse → validate → templates →
 * structure → alignment. Everything that can be wrong with the input fails here, before
 * any sampling or image generation starts.
 */
import { alignmentScale, type Alignment } from './align.js';
import { MODEL_FLAGS, parseArgs, type ModelFlags, type ParsedArgs } from './args.js';
import { constructiveStructure, samplingStructure } from './construct.js';
import { specFromArgs, type LatentSpec } from './spec.js';
import { withScale, type LatentStructure } from './structure.js';
import { loadTemplates } from './templates.js';

export interface LatentModel {
  spec: LatentSpec;
  structure: LatentStructure;
  alignment: Alignment | null;
}

export async function buildLatentModel(spec: LatentSpec): Promise<LatentModel> {
  if (spec.paradigm === 'sampling') return { spec, structure: samplingStructure(spec), alignment: null };
  const templates = await loadTemplates(spec.templates, spec.nUTheta, spec.nMod, spec.modDim);
  const structure = constructiveStructure(spec, templates);
  if (!spec.align) return { spec, structure, alignment: null };
  const alignment = alignmentScale(structure, spec.align.percentile, spec.align.method, spec.align.seed);
  return { spec, structure: withScale(structure, alignment.scale), alignment };
}

/** Build a model from argument-file tokens (e.g. ['@generation_arguments/simple_fig1_DAG.txt', '--alpha', '1.4']). */
export async function latentModelFromTokens(tokens: readonly string[], flags: ModelFlags = MODEL_FLAGS): Promise<LatentModel & { args: ParsedArgs }> {
  const args = parseArgs(tokens, flags);
  const model = await buildLatentModel(specFromArgs(args));
  return { ...model, args };
}
