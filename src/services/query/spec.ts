// The chart-data spec (a chart's encoding made executable) and its compiler to one parameterised SQLite statement over `dataset`.
import { z } from "@hono/zod-openapi";
import type { ColumnType } from "../datasets/profile/types.ts";
import {
  Binder,
  binBounds,
  binIndexExpr,
  columnRef,
  ident,
  isNumeric,
  maxbinsCtes,
  type Param,
  stepCte,
  timeUnitKey,
  timeUnits,
  timeUnitValue,
} from "./spec-sql.ts";

/** The most rows a spec may ask for unless the caller says otherwise (the query API's QUERY_MAX_ROWS default). */
export const DEFAULT_MAX_LIMIT = 10_000;
export const MAX_FILTERS = 20;
export const MAX_IN_VALUES = 1_000;

export const channelNames = ["x", "y", "color", "theta"] as const;
export type ChannelName = (typeof channelNames)[number];
export const aggregates = ["count", "sum", "mean", "median", "min", "max", "distinct"] as const;
export const filterOps = ["=", "!=", "<", "<=", ">", ">=", "in", "between", "isNull"] as const;

const FieldName = z.string().min(1).max(300);
const Scalar = z.union([z.string().max(1_000), z.number(), z.boolean()]);

const Bin = z
  .union([
    z.literal(true),
    z.strictObject({ maxbins: z.number().int().min(1).max(500).openapi({ description: "At most this many bins, with a nice step" }) }),
    z.strictObject({ step: z.number().positive().max(Number.MAX_VALUE).openapi({ description: "The bin width" }) }),
  ])
  .openapi({
    description:
      "Numeric columns only. `{ maxbins }` (`true` = 10): the smallest step of 1, 2 or 5 × 10^k giving at most that many bins over " +
      "the filtered extent, bins snapped to multiples of the step, the last bin closed so it holds the maximum (Vega-Lite's bin). " +
      "`{ step }`: bins [k·step, (k+1)·step) anchored at 0. The value is the bin's start; x and y also get `<name>_end`.",
  });

const Channel = z
  .strictObject({
    field: FieldName.optional().openapi({ description: 'A column of the dataset; may be left out only for `aggregate: "count"` (rows)' }),
    type: z
      .enum(["quantitative", "nominal", "ordinal", "temporal"])
      .optional()
      .openapi({ description: "How to draw the channel; a hint for the client, not used by the query" }),
    aggregate: z
      .enum(aggregates)
      .optional()
      .openapi({
        description:
          "count: rows (no field) or non-null values; distinct: distinct non-null values; sum, mean, median (interpolated, as " +
          "quantile_cont): numeric or boolean columns; min, max: any column. Every channel without one is grouped by.",
      }),
    bin: Bin.optional(),
    timeUnit: z
      .enum(timeUnits)
      .optional()
      .openapi({
        description:
          "Datetime columns only: the value becomes the start of its period as ISO-8601 UTC text. week = ISO 8601 week, Monday to " +
          "Sunday, named by its Monday; quarter starts in January, April, July or October.",
      }),
  })
  .openapi({ description: "At most one of aggregate, bin and timeUnit" });

const Filter = z
  .strictObject({
    field: FieldName,
    op: z.enum(filterOps),
    value: z
      .union([Scalar, z.array(Scalar).max(MAX_IN_VALUES), z.null()])
      .optional()
      .openapi({
        description:
          "A value of the column's type (datetimes as ISO-8601, booleans as true/false); `in`: a list; `between`: [low, high], " +
          "inclusive; `isNull`: true (the default) or false. Comparisons follow SQL: a NULL cell matches no comparison, not even `!=`.",
      }),
  })
  .openapi({ description: "Rows kept: every filter must hold" });

const Sort = z
  .strictObject({
    channel: z.enum(channelNames).optional(),
    field: FieldName.optional().openapi({
      description: "An output column (see `fields`), or, when nothing is aggregated, any column of the dataset",
    }),
    order: z.enum(["asc", "desc"]).optional().openapi({ description: "Default asc; NULLs always last" }),
  })
  .openapi({ description: "Exactly one of channel and field. Ties, and a spec without sort, are ordered by the grouped channels" });

