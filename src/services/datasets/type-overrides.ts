// Column type overrides (PATCH /datasets/{id}/schema): a column read as the type its owner chose instead of the inferred one.
// Recorded in the dataset version's parse options, so every reader of the stored bytes (the profile, the store's load, the
// rows preview, downloads) turns a cell into the same value here. A value the chosen type cannot hold becomes null and is
// counted (with a few examples) in the column's profile: an override never refuses a file, so a re-upload that carries
// it forward cannot fail because of it.
import type { ColumnType, OverrideType, TypeOverride } from "../../db/dataset-documents.ts";
import { INTEGER, isNullText, parseInstant, parseNumber, trimAscii } from "./profile/cells.ts";
import { type Cell, Kind } from "./profile/types.ts";

export type { OverrideType, TypeOverride };

export const OVERRIDE_TYPES = ["text", "integer", "number", "boolean", "date", "datetime"] as const satisfies readonly OverrideType[];

/** The profile's (and the store's) type for an override's. */
export const profileType = (type: OverrideType): ColumnType => (type === "text" ? "string" : type === "date" ? "datetime" : type);

/** The profiler's kind for a coerced value (the text of a text column must not be classified again). */
export const kindOf = (type: OverrideType): Kind | undefined => (type === "text" ? Kind.Text : undefined);

/** How many unfit values a column's profile lists. */
const EXAMPLES = 5;
const TOKENS = /YYYY|MM|M|DD|D|HH|H|mm|ss|SSS/g;
const TOKEN_PATTERN: Record<string, string> = {
  YYYY: "(\\d{4})",
  MM: "(\\d{2})",
  M: "(\\d{1,2})",
  DD: "(\\d{2})",
  D: "(\\d{1,2})",
  HH: "(\\d{2})",
  H: "(\\d{1,2})",
  mm: "(\\d{2})",
  ss: "(\\d{2})",
  SSS: "(\\d{3})",
};
const FIELD: Record<string, "year" | "month" | "day" | "hour" | "minute" | "second" | "ms"> = {
  YYYY: "year",
  MM: "month",
  M: "month",
  DD: "day",
  D: "day",
  HH: "hour",
  H: "hour",
  mm: "minute",
  ss: "second",
  SSS: "ms",
};

export interface DateFormat {
  /** Epoch milliseconds (UTC) of text in this format, or null. */
  parse(text: string): number | null;
}

/**
 * A date format of the tokens YYYY, MM/M, DD/D (and for a datetime HH/H, mm, ss, SSS) between literal characters, such as
 * DD/MM/YYYY or YYYY.MM.DD HH:mm. The time is UTC. Throws (with why) for a format that is not one: a letter that is no token,
 * a field twice, or no year, month and day.
 */
export function compileFormat(format: string): DateFormat {
  const fields: string[] = [];
  let pattern = "";
  let at = 0;
  for (const match of format.matchAll(TOKENS)) {
    const literal = format.slice(at, match.index);
    if (/[A-Za-z]/.test(literal)) throw new Error(`"${literal}" is not a date token (use YYYY, MM, M, DD, D, HH, H, mm, ss, SSS)`);
    pattern += literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + TOKEN_PATTERN[match[0]];
    const field = FIELD[match[0]]!;
    if (fields.includes(field)) throw new Error(`the ${field} appears twice`);
    fields.push(field);
    at = match.index + match[0].length;
  }
  const rest = format.slice(at);
  if (/[A-Za-z]/.test(rest)) throw new Error(`"${rest}" is not a date token (use YYYY, MM, M, DD, D, HH, H, mm, ss, SSS)`);
  pattern += rest.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  for (const needed of ["year", "month", "day"]) if (!fields.includes(needed)) throw new Error(`the format has no ${needed}`);
  const regex = new RegExp(`^${pattern}$`);
  return {
    parse(text) {
      const found = regex.exec(text);
      if (!found) return null;
      const value = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0, ms: 0 };
      fields.forEach((field, i) => {
        value[field as keyof typeof value] = Number(found[i + 1]);
      });
      const at = Date.UTC(value.year, value.month - 1, value.day, value.hour, value.minute, value.second, value.ms);
      const back = new Date(at);
      // 31/02/2024 or 25:00 do not round-trip: not a date.
      if (back.getUTCFullYear() !== value.year || back.getUTCMonth() !== value.month - 1 || back.getUTCDate() !== value.day) return null;
      if (back.getUTCHours() !== value.hour || back.getUTCMinutes() !== value.minute || back.getUTCSeconds() !== value.second) return null;
      return at;
    },
  };
}

