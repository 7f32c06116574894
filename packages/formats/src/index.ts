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
  imageSourceKind,
  readImageRgb,
  readImageRgbSync,
  toChannelFirst,
  writePng,
  writePngSync,
  type ImageFormat,
  type ImageSourceKind,
  type RgbImage,
} from './image.js';
export { isUnicodeArray, parseNpyAny, type NpyAnyArray, type NpyUnicodeArray, type NpyUnicodeDtype, type NpyUnicodeInput } from './npy.js';
export {
  crc32,
  MAX_ENTRY_SIZE,
  readZip,
  ZipWriter,
  type ZipArchive,
  type ZipEntry,
  type ZipEntryOptions,
  type ZipEntryWriter,
  type ZipWriterOptions,
} from './zip.js';
export { ZipFile } from './zip-file.js';
export { EntryCrcCheck, NpzFile, type NpzArrayInfo } from './npz-file.js';
export { NpzWriter, parseNpz, readNpz, readNpzSync, writeNpz, type NpzArrayWriter, type NpzWriteOptions } from './npz.js';
export {
  isPyTuple,
  pyAttributes,
  PyGlobal,
  unpickle,
  unpickleAt,
  type PickleContext,
  type PickleGlobal,
  type PickleGlobals,
  type UnpickleOptions,
} from './pickle.js';
export { NUMPY_GLOBALS, NumpyDtype, PYTHON_GLOBALS } from './pickle-globals.js';
export {
  loadTorchCheckpoint,
  readTorchCheckpoint,
  readTorchCheckpointSync,
  requireTorchDtype,
  stateDictTensors,
  TorchTensor,
  type TorchData,
  type TorchDataMap,
  type TorchDtype,
  type TorchLoadOptions,
} from './torch.js';
export {
  bfloat16ToFloat32,
  encodeSafetensors,
  float16ToFloat32,
  float32ToFloat16,
  parseSafetensors,
  readSafetensors,
  SAFETENSORS_MAX_HEADER_SIZE,
  writeSafetensors,
  type SafetensorsContents,
  type SafetensorsData,
  type SafetensorsDataMap,
  type SafetensorsDtype,
  type SafetensorsTensor,
} from './safetensors.js';
export { readTar, readTarGz, type TarEntry, type TarReadOptions } from './tar.js';
export {
  CIFAR10_BINARY_DIR,
  CIFAR10_CLASSES,
  CIFAR10_COUNTS,
  CIFAR10_RECORD_BYTES,
  CIFAR10_SIZE,
  cifar10BatchFiles,
  cifar10RecordsToHwc,
  detectCifar10,
  readCifar10,
  type Cifar10Batch,
  type Cifar10Layout,
  type Cifar10Options,
  type Cifar10SourceInfo,
  type Cifar10Split,
} from './cifar10.js';
export { AtomicFile, writeFileAtomic, writeFileAtomicSync } from './atomic.js';
export { hashFile, sha256File } from './file-hash.js';