export const ChartSpec = z
  .strictObject({
    encoding: z.strictObject({
      x: Channel.optional(),
      y: Channel.optional(),
      color: Channel.optional(),
      theta: Channel.optional().openapi({ description: "A pie's angle: usually an aggregate, with the slices' category in color" }),
    }),
    filter: z.array(Filter).max(MAX_FILTERS).optional(),
    sort: Sort.optional(),
    limit: z
      .number()
      .int()
      .min(1)
      .optional()
      .openapi({ description: `Rows returned; default and maximum ${DEFAULT_MAX_LIMIT}` }),
  })
  .openapi("ChartSpec", {
    description:
      "The data of a chart, computed over the whole dataset by one SQL statement: channels with an aggregate are computed per group " +
      "of the others; without any aggregate, rows are returned (transformed by bin/timeUnit). Output columns are named after the " +
      "channel's field (`count` for a count of rows), made unique with a prefix (`mean_price`) when two would collide.",
    example: {
      encoding: { x: { field: "region", type: "nominal" }, y: { field: "price", type: "quantitative", aggregate: "mean" } },
      filter: [{ field: "year", op: ">=", value: 2020 }],
      sort: { channel: "y", order: "desc" },
      limit: 10,
    },
  });
export type ChartSpec = z.infer<typeof ChartSpec>;

export interface SpecColumn {
  name: string;
  type: ColumnType;
}

export interface CompiledSpec {
  sql: string;
  params: (string | number | null)[];
  fields: { name: string; channel: string }[];
}

/** A spec that cannot run on this dataset; `path` names the part (`encoding.y.field`, `filter.0.value`, `limit`). */
export class SpecError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = "SpecError";
  }
}

type Channel = z.infer<typeof Channel>;
type Aggregate = (typeof aggregates)[number];

interface Resolved {
  channel: ChannelName;
  path: string;
  column: SpecColumn | undefined;
  aggregate: Aggregate | undefined;
  spec: Channel;
  /** The per-row expression's alias in the `_rows` CTE. */
  alias: string;
  name: string;
  endName: string | undefined;
}

