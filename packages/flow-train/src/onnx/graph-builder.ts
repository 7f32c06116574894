/**
 * A small builder of ONNX graphs: constants and parameters become initializers, each node
 * gets a fresh output name, and `encodeModel` writes the ModelProto with protobufjs.
 */
import { ATTR_FLOAT, ATTR_INT, ATTR_INTS, ATTR_STRING, modelProtoType, ONNX_FLOAT, ONNX_INT64 } from './schema.js';

export type Attribute = number | number[] | { float: number } | { string: string };

interface TensorMessage {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

export interface ValueInfo {
  name: string;
  elemType: number;
  /** A number, or a symbolic name for a dynamic dimension. */
  dims: (number | string)[];
  doc?: string;
}

const bytesOf = (a: Float32Array | BigInt64Array) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

export class GraphBuilder {
  private readonly nodes: object[] = [];
  private readonly initializers: TensorMessage[] = [];
  private readonly constants = new Map<string, string>();
  private counter = 0;

  /** A float32 initializer named `name` (e.g. a PyTorch parameter name). */
  initializer(name: string, data: Float32Array, dims: number[]): string {
    this.initializers.push({ name, dims, dataType: ONNX_FLOAT, rawData: bytesOf(data) });
    return name;
  }

  /** An int64 constant (shapes, axes, split sizes), shared between the nodes that use it. */
  int64s(values: readonly number[]): string {
    const key = `i64:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = `const_i64_${this.constants.size}`;
      this.initializers.push({ name, dims: [values.length], dataType: ONNX_INT64, rawData: bytesOf(BigInt64Array.from(values, BigInt)) });
      this.constants.set(key, name);
    }
    return name;
  }

  /** A float32 constant of the given shape, shared when equal. */
  floats(values: Float32Array, dims: number[]): string {
    const key = `f32:${dims.join('x')}:${Array.from(values).join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = `const_f32_${this.constants.size}`;
      this.initializer(name, values, dims);
      this.constants.set(key, name);
    }
    return name;
  }

  scalar(value: number): string {
    return this.floats(Float32Array.of(value), []);
  }

  /** Adds a node; returns its outputs' names (`outputs` of them, default one). */
  nodeN(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputs = 1, outputNames?: string[]): string[] {
    const id = this.counter++;
    const out = outputNames ?? Array.from({ length: outputs }, (_, k) => `${opType.toLowerCase()}_${id}${outputs > 1 ? `_${k}` : ''}`);
    const attribute = Object.entries(attributes).map(([name, v]) => {
      if (Array.isArray(v)) return { name, type: ATTR_INTS, ints: v };
      if (typeof v === 'object' && 'string' in v) return { name, type: ATTR_STRING, s: new TextEncoder().encode(v.string) };
      if (typeof v === 'object') return { name, type: ATTR_FLOAT, f: v.float };
      return { name, type: ATTR_INT, i: v };
    });
    this.nodes.push({ opType, input: inputs, output: out, name: `${opType}_${id}`, attribute });
    return out;
  }

  node(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputName?: string): string {
    return this.nodeN(opType, inputs, attributes, 1, outputName ? [outputName] : undefined)[0];
  }

  /** The serialized ModelProto. */
  encodeModel(options: {
    name: string;
    inputs: ValueInfo[];
    outputs: ValueInfo[];
    opset: number;
    producer: string;
    producerVersion: string;
    doc: string;
    metadata: Record<string, string>;
  }): Uint8Array {
    const valueInfo = (v: ValueInfo) => ({
      name: v.name,
      docString: v.doc ?? '',
      type: { tensorType: { elemType: v.elemType, shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
    });
    const type = modelProtoType();
    const message = type.fromObject({
      irVersion: 8,
      opsetImport: [{ domain: '', version: options.opset }],
      producerName: options.producer,
      producerVersion: options.producerVersion,
      docString: options.doc,
      graph: {
        name: options.name,
        node: this.nodes,
        initializer: this.initializers,
        input: options.inputs.map(valueInfo),
        output: options.outputs.map(valueInfo),
      },
      metadataProps: Object.entries(options.metadata).map(([key, value]) => ({ key, value })),
    });
    return type.encode(message).finish();
  }
}
