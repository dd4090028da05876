/**
 * Columnar wire format for order batches sent to scorer workers, with field projection.
 *
 * Instead of structured-cloning one object graph per order, the host packs a batch into a few
 * columns (strings in one array per field, numbers in transferred typed arrays). Only the fields
 * the scorer has been seen to read are sent (`fields`, a bit set of {@linkcode FIELD}): a scorer
 * that reads `order.total` costs one `Float64Array`, not six strings and an item list per order.
 *
 * The worker rebuilds frozen {@linkcode OrderData} values. When some fields were left out, each
 * order is a frozen, read-only `Proxy` whose handler (one small object per order) reads the
 * sent fields from the batch's own columns and records every access to a field that was not
 * sent (reads, `in`, and enumeration such as `Object.keys`, spread or `JSON.stringify`, or a
 * property descriptor, which count as reading every field). A batch that touched a missing field
 * is not answered: the worker asks for those fields and the host sends the batch again with them
 * (and keeps sending them). The scorer therefore never sees a wrong value; the price is one
 * re-run of the batch each time it first reads another field. An order kept past its batch
 * keeps its sent fields (the columns are the batch's own copies) and throws on the others.
 *
 * Packing reads fields through the public interface, so it works for `Order` instances and plain
 * objects alike (and never calls `toJSON`).
 *
 * @module
 */
import type { OrderData, OrderItem } from "../../core/order.ts";

/** Bit of each {@linkcode OrderData} field in a batch's `fields` set. */
export const FIELD: Readonly<Record<keyof OrderData, number>> = Object.freeze({
  orderId: 1,
  customerId: 2,
  channel: 4,
  items: 8,
  total: 16,
  currency: 32,
  createdAt: 64,
  producedAt: 128,
});

/** Every field: a batch with these fields holds complete orders. */
export const ALL_FIELDS = 255;

type StringField = "orderId" | "customerId" | "channel" | "currency" | "createdAt" | "producedAt";
const STRING_FIELDS: readonly StringField[] = [
  "orderId",
  "customerId",
  "channel",
  "currency",
  "createdAt",
  "producedAt",
];

/** One batch of orders in columnar form; a column is present only when its field was sent. */
export interface OrderBatch {
  readonly count: number;
  /** Fields sent, a bit set of {@linkcode FIELD}. */
  readonly fields: number;
  /** One array per sent string field; `producedAt` is `""` where absent. */
  readonly strings: Readonly<Partial<Record<StringField, readonly string[]>>>;
  readonly totals?: Float64Array;
  /** Items: `itemStart` has `count + 1` offsets into the item columns. */
  readonly itemStart?: Uint32Array;
  readonly skus?: readonly string[];
  readonly quantities?: Float64Array;
  readonly unitPrices?: Float64Array;
}

/**
 * Packs the `fields` of orders into an {@linkcode OrderBatch}; pass {@linkcode batchTransfer}
 * as the transfer list to `postMessage` to move the numeric columns instead of copying them.
 *
 * @example
 * ```ts
 * import { ALL_FIELDS, FIELD, packOrders, unpackOrders } from "./wire.ts";
 * import assert from "node:assert/strict";
 *
 * const order = {
 *   orderId: "o1", customerId: "c1", channel: "web", total: 21, currency: "USD",
 *   items: [{ sku: "A", quantity: 2, unitPrice: 10.5 }], createdAt: "2026-11-26T20:00:00.000Z",
 * };
 * assert.deepEqual(unpackOrders(packOrders([order], ALL_FIELDS)).orders, [order]);
 *
 * // Only `total` sent: reading it is fine, reading `orderId` is recorded as missing.
 * const { orders, missing } = unpackOrders(packOrders([order], FIELD.total));
 * assert.equal(orders[0]?.total, 21);
 * assert.equal(missing(), 0);
 * assert.equal(orders[0]?.orderId, undefined);
 * assert.equal(missing(), FIELD.orderId);
 * ```
 */
