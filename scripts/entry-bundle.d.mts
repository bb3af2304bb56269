/** The path of an up-to-date esbuild bundle of a TypeScript entry point (see entry-bundle.mjs). */
export declare function bundledEntry(entry: string): Promise<string>;
/** Whether an error of {@link bundledEntry} means the bundle cache cannot be written here. */
export declare function isUnwritableCache(error: unknown): boolean;
/** `node` arguments that run `entry`: its bundle, or the source through tsx where the cache cannot be written. */
export declare function entryArgs(entry: string): Promise<{ args: string[]; bundled: boolean; reason?: string }>;