/** Compiles a spec to one statement over `dataset` (see ChartSpec); throws SpecError for anything the dataset cannot answer. */
export function compileSpec(spec: ChartSpec, columns: SpecColumn[], options: { maxLimit?: number } = {}): CompiledSpec {
  const parsed = ChartSpec.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SpecError(issue.path.map(String).join(".") || "spec", issue.message);
  }
  spec = parsed.data;
  const byName = new Map(columns.map((column) => [column.name, column]));
  const columnOf = (name: string, path: string): SpecColumn => {
    const column = byName.get(name);
    if (!column) {
      const known = columns
        .slice(0, 20)
        .map((c) => JSON.stringify(c.name))
        .join(", ");
      throw new SpecError(path, `the dataset has no column ${JSON.stringify(name)} (columns: ${known}${columns.length > 20 ? ", …" : ""})`);
    }
    return column;
  };

  const maxLimit = options.maxLimit ?? DEFAULT_MAX_LIMIT;
  const limit = spec.limit ?? maxLimit;
  if (limit > maxLimit) throw new SpecError("limit", `at most ${maxLimit} rows can be asked for, not ${limit}`);

  const channels = resolveChannels(spec, columnOf);
  const aggregated = channels.some((c) => c.aggregate);
  const keys = aggregated ? channels.filter((c) => !c.aggregate) : channels;
  const filters = spec.filter ?? [];
  const binder = new Binder();
  const where = (): string => whereClause(filters, columnOf, binder);

  // CTEs in text order, so the bound values line up with their `?`: bins first, then the filtered rows.
  const ctes: string[] = [];
  const joins: string[] = [];
  const rowColumns: string[] = [];
  // What each plain channel outputs, from its per-row key: bins and time units are formatted once per group, not per row.
  const values = new Map<Resolved, { value: string; end?: string }>();
  for (const [i, c] of channels.entries()) {
    const bin = c.spec.bin;
    if (bin !== undefined) {
      const name = `_bin${i}`;
      const clamped = bin === true || "maxbins" in bin;
      if (clamped) ctes.push(maxbinsCtes(name, columnRef(c.column!.name), where(), binder, bin === true ? 10 : bin.maxbins));
      else ctes.push(stepCte(name, binder, bin.step));
      joins.push(name);
      rowColumns.push(`${binIndexExpr(columnRef(c.column!.name), name, clamped)} AS ${c.alias}`);
      const { start, end } = binBounds(c.alias, name);
      values.set(c, { value: start, end });
    } else if (c.spec.timeUnit) {
      rowColumns.push(`${timeUnitKey(columnRef(c.column!.name), c.spec.timeUnit)} AS ${c.alias}`);
      values.set(c, { value: timeUnitValue(c.alias, c.spec.timeUnit) });
    } else if (c.column) rowColumns.push(`${columnRef(c.column.name)} AS ${c.alias}`);
  }

  const outputs: { expr: string; name: string; channel: string }[] = [];
  for (const c of channels) {
    outputs.push({ expr: c.aggregate ? aggregateExpr(c) : (values.get(c)?.value ?? c.alias), name: c.name, channel: c.channel });
    if (c.endName) outputs.push({ expr: values.get(c)!.end!, name: c.endName, channel: `${c.channel}2` });
  }
  const position = (name: string): number => outputs.findIndex((o) => o.name === name) + 1;

  // Order: the sort asked for, then the grouped channels (or, for rows, the table's order), so LIMIT and reruns are deterministic.
  const order: string[] = [];
  const direction = (spec.sort?.order ?? "asc").toUpperCase();
  if (spec.sort) {
    const { channel, field } = spec.sort;
    if ((channel === undefined) === (field === undefined)) throw new SpecError("sort", "give exactly one of channel and field");
    if (channel !== undefined) {
      const target = channels.find((c) => c.channel === channel);
      if (!target) throw new SpecError("sort.channel", `the spec has no ${channel} channel`);
      order.push(`${position(target.name)} ${direction} NULLS LAST`);
    } else if (position(field!) > 0) order.push(`${position(field!)} ${direction} NULLS LAST`);
    else if (!aggregated) {
      rowColumns.push(`${columnRef(columnOf(field!, "sort.field").name)} AS _sort`);
      order.push(`_sort ${direction} NULLS LAST`);
    } else {
      const names = outputs.map((o) => JSON.stringify(o.name)).join(", ");
      throw new SpecError("sort.field", `${JSON.stringify(field)} is not an output column of this spec (${names})`);
    }
  }
  const groupBy = keys.map((c) => c.alias);
  if (aggregated) order.push(...keys.map((c) => `${position(c.name)} ASC NULLS LAST`));
  else {
    // The table's rowid under a name no column of the dataset takes.
    const rowid = ["rowid", "_rowid_", "oid"].find((name) => !columns.some((c) => c.name.toLowerCase() === name));
    if (rowid) {
      rowColumns.push(`"dataset".${rowid} AS _rowid`);
      order.push("_rowid");
    }
  }

  // The one-row bin CTEs first, as the outer loop (CROSS JOIN keeps SQLite's planner from reordering it).
  const rowsFrom = [...joins, '"dataset"'].join(" CROSS JOIN ");
  if (rowColumns.length === 0) rowColumns.push("1 AS _one");
  ctes.push(`_rows AS (SELECT ${rowColumns.join(", ")} FROM ${rowsFrom}${where()})`);
  let source = "_rows";
  const medians = channels.filter((c) => c.aggregate === "median");
  if (medians.length > 0) {
    // Each median's rank among the non-null values of its group (NULLs sort after them) and the group's count of those values.
    const partition = groupBy.length > 0 ? `PARTITION BY ${groupBy.join(", ")} ` : "";
    const ranks = medians.map(
      (c) =>
        `row_number() OVER (${partition}ORDER BY ${c.alias} NULLS LAST) AS ${c.alias}_rank, ` +
        `count(${c.alias}) OVER (${partition.trim()}) AS ${c.alias}_n`,
    );
    ctes.push(`_ranked AS (SELECT *, ${ranks.join(", ")} FROM _rows)`);
    source = "_ranked";
  }

  const select = outputs.map((o) => `${o.expr} AS ${ident(o.name)}`).join(", ");
  const sql =
    `WITH ${ctes.join(", ")} SELECT ${select} FROM ${source}` +
    (aggregated && groupBy.length > 0 ? ` GROUP BY ${groupBy.join(", ")}` : "") +
    (order.length > 0 ? ` ORDER BY ${order.join(", ")}` : "") +
    ` LIMIT ${binder.bind(limit)}`;
  return { sql, params: binder.params, fields: outputs.map(({ name, channel }) => ({ name, channel })) };
}