export function packOrders(orders: readonly OrderData[], fields: number): OrderBatch {
  const count = orders.length;
  const strings: Partial<Record<StringField, string[]>> = {};
  for (const field of STRING_FIELDS) {
    if ((fields & FIELD[field]) === 0) continue;
    const column: string[] = new Array(count);
    if (field === "producedAt") {
      for (let i = 0; i < count; i++) column[i] = orders[i]!.producedAt ?? "";
    } else {
      for (let i = 0; i < count; i++) column[i] = orders[i]![field];
    }
    strings[field] = column;
  }
  let totals: Float64Array | undefined;
  if ((fields & FIELD.total) !== 0) {
    totals = new Float64Array(count);
    for (let i = 0; i < count; i++) totals[i] = orders[i]!.total;
  }
  if ((fields & FIELD.items) === 0) {
    return totals === undefined ? { count, fields, strings } : { count, fields, strings, totals };
  }
  const itemStart = new Uint32Array(count + 1);
  let itemCount = 0;
  for (let i = 0; i < count; i++) itemCount += orders[i]!.items.length;
  const skus: string[] = new Array(itemCount);
  const quantities = new Float64Array(itemCount);
  const unitPrices = new Float64Array(itemCount);
  let item = 0;
  for (let i = 0; i < count; i++) {
    itemStart[i] = item;
    for (const it of orders[i]!.items) {
      skus[item] = it.sku;
      quantities[item] = it.quantity;
      unitPrices[item] = it.unitPrice;
      item++;
    }
  }
  itemStart[count] = item;
  const withItems = { count, fields, strings, itemStart, skus, quantities, unitPrices };
  return totals === undefined ? withItems : { ...withItems, totals };
}

/** The transferable buffers of a batch (the numeric columns). */
export function batchTransfer(batch: OrderBatch): Transferable[] {
  const buffers: Transferable[] = [];
  for (const column of [batch.totals, batch.itemStart, batch.quantities, batch.unitPrices]) {
    if (column !== undefined) buffers.push(column.buffer as ArrayBuffer);
  }
  return buffers;
}

/** Orders rebuilt from a batch, and the fields the scorer asked for that were not sent. */
export interface UnpackedBatch {
  readonly orders: readonly OrderData[];
  /** Bit set of fields read (or enumerated) so far that the batch does not hold; 0 when none. */
  readonly missing: () => number;
  /**
   * Ends the batch: from now on, reading a field that was not sent from one of its orders
   * throws a TypeError instead of being recorded (a scorer that kept an order and reads it while
   * scoring a later batch must not get `undefined` for a field that order does have).
   */
  readonly end: () => void;
}

const FIELD_BITS: ReadonlyMap<PropertyKey, number> = new Map(Object.entries(FIELD));

function items(batch: OrderBatch, i: number): readonly OrderItem[] {
  const { itemStart, skus, quantities, unitPrices } = batch;
  const out: OrderItem[] = [];
  for (let j = itemStart![i]!; j < itemStart![i + 1]!; j++) {
    out.push(
      Object.freeze({ sku: skus![j]!, quantity: quantities![j]!, unitPrice: unitPrices![j]! }),
    );
  }
  return Object.freeze(out);
}

/**
 * What the orders of one partial batch share: the columns (copies owned by this batch, never
 * reused, so an order keeps its values after its batch), the fields sent, and what was missed.
 */
class PartialBatch {
  readonly batch: OrderBatch;
  readonly sent: number;
  missing = 0;
  ended = false;
  constructor(batch: OrderBatch) {
    this.batch = batch;
    this.sent = batch.fields;
  }
  /** Records a read of fields that were not sent; after the batch ended, throws instead. */
  miss(bits: number, what: PropertyKey): undefined {
    if (this.ended) {
      throw new TypeError(
        `Cannot read order.${String(what)}: this order's batch is over and the field was not ` +
          "sent with it (a scorer must not keep orders between calls)",
      );
    }
    this.missing |= bits;
    return undefined;
  }
}

/** Every order of a partial batch is a proxy of this one frozen, empty object. */
const NO_FIELDS: object = Object.freeze({});

/**
 * The proxy handler of one order of a partial batch: one small object per order (no per-order
 * copy of the fields, no `Object.freeze` per order). Reads of sent fields come from the batch's
 * columns; reads and `in` of fields that were not sent are recorded; enumeration (`ownKeys`) and
 * property descriptors count as reading every field, so the batch is run again with complete
 * orders and such a scorer never sees a partial order's key list. The target is frozen and
 * empty, so the proxy is frozen too: writes, `defineProperty` and `delete` fail as on a frozen
 * order.
 */
