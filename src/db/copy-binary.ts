/**
 * The binary format of Postgres `COPY ... FROM ... (FORMAT binary)` for rows of numbers:
 * a header, then per row a field count and each field as its length and its value in
 * network byte order, then a trailer. A float travels as its eight bytes, so it arrives
 * exactly, without the cost of writing and parsing its shortest decimal text.
 */

/** The column types `copyBinary` writes. */
export type NumberType = 'int4' | 'int8' | 'float8';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const WIDTH: Record<NumberType, number> = { int4: 4, int8: 8, float8: 8 };
/** Rows go to the server in pieces of about this many bytes. */
const CHUNK = 1 << 16;

/** `rows` (a value per type, null for NULL) as COPY binary, in pieces of about 64 KiB; the header opens the first, the trailer ends the last. */
export function* copyBinary(types: readonly NumberType[], rows: Iterable<readonly (number | null)[]>): Generator<Buffer> {
  const rowBytes = 2 + types.reduce((sum, type) => sum + 4 + WIDTH[type], 0);
  const perChunk = Math.max(1, Math.floor(CHUNK / rowBytes));
  let chunk = Buffer.alloc(SIGNATURE.length + 8 + perChunk * rowBytes);
  SIGNATURE.copy(chunk, 0);
  // Flags (no OIDs) and the header extension's length, both 0.
  let at = SIGNATURE.length + 8;
  let count = 0;
  for (const row of rows) {
    if (row.length !== types.length) throw new Error(`copyBinary: a row of ${row.length} values for ${types.length} columns`);
    chunk.writeInt16BE(types.length, at);
    at += 2;
    for (let i = 0; i < types.length; i++) at = writeField(chunk, at, types[i]!, row[i]!);
    if (++count === perChunk) {
      yield chunk.subarray(0, at);
      chunk = Buffer.alloc(perChunk * rowBytes);
      at = 0;
      count = 0;
    }
  }
  const end = Buffer.alloc(at + 2);
  chunk.copy(end, 0, 0, at);
  end.writeInt16BE(-1, at);
  yield end;
}

function writeField(chunk: Buffer, at: number, type: NumberType, value: number | null): number {
  if (value === null) {
    chunk.writeInt32BE(-1, at);
    return at + 4;
  }
  chunk.writeInt32BE(WIDTH[type], at);
  if (type === 'float8') chunk.writeDoubleBE(value, at + 4);
  else if (type === 'int4') chunk.writeInt32BE(value, at + 4);
  else chunk.writeBigInt64BE(BigInt(value), at + 4);
  return at + 4 + WIDTH[type];
}