function resolveChannels(spec: ChartSpec, columnOf: (name: string, path: string) => SpecColumn): Resolved[] {
  const resolved: Resolved[] = [];
  const taken = new Set<string>();
  const unique = (candidates: string[]): string => {
    let name = candidates.find((candidate) => !taken.has(candidate));
    for (let n = 2; name === undefined; n++) if (!taken.has(`${candidates[0]}_${n}`)) name = `${candidates[0]}_${n}`;
    taken.add(name);
    return name;
  };
  for (const [i, channel] of channelNames.entries()) {
    const c = spec.encoding[channel];
    if (!c) continue;
    const path = `encoding.${channel}`;
    const transforms = [c.aggregate && "aggregate", c.bin !== undefined && "bin", c.timeUnit && "timeUnit"].filter(Boolean);
    if (transforms.length > 1)
      throw new SpecError(path, `a channel takes at most one of aggregate, bin and timeUnit, not ${transforms.join(" and ")}`);
    if (c.field === undefined && c.aggregate !== "count") throw new SpecError(`${path}.field`, "required (only a count may leave it out)");
    const column = c.field === undefined ? undefined : columnOf(c.field, `${path}.field`);
    checkTypes(c, column, path);
    const base = c.field ?? "count";
    const prefix = c.aggregate ?? c.timeUnit ?? (c.bin !== undefined ? "bin" : channel);
    const name = unique([base, `${prefix}_${base}`, `${channel}_${base}`]);
    const endName = c.bin !== undefined && (channel === "x" || channel === "y") ? unique([`${name}_end`]) : undefined;
    resolved.push({ channel, path, column, aggregate: c.aggregate, spec: c, alias: `_c${i}`, name, endName });
  }
  if (resolved.length === 0) throw new SpecError("encoding", "give at least one channel (x, y, color or theta)");
  return resolved;
}

function checkTypes(c: Channel, column: SpecColumn | undefined, path: string): void {
  if (!column) return;
  const { type } = column;
  if ((c.aggregate === "sum" || c.aggregate === "mean" || c.aggregate === "median") && !isNumeric(type))
    throw new SpecError(`${path}.aggregate`, `${c.aggregate} needs a numeric or boolean column; ${JSON.stringify(column.name)} is ${type}`);
  if (c.bin !== undefined && type !== "integer" && type !== "number")
    throw new SpecError(`${path}.bin`, `bins need a numeric column; ${JSON.stringify(column.name)} is ${type}`);
  if (c.timeUnit && type !== "datetime")
    throw new SpecError(`${path}.timeUnit`, `time units need a datetime column; ${JSON.stringify(column.name)} is ${type}`);
}

