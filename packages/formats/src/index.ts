/** @mmmi/formats: the one home of readers/writers for foreign file formats. */
export { FormatError } from './errors.js';
export {
  encodeNpy,
  parseNpy,
  readNpy,
  readNpySync,
  requireDtype,
  writeNpy,
  writeNpySync,
  type NpyArray,
  type NpyData,
  type NpyDataMap,
  type NpyDtype,
  type NpyInput,
} from './npy.js';
export {
  decodeImageRgb,
  detectImageFormat,
  encodePng,
  readImageRgb,
  readImageRgbSync,
  toChannelFirst,
  writePng,
  writePngSync,
  type ImageFormat,
  type RgbImage,
} from './image.js';
