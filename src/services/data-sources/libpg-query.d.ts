// Types for the two files of libpg-query we load ourselves: the Emscripten factory and its WebAssembly module.
declare module "libpg-query/wasm/libpg-query.js" {
  interface PgQueryWasm {
    _malloc(size: number): number;
    _free(pointer: number): void;
    _wasm_parse_query_raw(query: number): number;
    _wasm_free_parse_result(result: number): void;
    lengthBytesUTF8(text: string): number;
    stringToUTF8(text: string, pointer: number, size: number): void;
    UTF8ToString(pointer: number): string;
    getValue(pointer: number, type: "i32"): number;
  }
  const factory: (options: {
    instantiateWasm: (imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => void) => object;
  }) => Promise<PgQueryWasm>;
  export default factory;
}

declare module "libpg-query/wasm/libpg-query.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