function aggregateExpr(c: Resolved): string {
  const v = c.alias;
  switch (c.aggregate!) {
    case "count":
      return c.column ? `count(${v})` : "count(*)";
    case "distinct":
      return `count(DISTINCT ${v})`;
    case "sum":
      return `sum(${v})`;
    case "mean":
      return `avg(${v})`;
    case "min":
      return `min(${v})`;
    case "max":
      return `max(${v})`;
    case "median":
      // The middle value, or the mean of the two middle values (linear interpolation at 0.5, as quantile_cont).
      return `avg(CASE WHEN ${v}_rank IN ((${v}_n + 1) / 2, (${v}_n + 2) / 2) THEN ${v} END)`;
  }
}

type Filter = z.infer<typeof Filter>;
const comparisons: Record<string, string> = { "=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">=" };

function whereClause(filters: Filter[], columnOf: (name: string, path: string) => SpecColumn, binder: Binder): string {
  if (filters.length === 0) return "";
  const conditions = filters.map((f, i) => {
    const path = `filter.${i}`;
    const column = columnOf(f.field, `${path}.field`);
    const target = columnRef(column.name);
    const value = (v: unknown, at: string): Param => binder.bind(coerce(v, column, at));
    switch (f.op) {
      case "isNull":
        if (f.value !== undefined && typeof f.value !== "boolean") throw new SpecError(`${path}.value`, "isNull takes true or false");
        return `${target} ${f.value === false ? "IS NOT NULL" : "IS NULL"}`;
      case "in": {
        if (!Array.isArray(f.value) || f.value.length === 0) throw new SpecError(`${path}.value`, "in takes a non-empty list of values");
        // One bound JSON list, however long (SQLite here allows few bound values per statement).
        const list = f.value.map((v, j) => coerce(v, column, `${path}.value.${j}`));
        return `${target} IN (SELECT value FROM json_each(${binder.bind(JSON.stringify(list))}))`;
      }
      case "between": {
        if (!Array.isArray(f.value) || f.value.length !== 2) throw new SpecError(`${path}.value`, "between takes [low, high]");
        return `${target} BETWEEN ${value(f.value[0], `${path}.value.0`)} AND ${value(f.value[1], `${path}.value.1`)}`;
      }
      default:
        if (Array.isArray(f.value)) throw new SpecError(`${path}.value`, `${f.op} takes one value, not a list`);
        return `${target} ${comparisons[f.op]} ${value(f.value, `${path}.value`)}`;
    }
  });
  return ` WHERE ${conditions.join(" AND ")}`;
}

const isoDate = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Whether YYYY-MM-DD names a real day (Date.parse rolls 2024-02-31 over to March). */
function isCalendarDate(ymd: string): boolean {
  const [y, m, d] = ymd.split("-").map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** A filter value as the store holds that column's values: booleans 0/1, datetimes ISO-8601 UTC with milliseconds. */
function coerce(value: unknown, column: SpecColumn, path: string): string | number {
  const name = JSON.stringify(column.name);
  switch (column.type) {
    case "integer":
    case "number":
      if (typeof value === "number" && Number.isFinite(value)) return value;
      throw new SpecError(path, `${name} is ${column.type}: give a number`);
    case "boolean":
      if (typeof value === "boolean") return value ? 1 : 0;
      if (value === 0 || value === 1) return value;
      throw new SpecError(path, `${name} is boolean: give true or false`);
    case "datetime": {
      const match = typeof value === "string" ? isoDate.exec(value) : null;
      // Without a zone, a time of day is UTC (as the store's are); a date alone is UTC midnight already.
      const text = match ? (value as string).replace(" ", "T") : "";
      const time = match ? Date.parse(match[1] || text.length === 10 ? text : `${text}Z`) : NaN;
      if (Number.isNaN(time) || !/^\d{4}-/.test(new Date(time).toISOString()) || !isCalendarDate(text.slice(0, 10)))
        throw new SpecError(path, `${name} is datetime: give an ISO-8601 date or time, e.g. 2024-03-01 or 2024-03-01T12:00:00Z`);
      return new Date(time).toISOString();
    }
    case "string":
      if (typeof value === "string") return value;
      if (typeof value === "number" && Number.isFinite(value)) return String(value);
      throw new SpecError(path, `${name} is string: give a string`);
  }
}
