/**
 * All parameters of a UNet in one flat Float32Array (architecture order), so that weights
 * and gradients cross between threads through one SharedArrayBuffer each.
 */
import type { UNetArchitecture } from '../unet/architecture.js';

export interface FlatSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export interface FlatLayout {
  slots: FlatSlot[];
  /** Total number of floats. */
  total: number;
}

export function flatLayout(arch: UNetArchitecture): FlatLayout {
  const slots: FlatSlot[] = [];
  let offset = 0;
  for (const p of arch.params) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    slots.push({ name: p.name, shape: [...p.shape], offset, size });
    offset += size;
  }
  return { slots, total: offset };
}

/** A view (not a copy) of one parameter's floats inside `flat`. */
export const slotView = (flat: Float32Array, slot: FlatSlot): Float32Array => flat.subarray(slot.offset, slot.offset + slot.size);

/** Copies `values` (one array per parameter name) into `flat`. */
export function writeFlat(layout: FlatLayout, values: ReadonlyMap<string, Float32Array>, flat: Float32Array): void {
  for (const slot of layout.slots) {
    const v = values.get(slot.name);
    if (!v || v.length !== slot.size) throw new Error(`flat parameters: '${slot.name}' has ${v?.length ?? 'no'} values, expected ${slot.size}`);
    flat.set(v, slot.offset);
  }
}
