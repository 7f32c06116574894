/**
 * A UNet with its weights: the architecture of a configuration plus trainable variables
 * named as in PyTorch's state_dict. `velocity` is the flow v(x, t, y).
 */
import * as tf from '@tensorflow/tfjs-core';
import { buildArchitecture, type UNetArchitecture } from './unet/architecture.js';
import type { UNetConfig } from './unet/config.js';
import { unetForward, type ForwardOptions, type ParamTensors } from './unet/model.js';
import { checkParamValues, initialParamValues, type ParamValues } from './unet/params.js';

export class FlowModel {
  readonly arch: UNetArchitecture;
  readonly params = new Map<string, tf.Variable>();

  constructor(config: UNetConfig, values: ParamValues | { seed: number }, source = 'initial weights') {
    this.arch = buildArchitecture(config);
    const v = values instanceof Map ? values : initialParamValues(this.arch, values.seed);
    checkParamValues(this.arch, v, source);
    for (const p of this.arch.params)
      this.params.set(
        p.name,
        tf.tidy(() => tf.variable(tf.tensor(v.get(p.name)!, p.shape, 'float32'), true)),
      );
  }

  get config(): UNetConfig {
    return this.arch.config;
  }

  /** The "no label" class index (classifier-free guidance's unconditional input). */
  get noLabel(): number {
    return this.arch.config.numClasses;
  }

  /** v(x, t, y) with these weights, or with `weights` (e.g. the EMA's) of the same names. */
  velocity(x: tf.Tensor4D, t: tf.Tensor1D, y: tf.Tensor1D, options: ForwardOptions = {}, weights?: ParamTensors): tf.Tensor4D {
    return unetForward(this.arch, weights ?? this.params, x, t, y, options);
  }

  async values(weights: ParamTensors = this.params): Promise<ParamValues> {
    const out: ParamValues = new Map();
    for (const p of this.arch.params) out.set(p.name, (await weights.get(p.name)!.data()) as Float32Array);
    return out;
  }

  setValues(values: ParamValues): void {
    checkParamValues(this.arch, values, 'weights');
    for (const p of this.arch.params) tf.tidy(() => this.params.get(p.name)!.assign(tf.tensor(values.get(p.name)!, p.shape, 'float32')));
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}
