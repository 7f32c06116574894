/**
 * The activation memory of one UNet forward pass, per image, from the architecture alone,
 * so a job can be sized (and refused) before it allocates anything.
 *
 * The encoder's skip tensors stay alive until the decoder consumes them, so the peak is the
 * largest, over layers, of (skips alive + the layer's working set). With r the side of the
 * feature map at the layer and c its channels, float32, the working sets are:
 *
 *   conv       (c_in + c_out + k²·c_in)·r²               input, output, the im2col buffer of a k×k conv
 *   res block  (2·c_in + 3·c_out + 9·max(c_in, c_out))·r²   GroupNorm and conv of each half, the skip
 *                                                           projection, the larger im2col buffer
 *   attention  6·c·r² + 2·heads·r⁴          norm, qkv (3c), output, projection; scores and softmax
 *   down       c·r² + c·(r/2)²
 *   up         c·r² + c·(2r)²
 *
 * This is an upper estimate for an engine that frees each tensor after its last use: ONNX
 * Runtime's memory planner reuses buffers and needs less. `bench/memory.bench.ts` of
 * dataset-generation sets it against the measured peak.
 */
import type { Layer, UNetArchitecture } from './architecture.js';

const FLOAT32 = 4;

/** Working set of one layer (values), and the channels and side it leaves. */
function layerStep(layer: Layer, channels: number, side: number): { working: number; channels: number; side: number } {
  const area = side * side;
  switch (layer.kind) {
    case 'conv':
      return { working: (layer.inChannels + layer.outChannels + layer.kernel ** 2 * layer.inChannels) * area, channels: layer.outChannels, side };
    case 'res':
      return {
        working: (2 * layer.inChannels + 3 * layer.outChannels + 9 * Math.max(layer.inChannels, layer.outChannels)) * area,
        channels: layer.outChannels,
        side,
      };
    case 'attention':
      return { working: 6 * layer.channels * area + 2 * layer.heads * area * area, channels, side };
    case 'downsample':
      return { working: channels * area + channels * (side / 2) ** 2, channels, side: side / 2 };
    case 'upsample':
      return { working: channels * area + channels * (2 * side) ** 2, channels, side: 2 * side };
  }
}

/**
 * Bytes of every tensor one forward pass of one image allocates: what an engine that frees
 * nothing until the pass ends holds (tfjs inside one `tidy`).
 */
export function forwardTotalBytesPerImage(arch: UNetArchitecture): number {
  let side = arch.config.imageSize;
  let channels = arch.config.inChannels;
  let total = 0;
  for (const layer of [...arch.inputBlocks.flat(), ...arch.middleBlock, ...arch.outputBlocks.flat()]) {
    const step = layerStep(layer, channels, side);
    total += step.working;
    channels = step.channels;
    side = step.side;
  }
  return (total + (arch.outInputChannels + arch.config.outChannels) * side * side) * FLOAT32;
}

/** Peak bytes of activations of one forward pass of one image (see the module comment). */
export function forwardPeakBytesPerImage(arch: UNetArchitecture): number {
  const c = arch.config;
  let side = c.imageSize;
  let channels = c.inChannels;
  let peak = 0;
  const skips: number[] = [];
  let alive = 0;
  const run = (layers: Layer[]) => {
    for (const layer of layers) {
      const step = layerStep(layer, channels, side);
      peak = Math.max(peak, alive + step.working);
      channels = step.channels;
      side = step.side;
    }
  };
  for (const block of arch.inputBlocks) {
    run(block);
    skips.push(channels * side * side);
    alive += channels * side * side;
  }
  run(arch.middleBlock);
  for (const block of arch.outputBlocks) {
    // the block's first layer reads [h, skip] concatenated; the skip is freed after it
    const skip = skips.pop()!;
    run(block);
    alive -= skip;
  }
  peak = Math.max(peak, (arch.outInputChannels + c.outChannels) * side * side);
  return peak * FLOAT32;
}
