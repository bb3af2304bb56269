/** The path of an up-to-date esbuild bundle of a TypeScript entry point (see entry-bundle.mjs). */
export declare function bundledEntry(entry: string): Promise<string>;
