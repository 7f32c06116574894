/**
 * The labels a class-conditional flow model accepts: its classes 0 … numClasses − 1, and
 * numClasses itself as "no label" (classifier-free guidance's unconditional input, the
 * padding row of `label_emb.weight`). One check for every caller that takes labels from a user
 * (`mmmi-train sample --labels`, `mmmi-generate --labels`).
 */

/** The entries of `labels` that are not a label of a model with `numClasses` classes, in order. */
export function unknownLabels(labels: readonly number[], numClasses: number): number[] {
  return labels.filter((l) => !(Number.isInteger(l) && l >= 0 && l <= numClasses));
}