class PartialOrder implements ProxyHandler<object> {
  readonly #b: PartialBatch;
  readonly #i: number;
  #items: readonly OrderItem[] | undefined;
  constructor(b: PartialBatch, i: number) {
    this.#b = b;
    this.#i = i;
  }
  get(target: object, key: PropertyKey, receiver: unknown): unknown {
    const b = this.#b;
    const { batch } = b;
    if (key === "total") {
      return batch.totals === undefined ? b.miss(FIELD.total, key) : batch.totals[this.#i];
    }
    const bit = FIELD_BITS.get(key);
    if (bit === undefined) return Reflect.get(target, key, receiver);
    if ((b.sent & bit) === 0) return b.miss(bit, key);
    if (key === "items") return this.#items ??= items(batch, this.#i);
    const value = batch.strings[key as StringField]![this.#i]!;
    return key === "producedAt" && value === "" ? undefined : value;
  }
  has(target: object, key: PropertyKey): boolean {
    const b = this.#b;
    const bit = FIELD_BITS.get(key);
    if (bit === undefined) return Reflect.has(target, key);
    if ((b.sent & bit) === 0) return b.miss(bit, key) ?? false;
    return key !== "producedAt" || b.batch.strings.producedAt![this.#i] !== "";
  }
  ownKeys(): ArrayLike<string | symbol> {
    const b = this.#b;
    b.miss(ALL_FIELDS & ~b.sent, "keys");
    return [];
  }
  /** Writes fail (a TypeError in strict code) without touching the batch. */
  set(): boolean {
    return false;
  }
  defineProperty(): boolean {
    return false;
  }
  deleteProperty(): boolean {
    return false;
  }
  getOwnPropertyDescriptor(_target: object, key: PropertyKey): undefined {
    const b = this.#b;
    b.miss(ALL_FIELDS & ~b.sent, key);
    return undefined;
  }
}

/**
 * Rebuilds {@linkcode OrderData} values from a batch: plain frozen orders when every field was
 * sent, else a read-only guarding proxy per order (see `PartialOrder` in this file).
 */
export function unpackOrders(batch: OrderBatch): UnpackedBatch {
  const out: OrderData[] = new Array(batch.count);
  const { strings, totals } = batch;
  if (batch.fields === ALL_FIELDS) {
    const { orderId, customerId, channel, currency, createdAt, producedAt } = strings;
    for (let i = 0; i < batch.count; i++) {
      const base = {
        orderId: orderId![i]!,
        customerId: customerId![i]!,
        channel: channel![i]!,
        items: items(batch, i),
        total: totals![i]!,
        currency: currency![i]!,
        createdAt: createdAt![i]!,
      };
      const produced = producedAt![i]!;
      out[i] = Object.freeze(produced === "" ? base : { ...base, producedAt: produced });
    }
    return { orders: out, missing: () => 0, end: () => {} };
  }
  const partial = new PartialBatch(batch);
  for (let i = 0; i < batch.count; i++) {
    out[i] = new Proxy(NO_FIELDS, new PartialOrder(partial, i)) as OrderData;
  }
  return {
    orders: out,
    missing: () => partial.missing,
    end: () => {
      partial.ended = true;
    },
  };
}

// --- Shared-memory slots -----------------------------------------------------------------------

/**
 * Batches in flight per worker: each uses its own shared slot buffer, slot `seq & (SLOTS - 1)`.
 * A power of two.
 */
export const SLOTS = 8;
/** A slot buffer grows as needed up to this size; a batch that needs more fails. */
export const SLOT_MAX_BYTES: number = 64 * 1024 * 1024;
const SLOT_INITIAL_BYTES = 64 * 1024;
const HEADER_INTS = 16;
const HEADER_BYTES = HEADER_INTS * 4;

/** Index of each header word of a slot (`Int32Array` over its first 64 bytes). */
const H = {
  count: 0,
  fields: 1,
  /** {@linkcode SLOT_STATUS}, set by the worker before it completes the batch. */
  status: 2,
  itemCount: 3,
  strEntries: 4,
  totals: 5,
  quantities: 6,
  unitPrices: 7,
  scores: 8,
  itemStart: 9,
  strOffsets: 10,
  chars: 11,
} as const;

/** A slot header as the host writes it: counts and the byte offset of each region. */
type SlotHeader = Readonly<Record<Exclude<keyof typeof H, "status">, number>>;

/** Writes a batch's header into its slot, status pending (once per batch, not per order). */
function writeHeader(slot: SharedArrayBuffer, header: SlotHeader): void {
  const words = new Int32Array(slot, 0, HEADER_INTS);
  for (const [name, value] of Object.entries(header)) words[H[name as keyof SlotHeader]] = value;
  words[H.status] = SLOT_STATUS.pending;
}

/** What the worker left in a completed slot. */
export const SLOT_STATUS = Object.freeze({
  /** Written by the host: not scored yet. */
  pending: 0,
  /** Every order scored cleanly; the scores are in the slot. */
  scored: 1,
  /** The worker sent its reply (failures, or a request for more fields) as a message. */
  message: 2,
});

/**
 * Control words shared by the host and one worker (`Int32Array` over a `SharedArrayBuffer`):
 * the host stores the last batch number it submitted, the worker the last one it completed
 * (numbers wrap around as int32; compare them with `((a - b) | 0)`). Each side sets its
 * `…Waiting` word before it waits (on the value it last saw) and clears it after; the other
 * side, after storing its counter, clears that word with `compareExchange(1 → 0)` and calls
 * `Atomics.notify` only when it was set, so a sleeper is notified once however many batches
 * arrive before it wakes (a wake-up costs a system call). Sequentially consistent operations on
 * both sides mean no wake-up is lost: a counter stored before the sleeper's wait makes the wait
 * return at once.
 */
export const CTL = Object.freeze({
  submitted: 0,
  completed: 1,
  workerWaiting: 2,
  hostWaiting: 3,
  size: 4,
});

/** A new growable shared slot buffer. */
export function createSlot(): SharedArrayBuffer {
  return new SharedArrayBuffer(SLOT_INITIAL_BYTES, { maxByteLength: SLOT_MAX_BYTES });
}

/** The slot buffer of batch number `seq`. */
export function slotOf(slots: readonly SharedArrayBuffer[], seq: number): SharedArrayBuffer {
  return slots[seq & (SLOTS - 1)]!;
}

const align8 = (n: number) => (n + 7) & ~7;

function writeChars(chars: Uint16Array, at: number, s: string): number {
  for (let k = 0; k < s.length; k++) chars[at + k] = s.charCodeAt(k);
  return at + s.length;
}

/**
 * Writes the `fields` of orders into a slot buffer (growing it when needed), in the layout
 * {@linkcode readBatch} reads. Strings are stored as UTF-16 code units, so any string survives.
 * With `indices`, the batch is `source[indices[0]]`, `source[indices[1]]`, … (no copy of the
 * orders needed). Throws RangeError when the batch needs more than {@linkcode SLOT_MAX_BYTES}.
 *
 * @example
 * ```ts
 * import { ALL_FIELDS, createSlot, readBatch, unpackOrders, writeBatch } from "./wire.ts";
 * import assert from "node:assert/strict";
 *
 * const order = {
 *   orderId: "o1", customerId: "c1", channel: "web", total: 21, currency: "USD",
 *   items: [{ sku: "Ä", quantity: 2, unitPrice: 10.5 }], createdAt: "2026-11-26T20:00:00.000Z",
 *   producedAt: "2026-11-26T20:00:00.010Z",
 * };
 * const slot = createSlot();
 * writeBatch(slot, [order], ALL_FIELDS);
 * assert.deepEqual(unpackOrders(readBatch(slot)).orders, [order]);
 * ```
 */
export function writeBatch(
  slot: SharedArrayBuffer,
  source: readonly OrderData[],
  fields: number,
  indices?: readonly number[],
): void {
  if (fields === 0 || fields === FIELD.total) {
    writeTotalsOnly(slot, source, fields, indices);
    return;
  }
  const orders = indices === undefined ? source : indices.map((i) => source[i]!);
  const count = orders.length;
  const strFields = STRING_FIELDS.filter((f) => (fields & FIELD[f]) !== 0);
  const withItems = (fields & FIELD.items) !== 0;
  const withTotals = (fields & FIELD.total) !== 0;
  let itemCount = 0;
  let charCount = 0;
  if (withItems || strFields.length > 0) {
    for (let i = 0; i < count; i++) {
      const order = orders[i]!;
      for (const f of strFields) {
        charCount += (f === "producedAt" ? order.producedAt ?? "" : order[f]).length;
      }
      if (withItems) {
        itemCount += order.items.length;
        for (const it of order.items) charCount += it.sku.length;
      }
    }
  }
  const strEntries = strFields.length * count + (withItems ? itemCount : 0);
  let at = HEADER_BYTES;
  const totalsAt = at;
  if (withTotals) at += 8 * count;
  const quantitiesAt = at;
  if (withItems) at += 8 * itemCount;
  const unitPricesAt = at;
  if (withItems) at += 8 * itemCount;
  const scoresAt = at;
  at += 8 * count;
  const itemStartAt = at;
  if (withItems) at += 4 * (count + 1);
  const strOffsetsAt = at;
  at += 4 * (strEntries + 1);
  const charsAt = at;
  at = align8(at + 2 * charCount);
  if (at > slot.byteLength) growSlot(slot, at, count);
  writeHeader(slot, {
    count,
    fields,
    itemCount,
    strEntries,
    totals: totalsAt,
    quantities: quantitiesAt,
    unitPrices: unitPricesAt,
    scores: scoresAt,
    itemStart: itemStartAt,
    strOffsets: strOffsetsAt,
    chars: charsAt,
  });
  if (withTotals) {
    const totals = new Float64Array(slot, totalsAt, count);
    for (let i = 0; i < count; i++) totals[i] = orders[i]!.total;
  }
  if (strEntries === 0) return;
  const offsets = new Uint32Array(slot, strOffsetsAt, strEntries + 1);
  const chars = new Uint16Array(slot, charsAt, charCount);
  let e = 0;
  let c = 0;
  for (const f of strFields) {
    for (let i = 0; i < count; i++) {
      const order = orders[i]!;
      offsets[e++] = c;
      c = writeChars(chars, c, f === "producedAt" ? order.producedAt ?? "" : order[f]);
    }
  }
  if (withItems) {
    const quantities = new Float64Array(slot, quantitiesAt, itemCount);
    const unitPrices = new Float64Array(slot, unitPricesAt, itemCount);
    const itemStart = new Uint32Array(slot, itemStartAt, count + 1);
    let item = 0;
    for (let i = 0; i < count; i++) {
      itemStart[i] = item;
      for (const it of orders[i]!.items) {
        quantities[item] = it.quantity;
        unitPrices[item] = it.unitPrice;
        offsets[e++] = c;
        c = writeChars(chars, c, it.sku);
        item++;
      }
    }
    itemStart[count] = item;
  }
  offsets[e] = c;
}

/**
 * The common case, written without the general layout's string and item bookkeeping: no field at
 * all, or only `total` (the shipped scorers).
 */
function writeTotalsOnly(
  slot: SharedArrayBuffer,
  orders: readonly OrderData[],
  fields: number,
  indices: readonly number[] | undefined,
): void {
  const count = indices === undefined ? orders.length : indices.length;
  const totalsAt = HEADER_BYTES;
  const scoresAt = totalsAt + (fields === 0 ? 0 : 8 * count);
  const strOffsetsAt = scoresAt + 8 * count;
  const end = align8(strOffsetsAt + 4);
  if (end > slot.byteLength) growSlot(slot, end, count);
  writeHeader(slot, {
    count,
    fields,
    itemCount: 0,
    strEntries: 0,
    totals: totalsAt,
    quantities: scoresAt,
    unitPrices: scoresAt,
    scores: scoresAt,
    itemStart: strOffsetsAt,
    strOffsets: strOffsetsAt,
    chars: end,
  });
  if (fields === 0) return;
  const totals = new Float64Array(slot, totalsAt, count);
  if (indices === undefined) {
    for (let i = 0; i < count; i++) totals[i] = orders[i]!.total;
  } else {
    for (let i = 0; i < count; i++) totals[i] = orders[indices[i]!]!.total;
  }
}

function growSlot(slot: SharedArrayBuffer, bytes: number, count: number): void {
  if (bytes > SLOT_MAX_BYTES) {
    throw new RangeError(
      `Cannot send a batch of ${count} orders to a scorer: it needs ${bytes} bytes, the limit is ` +
        `${SLOT_MAX_BYTES}`,
    );
  }
  let size = slot.byteLength;
  while (size < bytes) size *= 2;
  slot.grow(Math.min(size, SLOT_MAX_BYTES));
}

const UTF16 = new TextDecoder("utf-16le", { ignoreBOM: true });
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Decodes code units exactly (lone surrogates included), in chunks `apply` can take. */
function readString(chars: Uint16Array, from: number, to: number): string {
  if (to - from <= 4096) {
    return String.fromCharCode.apply(null, chars.subarray(from, to) as unknown as number[]);
  }
  let out = "";
  for (let k = from; k < to; k += 4096) out += readString(chars, k, Math.min(k + 4096, to));
  return out;
}

/**
 * Reads `n` strings starting at entry `e`: one native decode of the column's code units, then
 * substrings. `TextDecoder` turns lone surrogates into U+FFFD, so a column containing U+FFFD
 * after decoding is decoded again exactly.
 */
function readColumn(chars: Uint16Array, offsets: Uint32Array, e: number, n: number): string[] {
  const out: string[] = new Array(n);
  const base = offsets[e]!;
  const end = offsets[e + n]!;
  let text = LITTLE_ENDIAN ? UTF16.decode(chars.slice(base, end)) : "\uFFFD";
  if (text.includes("\uFFFD")) text = readString(chars, base, end);
  for (let i = 0; i < n; i++) {
    out[i] = text.slice(offsets[e + i]! - base, offsets[e + i + 1]! - base);
  }
  return out;
}

/** Reads the batch a host wrote into a slot buffer (copies: the slot is reused). */
export function readBatch(slot: SharedArrayBuffer): OrderBatch {
  const header = new Int32Array(slot, 0, HEADER_INTS);
  const count = header[H.count]!;
  const fields = header[H.fields]!;
  const itemCount = header[H.itemCount]!;
  const strEntries = header[H.strEntries]!;
  const strings: Partial<Record<StringField, string[]>> = {};
  const offsets = new Uint32Array(slot, header[H.strOffsets]!, strEntries + 1);
  const chars = new Uint16Array(
    slot,
    header[H.chars]!,
    strEntries === 0 ? 0 : offsets[strEntries]!,
  );
  let e = 0;
  for (const f of STRING_FIELDS) {
    if ((fields & FIELD[f]) === 0) continue;
    strings[f] = readColumn(chars, offsets, e, count);
    e += count;
  }
  const batch: { -readonly [K in keyof OrderBatch]: OrderBatch[K] } = { count, fields, strings };
  if ((fields & FIELD.total) !== 0) {
    batch.totals = new Float64Array(slot, header[H.totals]!, count).slice();
  }
  if ((fields & FIELD.items) !== 0) {
    batch.itemStart = new Uint32Array(slot, header[H.itemStart]!, count + 1).slice();
    batch.quantities = new Float64Array(slot, header[H.quantities]!, itemCount).slice();
    batch.unitPrices = new Float64Array(slot, header[H.unitPrices]!, itemCount).slice();
    batch.skus = readColumn(chars, offsets, e, itemCount);
  }
  return batch;
}

/** The scores column of a slot (a view: copy it before the slot is reused). */
export function slotScores(slot: SharedArrayBuffer): Float64Array {
  const header = new Int32Array(slot, 0, HEADER_INTS);
  return new Float64Array(slot, header[H.scores]!, header[H.count]!);
}

/** Sets a slot's {@linkcode SLOT_STATUS} (worker) or reads it (host). */
export function slotStatus(slot: SharedArrayBuffer, status?: number): number {
  const header = new Int32Array(slot, 0, HEADER_INTS);
  if (status !== undefined) header[H.status] = status;
  return header[H.status]!;
}
