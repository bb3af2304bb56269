export function encodeParquet(ipc: Uint8Array, rowGroupRows: number, timeColumn: string): Uint8Array;
