/**
 * The views a contrastive run sees: modalities named as in the MI table (`X1,X2`, `X_1`, a
 * range `X1..X4`), at least two of them, each once, all within the dataset's N modalities.
 */
import { InputError } from '@mmmi/cli-kit';

/** 0-based modality indices of `--views` text, checked against nMod (when known). */
export function parseViews(text: string, nMod?: number, where = ''): number[] {
  const mods: number[] = [];
  const items = text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  for (const item of items) {
    const m = /^x_?(\d+)(?:\.\.x_?(\d+))?$/i.exec(item);
    if (!m) throw new InputError(`--views ${text}: cannot read "${item}" (name modalities as X1, X2 or a range X1..X4)`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi < lo) throw new InputError(`--views ${text}: "${item}" is not a modality or an increasing range of them`);
    for (let i = lo; i <= hi; i++) mods.push(i - 1);
  }
  const seen = new Set<number>();
  for (const i of mods) {
    if (seen.has(i)) throw new InputError(`--views ${text}: X${i + 1} is named twice; each view is one modality`);
    seen.add(i);
  }
  if (mods.length < 2)
    throw new InputError(`--views ${text}: contrastive learning needs at least two views (modalities), e.g. --views X1,X2, got ${mods.length}`);
  if (nMod !== undefined) {
    const outside = mods.filter((i) => i >= nMod);
    if (outside.length)
      throw new InputError(`--views ${text}: ${where ? `${where} has` : 'the dataset has'} ${nMod} modalities (X1 … X${nMod}); there is no X${outside[0] + 1}`);
  }
  return mods;
}

/** 'X_1' for 0. */
export const viewLabel = (i: number): string => `X_${i + 1}`;

/** 'X_1' or '(X_1, X_2)': the MI table's way to name a group. */
export const groupName = (mods: readonly number[]): string => (mods.length === 1 ? viewLabel(mods[0]) : `(${mods.map(viewLabel).join(', ')})`);
