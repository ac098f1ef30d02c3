// The engine's view of a dataset: the profile plus per-column numeric vectors read once from the sample rows.
import type { ChartPlan, Insight } from "../result.ts";
import type { ColumnProfile, Profile } from "../../datasets/profile/types.ts";
import type { ColumnFacts, StoreFacts } from "./store-facts.ts";
import { type Stats, count, describe, toNumber } from "./values.ts";

export interface EngineInput {
  name: string;
  profile: Profile;
  /** Rows to compute from, values as parsed: none when the figures come from the store (`facts`) or the profile alone. */
  rows: Record<string, unknown>[];
  /** Every figure computed in SQL over the whole dataset (its store); without it, from `rows` (or the profile). */
  facts?: StoreFacts;
}

export interface NumericColumn {
  name: string;
  profile: ColumnProfile;
  /** One entry per sample row: the value, or NaN where it is missing or unreadable. */
  cells: Float64Array;
  /** The readable values, ascending. */
  sorted: number[];
  stats: Stats | null;
  /** A running index (1, 2, 3… in row order): no distribution or correlation worth reporting. */
  sequence: boolean;
  /** The store's figures for the column, when the analysis runs over the store. */
  facts?: ColumnFacts;
}

export interface Dataset {
  name: string;
  profile: Profile;
  rows: Record<string, unknown>[];
  /** Whether the rows are the whole dataset (else statistics from them say "in the sample"). */
  complete: boolean;
  numeric: NumericColumn[];
  facts: StoreFacts | null;
}

/** One insight and how strong it is, to order insights of one kind (strongest first). */
export interface Finding {
  insight: Insight;
  strength: number;
}

export interface StepResult {
  findings: Finding[];
  charts: ChartPlan[];
}

/** Bounds that keep one analysis cheap on a 1,000-column file (pairs grow quadratically). */
export const MAX_NUMERIC_COLUMNS = 40;

/** Column names a chart or insight may cite (the schema allows 1–300 characters). */
export const citable = (name: string) => name.length >= 1 && name.length <= 300;
export const cite = (...names: string[]) => [...new Set(names.filter(citable))].slice(0, 10);
/** A column's name for prose: a blank name (a JSON key "") would leave a sentence without its subject. */
export const label = (name: string) => (name.trim() === "" ? "(unnamed column)" : name);

function isSequence(cells: Float64Array): boolean {
  if (cells.length < 3) return false;
  const step = cells[1]! - cells[0]!;
  if (!(step !== 0 && Number.isFinite(step))) return false;
  for (let i = 1; i < cells.length; i++) if (cells[i]! - cells[i - 1]! !== step) return false;
  return true;
}

export function numericColumn(profile: ColumnProfile, rows: Record<string, unknown>[]): NumericColumn {
  const cells = new Float64Array(rows.length);
  const values: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    const value = toNumber(rows[i]![profile.name]);
    cells[i] = value ?? Number.NaN;
    if (value !== null) values.push(value);
  }
  values.sort((a, b) => a - b);
  return {
    name: profile.name,
    profile,
    cells,
    sorted: values,
    stats: values.length > 0 ? describe(values) : null,
    sequence: profile.type === "integer" && isSequence(cells),
  };
}

/** A numeric column whose figures come from the store: no cells are held. */
function storeColumn(profile: ColumnProfile, facts: StoreFacts): NumericColumn {
  const found = facts.numeric.get(profile.name) ?? { stats: null, sequence: false, discrete: null, zeros: 0, fences: null };
  return {
    name: profile.name,
    profile,
    cells: new Float64Array(0),
    sorted: [],
    stats: found.stats,
    sequence: found.sequence,
    facts: found,
  };
}

export function datasetOf(input: EngineInput): Dataset {
  const rows = Array.isArray(input.rows) ? input.rows.filter((row) => row !== null && typeof row === "object") : [];
  const columns = input.profile?.columns ?? [];
  const numeric = columns
    .filter((column) => column.type === "integer" || column.type === "number")
    .slice(0, MAX_NUMERIC_COLUMNS)
    .map((column) => (input.facts ? storeColumn(column, input.facts) : numericColumn(column, rows)));
  return {
    name: input.name,
    profile: { rowCount: input.profile?.rowCount ?? 0, columns },
    rows,
    complete: input.facts !== undefined || rows.length >= (input.profile?.rowCount ?? 0),
    numeric,
    facts: input.facts ?? null,
  };
}

/** The sentence that says statistics came from a sample, when they did. */
export function sampleNote(dataset: Dataset): string {
  if (!dataset.facts && dataset.rows.length === 0) return " (from the upload profile)";
  return dataset.complete ? "" : ` (computed on a sample of ${count(dataset.rows.length)} of ${count(dataset.profile.rowCount)} rows)`;
}
