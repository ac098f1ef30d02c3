// A profile's state written out between segments of one file (see Profiler.snapshot): plain JSON, with what JSON cannot
// hold exactly (±Infinity, NaN, -0, bytes) encoded, so that a state restored goes on exactly as the one that wrote it.

/** A number JSON keeps exactly, or the spelling of one it does not. */
export type Num = number | "Infinity" | "-Infinity" | "NaN" | "-0";

export function num(value: number): Num {
  if (Number.isFinite(value)) return Object.is(value, -0) ? "-0" : value;
  return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
}

export const fromNum = (value: Num): number => (value === "-0" ? -0 : Number(value));

export function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Doubles as their bytes (every value exact, -0 and NaN included). */
export const float64sToBase64 = (values: readonly number[]) => toBase64(new Uint8Array(Float64Array.from(values).buffer));
export const float64sFromBase64 = (text: string): number[] => Array.from(new Float64Array(fromBase64(text).buffer));