/** Why an override cannot be used as given (a format on a type without one, a format that is not one), or null. */
export function overrideProblem(override: TypeOverride): string | null {
  if (override.format === undefined) return null;
  if (override.type !== "date" && override.type !== "datetime")
    return `a format applies to date and datetime columns, not ${override.type}`;
  try {
    compileFormat(override.format);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

const BOOLEANS: Record<string, boolean> = { true: true, false: false, yes: true, no: false, t: true, f: false, "1": true, "0": false };

/** One overridden column's reading of cells, with the count (and the first few) of the values that did not fit. */
export class Coercer {
  unfit = 0;
  readonly examples: string[] = [];
  private readonly format: DateFormat | null;
  readonly kind: Kind | undefined;

  constructor(readonly override: TypeOverride) {
    this.format = override.format === undefined ? null : compileFormat(override.format);
    this.kind = kindOf(override.type);
  }

  /** The cell as the override's type: text, a number, a boolean, an ISO date or instant; null for a null or an unfit value. */
  coerce(cell: Cell): Cell {
    if (cell === null || cell === undefined) return null;
    if (typeof cell === "string" && isNullText(cell)) return null;
    const { type } = this.override;
    if (type === "text") return typeof cell === "string" ? cell : typeof cell === "object" ? JSON.stringify(cell) : String(cell);
    const value = this.read(cell, type);
    if (value !== null) return value;
    this.unfit++;
    if (this.examples.length < EXAMPLES) {
      const text = typeof cell === "string" ? cell : JSON.stringify(cell);
      this.examples.push(text.slice(0, 100));
    }
    return null;
  }

  private read(cell: Exclude<Cell, null | undefined>, type: OverrideType): Cell {
    if (typeof cell === "object") return null;
    switch (type) {
      case "integer": {
        const value = typeof cell === "number" ? cell : typeof cell === "string" ? parseNumber(cell) : null;
        if (value === null || !Number.isSafeInteger(value)) return null;
        // "3.0" holds an integer; "3.5" does not.
        return typeof cell === "string" && !INTEGER.test(trimAscii(cell)) && !/^[-+]?\d+\.0*$/.test(trimAscii(cell)) ? null : value;
      }
      case "number":
        return typeof cell === "number" ? cell : typeof cell === "string" ? parseNumber(cell) : null;
      case "boolean":
        return typeof cell === "boolean" ? cell : (BOOLEANS[trimAscii(String(cell)).toLowerCase()] ?? null);
      case "date":
      case "datetime": {
        if (typeof cell !== "string") return null;
        const text = trimAscii(cell);
        const at = this.format ? this.format.parse(text) : parseInstant(text);
        if (at === null) return null;
        const iso = new Date(at).toISOString();
        return type === "date" ? iso.slice(0, 10) : iso;
      }
    }
    return null;
  }

  /** What the column's profile says of the override. */
  summary() {
    return { type: this.override.type, format: this.override.format ?? null, unfit: this.unfit, examples: [...this.examples] };
  }
}

/** One coercer per column of `columns` that an override names (undefined for the others), or null when none does. */
export function coercersFor(columns: readonly string[], overrides: readonly TypeOverride[] | undefined): (Coercer | undefined)[] | null {
  if (!overrides?.length) return null;
  const byName = new Map(overrides.map((override) => [override.column, override]));
  const coercers = columns.map((name) => {
    const override = byName.get(name);
    return override ? new Coercer(override) : undefined;
  });
  return coercers.some(Boolean) ? coercers : null;
}

/** Coerces the overridden cells of `row` in place. */
export function coerceRow(row: Cell[], coercers: readonly (Coercer | undefined)[]): Cell[] {
  for (let i = 0; i < coercers.length; i++) {
    const coercer = coercers[i];
    if (coercer) row[i] = coercer.coerce(row[i]);
  }
  return row;
}

/** `current` with `changes` applied: a column's new override replaces its old one, `auto` removes it; kept in column order of first setting. */
export function mergeOverrides(
  current: readonly TypeOverride[] | undefined,
  changes: readonly (TypeOverride | { column: string; type: "auto" })[],
): TypeOverride[] {
  const merged = new Map((current ?? []).map((override) => [override.column, override]));
  for (const change of changes) {
    if (change.type === "auto") merged.delete(change.column);
    else merged.set(change.column, change as TypeOverride);
  }
  return [...merged.values()];
}
