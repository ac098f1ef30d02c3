// The data-source network policy: every spelling of a forbidden address is refused; connection strings parse strictly.
import { describe, expect, it } from "vitest";
import { ApiError } from "../../../src/lib/problem.ts";
import { canonicalHost, parseOrigin, parsePostgresUrl, refusedHost } from "../../../src/services/data-sources/network.ts";

const hostOf = (raw: string) => {
  const result = canonicalHost(raw);
  if ("problem" in result) throw new Error(`${raw}: ${result.problem}`);
  return result.host;
};

describe("canonicalHost and refusedHost", () => {
  it.each([
    ["2130706433", "127.0.0.1", "loopback"],
    ["0x7f000001", "127.0.0.1", "loopback"],
    ["127.1", "127.0.0.1", "loopback"],
    ["0177.0.0.1", "127.0.0.1", "loopback"],
    ["0x7f.1", "127.0.0.1", "loopback"],
    ["127.0.0.1.", "127.0.0.1", "loopback"],
    ["[::1]", "[::1]", "loopback"],
    ["[0:0:0:0:0:0:0:1]", "[::1]", "loopback"],
    ["[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "loopback"],
    ["10.1.2.3", "10.1.2.3", "private"],
    ["172.16.0.9", "172.16.0.9", "private"],
    ["192.168.1.1", "192.168.1.1", "private"],
    ["169.254.169.254", "169.254.169.254", "linkLocal"],
    ["100.64.0.1", "100.64.0.1", "carrierGradeNat"],
    ["[fd00:ec2::254]", "[fd00:ec2::254]", "uniqueLocal"],
    ["[fe80::1]", "[fe80::1]", "linkLocal"],
    ["0.0.0.0", "0.0.0.0", "unspecified"],
    ["0", "0.0.0.0", "unspecified"],
    ["[64:ff9b::7f00:1]", "[64:ff9b::7f00:1]", "rfc6052"],
  ])("%s is %s, a %s address, refused unless private addresses are allowed", (raw, canonical, range) => {
    expect(hostOf(raw)).toBe(canonical);
    expect(refusedHost(canonical, false)).toBe(`${canonical} is a ${range} address`);
    expect(refusedHost(canonical, true)).toBeUndefined();
  });

  it.each([["localhost"], ["LOCALHOST"], ["db.localhost"], ["metadata.google.internal"], ["metadata"]])(
    "refuses the local name %s",
    (raw) => {
      expect(refusedHost(hostOf(raw), false)).toMatch(/local or metadata host$/);
    },
  );

  it("lets public addresses and names through", () => {
    expect(refusedHost(hostOf("8.8.8.8"), false)).toBeUndefined();
    expect(refusedHost(hostOf("[2606:4700:4700::1111]"), false)).toBeUndefined();
    expect(refusedHost(hostOf("Db.Example.COM"), false)).toBeUndefined();
    expect(hostOf("Db.Example.COM")).toBe("db.example.com");
  });

  it.each([["a,b"], ["h/x"], ["h?x"], ["u@h"], ["1.2.3.4.5"], ["[fe80::1%25eth0]"], ["%31%32%37.0.0.1"], [""]])(
    "refuses %j as a host",
    (raw) => {
      expect("problem" in canonicalHost(raw)).toBe(true);
    },
  );
});

const issuesOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    return (error as ApiError).errors!.map((issue) => issue.message);
  }
  throw new Error("expected a 400");
};

describe("parsePostgresUrl", () => {
  it("parses and decodes every part", () => {
    expect(
      parsePostgresUrl("postgresql://an%40lyst:p%3Ass@DB.example.com:6543/ware%20house?sslmode=verify-full&application_name=x", "f"),
    ).toEqual({
      host: "db.example.com",
      port: 6543,
      database: "ware house",
      user: "an@lyst",
      password: "p:ss",
      sslmode: "verify-full",
    });
    expect(parsePostgresUrl("postgres://u@[::1]/d", "f")).toMatchObject({ host: "[::1]", port: 5432, password: "", sslmode: undefined });
  });

  it.each([
    ["postgresql://u:p@h:99999/db", "port must be a number from 1 to 65535"],
    ["postgresql://u:p@h:0/db", "port must be a number from 1 to 65535"],
    ["postgresql://u:p@h:54x/db", "port must be a number from 1 to 65535"],
    ["postgresql://u:%zz@h/db", "has a malformed % escape"],
    ["postgresql://u:p@h/%E0%A4%A", "has a malformed % escape"],
    ["postgresql://u:p@h/", "must name a database"],
    [
      "postgresql://u:p@h/db?host=127.0.0.1",
      'parameter "host" is not accepted (only sslmode, application_name, connect_timeout, channel_binding)',
    ],
    [
      "postgresql://u:p@h/db?options=-c%20statement_timeout%3D0",
      'parameter "options" is not accepted (only sslmode, application_name, connect_timeout, channel_binding)',
    ],
    ["postgresql://u:p@h/db?sslmode=sometimes", "sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full"],
    ["postgresql://u:p@h1,h2/db", "host must be a single host name or IP address"],
    ["mysql://u:p@h/db", "must be postgres://user:password@host:port/database"],
  ])("refuses %s: %s", (value, message) => {
    expect(issuesOf(() => parsePostgresUrl(value, "f"))).toContain(message);
  });
});

describe("parseOrigin", () => {
  it("keeps the canonical origin", () => {
    expect(parseOrigin("HTTPS://Cache.Example.com:443/", "f")).toEqual({
      origin: "https://cache.example.com",
      host: "cache.example.com",
      path: "",
    });
    expect(parseOrigin("http://2130706433:8080", "f").host).toBe("127.0.0.1");
  });

  it.each([
    ["http://host/eval/cmV0dXJuIDE=/0?", "must not have a query string"],
    ["http://host/eval/x/0", "must be a bare origin (scheme, host, port), without a path"],
    ["https://user:pw@host", "must not carry a user or password"],
    ["https://host#x", "must not have a fragment"],
    ["ftp://host", "must be an http(s) URL"],
    ["https://host:99999", "must be an http(s) URL"],
  ])("refuses %s: %s", (value, message) => {
    expect(issuesOf(() => parseOrigin(value, "f"))).toContain(message);
  });

  it("accepts only the paths it is told to", () => {
    expect(parseOrigin("http://h:4444/sql", "f", { paths: ["", "/sql"] }).path).toBe("/sql");
    expect(issuesOf(() => parseOrigin("http://h:4444/other", "f", { paths: ["", "/sql"] }))).toContain("may only have the path /sql");
  });
});
