// When a CSV's first record names its columns: checked against files whose answer is known (DuckDB's sniffer reads them so).
import { describe, expect, it } from "vitest";
import { headerOf } from "../../../src/services/datasets/csv-header.ts";

describe("headerOf", () => {
  it.each([
    [
      "years as names (World Bank style), integer data",
      "Country,1960,1961,1962\nAruba,54608,55811,56682\nAlbania,1608800,1659800,1711319\n",
      true,
    ],
    ["years as names with blanks below", "Country Name,Country Code,1960,1961\nAruba,ABW,,\nAfghanistan,AFG,8996967,9169406\n", true],
    ["numeric names over decimals", "1960,1961\n1.5,2.5\n3.25,4.75\n", true],
    ["names over data", "name,age\nAnn,34\nBob,20\n", true],
    ["no header: a data row of numbers", "1,2\n3,4\n", false],
    ["no header: text and integers like the rows below", "Ann,34,87\nBob,20,10\nCy,41,66\n", false],
    ["no header: a blank cell", "a,,c\n1,2,3\n", false],
    ["no header: repeated cells", "x,x\n1,2\n", false],
  ])("%s", (_, text, expected) => {
    expect(headerOf(text, ",", true)).toBe(expected);
  });

  it("ignores a last record cut off by the end of the head", () => {
    expect(headerOf("Country,1960\nAruba,1.5\nAlb", ",", false)).toBe(true);
  });
});
