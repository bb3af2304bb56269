/** Interning of byte strings: dictionary building and distinct-string ranking without JS strings. */
import { Utf8, type Data } from 'apache-arrow';
import { newData } from './column-data.js';
import { bytesEqual } from './utf8.js';

/** Open-addressing hash set of byte strings, assigning ids in first-seen order. */
export class ByteInterner {
  bytes = new Uint8Array(1024);
  byteLength = 0;
  offsets = new Int32Array(257);
  count = 0;
  private hashes = new Int32Array(256);
  private table = new Int32Array(512).fill(-1);
  private mask = 511;

  intern(src: Uint8Array, s: number, e: number): number {
    let h = 0x811c9dc5 | 0;
    for (let k = s; k < e; k++) h = Math.imul(h ^ src[k]!, 0x01000193);
    let slot = h & this.mask;
    for (;;) {
      const id = this.table[slot]!;
      if (id === -1) break;
      if (this.hashes[id] === h && bytesEqual(this.bytes, this.offsets[id]!, this.offsets[id + 1]!, src, s, e)) return id;
      slot = (slot + 1) & this.mask;
    }
    const id = this.count;
    if (id + 1 >= this.hashes.length) this.growEntries();
    const len = e - s;
    if (this.byteLength + len > this.bytes.length) {
      const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.byteLength + len));
      bigger.set(this.bytes.subarray(0, this.byteLength));
      this.bytes = bigger;
    }
    this.bytes.set(src.subarray(s, e), this.byteLength);
    this.byteLength += len;
    this.offsets[id + 1] = this.byteLength;
    this.hashes[id] = h;
    this.table[slot] = id;
    this.count = id + 1;
    if (this.count * 2 > this.mask) this.rehash();
    return id;
  }

  toData(): Data {
    return newData(
      new Utf8(),
      this.count,
      0,
      undefined,
      this.bytes.slice(0, this.byteLength),
      this.offsets.slice(0, this.count + 1),
    );
  }

  private growEntries(): void {
    const offsets = new Int32Array(this.offsets.length * 2);
    offsets.set(this.offsets);
    this.offsets = offsets;
    const hashes = new Int32Array(this.hashes.length * 2);
    hashes.set(this.hashes);
    this.hashes = hashes;
  }

  private rehash(): void {
    const size = (this.mask + 1) * 2;
    this.mask = size - 1;
    this.table = new Int32Array(size).fill(-1);
    for (let id = 0; id < this.count; id++) {
      let slot = this.hashes[id]! & this.mask;
      while (this.table[slot] !== -1) slot = (slot + 1) & this.mask;
      this.table[slot] = id;
    }
  }
}
