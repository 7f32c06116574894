/**
 * Record layouts of the ZIP format (PKWARE APPNOTE 6.3.x) shared by the reader and the
 * writer: signatures, fixed sizes, the ZIP64 sentinels and field offsets. Kept in one
 * place so the two sides cannot drift apart.
 */

export const SIG_LOCAL = 0x04034b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_ZIP64_EOCD = 0x06064b50;
export const SIG_ZIP64_LOCATOR = 0x07064b50;

export const LOCAL_SIZE = 30;
export const CENTRAL_SIZE = 46;
export const EOCD_SIZE = 22;
export const ZIP64_EOCD_SIZE = 56;
export const ZIP64_LOCATOR_SIZE = 20;
/** The EOCD's trailing comment is at most this long, which bounds the backwards search. */
export const MAX_COMMENT = 0xffff;

/** A 16/32-bit field holding these values means "see the ZIP64 record or extra field". */
export const U16_SENTINEL = 0xffff;
export const U32_SENTINEL = 0xffffffff;

export const EXTRA_ZIP64 = 0x0001;
/**
 * Extra field id the writer uses for space reserved in a streamed entry's local header
 * that turned out not to be needed for ZIP64 sizes. Unknown ids are skipped by every
 * reader (the format requires it); "MM" marks it as ours.
 */
export const EXTRA_PADDING = 0x4d4d;

export const FLAG_ENCRYPTED = 0x0001;
export const FLAG_DATA_DESCRIPTOR = 0x0008;
export const FLAG_UTF8 = 0x0800;

export const METHOD_STORED = 0;
export const METHOD_DEFLATE = 8;

/** "version needed to extract": 2.0 for deflate and folders, 4.5 for ZIP64. */
export const VERSION_DEFAULT = 20;
export const VERSION_ZIP64 = 45;
/** "version made by": upper byte 3 = Unix (so external attributes are Unix modes). */
export const MADE_BY_UNIX = 3 << 8;

/**
 * MS-DOS date and time of 1980-01-01 00:00, the earliest representable. Written for every
 * entry so that identical contents give byte-identical archives (NumPy's savez does the same).
 */
export const DOS_TIME_EPOCH = 0;
export const DOS_DATE_EPOCH = (0 << 9) | (1 << 5) | 1;
