/**
 * Audit rows waiting for their batch, held as bytes outside the JavaScript heap. Held as objects, every
 * row of a busy server lived long enough to be promoted to V8's old generation (it waits for its batch,
 * then for the write), where it stayed as garbage until the next full collection: the resident set grew
 * by the audit trail's volume between collections. Bytes in one buffer per batch cost the heap one
 * object per batch, and the batch goes to the SQLite writer thread as one copy of those bytes.
 *
 * A row: `at` as a float64, then each text column as a uint32 byte length (NULL_LENGTH for null) and
 * its UTF-8 bytes, in COLUMNS order. Little-endian throughout.
 */
import type { AuditRow, NewAuditRow } from './audit-repository.js';

const COLUMNS = ['type', 'actor', 'client_id', 'address', 'correlation_id', 'details'] as const;
type TextColumn = (typeof COLUMNS)[number];
const NULL_LENGTH = 0xffffffff;
/** Bytes reserved up front per row: most token rows fit, so a batch rarely grows its buffer. */
const BYTES_PER_ROW = 320;

/** A row as the writer thread binds it: every column but the generated id, nulls spelled out. */
export type AuditRowValues = Omit<AuditRow, 'id'>;

export class PackedAuditRows {
  private buffer: Buffer;
  private end = 0;
  private rowCount = 0;
  /** Byte offset where each row begins, so that the newest rows can be dropped (truncate). */
  private starts: Uint32Array;

  constructor(expectedRows = 16) {
    this.buffer = Buffer.allocUnsafeSlow(Math.max(1, expectedRows) * BYTES_PER_ROW);
    this.starts = new Uint32Array(Math.max(1, expectedRows));
  }

  static of(rows: readonly NewAuditRow[]): PackedAuditRows {
    const packed = new PackedAuditRows(rows.length);
    for (const row of rows) packed.push(row);
    return packed;
  }

  get count(): number {
    return this.rowCount;
  }

  push(row: NewAuditRow): void {
    let need = 8;
    for (const c of COLUMNS) {
      const v = row[c];
      need += 4 + (typeof v === 'string' ? v.length * 3 : 0);
    }
    this.reserve(need);
    if (this.rowCount === this.starts.length) {
      const grown = new Uint32Array(this.starts.length * 2);
      grown.set(this.starts);
      this.starts = grown;
    }
    this.starts[this.rowCount++] = this.end;
    let at = this.buffer.writeDoubleLE(Number(row.at), this.end);
    for (const c of COLUMNS) {
      const v = row[c];
      if (typeof v !== 'string') {
        at = this.buffer.writeUInt32LE(NULL_LENGTH, at);
        continue;
      }
      const n = this.buffer.write(v, at + 4, 'utf8');
      this.buffer.writeUInt32LE(n, at);
      at += 4 + n;
    }
    this.end = at;
  }

  /** Keeps the first `rows` rows and forgets the rest. */
  truncate(rows: number): void {
    if (rows >= this.rowCount) return;
    this.end = this.starts[rows]!;
    this.rowCount = rows;
  }

  /** A copy of the rows' bytes in a buffer of their exact size (it can be transferred to a thread). */
  bytes(): Uint8Array {
    return new Uint8Array(this.buffer.subarray(0, this.end));
  }

  /** The rows as objects again (the PostgreSQL path, tests). */
  rows(): AuditRowValues[] {
    return unpackAuditRows(this.buffer.subarray(0, this.end));
  }

  private reserve(bytes: number): void {
    if (this.end + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.buffer.length * 2, this.end + bytes));
    this.buffer.copy(grown, 0, 0, this.end);
    this.buffer = grown;
  }
}

/** The rows of bytes written by PackedAuditRows. */
export function unpackAuditRows(bytes: Uint8Array): AuditRowValues[] {
  const rows: AuditRowValues[] = [];
  forEachAuditRow(bytes, (row) => rows.push(row));
  return rows;
}

/**
 * Each row of bytes written by PackedAuditRows, in order, one at a time: the writer thread inserts a
 * row and forgets it before it reads the next, so a large batch never sits in its heap as objects.
 */
export function forEachAuditRow(bytes: Uint8Array, visit: (row: AuditRowValues) => void): void {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < buffer.length) {
    const row = { at: buffer.readDoubleLE(at) } as Record<'at', number> & Record<TextColumn, string | null>;
    at += 8;
    for (const c of COLUMNS) {
      const n = buffer.readUInt32LE(at);
      at += 4;
      if (n === NULL_LENGTH) {
        row[c] = null;
        continue;
      }
      row[c] = buffer.toString('utf8', at, at + n);
      at += n;
    }
    // type and details are never null as pushed (NewAuditRow); the table's NOT NULL says so again.
    visit(row as AuditRowValues);
  }
}
